-- One row per period segment of a usage or prepaid line: its quantity by the metric's aggregation,
-- as known now and as known when its period was billed, and the prepaid pool it draws on.
with

period_segments as (
    select * from {{ ref('int_line_segments_prorated') }}
),

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
    where charge_type in ('usage', 'prepaid')
),

metrics as (
    select * from {{ ref('stg_contract_book__metrics') }}
),

events as (
    select * from {{ ref('int_usage_records_assigned') }}
    where counts_now or counts_at_billing
),

scoped_events as (
    select
        period_segment_id,
        'now' as scope,
        raw_record_id,
        quantity,
        unique_value,
        occurred_at,
        received_at,
        is_late
    from events
    where counts_now
    union all
    select
        period_segment_id,
        'billed' as scope,
        raw_record_id,
        quantity,
        unique_value,
        occurred_at,
        received_at,
        false as is_late
    from events
    where counts_at_billing
),

event_totals as (
    select
        period_segment_id,
        scope,
        count(*) as event_count,
        sum(case when is_late then 1 else 0 end) as late_event_count,
        sum(quantity) as quantity_sum,
        max(quantity) as quantity_max,
        count(distinct unique_value) as unique_count,
        -- the quantity of the most recent event (then the latest received, then the last record)
        {{ value_of_greatest('quantity', ['occurred_at', 'received_at', 'raw_record_id']) }} as latest_quantity
    from scoped_events
    group by 1, 2
),

segments as (
    select
        period_segments.*,
        lines.charge_type,
        lines.metric,
        lines.prepaid_quantity,
        metrics.aggregation
    from period_segments
    inner join lines
        on period_segments.subscription_line_id = lines.subscription_line_id
    left join metrics
        on lines.metric = metrics.metric
),

aggregated as (
    select
        segments.*,
        coalesce(now_totals.event_count, 0) as event_count,
        coalesce(now_totals.late_event_count, 0) as late_event_count,
        {{ aggregate_usage('segments.aggregation', 'now_totals.event_count', 'now_totals.quantity_sum', 'now_totals.quantity_max', 'now_totals.unique_count', 'now_totals.latest_quantity') }} as quantity,
        case when segments.is_billed then coalesce(billed_totals.event_count, 0) end as billed_event_count,
        case
            when segments.is_billed then
                {{ aggregate_usage('segments.aggregation', 'billed_totals.event_count', 'billed_totals.quantity_sum', 'billed_totals.quantity_max', 'billed_totals.unique_count', 'billed_totals.latest_quantity') }}
        end as billed_quantity
    from segments
    left join event_totals as now_totals
        on segments.period_segment_id = now_totals.period_segment_id
            and now_totals.scope = 'now'
    left join event_totals as billed_totals
        on segments.period_segment_id = billed_totals.period_segment_id
            and billed_totals.scope = 'billed'
),

-- prepaid pools are drawn down in time order by the usage known now
pooled as (
    select
        *,
        case
            when charge_type = 'prepaid' then
                greatest(
                    cast(0 as decimal(38, 9)),
                    coalesce(prepaid_quantity, 0) - coalesce(
                        sum(quantity) over (
                            partition by subscription_line_id
                            order by segment_start
                            rows between unbounded preceding and 1 preceding
                        ),
                        0
                    )
                )
        end as pool_remaining_before
    from aggregated
),

final as (
    select
        *,
        {{ prepaid_overage('charge_type', 'quantity', 'pool_remaining_before') }} as rated_quantity,
        case when is_billed then {{ prepaid_overage('charge_type', 'billed_quantity', 'pool_remaining_before') }} end as billed_rated_quantity,
        case when charge_type = 'prepaid' then least(quantity, pool_remaining_before) end as pool_drawn
    from pooled
)

select * from final
