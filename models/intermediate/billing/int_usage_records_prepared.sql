-- One row per Usage Record that should exist, before approvals: one per period segment of every
-- usage or prepaid line (frozen at what was billed for billed periods), and one adjustment per
-- billed segment whose late usage went up and can still be billed.
with

segments as (
    select * from {{ ref('int_period_segments_rated') }}
    where charge_type in ('usage', 'prepaid')
),

adjustments as (
    select * from {{ ref('int_late_usage_adjustments') }}
    where late_usage_outcome = 'adjustment'
),

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

close_status as (
    select
        billing_account_id,
        billing_period_start,
        bool_and(is_source_complete or source_system is null) as is_period_closed
    from {{ ref('int_period_close_status') }}
    group by 1, 2
),

regular_records as (
    select
        {{ usage_record_external_id('subscription_line_id', 'segment_start') }} as external_id,
        period_segment_id,
        period_segment_id as original_period_segment_id,
        subscription_line_id,
        billing_period_start,
        billing_period_end,
        segment_start,
        segment_end,
        price_plan_id,
        amendment_id as segment_amendment_id,
        amendment_date as segment_amendment_date,
        proration_factor,
        case when is_billed then billed_quantity else quantity end as quantity,
        case when is_billed then billed_rated_amount else rated_amount end as rated_amount,
        case when is_billed then billed_event_count else event_count end as event_count,
        is_billed,
        false as is_adjustment,
        cast(null as date) as adjusts_period_start
    from segments
),

adjustment_records as (
    select
        {{ adjustment_external_id('adjustments.subscription_line_id', 'adjustments.original_segment_start', 'adjustments.adjusting_period_start') }} as external_id,
        adjusting.period_segment_id,
        adjustments.period_segment_id as original_period_segment_id,
        adjustments.subscription_line_id,
        adjusting.billing_period_start,
        adjusting.billing_period_end,
        adjusting.segment_start,
        adjusting.segment_end,
        original.price_plan_id,
        -- an adjustment adds late usage to a segment already billed: no amendment check
        cast(null as string) as segment_amendment_id,
        cast(null as date) as segment_amendment_date,
        original.proration_factor,
        adjustments.late_quantity as quantity,
        greatest(adjustments.late_amount, cast(0 as decimal(38, 9))) as rated_amount,
        adjustments.late_event_count as event_count,
        adjusting.is_billed,
        true as is_adjustment,
        adjustments.original_period_start as adjusts_period_start
    from adjustments
    inner join segments as adjusting
        on adjustments.adjusting_period_segment_id = adjusting.period_segment_id
    inner join segments as original
        on adjustments.period_segment_id = original.period_segment_id
),

records as (
    select * from regular_records
    union all
    select * from adjustment_records
),

final as (
    select
        -- identity
        records.external_id,
        records.period_segment_id,
        records.original_period_segment_id,
        -- NetSuite references
        lines.netsuite_customer_id,
        lines.billing_account_id,
        lines.subscription_id,
        records.subscription_line_id,
        lines.subscription_line_number,
        lines.subscription_plan_id,
        lines.item_id,
        lines.charge_type,
        lines.metric,
        -- period and segment
        records.billing_period_start,
        records.billing_period_end,
        records.segment_start,
        records.segment_end,
        records.segment_end as usage_date,
        -- quantity and amount
        records.quantity,
        records.price_plan_id,
        records.segment_amendment_id,
        records.segment_amendment_date,
        records.proration_factor,
        records.rated_amount,
        lines.currency,
        records.event_count,
        -- state
        coalesce(close_status.is_period_closed, false) as is_period_closed,
        records.is_billed,
        records.is_adjustment,
        records.adjusts_period_start
    from records
    inner join lines
        on records.subscription_line_id = lines.subscription_line_id
    left join close_status
        on lines.billing_account_id = close_status.billing_account_id
            and records.billing_period_start = close_status.billing_period_start
)

select * from final
