-- One row per period segment: a subscription line × billing period × price plan in force, from the
-- line's start through the period containing the as-of date, with its proration factor f.
with

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

segments as (
    select * from {{ ref('int_line_segments_amended') }}
),

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

billing_runs as (
    select
        subscription_id,
        billing_period_start,
        min(billed_at) as billed_at
    from {{ ref('stg_contract_book__billing_runs') }}
    group by 1, 2
),

series as (
    {{ integer_series(1200) }}
),

segment_bounds as (
    select
        segments.*,
        lines.bill_cycle_day,
        {{ billing_period_start('segments.segment_start', 'lines.bill_cycle_day') }} as first_period_start,
        {{ billing_period_start(as_of_date(), 'lines.bill_cycle_day') }} as as_of_period_start,
        case
            when segments.segment_end is not null
                then {{ billing_period_start('segments.segment_end', 'lines.bill_cycle_day') }}
        end as end_period_start
    from segments
    inner join lines
        on segments.subscription_line_id = lines.subscription_line_id
),

segment_periods as (
    select
        segment_bounds.*,
        cast({{ dbt.dateadd('month', 'series.n', 'segment_bounds.first_period_start') }} as date) as billing_period_start
    from segment_bounds
    cross join series
    where series.n <= {{ dbt.datediff(
        'segment_bounds.first_period_start',
        'case when segment_bounds.end_period_start is null or segment_bounds.end_period_start > segment_bounds.as_of_period_start then segment_bounds.as_of_period_start else segment_bounds.end_period_start end',
        'month'
    ) }}
),

period_segments as (
    select
        subscription_line_id,
        price_plan_id,
        amendment_id,
        amendment_date,
        billing_period_start,
        {{ billing_period_end('billing_period_start') }} as billing_period_end,
        greatest(segment_start, billing_period_start) as segment_start,
        case
            when segment_end is null or segment_end > {{ billing_period_end('billing_period_start') }}
                then {{ billing_period_end('billing_period_start') }}
            else segment_end
        end as segment_end
    from segment_periods
),

business_day_counts as (
    select
        period_segments.subscription_line_id,
        period_segments.segment_start,
        sum(case when calendar.is_business_day then 1 else 0 end) as period_business_days,
        sum(
            case
                when calendar.is_business_day
                    and calendar.calendar_date between period_segments.segment_start and period_segments.segment_end
                    then 1
                else 0
            end
        ) as segment_business_days
    from period_segments
    inner join calendar
        on calendar.calendar_date between period_segments.billing_period_start and period_segments.billing_period_end
    group by 1, 2
),

factored as (
    select
        period_segments.*,
        lines.subscription_id,
        lines.billing_account_id,
        lines.proration_method,
        {{ dbt.datediff('period_segments.billing_period_start', 'period_segments.billing_period_end', 'day') }} + 1 as period_days,
        {{ dbt.datediff('period_segments.segment_start', 'period_segments.segment_end', 'day') }} + 1 as segment_days,
        coalesce(business_day_counts.period_business_days, 0) as period_business_days,
        coalesce(business_day_counts.segment_business_days, 0) as segment_business_days,
        (
            case
                when period_segments.segment_start <= cast({{ dbt.dateadd('day', 14, 'period_segments.billing_period_start') }} as date)
                    then 1
                else 0
            end
            + case
                when period_segments.segment_end >= cast({{ dbt.dateadd('day', 15, 'period_segments.billing_period_start') }} as date)
                    then 1
                else 0
            end
        ) as halves_covered
    from period_segments
    inner join lines
        on period_segments.subscription_line_id = lines.subscription_line_id
    left join business_day_counts
        on period_segments.subscription_line_id = business_day_counts.subscription_line_id
            and period_segments.segment_start = business_day_counts.segment_start
),

final as (
    select
        -- keys
        factored.subscription_line_id || '|' || {{ date_yyyymmdd('factored.segment_start') }} as period_segment_id,
        factored.subscription_line_id,
        factored.subscription_id,
        factored.billing_account_id,
        -- period and segment
        factored.billing_period_start,
        factored.billing_period_end,
        factored.segment_start,
        factored.segment_end,
        factored.price_plan_id,
        factored.amendment_id,
        factored.amendment_date,
        -- proration
        factored.proration_method,
        factored.period_days,
        factored.segment_days,
        factored.period_business_days,
        factored.segment_business_days,
        factored.halves_covered,
        {{ proration_numerator('factored.proration_method', 'factored.segment_days', 'factored.segment_business_days', 'factored.period_business_days', 'factored.halves_covered') }} as proration_numerator,
        {{ proration_denominator('factored.proration_method', 'factored.period_days', 'factored.period_business_days') }} as proration_denominator,
        -- billing state
        billing_runs.billed_at is not null as is_billed,
        billing_runs.billed_at
    from factored
    left join billing_runs
        on factored.subscription_id = billing_runs.subscription_id
            and factored.billing_period_start = billing_runs.billing_period_start
)

select
    *,
    {{ exact_ratio('proration_numerator', 'proration_denominator') }} as proration_factor
from final
