-- One row per holiday: a date that is no business day, as the contract book holds it. Values are
-- kept as written (nothing trimmed or recased), so that the contract book's tests see what a typo
-- put there.
with

-- the origin of the contract book: the seed
source as (
    select * from {{ ref('holidays') }}
),

final as (
    select
        cast(holiday_date as date) as holiday_date,
        cast(name as string) as holiday_name
    from source
)

select * from final
