-- One row per source system × source customer key: the billing account it maps to, as the contract
-- book holds it. Values are kept as written (nothing trimmed or recased), so that the contract
-- book's tests see what a typo put there.
with

-- the origin of the contract book: the seed
source as (
    select * from {{ ref('customer_mappings') }}
),

final as (
    select
        cast(source_system as string) as source_system,
        cast(source_customer_key as string) as source_customer_key,
        cast(billing_account_id as string) as billing_account_id
    from source
)

select * from final
