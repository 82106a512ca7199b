-- One row per source system × source metric: the billing metric it maps to and the multiplier to
-- billing units, as the contract book holds it. Values are kept as written (nothing trimmed or
-- recased), so that the contract book's tests see what a typo put there.
with

-- the origin of the contract book: the seed
source as (
    select * from {{ ref('metric_mappings') }}
),

final as (
    select
        cast(source_system as string) as source_system,
        cast(source_metric as string) as source_metric,
        cast(metric as string) as metric,
        cast(multiplier as decimal(38, 9)) as multiplier
    from source
)

select * from final
