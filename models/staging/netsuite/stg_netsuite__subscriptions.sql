-- The contract book's subscriptions from NetSuite's tables: the mapping of `usage-loader contracts pull`
-- (loader/contracts/netsuite_book.sql), one macro for both. Typed as the seed is
-- (dbt_project.yml), so it stands in for it.
{{ config(materialized='view', enabled=var('contract_book_origin', 'seeds') == 'netsuite') }}

select
    cast(mapped.subscription_id as string) as subscription_id,
    cast(mapped.billing_account_id as string) as billing_account_id,
    cast(mapped.subscription_plan_id as string) as subscription_plan_id,
    cast(mapped.start_date as date) as start_date,
    cast(mapped.end_date as date) as end_date,
    cast(mapped.proration_method as string) as proration_method
from (
    {{ netsuite_book_subscriptions(source('netsuite', 'subscription'), source('netsuite', 'billingaccount'), source('netsuite', 'item')) }}
) as mapped
