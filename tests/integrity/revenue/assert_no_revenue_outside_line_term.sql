-- No revenue is recognized outside its line's term: every month of the schedule lies between the
-- months of the line's start and end (an open line has no end), and breakage lies in the month the
-- line ended. Only charges of the line's own kind appear (SPEC 3.10).
with

schedule as (
    select *
    from {{ ref('fct_revenue_schedule') }}
),

lines as (
    select *
    from {{ ref('int_subscription_lines_amended') }}
)

select
    schedule.revenue_schedule_id,
    schedule.revenue_month,
    schedule.component,
    lines.charge_type,
    lines.line_start_date,
    lines.line_end_date
from schedule
left join lines
    on schedule.subscription_line_id = lines.subscription_line_id
where lines.subscription_line_id is null
    or schedule.revenue_month < {{ revenue_month('lines.line_start_date') }}
    or schedule.revenue_month > {{ revenue_month('coalesce(lines.line_end_date, schedule.revenue_month)') }}
    or (schedule.component = 'prepaid_breakage' and schedule.revenue_month <> {{ revenue_month('lines.line_end_date') }})
    or (schedule.component = 'recurring' and lines.charge_type <> 'recurring')
    or (schedule.component = 'usage' and lines.charge_type not in ('usage', 'prepaid'))
    or (schedule.component in ('prepaid_drawdown', 'prepaid_breakage') and lines.charge_type <> 'prepaid')
