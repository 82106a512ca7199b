-- One row per approval of an invoice total: its account, period, amount and currency, who approved
-- it and when, as the contract book holds it. Values are kept as written (nothing trimmed or
-- recased), so that the contract book's tests see what a typo put there.
with

-- the origin of the contract book: the seed
source as (
    select * from {{ ref('usage_approvals') }}
),

final as (
    select
        cast(billing_account_id as string) as billing_account_id,
        cast(billing_period_start as date) as billing_period_start,
        cast(approved_amount as decimal(38, 9)) as approved_amount,
        cast(currency as string) as currency,
        cast(approved_by as string) as approved_by,
        cast(approved_at as {{ type_instant() }}) as approved_at
    from source
)

select * from final
