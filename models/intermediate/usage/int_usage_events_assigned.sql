{{ config(
    materialized=event_grain_materialization(),
    incremental_strategy='delete+insert',
    unique_key='event_key',
    on_schema_change='fail',
    post_hook="{{ keep_beside('holders', 'int_account_metric_days_held', holder_columns()) }}",
) }}

-- One row per mapped version of a source event: the period segment (line × period × plan) in force
-- on its local date, and whether it counts now and whether it was known when the period was billed.
-- Each row is a function of its deduplicated event, of the contract book's mappings and of the
-- segment that holds its account × metric × local day, so an incremental run re-assigns the events
-- deduplicated since the last run, every event when the mappings changed, and the events on days
-- whose holder changed (a new period, an amendment, a period billed since): one filter, the macro
-- incremental_events_to_assign (macros/incremental/incremental_events.sql). The holders each run
-- assigned with are kept beside the table, so finding the changed days compares two small tables
-- instead of every event with its day's holder.
with

mapped_events as (
    select * from {{ ref('int_usage_events_mapped') }}
),

holders as (
    select * from {{ ref('int_account_metric_days_held') }}
),

-- every mapped event (an incremental run: those deduplicated since, on a day whose holder changed,
-- or all of them when the contract book's mappings changed)
events as (
    select * from mapped_events
    where {{ incremental_events_to_assign('mapped_events') }}
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
