{{ config(pre_hook="{{ forget_unreadable_raw_files() }}", partition_by=raw_files_partition_by()) }}

-- One row per data row of the period-close signal files, checked.
with

source as (
    {{ raw_source_records('watermarks') }}
),

typed as (
    select
        *,
        {{ parse_instant('complete_through') }} as complete_through_at,
        {{ parse_instant('reported_at') }} as reported_at_parsed
    from source
),

checked as (
    select
        *,
        case
            when read_problem is not null then read_problem
            when field_count <> header_field_count then 'malformed_record'
            when nullif(trim(source_system), '') is null or nullif(trim(complete_through), '') is null
                then 'missing_field'
            when not {{ is_iso_instant('complete_through') }} or complete_through_at is null
                or (nullif(trim(reported_at), '') is not null and reported_at_parsed is null)
                then 'invalid_timestamp'
        end as invalid_reason
    from typed
),

final as (
    select
        'watermarks' as signal_source,
        file_name,
        record_number,
        file_size,
        file_modified_at,
        file_md5,
        '{{ invocation_id }}' as loaded_by_invocation_id,
        -- the raw text of an invalid record only: a valid one is read back by file and row
        {{ raw_record_kept('raw_record', 'invalid_reason') }} as raw_record,
        invalid_reason,
        trim(source_system) as source_system,
        complete_through_at as complete_through,
        reported_at_parsed as reported_at
    from checked
)

select * from final
