-- One row per subscription: its billing account, term and proration method, as the contract book
-- holds it. Values are kept as written (nothing trimmed or recased), so that the contract book's
-- tests see what a typo put there.
with

-- the origin of the contract book: the seed, or NetSuite's tables (var contract_book_origin)
source as (
    select * from {{ contract_book_origin('subscriptions') }}
),

final as (
    select
        cast(subscription_id as string) as subscription_id,
        cast(billing_account_id as string) as billing_account_id,
        cast(subscription_plan_id as string) as subscription_plan_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(proration_method as string) as proration_method
    from source
)

select * from final
