-- Quantities reconcile from raw events to Usage Records for summed metrics: per period segment,
-- the used events' quantities (in billing units) equal the regular record's quantity, plus its
-- adjustment for a billed segment, or less its credit for one whose usage went down.
with

segments as (
    select * from {{ ref('int_period_segments_rated') }}
    where charge_type in ('usage', 'prepaid')
        and aggregation = 'sum'
),

used_events as (
    select
        period_segment_id,
        sum(billing_quantity) as used_quantity
    from {{ ref('int_usage_records_classified') }}
    where record_outcome = 'used'
    group by 1
),

late_events as (
    select
        period_segment_id,
        sum(billing_quantity) as late_quarantined_quantity
    from {{ ref('int_usage_records_classified') }}
    where quarantine_reason = 'late_after_line_end'
    group by 1
),

regular_records as (
    select
        subscription_line_id,
        segment_start,
        quantity
    from {{ ref('fct_usage_records') }}
    where not is_adjustment
),

late_usage as (
    select * from {{ ref('int_late_usage_adjustments') }}
)

select
    segments.period_segment_id,
    coalesce(used_events.used_quantity, 0) + coalesce(late_events.late_quarantined_quantity, 0) as raw_quantity,
    regular_records.quantity as record_quantity,
    late_usage.late_quantity
from segments
left join used_events
    on segments.period_segment_id = used_events.period_segment_id
left join late_events
    on segments.period_segment_id = late_events.period_segment_id
left join regular_records
    on segments.subscription_line_id = regular_records.subscription_line_id
        and segments.segment_start = regular_records.segment_start
left join late_usage
    on segments.period_segment_id = late_usage.period_segment_id
where coalesce(used_events.used_quantity, 0) + coalesce(late_events.late_quarantined_quantity, 0)
    <> coalesce(regular_records.quantity, 0) + coalesce(late_usage.late_quantity, 0)
