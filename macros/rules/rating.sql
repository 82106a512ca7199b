{#- Rating (SPEC 3.5), tier by tier. Expects CTEs `requests` (rating_id, price_plan_id,
    proration_factor, rated_quantity), `plans` (price_plans) and `tiers` (price_plan_tiers) and
    adds CTEs ending in `rated_tiers`: one row per request × tier with the scaled bounds B_k, the
    scaled flat amount F_k, whether q reaches the tier, its units and its amount. -#}
{% macro rated_tiers_ctes() -%}
plan_tiers as (
    select
        tiers.*,
        max(tiers.tier) over (partition by tiers.price_plan_id) as last_tier
    from tiers
),

bounds as (
    select
        requests.rating_id,
        requests.rated_quantity,
        requests.proration_factor,
        plans.pricing_model,
        plans.package_size,
        plans.prorate_tiers,
        plan_tiers.tier,
        plan_tiers.unit_price,
        plan_tiers.flat_amount,
        plan_tiers.up_to,
        -- B_k: the last bound is infinite
        case
            when plan_tiers.tier < plan_tiers.last_tier
                then {{ prorated('plan_tiers.up_to', 'requests.proration_factor', 'plans.prorate_tiers') }}
        end as upper_bound,
        -- F_k
        {{ prorated('coalesce(plan_tiers.flat_amount, 0)', 'requests.proration_factor', 'plans.prorate_tiers') }} as flat_amount_prorated
    from requests
    inner join plans
        on requests.price_plan_id = plans.price_plan_id
    inner join plan_tiers
        on requests.price_plan_id = plan_tiers.price_plan_id
),

with_lower_bounds as (
    select
        *,
        coalesce(
            lag(upper_bound) over (partition by rating_id order by tier),
            cast(0 as decimal(38, 12))
        ) as lower_bound
    from bounds
),

applied as (
    select
        *,
        {{ tier_is_reached('pricing_model', 'tier', 'rated_quantity', 'lower_bound', 'upper_bound') }} as is_reached,
        {{ tier_units('pricing_model', 'rated_quantity', 'lower_bound', 'upper_bound', 'package_size') }} as tier_units
    from with_lower_bounds
),

rated_tiers as (
    select
        rating_id,
        tier,
        pricing_model,
        rated_quantity,
        proration_factor,
        prorate_tiers,
        lower_bound,
        upper_bound,
        is_reached,
        case when is_reached then tier_units else cast(0 as decimal(38, 12)) end as units,
        coalesce(unit_price, 0) as unit_price,
        case when is_reached then flat_amount_prorated else cast(0 as decimal(38, 12)) end as flat_amount,
        cast(
            case when is_reached then tier_units * coalesce(unit_price, 0) + flat_amount_prorated else 0 end
            as decimal(38, 12)
        ) as tier_amount
    from applied
)
{%- endmacro %}
