-- One row per rejected raw record (usage or watermark): its source system, file, line or row
-- number, raw content and the reason it was quarantined.
with

usage_records as (
    select
        *
    from {{ ref('int_usage_records_classified') }}
    where record_outcome = 'quarantined'
),

watermarks as (
    select
        *
    from {{ ref('stg_watermarks__signals') }}
    where invalid_reason is not null
),

quarantined as (
    select
        raw_record_id,
        source_system,
        file_name,
        record_number,
        raw_record,
        quarantine_reason,
        source_event_key,
        source_customer_key,
        source_metric,
        billing_account_id,
        metric,
        usage_local_date,
        received_at
    from usage_records

    union all

    select
        'watermarks:' || file_name || ':' || cast(record_number as varchar) as raw_record_id,
        'watermarks' as source_system,
        file_name,
        record_number,
        raw_record,
        invalid_reason as quarantine_reason,
        cast(null as varchar) as source_event_key,
        cast(null as varchar) as source_customer_key,
        cast(null as varchar) as source_metric,
        cast(null as varchar) as billing_account_id,
        cast(null as varchar) as metric,
        cast(null as date) as usage_local_date,
        cast(null as timestamptz) as received_at
    from watermarks
),

final as (
    select
        *
    from quarantined
)

select
    *
from final
