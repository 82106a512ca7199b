-- The revenue roll-forward balances every month: opening + invoiced − recognized = closing for
-- deferred revenue, opening + recognized − invoiced = closing for the contract asset; each
-- closing is the next month's opening and the first opening is zero. Its movements tie to the
-- layers they come from: recognized revenue to the schedule, deferral invoiced to the prepaid
-- lines, usage invoiced to the billed Usage Records.
with

rollforward as (
    select
        *,
        lag(deferred_revenue_closing) over (partition by billing_account_id order by revenue_month) as previous_deferred_closing,
        lag(contract_asset_closing) over (partition by billing_account_id order by revenue_month) as previous_asset_closing,
        lag(revenue_month) over (partition by billing_account_id order by revenue_month) as previous_month
    from {{ ref('rpt_revenue_rollforward') }}
),

schedule_totals as (
    select
        billing_account_id,
        sum(case when component in ('prepaid_drawdown', 'prepaid_breakage') then recognized_amount else 0 end) as deferred_revenue_recognized,
        sum(case when component = 'usage' then recognized_amount else 0 end) as usage_recognized,
        sum(recognized_amount) as total_recognized
    from {{ ref('fct_revenue_schedule') }}
    group by 1
),

prepaid_totals as (
    select
        amended_lines.billing_account_id,
        sum({{ round_money('coalesce(amended_lines.prepaid_amount, 0)', 'currencies.minor_unit') }}) as deferred_revenue_invoiced
    from {{ ref('int_subscription_lines_amended') }} as amended_lines
    inner join {{ ref('currencies') }} as currencies
        on amended_lines.currency = currencies.currency
    where amended_lines.charge_type = 'prepaid'
        and amended_lines.line_start_date <= {{ as_of_date() }}
        and (amended_lines.line_end_date is null or amended_lines.line_end_date >= amended_lines.line_start_date)
    group by 1
),

invoiced_totals as (
    select
        billing_account_id,
        sum(rated_amount) as usage_invoiced
    from {{ ref('fct_usage_records') }}
    where is_billed
    group by 1
),

rollforward_totals as (
    select
        billing_account_id,
        sum(deferred_revenue_recognized) as deferred_revenue_recognized,
        sum(usage_recognized) as usage_recognized,
        sum(total_recognized) as total_recognized,
        sum(deferred_revenue_invoiced) as deferred_revenue_invoiced,
        sum(usage_invoiced) as usage_invoiced
    from rollforward
    group by 1
),

unbalanced_months as (
    select
        billing_account_id,
        revenue_month,
        'month does not balance' as failure
    from rollforward
    where deferred_revenue_opening + deferred_revenue_invoiced - deferred_revenue_recognized <> deferred_revenue_closing
        or contract_asset_opening + usage_recognized - usage_invoiced <> contract_asset_closing
        or deferred_revenue_opening <> coalesce(previous_deferred_closing, 0)
        or contract_asset_opening <> coalesce(previous_asset_closing, 0)
        or (previous_month is not null and revenue_month <> cast({{ dbt.dateadd('month', 1, 'previous_month') }} as date))
        or total_recognized <> deferred_revenue_recognized + usage_recognized + recurring_recognized
        or deferred_revenue_closing < 0
),

untied_accounts as (
    select
        coalesce(rollforward_totals.billing_account_id, schedule_totals.billing_account_id, prepaid_totals.billing_account_id, invoiced_totals.billing_account_id) as billing_account_id,
        cast(null as date) as revenue_month,
        'movements do not tie to their sources' as failure
    from rollforward_totals
    full outer join schedule_totals
        on rollforward_totals.billing_account_id = schedule_totals.billing_account_id
    full outer join prepaid_totals
        on coalesce(rollforward_totals.billing_account_id, schedule_totals.billing_account_id) = prepaid_totals.billing_account_id
    full outer join invoiced_totals
        on coalesce(rollforward_totals.billing_account_id, schedule_totals.billing_account_id, prepaid_totals.billing_account_id) = invoiced_totals.billing_account_id
    where coalesce(rollforward_totals.deferred_revenue_recognized, 0) <> coalesce(schedule_totals.deferred_revenue_recognized, 0)
        or coalesce(rollforward_totals.usage_recognized, 0) <> coalesce(schedule_totals.usage_recognized, 0)
        or coalesce(rollforward_totals.total_recognized, 0) <> coalesce(schedule_totals.total_recognized, 0)
        or coalesce(rollforward_totals.deferred_revenue_invoiced, 0) <> coalesce(prepaid_totals.deferred_revenue_invoiced, 0)
        or coalesce(rollforward_totals.usage_invoiced, 0) <> coalesce(invoiced_totals.usage_invoiced, 0)
)

select *
from unbalanced_months

union all

select *
from untied_accounts
