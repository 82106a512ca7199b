{{ config(
    materialized=event_grain_materialization(),
    incremental_strategy='delete+insert',
    unique_key='event_key',
    on_schema_change='fail',
) }}

-- One row per mapped version of a source event: the period segment (line × period × plan) in force
-- on its local date, and whether it counts now and whether it was known when the period was billed.
-- Each row is a function of its mapped event and of the segment that holds its account × metric ×
-- local day, so an incremental run re-assigns the events mapped since the last run and the events
-- whose day's holder changed (a new period, an amendment, a period billed since).
with

mapped_events as (
    select * from {{ ref('int_usage_events_mapped') }}
),

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

-- the segment that holds each account × metric × local day: two lines for one metric on one day,
-- the earliest line holds it. A few rows per account and day, so each event finds its segment by
-- an equality join instead of a range join over all its line's segments.
day_holders as (
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

holders as (
    select * from day_holders
    where holder_rank = 1
),

events as (
    select * from mapped_events
    {%- if is_incremental() %}
        where event_key in (
                -- mapped since the last assignment
                select newly_mapped.event_key
                from {{ ref('int_usage_events_mapped') }} as newly_mapped
                where {{ written_since_last_seen('newly_mapped', 'mapped_by_invocation_id') }}
                union
                -- assigned to a day whose holder is no longer the one it was assigned with
                select built.event_key
                from {{ this }} as built
                left join holders
                    on built.billing_account_id = holders.billing_account_id
                        and built.metric = holders.metric
                        and built.usage_local_date = holders.usage_local_date
                where
                    built.mapping_reason is null
                    and (
                        built.period_segment_id is distinct from holders.period_segment_id
                        or built.subscription_line_id is distinct from holders.subscription_line_id
                        or built.billing_period_start is distinct from holders.billing_period_start
                        or built.is_billed is distinct from coalesce(holders.is_billed, false)
                        or built.billed_at is distinct from holders.billed_at
                    )
            )
    {%- endif %}
),

assigned as (
    select
        events.*,
        holders.period_segment_id,
        holders.subscription_line_id,
        holders.billing_period_start,
        coalesce(holders.is_billed, false) as is_billed,
        holders.billed_at
    from events
    left join holders
        on events.mapping_reason is null
            and events.billing_account_id = holders.billing_account_id
            and events.metric = holders.metric
            and events.usage_local_date = holders.usage_local_date
),

final as (
    select
        *,
        coalesce(mapping_reason, case when period_segment_id is null then 'no_active_line' end) as rejection_reason,
        -- counts in the period segment as known now
        dedup_status = 'current' and not is_deleted and period_segment_id is not null as counts_now,
        -- counted when its billed period was invoiced (the version current at billed_at)
        coalesce(
            is_billed
            and not is_deleted
            and valid_from <= billed_at
            and (valid_to is null or valid_to > billed_at),
            false
        ) as counts_at_billing,
        -- arrived or changed after its period was billed
        coalesce(dedup_status = 'current' and is_billed and valid_from > billed_at, false) as is_late,
        '{{ invocation_id }}' as assigned_by_invocation_id
    from assigned
)

select * from final
