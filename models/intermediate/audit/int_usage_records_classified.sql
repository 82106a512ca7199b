{{ config(
    materialized=event_grain_materialization(),
    incremental_strategy='delete+insert',
    unique_key='classification_key',
    on_schema_change='fail',
    pre_hook="{{ forget_unreadable_raw_files('quarantine_reason') }}",
    post_hook="{{ keep_beside('segment_outcomes', 'int_usage_segment_outcomes', 'period_segment_id, segment_outcome') }}",
) }}

-- One row per raw usage record: where it ended (used, duplicate, withdrawn or quarantined), why,
-- and the Usage Record it counts in. Every raw record read appears exactly once.
-- Incremental by event: a run re-classifies the records of events deduplicated or assigned since
-- the last run and of events in segments whose outcome changed (late usage, External IDs), and
-- adds the unreadable records of files not read before: the filters of the macro
-- incremental_records_to_classify (macros/incremental/incremental_events.sql), each `true` on a
-- full build. The record of a file that could not be read at all (unreadable_file) is forgotten
-- first and added again while the file is there.
{%- set to_classify = incremental_records_to_classify() %}
with

segment_outcomes as (
    select * from {{ ref('int_usage_segment_outcomes') }}
),

-- three disjoint sets make up every raw record: unreadable ones, duplicate deliveries, and the
-- versions that were mapped and assigned (current or superseded)
invalid_records as (
    select unioned.* from {{ ref('int_usage_records_unioned') }} as unioned
    where
        unioned.invalid_reason is not null
        -- classified once, in the run that reads their file
        and {{ to_classify.invalid_records }}
),

duplicate_records as (
    select * from {{ ref('int_usage_events_deduplicated') }}
    where
        dedup_status = 'duplicate'
        and {{ to_classify.events }}
),

-- conflicting copies per event: duplicate deliveries whose content differs from the first copy
-- (only duplicates can conflict); every record of an event is classified in the same run
event_conflicts as (
    select
        event_key,
        count(*) as conflict_count
    from duplicate_records
    where is_conflict
    group by 1
),

assigned as (
    select * from {{ ref('int_usage_events_assigned') }}
    where {{ to_classify.events }}
),

all_records as (
    select
        raw_record_id,
        source_system,
        file_name,
        record_number,
        cast(null as string) as event_key,
        source_event_key,
        source_customer_key,
        source_metric,
        occurred_at,
        received_at,
        quantity as source_quantity,
        cast(null as decimal(38, 9)) as billing_quantity,
        cast(null as string) as billing_account_id,
        cast(null as string) as metric,
        cast(null as date) as usage_local_date,
        cast(null as string) as subscription_line_id,
        cast(null as date) as billing_period_start,
        cast(null as string) as period_segment_id,
        invalid_reason,
        cast(null as string) as dedup_status,
        cast(1 as bigint) as copies_received,
        false as is_deleted,
        false as is_conflict,
        cast(null as string) as rejection_reason,
        false as is_late,
        false as counted_at_billing,
        cast(null as string) as decided_by_invocation_id,
        cast(null as string) as assigned_by_invocation_id
    from invalid_records

    union all

    select
        raw_record_id,
        source_system,
        file_name,
        record_number,
        event_key,
        source_event_key,
        source_customer_key,
        source_metric,
        occurred_at,
        received_at,
        quantity as source_quantity,
        cast(null as decimal(38, 9)) as billing_quantity,
        cast(null as string) as billing_account_id,
        cast(null as string) as metric,
        cast(null as date) as usage_local_date,
        cast(null as string) as subscription_line_id,
        cast(null as date) as billing_period_start,
        cast(null as string) as period_segment_id,
        cast(null as string) as invalid_reason,
        dedup_status,
        copies_received,
        is_deleted,
        is_conflict,
        cast(null as string) as rejection_reason,
        false as is_late,
        false as counted_at_billing,
        decided_by_invocation_id,
        cast(null as string) as assigned_by_invocation_id
    from duplicate_records

    union all

    select
        raw_record_id,
        source_system,
        file_name,
        record_number,
        event_key,
        source_event_key,
        source_customer_key,
        source_metric,
        occurred_at,
        received_at,
        source_quantity,
        quantity as billing_quantity,
        billing_account_id,
        metric,
        usage_local_date,
        subscription_line_id,
        billing_period_start,
        period_segment_id,
        cast(null as string) as invalid_reason,
        dedup_status,
        copies_received,
        is_deleted,
        is_conflict,
        rejection_reason,
        is_late,
        counts_at_billing as counted_at_billing,
        decided_by_invocation_id,
        assigned_by_invocation_id
    from assigned
),

joined as (
    select
        all_records.*,
        segment_outcomes.late_usage_outcome,
        segment_outcomes.regular_external_id,
        segment_outcomes.adjustment_external_id,
        coalesce(event_conflicts.conflict_count, 0) as conflict_count,
        case
            when all_records.period_segment_id is not null
                then coalesce(segment_outcomes.segment_outcome, '||')
        end as segment_outcome
    from all_records
    left join segment_outcomes
        on all_records.period_segment_id = segment_outcomes.period_segment_id
    left join event_conflicts
        on all_records.event_key = event_conflicts.event_key
),

classified as (
    select
        *,
        case
            when invalid_reason is not null then invalid_reason
            when dedup_status in ('duplicate', 'superseded') then null
            when is_deleted then null
            when rejection_reason is not null then rejection_reason
            when is_late and late_usage_outcome = 'quarantined_after_line_end' then 'late_after_line_end'
        end as quarantine_reason
    from joined
),

final as (
    select
        classified.raw_record_id,
        classified.source_system,
        classified.file_name,
        classified.record_number,
        classified.event_key,
        classified.source_event_key,
        classified.source_customer_key,
        classified.source_metric,
        classified.occurred_at,
        classified.received_at,
        classified.source_quantity,
        classified.billing_quantity,
        classified.billing_account_id,
        classified.metric,
        classified.usage_local_date,
        classified.subscription_line_id,
        classified.billing_period_start,
        classified.period_segment_id,
        -- outcome
        case
            when classified.quarantine_reason is not null then 'quarantined'
            when classified.dedup_status in ('duplicate', 'superseded') then 'duplicate'
            when classified.is_deleted then 'withdrawn'
            else 'used'
        end as record_outcome,
        classified.quarantine_reason,
        classified.dedup_status,
        classified.copies_received,
        classified.is_conflict,
        -- conflicting copies of its event
        classified.conflict_count,
        classified.is_late,
        classified.counted_at_billing,
        classified.late_usage_outcome,
        -- the Usage Records it counts in
        case when classified.quarantine_reason is null and classified.dedup_status = 'current' and not classified.is_deleted
                then classified.regular_external_id
        end as period_segment_external_id,
        case
            when classified.quarantine_reason is not null or classified.dedup_status <> 'current' or classified.is_deleted then null
            when classified.is_late and classified.late_usage_outcome = 'adjustment' then classified.adjustment_external_id
            when classified.is_late and classified.late_usage_outcome is not null then null
            else classified.regular_external_id
        end as external_id,
        -- what it was classified from: the event (or the record itself when unreadable), the runs
        -- that deduplicated and assigned it, and its segment's outcome; and the run that classified it
        coalesce(classified.event_key, classified.raw_record_id) as classification_key,
        classified.decided_by_invocation_id,
        classified.assigned_by_invocation_id,
        classified.segment_outcome,
        '{{ invocation_id }}' as classified_by_invocation_id
    from classified
)

select * from final
