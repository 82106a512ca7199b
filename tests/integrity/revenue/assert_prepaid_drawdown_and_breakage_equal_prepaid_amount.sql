-- A prepaid pool is recognized exactly once: for a line that has ended, drawdown plus breakage
-- equals its prepaid_amount to the cent; for a line still running, the drawdown never exceeds it
-- and no breakage is recognized yet.
with

pools as (
    select
        amended_lines.subscription_line_id,
        amended_lines.currency,
        amended_lines.line_end_date,
        coalesce(amended_lines.line_end_date <= {{ as_of_date() }}, false) as is_line_ended,
        {{ round_money('coalesce(amended_lines.prepaid_amount, 0)', 'currencies.minor_unit') }} as prepaid_amount
    from {{ ref('int_subscription_lines_amended') }} as amended_lines
    inner join {{ ref('currencies') }} as currencies
        on amended_lines.currency = currencies.currency
    where amended_lines.charge_type = 'prepaid'
        and amended_lines.line_start_date <= {{ as_of_date() }}
        and (amended_lines.line_end_date is null or amended_lines.line_end_date >= amended_lines.line_start_date)
),

recognized as (
    select
        subscription_line_id,
        sum(case when component = 'prepaid_drawdown' then recognized_amount else 0 end) as drawdown_amount,
        sum(case when component = 'prepaid_breakage' then recognized_amount else 0 end) as breakage_amount,
        sum(case when component = 'prepaid_breakage' then 1 else 0 end) as breakage_rows
    from {{ ref('fct_revenue_schedule') }}
    where component in ('prepaid_drawdown', 'prepaid_breakage')
    group by 1
)

select
    pools.subscription_line_id,
    pools.is_line_ended,
    pools.prepaid_amount,
    coalesce(recognized.drawdown_amount, 0) as drawdown_amount,
    coalesce(recognized.breakage_amount, 0) as breakage_amount
from pools
left join recognized
    on pools.subscription_line_id = recognized.subscription_line_id
where (pools.is_line_ended and coalesce(recognized.drawdown_amount, 0) + coalesce(recognized.breakage_amount, 0) <> pools.prepaid_amount)
    or (pools.is_line_ended and coalesce(recognized.breakage_rows, 0) <> 1)
    or (not pools.is_line_ended and coalesce(recognized.drawdown_amount, 0) > pools.prepaid_amount)
    or (not pools.is_line_ended and coalesce(recognized.breakage_rows, 0) > 0)
    or coalesce(recognized.drawdown_amount, 0) < 0
    or coalesce(recognized.breakage_amount, 0) < 0
