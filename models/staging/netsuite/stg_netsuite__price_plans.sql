-- The contract book's price_plans from NetSuite's tables: the mapping of `usage-loader contracts pull`
-- (loader/contracts/netsuite_book.sql), one macro for both. Typed as the seed is
-- (dbt_project.yml), so it stands in for it.
{{ config(materialized='view', enabled=var('contract_book_origin', 'seeds') == 'netsuite') }}

select
    cast(mapped.price_plan_id as string) as price_plan_id,
    cast(mapped.currency as string) as currency,
    cast(mapped.pricing_model as string) as pricing_model,
    cast(mapped.package_size as decimal(38, 9)) as package_size,
    cast(mapped.minimum_amount as decimal(38, 9)) as minimum_amount,
    cast(mapped.prorate_tiers as string) as prorate_tiers
from (
    {{ netsuite_book_price_plans(source('netsuite', 'priceplan'), source('netsuite', 'pricetiers'), source('netsuite', 'currency')) }}
) as mapped
