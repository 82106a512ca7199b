-- One row per amount to rate: every period segment as known now, every billed period segment as
-- known at billing, and every recurring period segment (its flat fee).
with

usage_segments as (
    select * from {{ ref('int_period_segments_aggregated') }}
),

period_segments as (
    select * from {{ ref('int_line_segments_prorated') }}
),

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

requests as (
    select
        period_segment_id,
        'now' as rating_scope,
        price_plan_id,
        proration_factor,
        rated_quantity
    from usage_segments

    union all

    select
        period_segment_id,
        'billed' as rating_scope,
        price_plan_id,
        proration_factor,
        billed_rated_quantity as rated_quantity
    from usage_segments
    where is_billed

    union all

    select
        period_segments.period_segment_id,
        'now' as rating_scope,
        period_segments.price_plan_id,
        period_segments.proration_factor,
        cast(0 as decimal(38, 9)) as rated_quantity
    from period_segments
    inner join lines
        on period_segments.subscription_line_id = lines.subscription_line_id
    where lines.charge_type = 'recurring'
),

final as (
    select
        requests.period_segment_id || '|' || requests.rating_scope as rating_id,
        requests.*,
        lines.currency
    from requests
    inner join period_segments
        on requests.period_segment_id = period_segments.period_segment_id
    inner join lines
        on period_segments.subscription_line_id = lines.subscription_line_id
)

select * from final
