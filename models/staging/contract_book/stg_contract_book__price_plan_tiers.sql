-- One row per price plan × tier: its upper bound, unit price and flat amount, as the contract book
-- holds it. Values are kept as written (nothing trimmed or recased), so that the contract book's
-- tests see what a typo put there.
with

-- the origin of the contract book: the seed, or NetSuite's tables (var contract_book_origin)
source as (
    select * from {{ contract_book_origin('price_plan_tiers') }}
),

final as (
    select
        cast(price_plan_id as string) as price_plan_id,
        cast(tier as integer) as tier,
        cast(up_to as decimal(38, 9)) as up_to,
        cast(unit_price as decimal(38, 9)) as unit_price,
        cast(flat_amount as decimal(38, 9)) as flat_amount
    from source
)

select * from final
