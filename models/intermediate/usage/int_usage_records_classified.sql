-- One row per raw usage record: where it ended (used, duplicate, withdrawn or quarantined), why,
-- and the Usage Record it counts in. Every raw record read appears exactly once.
with

-- three disjoint sets make up every raw record: unreadable ones, duplicate deliveries, and the
-- versions that were mapped and assigned (current or superseded)
invalid_records as (
    select * from {{ ref('int_usage_records_unioned') }}
    where invalid_reason is not null
),

duplicate_records as (
    select * from {{ ref('int_usage_events_deduplicated') }}
    where dedup_status = 'duplicate'
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
        false as counted_at_billing
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
        false as counted_at_billing
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
        counts_at_billing as counted_at_billing
    from assigned
),

joined as (
    select
        all_records.*,
        late_outcomes.late_usage_outcome
    from all_records
    left join late_outcomes
        on all_records.period_segment_id = late_outcomes.period_segment_id
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
