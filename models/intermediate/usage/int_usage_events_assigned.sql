-- A view: the assignment step over every mapped event, as auditors and unit tests read it
-- (macros/usage/usage_events.sql). Models downstream read the event table
-- (int_usage_records_assigned), which keeps each assigned version, assigned by the same macro.
{{ config(materialized='view') }}

-- One row per mapped version of a source event: the period segment (line × period × plan) in force
-- on its local date, and whether it counts now and whether it was known when the period was billed.
with

final as (
    {{ usage_events_assigned(ref('int_usage_events_mapped')) | indent(4) }}
)

select * from final
