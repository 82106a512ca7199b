-- A view: one filter over the classification table. Tracing an invoice line
-- through it takes well under a second at 10M events, while writing it as a table was the
-- slowest step of every build (docs/decisions.md).
{{ config(materialized='view') }}

-- One row per distinct source event (a deduplication key of a source system), or per raw record
-- that could not be read as an event: the raw record that counts, how many copies or versions
-- arrived, and the Usage Record it counts in or the reason it was quarantined.
with

classified as (
    select * from {{ ref('int_usage_records_classified') }}
),

-- the record that speaks for an event is its current version; a record that could not be read
-- as an event speaks for itself
representatives as (
    select
        *,
        coalesce(event_key, raw_record_id) as lineage_id
    from classified
    where dedup_status = 'current' or event_key is null
),

final as (
    select
        representatives.lineage_id,
        representatives.event_key,
        representatives.source_system,
        representatives.source_event_key,
        -- the raw record that counts
        representatives.raw_record_id,
        representatives.file_name,
        representatives.record_number,
        representatives.copies_received as raw_record_count,
        representatives.copies_received - 1 as duplicate_count,
        representatives.conflict_count,
        -- the event
        representatives.source_customer_key,
        representatives.source_metric,
        representatives.billing_account_id,
        representatives.metric,
        representatives.occurred_at,
        representatives.usage_local_date,
        representatives.received_at,
        representatives.source_quantity,
        representatives.billing_quantity,
        -- where it went
        representatives.record_outcome as event_outcome,
        representatives.quarantine_reason,
        representatives.subscription_line_id,
        representatives.billing_period_start,
        representatives.is_late,
        representatives.counted_at_billing,
        representatives.late_usage_outcome,
        representatives.external_id,
        representatives.period_segment_external_id,
        -- the run that classified it
        representatives.classified_by_invocation_id
    from representatives
)

select * from final
