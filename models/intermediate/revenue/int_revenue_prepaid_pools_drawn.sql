-- One row per draw on a prepaid pool (a period segment's units drawn, split into what was known
-- when its billed period was invoiced and what arrived late) and one row per pool for what is left:
-- the units and their value at prepaid_amount / prepaid_quantity per unit. Values are rounded on
-- the cumulative units drawn, so the draws and what is left add up to prepaid_amount exactly.
with

segments as (
    select *
    from {{ ref('int_period_segments_rated') }}
    where charge_type = 'prepaid'
),

lines as (
    select *
    from {{ ref('int_subscription_lines_amended') }}
    where charge_type = 'prepaid'
        and line_start_date <= {{ as_of_date() }}
        -- a line terminated before it started has no pool to invoice
        and (line_end_date is null or line_end_date >= line_start_date)
),

currencies as (
    select *
    from {{ ref('currencies') }}
),

-- a billed segment drew what its usage known at billing took from the pool; the rest is late
draws as (
    select
        period_segment_id,
        subscription_line_id,
        segment_start,
        case when is_billed then 'billed' else 'now' end as weighting_scope,
        1 as draw_order,
        cast(
            case
                when is_billed then least(coalesce(billed_quantity, 0), coalesce(pool_remaining_before, 0))
                else coalesce(pool_drawn, 0)
            end
            as decimal(38, 9)
        ) as units_drawn
    from segments

    union all

    select
        period_segment_id,
        subscription_line_id,
        segment_start,
        'late' as weighting_scope,
        2 as draw_order,
        cast(
            coalesce(pool_drawn, 0) - least(coalesce(billed_quantity, 0), coalesce(pool_remaining_before, 0))
            as decimal(38, 9)
        ) as units_drawn
    from segments
    where is_billed
),

pools as (
    select
        lines.subscription_line_id,
        lines.billing_account_id,
        lines.currency,
        currencies.minor_unit,
        lines.line_start_date,
        lines.line_end_date,
        cast(coalesce(lines.prepaid_amount, 0) as decimal(38, 9)) as prepaid_amount,
        cast(coalesce(lines.prepaid_quantity, 0) as decimal(38, 9)) as prepaid_quantity,
        coalesce(lines.line_end_date <= {{ as_of_date() }}, false) as is_line_ended,
        {{ to_minor_units('coalesce(lines.prepaid_amount, 0)', 'currencies.minor_unit') }} as prepaid_amount_units
    from lines
    inner join currencies
        on lines.currency = currencies.currency
),

cumulative as (
    select
        draws.*,
        cast(
            sum(draws.units_drawn)
                over (
                    partition by draws.subscription_line_id
                    order by draws.segment_start, draws.draw_order
                    rows between unbounded preceding and current row
                )
            as decimal(38, 9)
        ) as cumulative_units
    from draws
),

-- the value of everything drawn so far, rounded half up to the minor unit
valued as (
    select
        cumulative.*,
        pools.currency,
        pools.prepaid_amount_units,
        case
            when pools.prepaid_quantity > 0
                then {{ exact_pro_rata_units(
                    'pools.prepaid_amount_units',
                    exact_weight('greatest(least(cumulative.cumulative_units, pools.prepaid_quantity), 0)'),
                    exact_weight('pools.prepaid_quantity')
                ) }}
            else cast(0 as {{ type_exact_integer() }})
        end as cumulative_value_units
    from cumulative
    inner join pools
        on cumulative.subscription_line_id = pools.subscription_line_id
),

drawn as (
    select
        subscription_line_id || '|' || period_segment_id || '|' || weighting_scope as pool_draw_id,
        subscription_line_id,
        period_segment_id,
        segment_start,
        'drawdown' as draw_kind,
        weighting_scope,
        units_drawn,
        cumulative_units,
        currency,
        cumulative_value_units - coalesce(
            lag(cumulative_value_units) over (
                partition by subscription_line_id
                order by segment_start, draw_order
            ),
            cast(0 as {{ type_exact_integer() }})
        ) as value_units
    from valued
),

drawn_totals as (
    select
        subscription_line_id,
        cast(sum(units_drawn) as decimal(38, 9)) as units_drawn,
        sum(value_units) as value_units
    from drawn
    group by 1
),

remaining as (
    select
        pools.subscription_line_id || '|remaining' as pool_draw_id,
        pools.subscription_line_id,
        cast(null as string) as period_segment_id,
        cast(null as date) as segment_start,
        'remaining' as draw_kind,
        cast(null as string) as weighting_scope,
        cast(pools.prepaid_quantity - coalesce(drawn_totals.units_drawn, 0) as decimal(38, 9)) as units_drawn,
        pools.prepaid_quantity as cumulative_units,
        pools.currency,
        pools.prepaid_amount_units - coalesce(drawn_totals.value_units, cast(0 as {{ type_exact_integer() }})) as value_units
    from pools
    left join drawn_totals
        on pools.subscription_line_id = drawn_totals.subscription_line_id
),

unioned as (
    select *
    from drawn
    union all
    select *
    from remaining
),

final as (
    select
        -- keys
        unioned.pool_draw_id,
        unioned.subscription_line_id,
        unioned.period_segment_id,
        pools.billing_account_id,
        -- the draw
        unioned.draw_kind,
        unioned.weighting_scope,
        unioned.segment_start,
        unioned.units_drawn,
        unioned.cumulative_units,
        -- the pool
        pools.prepaid_quantity,
        pools.prepaid_amount,
        pools.line_start_date,
        pools.line_end_date,
        pools.is_line_ended,
        -- value
        {{ from_minor_units('unioned.value_units', 'pools.minor_unit') }} as drawn_amount,
        unioned.currency
    from unioned
    inner join pools
        on unioned.subscription_line_id = pools.subscription_line_id
)

select * from final
