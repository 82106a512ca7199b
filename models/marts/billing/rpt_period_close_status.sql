-- One row per billing account × billing period: closed or which sources are still missing (and
-- the files that cannot be read that hold it open), the usage records and their total, the
-- approval state, and whether the period is ready to load.
with

source_status as (
    select * from {{ ref('int_period_close_status') }}
),

records as (
    select * from {{ ref('fct_usage_records') }}
),

invoice_totals as (
    select * from {{ ref('int_invoice_totals_approved') }}
),

closes as (
    select
        billing_account_id,
        billing_period_start,
        min(billing_period_end) as billing_period_end,
        min(period_end_at) as period_end_at,
        bool_and(is_source_complete or source_system is null) as is_period_closed,
        {{ dbt.listagg(
            'case when source_system is not null and not is_source_complete then source_system end',
            "', '",
            'order by source_system'
        ) }} as missing_sources,
        min(case when source_system is not null then complete_through end) as earliest_watermark,
        -- the files that hold the period open: a source's files that cannot be read
        {{ dbt.listagg(
            "case when unreadable_files is not null then source_system || ': ' || unreadable_files end",
            "'; '",
            'order by source_system'
        ) }} as unreadable_files
    from source_status
    group by 1, 2
),

record_totals as (
    select
        billing_account_id,
        billing_period_start,
        count(*) as usage_record_count,
        sum(case when is_adjustment then 1 else 0 end) as adjustment_count,
        cast(sum(rated_amount) as decimal(38, 9)) as usage_amount,
        bool_or(is_billed) as is_billed
    from records
    group by 1, 2
),

final as (
    select
        closes.billing_account_id,
        closes.billing_period_start,
        closes.billing_period_end,
        closes.period_end_at,
        closes.is_period_closed,
        closes.missing_sources,
        closes.earliest_watermark,
        closes.unreadable_files,
        coalesce(record_totals.usage_record_count, 0) as usage_record_count,
        coalesce(record_totals.adjustment_count, 0) as adjustment_count,
        coalesce(record_totals.usage_amount, 0) as usage_amount,
        invoice_totals.invoice_total,
        invoice_totals.currency,
        coalesce(record_totals.is_billed, false) as is_billed,
        coalesce(invoice_totals.requires_approval, false) as requires_approval,
        coalesce(invoice_totals.has_current_approval, false) as has_current_approval,
        coalesce(invoice_totals.has_stale_approval, false) as has_stale_approval,
        case
            when not coalesce(invoice_totals.requires_approval, false) then 'not_required'
            when invoice_totals.has_current_approval then 'approved'
            when invoice_totals.has_stale_approval then 'stale'
            else 'pending'
        end as approval_state,
        closes.is_period_closed
        and (not coalesce(invoice_totals.requires_approval, false) or invoice_totals.has_current_approval)
            as is_ready_to_load
    from closes
    left join record_totals
        on closes.billing_account_id = record_totals.billing_account_id
            and closes.billing_period_start = record_totals.billing_period_start
    left join invoice_totals
        on closes.billing_account_id = invoice_totals.billing_account_id
            and closes.billing_period_start = invoice_totals.billing_period_start
)

select * from final
