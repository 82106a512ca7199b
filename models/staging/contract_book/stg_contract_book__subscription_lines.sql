-- One row per subscription line: its charge type, metric, price plan, term, revenue rule and
-- prepaid pool, as the contract book holds it. Values are kept as written (nothing trimmed or
-- recased), so that the contract book's tests see what a typo put there.
with

-- the origin of the contract book: the seed, or NetSuite's tables (var contract_book_origin)
source as (
    select * from {{ contract_book_origin('subscription_lines') }}
),

final as (
    select
        cast(subscription_line_id as string) as subscription_line_id,
        cast(subscription_id as string) as subscription_id,
        cast(line_number as integer) as line_number,
        cast(item_id as string) as item_id,
        cast(charge_type as string) as charge_type,
        cast(metric as string) as metric,
        cast(price_plan_id as string) as price_plan_id,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(rev_rec_rule as string) as rev_rec_rule,
        cast(prepaid_quantity as decimal(38, 9)) as prepaid_quantity,
        cast(prepaid_amount as decimal(38, 9)) as prepaid_amount
    from source
)

select * from final
