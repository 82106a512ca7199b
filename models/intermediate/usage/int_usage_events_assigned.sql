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
-- whose holder changed (a new period, an amendment, a period billed since). The holders each run
-- assigned with are kept beside the table (macros/incremental/incremental_events.sql), so finding the changed
-- days compares two small tables instead of every event with its day's holder.
-- read by an incremental run (what was deduplicated since, the mappings' fingerprint):
-- depends_on: {{ ref('int_usage_events_deduplicated') }}
-- depends_on: {{ ref('customer_mappings') }}
-- depends_on: {{ ref('billing_accounts') }}
-- depends_on: {{ ref('metric_mappings') }}
-- depends_on: {{ ref('metrics') }}
{%- set assigned_with = kept_beside('holders') if is_incremental() else none %}
{#- every event is assigned again when there is no record of what the last run assigned with, or
    when the contract book's mappings changed since (read before the model runs, so that the
    events to assign are one filter) -#}
{%- set assign_all = assigned_with is none or built_with_other_mapping_fingerprint() %}
with

mapped_events as (
    select * from {{ ref('int_usage_events_mapped') }}
),

holders as (
    select * from {{ ref('int_account_metric_days_held') }}
),

{% if is_incremental() and not assign_all %}
    -- the days whose holder is not the one the last run assigned with, either way round
    changed_days as (
        select distinct
            billing_account_id,
            metric,
            usage_local_date
        from (
            {{ changed_since_kept('holders', assigned_with, holder_columns()) | indent(12) }}
        ) as changed
    ),
{% endif %}

events as (
    select * from mapped_events
    {%- if is_incremental() and not assign_all %}
        where event_key in (
                -- deduplicated since the last assignment
                select newly_decided.event_key
                from {{ ref('int_usage_events_deduplicated') }} as newly_decided
                where {{ written_since_last_seen('newly_decided', 'decided_by_invocation_id') }}
                union
                -- on a day whose holder changed
                select built.event_key
                from {{ this }} as built
                inner join changed_days
                    on built.billing_account_id = changed_days.billing_account_id
                        and built.metric = changed_days.metric
                        and built.usage_local_date = changed_days.usage_local_date
                where built.mapping_reason is null
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
