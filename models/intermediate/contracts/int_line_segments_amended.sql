-- One row per line segment: a subscription line with one price plan in force, after price changes
-- and, for half_month proration, after snapping every boundary to a half of its billing period.
with

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

amendments as (
    select * from {{ ref('stg_contract_book__amendments') }}
),

-- the plan in force changes at the line start and at every price change within the term
plan_changes as (
    select
        subscription_line_id,
        line_start_date as effective_date,
        initial_price_plan_id as price_plan_id,
        0 as change_priority,
        cast(null as {{ type_instant() }}) as entered_at,
        '' as amendment_id
    from lines

    union all

    select
        amendments.subscription_line_id,
        case
            when amendments.effective_date < lines.line_start_date then lines.line_start_date
            else amendments.effective_date
        end as effective_date,
        amendments.new_price_plan_id as price_plan_id,
        1 as change_priority,
        amendments.entered_at,
        amendments.amendment_id
    from amendments
    inner join lines
        on amendments.subscription_line_id = lines.subscription_line_id
    where amendments.change_type = 'price_change'
        and (lines.line_end_date is null or amendments.effective_date <= lines.line_end_date)
),

snapped_changes as (
    select
        plan_changes.*,
        lines.proration_method,
        case
            when {{ snaps_to_half_months('lines.proration_method') }}
                then
                {{ half_month_snap_start(
                    'plan_changes.effective_date',
                    billing_period_start('plan_changes.effective_date', 'lines.bill_cycle_day')
                ) }}
            else plan_changes.effective_date
        end as segment_start
    from plan_changes
    inner join lines
        on plan_changes.subscription_line_id = lines.subscription_line_id
),

-- several changes landing on one start: the latest in effective order holds
ranked_changes as (
    select
        *,
        row_number() over (
            partition by subscription_line_id, segment_start
            order by change_priority desc, effective_date desc, entered_at desc, amendment_id desc
        ) as change_rank
    from snapped_changes
),

segment_starts as (
    select * from ranked_changes
    where change_rank = 1
),

snapped_line_ends as (
    select
        subscription_line_id,
        case
            when line_end_date is null then null
            when {{ snaps_to_half_months('proration_method') }}
                then
                    {{ half_month_snap_end('line_end_date', billing_period_start('line_end_date', 'bill_cycle_day')) }}
            else line_end_date
        end as snapped_line_end_date,
        case
            when {{ snaps_to_half_months('proration_method') }}
                then
                    {{ half_month_snap_start('line_start_date', billing_period_start('line_start_date', 'bill_cycle_day')) }}
            else line_start_date
        end as snapped_line_start_date
    from lines
),

segments as (
    select
        segment_starts.subscription_line_id,
        segment_starts.price_plan_id,
        segment_starts.amendment_id,
        segment_starts.effective_date as amendment_date,
        greatest(segment_starts.segment_start, snapped_line_ends.snapped_line_start_date) as segment_start,
        coalesce(
            cast({{ dbt.dateadd('day', -1, 'lead(segment_starts.segment_start) over (partition by segment_starts.subscription_line_id order by segment_starts.segment_start)') }} as date),
            snapped_line_ends.snapped_line_end_date
        ) as segment_end
    from segment_starts
    inner join snapped_line_ends
        on segment_starts.subscription_line_id = snapped_line_ends.subscription_line_id
),

final as (
    select
        lines.subscription_line_id,
        lines.subscription_id,
        lines.billing_account_id,
        segments.price_plan_id,
        nullif(segments.amendment_id, '') as amendment_id,
        case when segments.amendment_id <> '' then segments.amendment_date end as amendment_date,
        segments.segment_start,
        case
            when lines.line_end_date is not null and segments.segment_end > snapped_line_ends.snapped_line_end_date
                then snapped_line_ends.snapped_line_end_date
            else segments.segment_end
        end as segment_end
    from segments
    inner join lines
        on segments.subscription_line_id = lines.subscription_line_id
    inner join snapped_line_ends
        on segments.subscription_line_id = snapped_line_ends.subscription_line_id
    where lines.line_end_date is null
        or (
            segments.segment_start <= snapped_line_ends.snapped_line_end_date
            and lines.line_end_date >= lines.line_start_date
        )
)

select * from final
where segment_end is null or segment_start <= segment_end
