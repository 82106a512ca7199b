-- The contract book's billing_accounts from NetSuite's tables: the mapping of `usage-loader contracts pull`
-- (loader/contracts/netsuite_book.sql), one macro for both. Typed as the seed is
-- (dbt_project.yml), so it stands in for it.
{{ config(materialized='view', enabled=var('contract_book_origin', 'seeds') == 'netsuite') }}

select
    cast(mapped.billing_account_id as string) as billing_account_id,
    cast(mapped.netsuite_customer_id as string) as netsuite_customer_id,
    cast(mapped.account_name as string) as account_name,
    cast(mapped.currency as string) as currency,
    cast(mapped.timezone as string) as timezone,
    cast(mapped.bill_cycle_day as integer) as bill_cycle_day
from (
    {{ netsuite_book_billing_accounts(source('netsuite', 'billingaccount'), source('netsuite', 'currency')) }}
) as mapped
