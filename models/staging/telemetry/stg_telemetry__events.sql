{{ config(pre_hook="{{ forget_unreadable_raw_files() }}", partition_by=raw_files_partition_by()) }}

-- One row per non-blank line of the telemetry NDJSON files, parsed and checked.
with

source as (
    {{ raw_source_records('telemetry') }}
),

records as (
    select
        file_name,
        file_size,
        file_modified_at,
        file_md5,
        record_number,
        {{ raw_source_text('telemetry') }} as raw_record,
        read_problem,
        {{ json_is_object('raw_line') }} as is_object,
        -- only a well-formed JSON object is ever handed to the JSON functions
        case when {{ json_is_object('raw_line') }} then raw_line end as object_json
    from source
    -- not blank
    where {{ raw_line_is_record('raw_line') }}
),

-- the line is parsed once; each member is then read from the parsed list
parsed as (
    select
        *,
        {{ json_extract_members('object_json', ['event_id', 'account_key', 'event_type', 'occurred_at', 'received_at', 'quantity', 'properties']) }} as members
    from records
),

members as (
    select
        *,
        {{ json_item_type('members', 1) }} as event_id_type,
        {{ json_item_type('members', 2) }} as account_key_type,
        {{ json_item_type('members', 3) }} as event_type_type,
        {{ json_item_type('members', 4) }} as occurred_at_type,
        {{ json_item_type('members', 5) }} as received_at_type,
        {{ json_item_type('members', 6) }} as quantity_type,
        {{ json_item_type('members', 7) }} as properties_type,
        {{ json_item_text('members', 1) }} as event_id,
        {{ json_item_text('members', 2) }} as account_key,
        {{ json_item_text('members', 3) }} as event_type,
        {{ json_item_text('members', 4) }} as occurred_at_text,
        {{ json_item_text('members', 5) }} as received_at_text,
        {{ json_item_text('members', 6) }} as quantity_text,
        {{ json_item_text('members', 7) }} as properties
    from parsed
),

typed as (
    select
        *,
        {{ parse_instant('occurred_at_text') }} as occurred_at,
        {{ parse_instant('received_at_text') }} as received_at,
        case
            when quantity_type is null then cast(1 as decimal(38, 9))
            when quantity_type in ('UBIGINT', 'BIGINT', 'DOUBLE') then {{ parse_quantity('quantity_text') }}
        end as quantity
    from members
),

checked as (
    select
        *,
        case
            -- a line of bytes that are not UTF-8 or with a NUL byte, or a file that cannot be read
            when read_problem is not null then read_problem
            when not is_object then 'malformed_record'
            when coalesce(event_id_type, 'NULL') = 'NULL'
                or coalesce(account_key_type, 'NULL') = 'NULL'
                or coalesce(event_type_type, 'NULL') = 'NULL'
                or coalesce(occurred_at_type, 'NULL') = 'NULL'
                or coalesce(received_at_type, 'NULL') = 'NULL'
                then 'missing_field'
            when event_id_type <> 'VARCHAR'
                or account_key_type <> 'VARCHAR'
                or event_type_type <> 'VARCHAR'
                or occurred_at_type <> 'VARCHAR'
                or received_at_type <> 'VARCHAR'
                or coalesce(properties_type, 'OBJECT') not in ('OBJECT', 'NULL')
                or coalesce(quantity_type, 'NULL') not in ('UBIGINT', 'BIGINT', 'DOUBLE', 'NULL')
                then 'malformed_record'
            when trim(event_id) = '' or trim(account_key) = '' or trim(event_type) = '' then 'missing_field'
            when not {{ is_iso_instant('occurred_at_text') }} or occurred_at is null
                or not {{ is_iso_instant('received_at_text') }} or received_at is null
                then 'invalid_timestamp'
            when quantity is null or quantity < 0 then 'invalid_quantity'
        end as invalid_reason
    from typed
),

final as (
    select
        -- raw record
        'telemetry' as source_system,
        file_name,
        record_number,
        file_size,
        file_modified_at,
        file_md5,
        '{{ invocation_id }}' as loaded_by_invocation_id,
        -- the raw text of an invalid record only: a valid one is read back by file and line
        {{ raw_record_kept('raw_record', 'invalid_reason') }} as raw_record,
        invalid_reason,
        -- event
        event_id as source_event_key,
        account_key as source_customer_key,
        event_type as source_metric,
        occurred_at,
        cast(null as date) as usage_local_date,
        received_at,
        quantity,
        properties,
        false as is_deleted,
        {{ content_hash("concat_ws('|', account_key, event_type, cast(occurred_at as string), cast(quantity as string), coalesce(properties, ''))") }} as content_hash
    from checked
)

select * from final
