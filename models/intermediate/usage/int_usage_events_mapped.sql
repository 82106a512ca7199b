-- A view: the mapping step over every deduplicated event, as auditors and unit tests read it
-- (macros/usage/usage_events.sql). The event table (int_usage_records_assigned) keeps each mapped
-- version, mapped by the same macro.
{{ config(materialized='view') }}

-- One row per version of a source event that can count (current or superseded, never a duplicate
-- delivery): mapped to its billing account and metric, in billing units, on its local date, with
-- a fingerprint of the contract book's mappings it was mapped with.
with

final as (
    {{ usage_events_mapped(ref('int_usage_events_deduplicated')) | indent(4) }}
)

select * from final
