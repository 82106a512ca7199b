-- One row per rejected raw record (usage or watermark): its source system, file, line or row
-- number, raw content and the reason it was quarantined.
with

usage_records as (
    select * from {{ ref('int_usage_records_classified') }}
    where record_outcome = 'quarantined'
),

-- joined on the parts of the raw record id: the same match without building 10M ids to compare;
-- staging keeps the raw text of the records invalid there
raw_records as (
    select
        source_system,
        file_name,
        record_number,
        raw_record
    from {{ ref('int_usage_records_unioned') }}
),

-- the raw text of a record quarantined after staging (unknown customer or metric, no active line,
-- late after the line's end), read back once from its raw file by file and record number
-- (int_usage_quarantined_texts)
raw_texts as (
    {{ raw_texts_read_back() }}
),

watermarks as (
    select * from {{ ref('stg_watermarks__signals') }}
    where invalid_reason is not null
),

quarantined as (
    select
        usage_records.raw_record_id,
        usage_records.source_system,
        usage_records.file_name,
        usage_records.record_number,
        coalesce(raw_records.raw_record, raw_texts.raw_record) as raw_record,
        usage_records.quarantine_reason,
        usage_records.source_event_key,
        usage_records.source_customer_key,
        usage_records.source_metric,
        usage_records.billing_account_id,
        usage_records.metric,
        usage_records.usage_local_date,
        usage_records.received_at
    from usage_records
    inner join raw_records
        on usage_records.source_system = raw_records.source_system
            and usage_records.file_name = raw_records.file_name
            -- an unreadable file's one record has no number
            and usage_records.record_number is not distinct from raw_records.record_number
    left join raw_texts
        on raw_records.raw_record is null
            and usage_records.source_system = raw_texts.source_system
            and usage_records.file_name = raw_texts.file_name
            and usage_records.record_number = raw_texts.record_number

    union all

    select
        'watermarks:' || file_name || ':' || coalesce(cast(record_number as string), 'file') as raw_record_id,
        'watermarks' as source_system,
        file_name,
        record_number,
        raw_record,
        invalid_reason as quarantine_reason,
        cast(null as string) as source_event_key,
        cast(null as string) as source_customer_key,
        cast(null as string) as source_metric,
        cast(null as string) as billing_account_id,
        cast(null as string) as metric,
        cast(null as date) as usage_local_date,
        cast(null as {{ type_instant() }}) as received_at
    from watermarks
),

final as (
    select * from quarantined
)

select * from final
