-- One row per billing account: its NetSuite customer, currency, time zone and bill cycle day, as
-- the contract book holds it. Values are kept as written (nothing trimmed or recased), so that the
-- contract book's tests see what a typo put there.
with

-- the origin of the contract book: the seed, or NetSuite's tables (var contract_book_origin)
source as (
    select * from {{ contract_book_origin('billing_accounts') }}
),

final as (
    select
        cast(billing_account_id as string) as billing_account_id,
        cast(netsuite_customer_id as string) as netsuite_customer_id,
        cast(account_name as string) as account_name,
        cast(currency as string) as currency,
        cast(timezone as string) as timezone,
        cast(bill_cycle_day as integer) as bill_cycle_day
    from source
)

select * from final
