-- Every spread adds up exactly (largest remainder): per amount to recognize, its months sum to the
-- amount (rounded to the currency's minor unit), and no month is a whole minor unit or more away
-- from its exact share, amount × weight ÷ total weight.
with

allocations as (
    select
        *,
        sum(weight) over (partition by allocation_id) as total_weight,
        case {{ currency_minor_unit('currency') }}
            when 0 then cast(1 as decimal(38, 9))
            when 3 then cast(0.001 as decimal(38, 9))
            else cast(0.01 as decimal(38, 9))
        end as minor_unit
    from {{ ref('int_revenue_amounts_allocated') }}
),

spreads as (
    select
        allocation_id,
        min(currency) as currency,
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
    where recognized_amount <> {{ round_money('amount_to_spread', 'currency') }}
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
        and abs(recognized_amount * total_weight - amount_to_spread * weight) >= minor_unit * abs(total_weight)
)

select *
from unequal_totals

union all

select *
from months_off_their_share
