-- One row per period segment of any line (usage, prepaid, recurring): its rated amount now and,
-- for billed periods, the amount that was billed.
with

period_segments as (
    select * from {{ ref('int_line_segments_prorated') }}
),

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

usage_segments as (
    select * from {{ ref('int_period_segments_aggregated') }}
),

ratings as (
    select * from {{ ref('int_rating_requests_rated') }}
),

final as (
    select
        period_segments.*,
        lines.charge_type,
        lines.metric,
        lines.currency,
        usage_segments.aggregation,
        -- quantities
        usage_segments.quantity,
        usage_segments.billed_quantity,
        usage_segments.rated_quantity,
        usage_segments.billed_rated_quantity,
        usage_segments.pool_remaining_before,
        usage_segments.pool_drawn,
        usage_segments.event_count,
        usage_segments.billed_event_count,
        usage_segments.late_event_count,
        -- amounts
        now_rating.unrounded_amount,
        now_rating.rated_amount,
        billed_rating.rated_amount as billed_rated_amount
    from period_segments
    inner join lines
        on period_segments.subscription_line_id = lines.subscription_line_id
    left join usage_segments
        on period_segments.period_segment_id = usage_segments.period_segment_id
    left join ratings as now_rating
        on period_segments.period_segment_id = now_rating.period_segment_id
            and now_rating.rating_scope = 'now'
    left join ratings as billed_rating
        on period_segments.period_segment_id = billed_rating.period_segment_id
            and billed_rating.rating_scope = 'billed'
)

select * from final
