-- One row per billed period segment whose usage went down after billing (or whose late usage rates
-- lower): the amount to credit, since NetSuite takes no negative usage.
with

late_usage as (
    select * from {{ ref('int_late_usage_adjustments') }}
),

segments as (
    select * from {{ ref('int_period_segments_rated') }}
),

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

final as (
    select
        {{ usage_record_external_id('late_usage.subscription_line_id', 'late_usage.original_segment_start') }} as original_external_id,
        lines.billing_account_id,
        lines.netsuite_customer_id,
        lines.subscription_id,
        late_usage.subscription_line_id,
        lines.item_id,
        segments.metric,
        late_usage.original_period_start as billing_period_start,
        segments.segment_start,
        segments.segment_end,
        late_usage.billed_at,
        late_usage.billed_quantity,
        late_usage.current_quantity,
        late_usage.late_quantity,
        late_usage.billed_rated_amount,
        late_usage.current_rated_amount,
        cast(-late_usage.late_amount as decimal(38, 9)) as credit_amount,
        late_usage.currency
    from late_usage
    inner join segments
        on late_usage.period_segment_id = segments.period_segment_id
    inner join lines
        on late_usage.subscription_line_id = lines.subscription_line_id
    where late_usage.late_amount < 0
        or late_usage.late_quantity < 0
)

select * from final
