-- One row per amount to recognize × calendar month it is recognized in: a period segment's usage
-- amount (as invoiced, or as rated now while unbilled), the late part of a billed segment, a
-- recurring fee segment, a prepaid pool draw, or a pool's breakage. Each amount is spread over its
-- months by their weights, in whole minor units, by largest remainder.
with

segments as (
    select *
    from {{ ref('int_period_segments_rated') }}
),

lines as (
    select *
    from {{ ref('int_subscription_lines_amended') }}
),

late_usage as (
    select *
    from {{ ref('int_late_usage_adjustments') }}
),

pool_draws as (
    select *
    from {{ ref('int_revenue_prepaid_pools_drawn') }}
),

weights as (
    select *
    from {{ ref('int_revenue_segment_months_weighted') }}
),

currencies as (
    select *
    from {{ ref('currencies') }}
),

-- consumption: what is invoiced for a billed segment, what is rated now for an unbilled one
usage_amounts as (
    select
        period_segment_id,
        subscription_line_id,
        'usage' as component,
        case when is_billed then 'billed' else 'now' end as weighting_scope,
        false as is_prior_period_adjustment,
        {{ usage_record_external_id('subscription_line_id', 'segment_start') }} as external_id,
        cast(case when is_billed then billed_rated_amount else rated_amount end as decimal(38, 9)) as amount
    from segments
    where charge_type in ('usage', 'prepaid')
),

-- late usage of a billed segment: its adjustment record less its credit-memo candidate
late_amounts as (
    select
        period_segment_id,
        subscription_line_id,
        'usage' as component,
        'late' as weighting_scope,
        true as is_prior_period_adjustment,
        case
            when late_usage_outcome = 'adjustment'
                then {{ adjustment_external_id('subscription_line_id', 'original_segment_start', 'adjusting_period_start') }}
            else {{ usage_record_external_id('subscription_line_id', 'original_segment_start') }}
        end as external_id,
        cast(
            case when late_usage_outcome = 'adjustment' then greatest(late_amount, 0) else 0 end
            - case when late_amount < 0 or late_quantity < 0 then -late_amount else 0 end
            as decimal(38, 9)
        ) as amount
    from late_usage
),

-- ratable: the flat fee of a recurring period segment
recurring_amounts as (
    select
        segments.period_segment_id,
        segments.subscription_line_id,
        'recurring' as component,
        'now' as weighting_scope,
        false as is_prior_period_adjustment,
        cast(null as string) as external_id,
        cast(segments.rated_amount as decimal(38, 9)) as amount
    from segments
    where segments.charge_type = 'recurring'
),

-- prepaid pools: the value of the units a period segment drew
drawdown_amounts as (
    select
        period_segment_id,
        subscription_line_id,
        'prepaid_drawdown' as component,
        weighting_scope,
        weighting_scope = 'late' as is_prior_period_adjustment,
        {{ usage_record_external_id('subscription_line_id', 'segment_start') }} as external_id,
        cast(drawn_amount as decimal(38, 9)) as amount
    from pool_draws
    where draw_kind = 'drawdown'
),

segment_amounts as (
    select *
    from usage_amounts
    union all
    select *
    from late_amounts
    where amount <> 0
    union all
    select *
    from recurring_amounts
    union all
    select *
    from drawdown_amounts
    where weighting_scope <> 'late' or amount <> 0
),

segment_spreads as (
    select
        segment_amounts.period_segment_id || '|' || segment_amounts.component || '|' || segment_amounts.weighting_scope as allocation_id,
        segment_amounts.period_segment_id,
        segment_amounts.subscription_line_id,
        segment_amounts.component,
        segment_amounts.weighting_scope,
        segment_amounts.is_prior_period_adjustment,
        segment_amounts.external_id,
        segment_amounts.amount,
        weights.revenue_month,
        weights.weight_basis,
        weights.weight
    from segment_amounts
    inner join weights
        on segment_amounts.period_segment_id = weights.period_segment_id
            and segment_amounts.weighting_scope = weights.weighting_scope
),

-- breakage: what is left of a pool when its line has ended, in the month of the line's end
breakage_spreads as (
    select
        subscription_line_id || '|prepaid_breakage' as allocation_id,
        cast(null as string) as period_segment_id,
        subscription_line_id,
        'prepaid_breakage' as component,
        cast(null as string) as weighting_scope,
        false as is_prior_period_adjustment,
        cast(null as string) as external_id,
        cast(drawn_amount as decimal(38, 9)) as amount,
        {{ revenue_month('line_end_date') }} as revenue_month,
        'line_end' as weight_basis,
        cast(1 as decimal(38, 9)) as weight
    from pool_draws
    where draw_kind = 'remaining'
        and is_line_ended
),

all_spreads as (
    select *
    from segment_spreads
    union all
    select *
    from breakage_spreads
),

spreads as (
    select
        all_spreads.*,
        lines.currency,
        currencies.minor_unit,
        all_spreads.allocation_id as spread_id,
        {{ to_minor_units('all_spreads.amount', 'currencies.minor_unit') }} as amount_units,
        {{ exact_weight('all_spreads.weight') }} as weight_units,
        all_spreads.revenue_month as tie_break
    from all_spreads
    inner join lines
        on all_spreads.subscription_line_id = lines.subscription_line_id
    inner join currencies
        on lines.currency = currencies.currency
),

{{ largest_remainder_ctes('spreads') }},

final as (
    select
        -- keys
        allocation_id || '|' || {{ date_yyyymmdd('revenue_month') }} as allocation_month_id,
        allocation_id,
        subscription_line_id,
        period_segment_id,
        external_id,
        -- what is recognized, when
        component,
        is_prior_period_adjustment,
        revenue_month,
        -- how it was spread
        weighting_scope,
        weight_basis,
        weight,
        amount as amount_to_spread,
        {{ from_minor_units('allocated_units', 'minor_unit') }} as recognized_amount,
        currency
    from spread_allocated
)

select *
from final
