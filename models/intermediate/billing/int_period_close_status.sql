-- One row per billing account × billing period × source system mapped to the account: whether the
-- source's watermark has passed the period's end instant plus the grace hours, and the source's
-- files that cannot be read (SPEC 3.7: while one is there, the source closes no period).
with

period_segments as (
    select * from {{ ref('int_line_segments_prorated') }}
),

accounts as (
    select * from {{ ref('stg_contract_book__billing_accounts') }}
),

customer_mappings as (
    select * from {{ ref('stg_contract_book__customer_mappings') }}
),

signals as (
    select * from {{ ref('stg_watermarks__signals') }}
    where invalid_reason is null
),

-- per source the largest complete_through counts: a smaller one never reopens a period
watermarks as (
    select
        source_system,
        max(complete_through) as complete_through
    from signals
    group by 1
),

-- per source the files quarantined whole as unreadable_file: they may hold records of any account
unreadable_files as (
    select
        source_system,
        {{ dbt.listagg('file_name', "', '", 'order by file_name') }} as unreadable_files
    from {{ ref('int_usage_records_unioned') }}
    where invalid_reason = 'unreadable_file'
    group by 1
),

account_periods as (
    select distinct
        period_segments.billing_account_id,
        period_segments.billing_period_start,
        period_segments.billing_period_end,
        accounts.timezone
    from period_segments
    inner join accounts
        on period_segments.billing_account_id = accounts.billing_account_id
),

account_sources as (
    select distinct
        billing_account_id,
        source_system
    from customer_mappings
),

-- the period's end instant: local midnight after its last day, in UTC
period_ends as (
    select
        account_periods.billing_account_id,
        account_periods.billing_period_start,
        account_periods.billing_period_end,
        {{ local_midnight_utc(dbt.dateadd('day', 1, 'account_periods.billing_period_end'), 'account_periods.timezone') }} as period_end_at
    from account_periods
),

-- the watermark a source must reach: the end instant plus the grace hours
period_requirements as (
    select
        *,
        {{ dbt.dateadd('hour', var('watermark_grace_hours', 0), 'period_end_at') }} as required_complete_through
    from period_ends
),

final as (
    select
        period_requirements.billing_account_id,
        period_requirements.billing_period_start,
        period_requirements.billing_period_end,
        period_requirements.period_end_at,
        account_sources.source_system,
        watermarks.complete_through,
        period_requirements.required_complete_through,
        unreadable_files.unreadable_files,
        coalesce(watermarks.complete_through >= period_requirements.required_complete_through, false)
        and unreadable_files.source_system is null as is_source_complete
    from period_requirements
    left join account_sources
        on period_requirements.billing_account_id = account_sources.billing_account_id
    left join watermarks
        on account_sources.source_system = watermarks.source_system
    left join unreadable_files
        on account_sources.source_system = unreadable_files.source_system
)

select * from final
