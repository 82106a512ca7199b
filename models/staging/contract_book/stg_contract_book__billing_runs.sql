-- One row per invoiced billing period of a subscription: when NetSuite Billing Operations billed
-- it, as the contract book holds it. Values are kept as written (nothing trimmed or recased), so
-- that the contract book's tests see what a typo put there.
with

-- the origin of the contract book: the seed
source as (
    select * from {{ ref('billing_runs') }}
),

final as (
    select
        cast(subscription_id as string) as subscription_id,
        cast(billing_period_start as date) as billing_period_start,
        cast(billed_at as {{ type_instant() }}) as billed_at
    from source
)

select * from final
