-- One row per billing account × metric × calendar day that a usage or prepaid line covers: the
-- period segment that holds the day's usage. Two lines for one metric on one day: the earliest
-- line holds it. A few rows per account and day, so each event finds its segment by an equality
-- join instead of a range join over all its line's segments.
with

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
    where charge_type in ('usage', 'prepaid')
),

period_segments as (
    select * from {{ ref('int_line_segments_prorated') }}
),

calendar as (
    select * from {{ ref('int_calendar_days') }}
),

day_segments as (
    select
        lines.billing_account_id,
        lines.metric,
        calendar.calendar_date as usage_local_date,
        period_segments.period_segment_id,
        period_segments.subscription_line_id,
        period_segments.billing_period_start,
        period_segments.is_billed,
        period_segments.billed_at,
        row_number() over (
            partition by lines.billing_account_id, lines.metric, calendar.calendar_date
            order by lines.line_start_date, lines.subscription_id, lines.subscription_line_number
        ) as holder_rank
    from lines
    inner join period_segments
        on lines.subscription_line_id = period_segments.subscription_line_id
    inner join calendar
        on calendar.calendar_date between period_segments.segment_start and period_segments.segment_end
),

final as (
    select
        billing_account_id,
        metric,
        usage_local_date,
        period_segment_id,
        subscription_line_id,
        billing_period_start,
        coalesce(is_billed, false) as is_billed,
        billed_at
    from day_segments
    where holder_rank = 1
)

select * from final
