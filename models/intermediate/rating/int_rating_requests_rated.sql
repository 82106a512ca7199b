-- One row per rating request: the sum of its reached tiers, the prorated minimum, and the amount
-- rounded once to the currency's minor unit.
with

requests as (
    select * from {{ ref('int_rating_requests') }}
),

plans as (
    select * from {{ ref('price_plans') }}
),

tiers as (
    select * from {{ ref('price_plan_tiers') }}
),

{{ rated_tiers_ctes() }},

tier_totals as (
    select
        rating_id,
        cast(sum(tier_amount) as decimal(38, 12)) as tiered_amount
    from rated_tiers
    group by 1
),

final as (
    select
        requests.*,
        coalesce(tier_totals.tiered_amount, 0) as tiered_amount,
        {{ prorated('coalesce(plans.minimum_amount, 0)', 'requests.proration_factor', 'plans.prorate_tiers') }} as minimum_amount,
        greatest(
            coalesce(tier_totals.tiered_amount, 0),
            {{ prorated('coalesce(plans.minimum_amount, 0)', 'requests.proration_factor', 'plans.prorate_tiers') }}
        ) as unrounded_amount,
        {{ round_money(
            'greatest(coalesce(tier_totals.tiered_amount, 0), ' ~ prorated('coalesce(plans.minimum_amount, 0)', 'requests.proration_factor', 'plans.prorate_tiers') ~ ')',
            'requests.currency'
        ) }} as rated_amount
    from requests
    left join plans
        on requests.price_plan_id = plans.price_plan_id
    left join tier_totals
        on requests.rating_id = tier_totals.rating_id
)

select * from final
