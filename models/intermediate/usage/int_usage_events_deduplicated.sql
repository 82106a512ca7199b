-- A view: the deduplication step over every valid record, as auditors and unit tests read it. The
-- event table (int_usage_records_assigned) applies the same macro to the events a run decides.
{{ config(materialized='view') }}

-- One row per valid raw usage record, with its deduplication outcome: the copy or version that
-- counts, a duplicate delivery, or a superseded version, and the interval in which it was current
-- (macros/usage/usage_events.sql). The policy per source (first or last received wins) is the
-- source_systems seed's.
with

source_systems as (
    select * from {{ ref('source_systems') }}
),

-- every valid record with its source's dedup policy
records as (
    select
        unioned.*,
        source_systems.dedup_policy
    from {{ ref('int_usage_records_unioned') }} as unioned
    inner join source_systems
        on unioned.source_system = source_systems.source_system
    where unioned.invalid_reason is null
),

final as (
    {{ usage_events_deduplicated('records') | indent(4) }}
)

select * from final
