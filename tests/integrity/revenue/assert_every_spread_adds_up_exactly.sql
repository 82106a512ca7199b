-- Every spread adds up exactly (largest remainder): per amount to recognize, its months sum to the
-- amount (rounded to the currency's minor unit), and no month is a whole minor unit or more away
-- from its exact share, amount × weight ÷ total weight.
with

allocations as (
    select
        allocated.*,
        currencies.minor_unit,
        sum(allocated.weight) over (partition by allocated.allocation_id) as total_weight,
        -- one minor unit of the currency as an amount (0.01 for USD)
        {{ from_minor_units('1', 'currencies.minor_unit') }} as minor_unit_amount
    from {{ ref('int_revenue_amounts_allocated') }} as allocated
    inner join {{ ref('currencies') }} as currencies
        on allocated.currency = currencies.currency
),

spreads as (
    select
        allocation_id,
        min(currency) as currency,
        min(minor_unit) as minor_unit,
        min(amount_to_spread) as amount_to_spread,
        max(amount_to_spread) as largest_amount_to_spread,
        sum(recognized_amount) as recognized_amount
    from allocations
    group by 1
),

unequal_totals as (
    select
        allocation_id,
        cast(null as date) as revenue_month,
        amount_to_spread,
        recognized_amount
    from spreads
    where recognized_amount <> {{ round_money('amount_to_spread', 'minor_unit') }}
        or amount_to_spread <> largest_amount_to_spread
),

months_off_their_share as (
    select
        allocation_id,
        revenue_month,
        amount_to_spread,
        recognized_amount
    from allocations
    where total_weight <> 0
        and abs(recognized_amount * total_weight - amount_to_spread * weight) >= minor_unit_amount * abs(total_weight)
)

select *
from unequal_totals

union all

select *
from months_off_their_share
