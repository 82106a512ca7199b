-- The contract book's amendments from NetSuite's tables: the mapping of `usage-loader contracts pull`
-- (loader/contracts/netsuite_book.sql), one macro for both. Typed as the seed is
-- (dbt_project.yml), so it stands in for it.
{{ config(materialized='view', enabled=var('contract_book_origin', 'seeds') == 'netsuite') }}

select
    cast(mapped.amendment_id as string) as amendment_id,
    cast(mapped.subscription_line_id as string) as subscription_line_id,
    cast(mapped.change_type as string) as change_type,
    cast(mapped.effective_date as date) as effective_date,
    cast(mapped.new_price_plan_id as string) as new_price_plan_id,
    cast(mapped.new_end_date as date) as new_end_date,
    cast(mapped.entered_at as {{ type_instant() }}) as entered_at
from (
    {{ netsuite_book_amendments(source('netsuite', 'subscriptionchangeorder'), source('netsuite', 'changeorderline'), source('netsuite', 'subscriptionline'), source('netsuite', 'priceplan')) }}
) as mapped
