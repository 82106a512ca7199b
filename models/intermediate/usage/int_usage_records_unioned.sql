-- A view: the staging tables already hold every record; the union adds no work of its own.
{{ config(materialized='view') }}

-- One row per raw usage record read from any source system, in one shape.
with

telemetry as (
    select * from {{ ref('stg_telemetry__events') }}
),

stripe as (
    select * from {{ ref('stg_stripe__meter_events') }}
),

salesforce as (
    select * from {{ ref('stg_salesforce__usage_entries') }}
),

metering as (
    select * from {{ ref('stg_metering__usage_windows') }}
),

unioned as (
    select * from telemetry
    union all
    select * from stripe
    union all
    select * from salesforce
    union all
    select * from metering
),

final as (
    select
        -- a file that cannot be read is one record without a number: <source>:<file>:file
        source_system || ':' || file_name || ':' || coalesce(cast(record_number as string), 'file') as raw_record_id,
        *
    from unioned
)

select * from final
