-- One row per billing metric: how its usage aggregates and its unit, as the contract book holds it.
-- Values are kept as written (nothing trimmed or recased), so that the contract book's tests see
-- what a typo put there.
with

-- the origin of the contract book: the seed
source as (
    select * from {{ ref('metrics') }}
),

final as (
    select
        cast(metric as string) as metric,
        cast(aggregation as string) as aggregation,
        cast(unique_property as string) as unique_property,
        cast(unit as string) as unit
    from source
)

select * from final
