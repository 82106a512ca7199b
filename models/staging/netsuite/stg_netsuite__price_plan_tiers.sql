-- The contract book's price_plan_tiers from NetSuite's tables: the mapping of `usage-loader contracts pull`
-- (loader/contracts/netsuite_book.sql), one macro for both. Typed as the seed is
-- (dbt_project.yml), so it stands in for it.
{{ config(materialized='view', enabled=var('contract_book_origin', 'seeds') == 'netsuite') }}

select
    cast(mapped.price_plan_id as string) as price_plan_id,
    cast(mapped.tier as integer) as tier,
    cast(mapped.up_to as decimal(38, 9)) as up_to,
    cast(mapped.unit_price as decimal(38, 9)) as unit_price,
    cast(mapped.flat_amount as decimal(38, 9)) as flat_amount
from (
    {{ netsuite_book_price_plan_tiers(source('netsuite', 'priceplan'), source('netsuite', 'pricetiers'), source('netsuite', 'currency')) }}
) as mapped
