-- One row per billed period segment whose usage changed after billing: the late quantity and
-- amount (rated in the original segment's context), and where it goes: an adjustment in the
-- line's first unbilled period, a credit-memo candidate, or quarantine when the line has ended.
with

segments as (
    select * from {{ ref('int_period_segments_rated') }}
    where charge_type in ('usage', 'prepaid')
),

changed as (
    select * from segments
    where is_billed and quantity <> billed_quantity
),

unbilled_segments as (
    select
        subscription_line_id,
        period_segment_id,
        billing_period_start,
        segment_start
    from segments
    where not is_billed
),

-- the first period after the billed one that is not billed and in which the line is active; its
-- first segment
adjusting_segments as (
    select
        changed.period_segment_id,
        unbilled_segments.period_segment_id as adjusting_period_segment_id,
        unbilled_segments.billing_period_start as adjusting_period_start,
        row_number() over (
            partition by changed.period_segment_id
            order by unbilled_segments.billing_period_start, unbilled_segments.segment_start
        ) as adjusting_rank
    from changed
    inner join unbilled_segments
        on changed.subscription_line_id = unbilled_segments.subscription_line_id
            and changed.billing_period_start < unbilled_segments.billing_period_start
),

final as (
    select
        -- original segment
        changed.period_segment_id,
        changed.subscription_line_id,
        changed.billing_period_start as original_period_start,
        changed.segment_start as original_segment_start,
        changed.billed_at,
        changed.currency,
        -- the late difference, rated in the original segment's context
        changed.billed_quantity,
        changed.quantity as current_quantity,
        changed.quantity - changed.billed_quantity as late_quantity,
        changed.billed_rated_amount,
        changed.rated_amount as current_rated_amount,
        changed.rated_amount - changed.billed_rated_amount as late_amount,
        changed.late_event_count,
        -- where it goes
        adjusting_segments.adjusting_period_segment_id,
        adjusting_segments.adjusting_period_start,
        case
            when changed.quantity > changed.billed_quantity and adjusting_segments.adjusting_period_segment_id is not null
                then 'adjustment'
            when changed.quantity > changed.billed_quantity
                then 'quarantined_after_line_end'
            else 'credit_memo_candidate'
        end as late_usage_outcome
    from changed
    left join adjusting_segments
        on changed.period_segment_id = adjusting_segments.period_segment_id
            and adjusting_segments.adjusting_rank = 1
)

select * from final
