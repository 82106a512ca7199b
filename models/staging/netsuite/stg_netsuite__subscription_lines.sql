-- The contract book's subscription_lines from NetSuite's tables: the mapping of `usage-loader contracts pull`
-- (loader/contracts/netsuite_book.sql), one macro for both. Typed as the seed is
-- (dbt_project.yml), so it stands in for it.
{{ config(materialized='view', enabled=var('contract_book_origin', 'seeds') == 'netsuite') }}

select
    cast(mapped.subscription_line_id as string) as subscription_line_id,
    cast(mapped.subscription_id as string) as subscription_id,
    cast(mapped.line_number as integer) as line_number,
    cast(mapped.item_id as string) as item_id,
    cast(mapped.charge_type as string) as charge_type,
    cast(mapped.metric as string) as metric,
    cast(mapped.price_plan_id as string) as price_plan_id,
    cast(mapped.start_date as date) as start_date,
    cast(mapped.end_date as date) as end_date,
    cast(mapped.rev_rec_rule as string) as rev_rec_rule,
    cast(mapped.prepaid_quantity as decimal(38, 9)) as prepaid_quantity,
    cast(mapped.prepaid_amount as decimal(38, 9)) as prepaid_amount
from (
    {{ netsuite_book_subscription_lines(source('netsuite', 'subscriptionline'), source('netsuite', 'subscription'), source('netsuite', 'item'), source('netsuite', 'subscriptionpriceinterval'), source('netsuite', 'priceplan')) }}
) as mapped
