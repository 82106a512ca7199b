-- One row per billing account × billing period × source system mapped to the account: the
-- source's watermark against the period's end instant, and whether the source is complete for the
-- period (SPEC 3.7: a watermark at or past the end, and no unreadable file of the source). A
-- period is closed when every one of its sources is.
with

source_status as (
    select * from {{ ref('int_period_close_status') }}
    -- an account without a customer mapping has no source to wait for
    where source_system is not null
),

final as (
    select
        -- keys
        cast(
            billing_account_id || '|' || {{ date_yyyymmdd('billing_period_start') }} || '|' || source_system
            as string
        ) as period_close_source_id,
        cast(billing_account_id as string) as billing_account_id,
        cast(billing_period_start as date) as billing_period_start,
        cast(billing_period_end as date) as billing_period_end,
        cast(source_system as string) as source_system,
        -- the watermark against the period's end
        cast(period_end_at as {{ type_instant() }}) as period_end_at,
        cast(required_complete_through as {{ type_instant() }}) as required_complete_through,
        cast(complete_through as {{ type_instant() }}) as complete_through,
        cast(is_source_complete as boolean) as is_source_complete,
        -- the source's files that cannot be read: while one is there, the source closes no period
        cast(unreadable_files as string) as unreadable_files
    from source_status
)

select * from final
