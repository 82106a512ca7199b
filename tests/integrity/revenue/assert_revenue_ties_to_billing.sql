-- Revenue ties to billing, to the cent. Per subscription line and billing period, the usage and
-- recurring revenue recognized from that period's segments equals what billing charges for them:
-- its Usage Records (the regular record and any late-usage adjustment of it) less its credit-memo
-- candidate, and its recurring fees. Per line, the revenue schedule holds exactly that revenue.
with

allocations as (
    select
        allocations.subscription_line_id,
        segments.billing_period_start,
        allocations.recognized_amount
    from {{ ref('int_revenue_amounts_allocated') }} as allocations
    inner join {{ ref('int_period_segments_rated') }} as segments
        on allocations.period_segment_id = segments.period_segment_id
    where allocations.component in ('usage', 'recurring')
),

billed_amounts as (
    select
        subscription_line_id,
        coalesce(adjusts_period_start, billing_period_start) as billing_period_start,
        rated_amount as amount
    from {{ ref('fct_usage_records') }}

    union all

    select
        subscription_line_id,
        billing_period_start,
        -credit_amount as amount
    from {{ ref('rpt_credit_memo_candidates') }}

    union all

    select
        subscription_line_id,
        billing_period_start,
        amount
    from {{ ref('fct_invoice_preview') }}
    where line_kind = 'recurring_fee'
),

revenue_per_period as (
    select
        subscription_line_id,
        billing_period_start,
        sum(recognized_amount) as recognized_amount
    from allocations
    group by 1, 2
),

billing_per_period as (
    select
        subscription_line_id,
        billing_period_start,
        sum(amount) as billed_amount
    from billed_amounts
    group by 1, 2
),

period_differences as (
    select
        coalesce(revenue_per_period.subscription_line_id, billing_per_period.subscription_line_id) as subscription_line_id,
        coalesce(revenue_per_period.billing_period_start, billing_per_period.billing_period_start) as billing_period_start,
        coalesce(revenue_per_period.recognized_amount, 0) as recognized_amount,
        coalesce(billing_per_period.billed_amount, 0) as billed_amount
    from revenue_per_period
    full outer join billing_per_period
        on revenue_per_period.subscription_line_id = billing_per_period.subscription_line_id
            and revenue_per_period.billing_period_start = billing_per_period.billing_period_start
),

schedule_per_line as (
    select
        subscription_line_id,
        sum(recognized_amount) as recognized_amount
    from {{ ref('fct_revenue_schedule') }}
    where component in ('usage', 'recurring')
    group by 1
),

billing_per_line as (
    select
        subscription_line_id,
        sum(amount) as billed_amount
    from billed_amounts
    group by 1
),

line_differences as (
    select
        coalesce(schedule_per_line.subscription_line_id, billing_per_line.subscription_line_id) as subscription_line_id,
        cast(null as date) as billing_period_start,
        coalesce(schedule_per_line.recognized_amount, 0) as recognized_amount,
        coalesce(billing_per_line.billed_amount, 0) as billed_amount
    from schedule_per_line
    full outer join billing_per_line
        on schedule_per_line.subscription_line_id = billing_per_line.subscription_line_id
)

select *
from period_differences
where recognized_amount <> billed_amount

union all

select *
from line_differences
where recognized_amount <> billed_amount
