-- One row per period segment × weighting scope × calendar month: how much of the segment's amount
-- belongs to that month of the account's time zone. Scopes: `now` (usage as known now, or the
-- segment's days), `billed` (usage as known when a billed period was invoiced) and `late` (usage
-- that changed after billing: now minus billed, in the month it occurred).
with

segments as (
    select *
    from {{ ref('int_period_segments_rated') }}
),

lines as (
    select *
    from {{ ref('int_subscription_lines_amended') }}
),

events as (
    select *
    from {{ ref('int_usage_records_assigned') }}
    where counts_now or counts_at_billing
),

series as (
    {{ integer_series(3) }}
),

-- the days of a segment that lie in the line's term (half-month snapping can reach outside it)
windowed as (
    select
        segments.period_segment_id,
        segments.subscription_line_id,
        segments.segment_start,
        segments.segment_end,
        segments.is_billed,
        lines.charge_type,
        segments.aggregation,
        case
            when greatest(segments.segment_start, lines.line_start_date)
                <= least(segments.segment_end, coalesce(lines.line_end_date, segments.segment_end))
                then greatest(segments.segment_start, lines.line_start_date)
            else segments.segment_start
        end as window_start,
        case
            when greatest(segments.segment_start, lines.line_start_date)
                <= least(segments.segment_end, coalesce(lines.line_end_date, segments.segment_end))
                then least(segments.segment_end, coalesce(lines.line_end_date, segments.segment_end))
            else segments.segment_end
        end as window_end
    from segments
    inner join lines
        on segments.subscription_line_id = lines.subscription_line_id
),

segment_months as (
    select
        windowed.*,
        cast({{ dbt.dateadd('month', 'series.n', revenue_month('windowed.window_start')) }} as date) as revenue_month
    from windowed
    cross join series
),

month_days as (
    select
        *,
        {{ dbt.datediff(
            'greatest(window_start, revenue_month)',
            'least(window_end, ' ~ revenue_month_end('revenue_month') ~ ')',
            'day'
        ) }} + 1 as days_in_month
    from segment_months
    where revenue_month <= window_end
),

-- events on a day outside the line's term are placed on the nearest day inside it
event_months as (
    select
        events.period_segment_id,
        {{ revenue_month(
            'case when events.usage_local_date < windowed.window_start then windowed.window_start '
            ~ 'when events.usage_local_date > windowed.window_end then windowed.window_end '
            ~ 'else events.usage_local_date end'
        ) }} as revenue_month,
        cast(sum(case when events.counts_now then events.quantity else 0 end) as decimal(38, 9)) as now_quantity,
        cast(sum(case when events.counts_at_billing then events.quantity else 0 end) as decimal(38, 9)) as billed_quantity,
        cast(sum(case when events.counts_now then 1 else 0 end) as decimal(38, 9)) as now_events,
        cast(sum(case when events.counts_at_billing then 1 else 0 end) as decimal(38, 9)) as billed_events
    from events
    inner join windowed
        on events.period_segment_id = windowed.period_segment_id
    group by 1, 2
),

-- the usage measure per month: quantity for sum, events for count; none for other aggregations
measured as (
    select
        month_days.period_segment_id,
        month_days.subscription_line_id,
        month_days.segment_start,
        month_days.charge_type,
        month_days.is_billed,
        month_days.revenue_month,
        cast(month_days.days_in_month as decimal(38, 9)) as days_in_month,
        month_days.charge_type in ('usage', 'prepaid') and month_days.aggregation in ('sum', 'count') as is_measured_by_usage,
        case when month_days.aggregation = 'count' then 'events' else 'quantity' end as usage_measure,
        cast(
            case month_days.aggregation
                when 'sum' then coalesce(event_months.now_quantity, 0)
                when 'count' then coalesce(event_months.now_events, 0)
                else 0
            end
            as decimal(38, 9)
        ) as now_usage,
        cast(
            case month_days.aggregation
                when 'sum' then coalesce(event_months.billed_quantity, 0)
                when 'count' then coalesce(event_months.billed_events, 0)
                else 0
            end
            as decimal(38, 9)
        ) as billed_usage
    from month_days
    left join event_months
        on month_days.period_segment_id = event_months.period_segment_id
            and month_days.revenue_month = event_months.revenue_month
),

scoped as (
    select
        period_segment_id,
        subscription_line_id,
        segment_start,
        revenue_month,
        'now' as weighting_scope,
        is_measured_by_usage,
        usage_measure,
        days_in_month,
        now_usage as usage_weight
    from measured

    union all

    select
        period_segment_id,
        subscription_line_id,
        segment_start,
        revenue_month,
        'billed' as weighting_scope,
        is_measured_by_usage,
        usage_measure,
        days_in_month,
        billed_usage as usage_weight
    from measured
    where is_billed and charge_type in ('usage', 'prepaid')

    union all

    select
        period_segment_id,
        subscription_line_id,
        segment_start,
        revenue_month,
        'late' as weighting_scope,
        is_measured_by_usage,
        usage_measure,
        days_in_month,
        cast(now_usage - billed_usage as decimal(38, 9)) as usage_weight
    from measured
    where is_billed and charge_type in ('usage', 'prepaid')
),

-- usage decides the months when the segment has any; otherwise its days do
weighed as (
    select
        *,
        is_measured_by_usage
        and sum(usage_weight) over (partition by period_segment_id, weighting_scope) <> 0 as has_usage_weight
    from scoped
),

final as (
    select
        period_segment_id || '|' || weighting_scope || '|' || {{ date_yyyymmdd('revenue_month') }} as segment_month_weight_id,
        period_segment_id,
        subscription_line_id,
        segment_start,
        weighting_scope,
        revenue_month,
        case
            when has_usage_weight then usage_measure
            else 'days'
        end as weight_basis,
        cast(case when has_usage_weight then usage_weight else days_in_month end as decimal(38, 9)) as weight
    from weighed
)

select * from final
where weight <> 0
