{{ config(
    materialized=event_grain_materialization(),
    incremental_strategy='delete+insert',
    unique_key='event_key',
    on_schema_change='fail',
) }}

-- One row per valid raw usage record, with its deduplication outcome: the copy or version that
-- counts, a duplicate delivery, or a superseded version, and the interval in which it was current.
-- Incremental by event: a run re-decides the events that have a record in a file not read before,
-- over all their records, and replaces their rows (macros/incremental/incremental_events.sql). The
-- policy per source (first or last received wins) is the source_systems seed's.
with

source_systems as (
    select * from {{ ref('source_systems') }}
),

-- every valid record with its source's dedup policy (an incremental run: every record of the
-- events that have a record in a file not read before)
records as (
    select
        unioned.*,
        source_systems.dedup_policy
    from {{ ref('int_usage_records_unioned') }} as unioned
    inner join source_systems
        on unioned.source_system = source_systems.source_system
    where
        unioned.invalid_reason is null
        and {{ incremental_events_with_new_records('unioned') }}
),

-- one ordering per event key (received, then file and line) serves every rule: the first copy
-- is rank 1, the latest version is rank = versions
ranked as (
    select
        raw_record_id,
        source_system,
        source_event_key,
        file_name,
        record_number,
        source_customer_key,
        source_metric,
        occurred_at,
        usage_local_date,
        received_at,
        quantity,
        properties,
        is_deleted,
        content_hash,
        dedup_policy,
        row_number() over received_order as received_rank,
        -- over the whole partition, in the same ordering: one sort serves all four (spelled out:
        -- a frame on a named window is not portable)
        count(*) over (
            partition by source_system, source_event_key
            order by received_at asc, file_name asc, record_number asc
            rows between unbounded preceding and unbounded following
        ) as versions,
        lead(received_at) over received_order as next_version_received_at,
        first_value(content_hash) over received_order as first_content_hash
    from records
    window
        received_order as (
            partition by source_system, source_event_key
            order by received_at asc, file_name asc, record_number asc
        )
),

final as (
    select
        ranked.raw_record_id,
        ranked.source_system,
        ranked.source_system || ':' || ranked.source_event_key as event_key,
        ranked.source_event_key,
        ranked.file_name,
        ranked.record_number,
        ranked.source_customer_key,
        ranked.source_metric,
        ranked.occurred_at,
        ranked.usage_local_date,
        ranked.received_at,
        ranked.quantity,
        ranked.properties,
        ranked.is_deleted,
        ranked.dedup_policy,
        ranked.versions as copies_received,
        -- outcome
        case
            when ranked.dedup_policy = 'first_received_wins' and ranked.received_rank = 1 then 'current'
            when ranked.dedup_policy = 'first_received_wins' then 'duplicate'
            when ranked.received_rank = ranked.versions then 'current'
            else 'superseded'
        end as dedup_status,
        ranked.dedup_policy = 'first_received_wins'
        and ranked.received_rank > 1
        and ranked.content_hash <> ranked.first_content_hash as is_conflict,
        -- the interval in which this version was the one known (for billed periods)
        ranked.received_at as valid_from,
        case when ranked.dedup_policy = 'last_received_wins' then ranked.next_version_received_at end as valid_to,
        -- the run that last decided this event (the mapping re-maps the events decided since it ran)
        '{{ invocation_id }}' as decided_by_invocation_id
    from ranked
)

select * from final
