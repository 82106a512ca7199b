-- One row per raw usage record: where it ended (used, duplicate, withdrawn or quarantined), why,
-- and the Usage Record it counts in. Every raw record read appears exactly once.
with

raw_records as (
    select * from {{ ref('int_usage_records_unioned') }}
),

deduplicated as (
    select * from {{ ref('int_usage_events_deduplicated') }}
),

assigned as (
    select * from {{ ref('int_usage_events_assigned') }}
),

late_outcomes as (
    select * from {{ ref('int_late_usage_adjustments') }}
),

usage_records as (
    select * from {{ ref('int_usage_records_prepared') }}
),

regular_records as (
    select
        period_segment_id,
        external_id
    from usage_records
    where not is_adjustment
),

adjustment_records as (
    select
        original_period_segment_id,
        external_id
    from usage_records
    where is_adjustment
),

joined as (
    select
        raw_records.*,
        deduplicated.event_key,
        deduplicated.dedup_status,
        coalesce(deduplicated.is_conflict, false) as is_conflict,
        assigned.billing_account_id,
        assigned.metric,
        assigned.usage_local_date,
        assigned.quantity as billing_quantity,
        assigned.period_segment_id,
        assigned.subscription_line_id,
        assigned.billing_period_start,
        assigned.rejection_reason,
        coalesce(assigned.is_late, false) as is_late,
        coalesce(assigned.counts_at_billing, false) as counted_at_billing,
        late_outcomes.late_usage_outcome
    from raw_records
    left join deduplicated
        on raw_records.raw_record_id = deduplicated.raw_record_id
    left join assigned
        on raw_records.raw_record_id = assigned.raw_record_id
    left join late_outcomes
        on assigned.period_segment_id = late_outcomes.period_segment_id
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
        classified.quantity as source_quantity,
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
        classified.is_conflict,
        classified.is_late,
        classified.counted_at_billing,
        classified.late_usage_outcome,
        -- the Usage Records it counts in
        case when classified.quarantine_reason is null and classified.dedup_status = 'current' and not classified.is_deleted
                then regular_records.external_id
        end as period_segment_external_id,
        case
            when classified.quarantine_reason is not null or classified.dedup_status <> 'current' or classified.is_deleted then null
            when classified.is_late and classified.late_usage_outcome = 'adjustment' then adjustment_records.external_id
            when classified.is_late and classified.late_usage_outcome is not null then null
            else regular_records.external_id
        end as external_id
    from classified
    left join regular_records
        on classified.period_segment_id = regular_records.period_segment_id
    left join adjustment_records
        on classified.period_segment_id = adjustment_records.original_period_segment_id
)

select * from final
