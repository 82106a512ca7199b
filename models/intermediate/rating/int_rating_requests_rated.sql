-- One row per rating request: the sum of its reached tiers (int_rating_tiers_applied), the
-- prorated minimum, and the amount rounded once to the minor unit of its currency.
with

requests as (
    select * from {{ ref('int_rating_requests') }}
),

rated_tiers as (
    select * from {{ ref('int_rating_tiers_applied') }}
),

plans as (
    select * from {{ ref('stg_contract_book__price_plans') }}
),

currencies as (
    select * from {{ ref('currencies') }}
),

tier_totals as (
    select
        rating_id,
        cast(sum(tier_amount) as decimal(38, 12)) as tiered_amount
    from rated_tiers
    group by 1
),

-- M = minimum_amount × f when the plan prorates its tiers
minimums as (
    select
        requests.*,
        coalesce(tier_totals.tiered_amount, 0) as tiered_amount,
        {{ prorated('coalesce(plans.minimum_amount, 0)', 'requests.proration_factor', 'plans.prorate_tiers') }} as minimum_amount
    from requests
    left join plans
        on requests.price_plan_id = plans.price_plan_id
    left join tier_totals
        on requests.rating_id = tier_totals.rating_id
),

-- amount = max(tiered amount, M), rounded once; a currency without a known minor unit has no row
-- here (the currencies test on the contract book fails the build first)
final as (
    select
        minimums.*,
        greatest(minimums.tiered_amount, minimums.minimum_amount) as unrounded_amount,
        {{ round_money('greatest(minimums.tiered_amount, minimums.minimum_amount)', 'currencies.minor_unit') }} as rated_amount
    from minimums
    inner join currencies
        on minimums.currency = currencies.currency
)

select * from final
