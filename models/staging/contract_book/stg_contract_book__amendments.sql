-- One row per amendment of a subscription line: a price change, termination or extension, effective
-- on a date, as the contract book holds it. Values are kept as written (nothing trimmed or
-- recased), so that the contract book's tests see what a typo put there.
with

-- the origin of the contract book: the seed, or NetSuite's tables (var contract_book_origin)
source as (
    select * from {{ contract_book_origin('amendments') }}
),

final as (
    select
        cast(amendment_id as string) as amendment_id,
        cast(subscription_line_id as string) as subscription_line_id,
        cast(change_type as string) as change_type,
        cast(effective_date as date) as effective_date,
        cast(new_price_plan_id as string) as new_price_plan_id,
        cast(new_end_date as date) as new_end_date,
        cast(entered_at as {{ type_instant() }}) as entered_at
    from source
)

select * from final
