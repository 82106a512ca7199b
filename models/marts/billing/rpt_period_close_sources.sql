-- One row per billing account × billing period × source system: the source's watermark against
-- the period's end, the public face of the period close (SPEC 3.7).
with

source_status as (
    select * from {{ ref('int_period_close_status') }}
),

final as (
    select
        billing_account_id,
        billing_period_start,
        billing_period_end,
        period_end_at,
        source_system,
        complete_through,
        is_source_complete
    from source_status
)

select * from final
