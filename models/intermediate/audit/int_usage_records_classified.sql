{{ config(
    materialized=event_grain_materialization(),
    incremental_strategy='delete+insert',
    unique_key='classification_key',
    on_schema_change='fail',
    pre_hook="{{ forget_unreadable_raw_files('quarantine_reason') }}",
    post_hook="{{ keep_classified_with() }}",
) }}

-- One row per raw usage record: where it ended (used, duplicate, withdrawn or quarantined), why,
-- and the Usage Record it counts in. Every raw record read appears exactly once.
-- A record's outcome is its event's deduplication and assignment (the event table,
-- int_usage_records_assigned) and its segment's late-usage outcome and External IDs
-- (int_usage_segment_outcomes, a few rows per line). Written once per run, for the readers
-- (quarantine, lineage, reconciliation) and their tests to scan instead of each joining the event
-- table again (docs/decisions.md, "One event table").
-- Incremental by event (delete+insert by classification_key, the event table's key): a run
-- classifies again the keys the event table wrote in runs this table has not read and the keys
-- of events in segments whose outcome changed since the last run (both kept beside the table):
-- the filter incremental_records_to_classify
-- (macros/incremental/incremental_events.sql), `true` on a full build. The record of a file that
-- could not be read at all (unreadable_file) is forgotten first, and added again while the file
-- is there, as in the event table.
with

records as (
    select * from {{ ref('int_usage_records_assigned') }}
    where {{ incremental_records_to_classify() }}
),

segment_outcomes as (
    select * from {{ ref('int_usage_segment_outcomes') }}
),

-- conflicting copies per event: duplicate deliveries whose content differs from the first copy
-- (only duplicates can conflict)
event_conflicts as (
    select
        event_key,
        count(*) as conflict_count
    from records
    where dedup_status = 'duplicate' and is_conflict
    group by 1
),

joined as (
    select
        records.*,
        segment_outcomes.late_usage_outcome,
        segment_outcomes.regular_external_id,
        segment_outcomes.adjustment_external_id,
        coalesce(event_conflicts.conflict_count, 0) as conflict_count,
        case
            when records.period_segment_id is not null
                then coalesce(segment_outcomes.segment_outcome, '||')
        end as segment_outcome
    from records
    left join segment_outcomes
        on records.period_segment_id = segment_outcomes.period_segment_id
    left join event_conflicts
        on records.event_key = event_conflicts.event_key
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
        classified.quantity as billing_quantity,
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
        classified.counts_at_billing as counted_at_billing,
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
        -- what it was classified from: the event (or the record itself when not a valid record),
        -- the runs that deduplicated and assigned it, and its segment's outcome
        classified.classification_key,
        classified.decided_by_invocation_id,
        case when classified.dedup_status <> 'duplicate' then classified.assigned_by_invocation_id end as assigned_by_invocation_id,
        classified.segment_outcome,
        -- the run that wrote this row
        '{{ invocation_id }}' as classified_by_invocation_id
    from classified
)

select * from final
