-- One row per billing account × calendar month: the deferred revenue of prepaid pools (opening,
-- invoiced into deferral, recognized from it, closing) and the contract asset of usage (opening,
-- recognized, invoiced, closing), so that revenue ties to billing month by month.
with

schedule as (
    select *
    from {{ ref('fct_revenue_schedule') }}
),

lines as (
    select *
    from {{ ref('int_subscription_lines_amended') }}
    where line_start_date <= {{ as_of_date() }}
),

pool_draws as (
    select *
    from {{ ref('int_revenue_prepaid_pools_drawn') }}
),

usage_records as (
    select *
    from {{ ref('fct_usage_records') }}
),

series as (
    {{ integer_series(1200) }}
),

-- prepaid pools are invoiced, and deferred, at the line's start: the pool's draws and what is left
prepaid_invoices as (
    select
        billing_account_id,
        {{ revenue_month('line_start_date') }} as revenue_month,
        cast(sum(drawn_amount) as decimal(38, 9)) as deferred_revenue_invoiced
    from pool_draws
    group by 1, 2
),

recognized as (
    select
        billing_account_id,
        revenue_month,
        cast(sum(case when component in ('prepaid_drawdown', 'prepaid_breakage') then recognized_amount else 0 end) as decimal(38, 9)) as deferred_revenue_recognized,
        cast(sum(case when component = 'usage' then recognized_amount else 0 end) as decimal(38, 9)) as usage_recognized,
        cast(sum(case when component = 'usage' and is_prior_period_adjustment then recognized_amount else 0 end) as decimal(38, 9)) as usage_prior_period_adjustments,
        cast(sum(case when component = 'recurring' then recognized_amount else 0 end) as decimal(38, 9)) as recurring_recognized,
        cast(sum(recognized_amount) as decimal(38, 9)) as total_recognized
    from schedule
    group by 1, 2
),

-- usage is invoiced when its billing period is billed, in the month the period ends
usage_invoices as (
    select
        billing_account_id,
        {{ revenue_month('billing_period_end') }} as revenue_month,
        cast(sum(rated_amount) as decimal(38, 9)) as usage_invoiced
    from usage_records
    where is_billed
    group by 1, 2
),

account_bounds as (
    select
        lines.billing_account_id,
        min(lines.currency) as currency,
        min({{ revenue_month('lines.line_start_date') }}) as first_month
    from lines
    group by 1
),

last_months as (
    select
        billing_account_id,
        max(revenue_month) as last_month
    from (
        select
            billing_account_id,
            revenue_month
        from recognized
        union all
        select
            billing_account_id,
            revenue_month
        from usage_invoices
        union all
        select
            billing_account_id,
            revenue_month
        from prepaid_invoices
        union all
        select
            billing_account_id,
            {{ revenue_month(as_of_date()) }} as revenue_month
        from account_bounds
    ) as movement_months
    group by 1
),

account_months as (
    select
        account_bounds.billing_account_id,
        account_bounds.currency,
        cast({{ dbt.dateadd('month', 'series.n', 'account_bounds.first_month') }} as date) as revenue_month
    from account_bounds
    inner join last_months
        on account_bounds.billing_account_id = last_months.billing_account_id
    cross join series
    where series.n <= {{ dbt.datediff('account_bounds.first_month', 'last_months.last_month', 'month') }}
),

movements as (
    select
        account_months.billing_account_id,
        account_months.revenue_month,
        account_months.currency,
        coalesce(prepaid_invoices.deferred_revenue_invoiced, 0) as deferred_revenue_invoiced,
        coalesce(recognized.deferred_revenue_recognized, 0) as deferred_revenue_recognized,
        coalesce(recognized.usage_recognized, 0) as usage_recognized,
        coalesce(recognized.usage_prior_period_adjustments, 0) as usage_prior_period_adjustments,
        coalesce(usage_invoices.usage_invoiced, 0) as usage_invoiced,
        coalesce(recognized.recurring_recognized, 0) as recurring_recognized,
        coalesce(recognized.total_recognized, 0) as total_recognized
    from account_months
    left join prepaid_invoices
        on account_months.billing_account_id = prepaid_invoices.billing_account_id
            and account_months.revenue_month = prepaid_invoices.revenue_month
    left join recognized
        on account_months.billing_account_id = recognized.billing_account_id
            and account_months.revenue_month = recognized.revenue_month
    left join usage_invoices
        on account_months.billing_account_id = usage_invoices.billing_account_id
            and account_months.revenue_month = usage_invoices.revenue_month
),

balances as (
    select
        *,
        sum(deferred_revenue_invoiced - deferred_revenue_recognized) over (
            partition by billing_account_id
            order by revenue_month
            rows between unbounded preceding and current row
        ) as deferred_revenue_closing,
        sum(usage_recognized - usage_invoiced) over (
            partition by billing_account_id
            order by revenue_month
            rows between unbounded preceding and current row
        ) as contract_asset_closing
    from movements
),

final as (
    select
        -- keys
        cast(billing_account_id || '|' || {{ date_yyyymmdd('revenue_month') }} as string) as revenue_rollforward_id,
        cast(billing_account_id as string) as billing_account_id,
        cast(revenue_month as date) as revenue_month,
        cast(currency as string) as currency,
        -- deferred revenue (contract liability): prepaid pools
        cast(deferred_revenue_closing - deferred_revenue_invoiced + deferred_revenue_recognized as decimal(38, 9)) as deferred_revenue_opening,
        cast(deferred_revenue_invoiced as decimal(38, 9)) as deferred_revenue_invoiced,
        cast(deferred_revenue_recognized as decimal(38, 9)) as deferred_revenue_recognized,
        cast(deferred_revenue_closing as decimal(38, 9)) as deferred_revenue_closing,
        -- contract asset: usage recognized but not yet invoiced
        cast(contract_asset_closing - usage_recognized + usage_invoiced as decimal(38, 9)) as contract_asset_opening,
        cast(usage_recognized as decimal(38, 9)) as usage_recognized,
        cast(usage_prior_period_adjustments as decimal(38, 9)) as usage_prior_period_adjustments,
        cast(usage_invoiced as decimal(38, 9)) as usage_invoiced,
        cast(contract_asset_closing as decimal(38, 9)) as contract_asset_closing,
        -- all revenue of the month
        cast(recurring_recognized as decimal(38, 9)) as recurring_recognized,
        cast(total_recognized as decimal(38, 9)) as total_recognized
    from balances
)

select *
from final
