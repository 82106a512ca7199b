{{ config(pre_hook="{{ forget_unreadable_raw_files() }}", partition_by=raw_files_partition_by()) }}

-- One row per data row of the Stripe Billing meter event exports, parsed and checked.
with

source as (
    {{ raw_source_records('stripe') }}
),

typed as (
    select
        *,
        {{ parse_unix_seconds('"timestamp"') }} as occurred_at,
        {{ parse_unix_seconds('created') }} as received_at,
        {{ parse_quantity('value') }} as quantity
    from source
),

checked as (
    select
        *,
        case
            -- a row of bytes that are not UTF-8, with a NUL byte or a quote left open, or a file
            -- that cannot be read
            when read_problem is not null then read_problem
            when field_count <> header_field_count then 'malformed_record'
            when nullif(trim(identifier), '') is null
                or nullif(trim(event_name), '') is null
                or nullif(trim(timestamp), '') is null
                or nullif(trim(stripe_customer_id), '') is null
                or nullif(trim(value), '') is null
                or nullif(trim(created), '') is null
                then 'missing_field'
            when occurred_at is null or received_at is null then 'invalid_timestamp'
            when quantity is null or quantity < 0 then 'invalid_quantity'
        end as invalid_reason
    from typed
),

final as (
    select
        -- raw record
        'stripe' as source_system,
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
        identifier as source_event_key,
        stripe_customer_id as source_customer_key,
        event_name as source_metric,
        occurred_at,
        cast(null as date) as usage_local_date,
        received_at,
        quantity,
        cast(null as string) as properties,
        false as is_deleted,
        {{ content_hash("concat_ws('|', stripe_customer_id, event_name, cast(occurred_at as string), cast(quantity as string))") }} as content_hash
    from checked
)

select * from final
