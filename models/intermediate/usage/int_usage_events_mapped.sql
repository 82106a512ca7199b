{{ config(
    materialized=event_grain_materialization(),
    incremental_strategy='delete+insert',
    unique_key='event_key',
    on_schema_change='fail',
) }}

-- One row per version of a source event that can count (current or superseded, never a duplicate
-- delivery): mapped to its billing account and metric, in billing units, on its local date.
-- Incremental by event: a run maps the events deduplicated since the last one, unless the
-- contract book's mappings changed (then it maps them all again).
with

-- the contract book's mappings as they are now, and as the built rows were mapped with
mapping_fingerprint as (
    select {{ rows_fingerprint([
        ref('customer_mappings'), ref('billing_accounts'), ref('metric_mappings'), ref('metrics')
    ]) }} as mapping_fingerprint
),

events as (
    select deduplicated.* from {{ ref('int_usage_events_deduplicated') }} as deduplicated
    where deduplicated.dedup_status in ('current', 'superseded')
        {%- if is_incremental() %}
            -- decided since the last mapping, or every event when the mappings changed since
            and (
                {{ written_since_last_seen('deduplicated', 'decided_by_invocation_id') }}
                or exists (
                    select 1
                    from {{ this }} as built
                    cross join mapping_fingerprint
                    where built.mapping_fingerprint <> mapping_fingerprint.mapping_fingerprint
                )
            )
        {%- endif %}
),

customer_mappings as (
    select * from {{ ref('customer_mappings') }}
),

accounts as (
    select * from {{ ref('billing_accounts') }}
),

metric_mappings as (
    select * from {{ ref('metric_mappings') }}
),

metrics as (
    select * from {{ ref('metrics') }}
),

mapped as (
    select
        events.*,
        accounts.billing_account_id,
        accounts.timezone,
        metric_mappings.metric,
        metric_mappings.multiplier,
        metrics.aggregation,
        metrics.unique_property,
        mapping_fingerprint.mapping_fingerprint
    from events
    cross join mapping_fingerprint
    left join customer_mappings
        on events.source_system = customer_mappings.source_system
            and events.source_customer_key = customer_mappings.source_customer_key
    left join accounts
        on customer_mappings.billing_account_id = accounts.billing_account_id
    left join metric_mappings
        on events.source_system = metric_mappings.source_system
            and events.source_metric = metric_mappings.source_metric
    left join metrics
        on metric_mappings.metric = metrics.metric
),

final as (
    select
        -- event
        raw_record_id,
        event_key,
        source_system,
        source_event_key,
        file_name,
        record_number,
        source_customer_key,
        source_metric,
        dedup_status,
        copies_received,
        is_conflict,
        valid_from,
        valid_to,
        is_deleted,
        received_at,
        -- billing account and metric
        billing_account_id,
        metric,
        aggregation,
        -- when it happened, in the account's time zone
        coalesce(usage_local_date, {{ local_date('occurred_at', 'timezone') }}) as usage_local_date,
        coalesce(occurred_at, {{ local_midnight_utc('usage_local_date', 'timezone') }}) as occurred_at,
        -- how much, in billing units
        quantity as source_quantity,
        cast(quantity * coalesce(multiplier, 1) as decimal(38, 9)) as quantity,
        case when unique_property is not null then {{ json_text_dynamic('properties', 'unique_property') }} end as unique_value,
        case
            when billing_account_id is null then 'unknown_customer'
            when metric is null or aggregation is null then 'unknown_metric'
        end as mapping_reason,
        -- what it was mapped from (the deduplication run, the contract book's mappings) and when
        decided_by_invocation_id,
        mapping_fingerprint,
        '{{ invocation_id }}' as mapped_by_invocation_id
    from mapped
)

select * from final
