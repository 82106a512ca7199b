-- A line is rated in its account's currency: its price plans (initial and amended) must match.
with

plans_in_use as (
    select
        subscription_line_id,
        initial_price_plan_id as price_plan_id,
        currency
    from {{ ref('int_subscription_lines_amended') }}
    union all
    select
        subscription_lines.subscription_line_id,
        segments.price_plan_id,
        subscription_lines.currency
    from {{ ref('int_line_segments_amended') }} as segments
    inner join {{ ref('int_subscription_lines_amended') }} as subscription_lines
        on segments.subscription_line_id = subscription_lines.subscription_line_id
)

select
    plans_in_use.subscription_line_id,
    plans_in_use.price_plan_id,
    plans_in_use.currency as account_currency,
    price_plans.currency as plan_currency
from plans_in_use
left join {{ ref('price_plans') }} as price_plans
    on plans_in_use.price_plan_id = price_plans.price_plan_id
where price_plans.price_plan_id is null
    or price_plans.currency <> plans_in_use.currency
