-- A view: mapping is a lookup in the contract book, cheap to compute where it is read; the
-- assignment, which reads it, is the table that keeps each mapped version (incremental by event).
{{ config(materialized='view') }}

-- One row per version of a source event that can count (current or superseded, never a duplicate
-- delivery): mapped to its billing account and metric, in billing units, on its local date, with
-- a fingerprint of the contract book's mappings it was mapped with.
with

-- the contract book's mappings as they are now
mapping_fingerprint as (
    select {{ mapping_fingerprint() }} as mapping_fingerprint
),

events as (
    select deduplicated.* from {{ ref('int_usage_events_deduplicated') }} as deduplicated
    where deduplicated.dedup_status in ('current', 'superseded')
),

customer_mappings as (
    select * from {{ ref('stg_contract_book__customer_mappings') }}
),

accounts as (
    select * from {{ ref('stg_contract_book__billing_accounts') }}
),

metric_mappings as (
    select * from {{ ref('stg_contract_book__metric_mappings') }}
),

metrics as (
    select * from {{ ref('stg_contract_book__metrics') }}
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
        -- what it was mapped from: the deduplication run and the contract book's mappings
        decided_by_invocation_id,
        mapping_fingerprint
    from mapped
)

select * from final
