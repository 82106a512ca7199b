-- One row per valid raw usage record, with its deduplication outcome: the copy or version that
-- counts, a duplicate delivery, or a superseded version, and the interval in which it was current.
with

records as (
    select * from {{ ref('int_usage_records_unioned') }}
    where invalid_reason is null
),

ranked as (
    select
        *,
        {{ dedup_policy('source_system') }} as dedup_policy,
        -- first copy received wins (telemetry, stripe)
        row_number() over (
            partition by source_system, source_event_key
            order by received_at asc, file_name asc, record_number asc
        ) as first_received_rank,
        -- the latest version received is current (salesforce, metering)
        row_number() over (
            partition by source_system, source_event_key
            order by received_at desc, file_name desc, record_number desc
        ) as last_received_rank,
        lead(received_at) over (
            partition by source_system, source_event_key
            order by received_at asc, file_name asc, record_number asc
        ) as next_version_received_at
    from records
),

winners as (
    select
        source_system,
        source_event_key,
        content_hash as winner_content_hash
    from ranked
    where (dedup_policy = 'first_received_wins' and first_received_rank = 1)
        or (dedup_policy = 'last_received_wins' and last_received_rank = 1)
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
        -- outcome
        case
            when ranked.dedup_policy = 'first_received_wins' and ranked.first_received_rank = 1 then 'current'
            when ranked.dedup_policy = 'first_received_wins' then 'duplicate'
            when ranked.last_received_rank = 1 then 'current'
            else 'superseded'
        end as dedup_status,
        ranked.dedup_policy = 'first_received_wins'
        and ranked.first_received_rank > 1
        and ranked.content_hash <> winners.winner_content_hash as is_conflict,
        -- the interval in which this version was the one known (for billed periods)
        ranked.received_at as valid_from,
        case when ranked.dedup_policy = 'last_received_wins' then ranked.next_version_received_at end as valid_to
    from ranked
    inner join winners
        on ranked.source_system = winners.source_system
            and ranked.source_event_key = winners.source_event_key
)

select * from final
