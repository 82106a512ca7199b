{{ config(pre_hook="{{ forget_unreadable_raw_files() }}", partition_by=raw_files_partition_by()) }}

-- One row per row of the metering platform's hourly aggregate exports (every export), checked.
with

source as (
    {{ raw_source_records('metering') }}
),

typed as (
    select
        *,
        {{ raw_source_text('metering') }} as raw_record,
        cast(cast(window_start as timestamp) as {{ type_instant() }}) as window_start_at,
        cast(cast(window_end as timestamp) as {{ type_instant() }}) as window_end_at,
        cast(cast(exported_at as timestamp) as {{ type_instant() }}) as received_at,
        {{ parse_quantity('cast(value as string)') }} as quantity
    from source
),

checked as (
    select
        *,
        case
            -- a file that cannot be read
            when read_problem is not null then read_problem
            when nullif(trim(record_id), '') is null
                or nullif(trim(meter_api_name), '') is null
                or nullif(trim(customer_id), '') is null
                or window_start is null
                or exported_at is null
                then 'missing_field'
            when window_end is not null and window_end < window_start then 'invalid_timestamp'
            when quantity is null or quantity < 0 then 'invalid_quantity'
        end as invalid_reason
    from typed
),

final as (
    select
        -- raw record
        'metering' as source_system,
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
        record_id as source_event_key,
        customer_id as source_customer_key,
        meter_api_name as source_metric,
        window_start_at as occurred_at,
        cast(null as date) as usage_local_date,
        received_at,
        quantity,
        cast(null as string) as properties,
        false as is_deleted,
        {{ content_hash("concat_ws('|', customer_id, meter_api_name, cast(window_start as string), cast(quantity as string))") }} as content_hash
    from checked
)

select * from final
