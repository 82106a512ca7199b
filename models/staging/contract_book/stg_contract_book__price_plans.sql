-- One row per price plan: its currency, pricing model, package size, minimum and whether its tiers
-- prorate, as the contract book holds it. Values are kept as written (nothing trimmed or recased),
-- so that the contract book's tests see what a typo put there.
with

-- the origin of the contract book: the seed, or NetSuite's tables (var contract_book_origin)
source as (
    select * from {{ contract_book_origin('price_plans') }}
),

final as (
    select
        cast(price_plan_id as string) as price_plan_id,
        cast(currency as string) as currency,
        cast(pricing_model as string) as pricing_model,
        cast(package_size as decimal(38, 9)) as package_size,
        cast(minimum_amount as decimal(38, 9)) as minimum_amount,
        cast(prorate_tiers as string) as prorate_tiers
    from source
)

select * from final
