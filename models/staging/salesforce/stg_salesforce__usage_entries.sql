{{ config(pre_hook="{{ forget_unreadable_raw_files() }}", partition_by=raw_files_partition_by()) }}

-- One row per data row of the Salesforce Usage_Entry__c exports (every version), parsed and checked.
with

source as (
    {{ raw_source_records('salesforce') }}
),

typed as (
    select
        *,
        try_cast(usage_date__c as date) as usage_local_date,
        {{ parse_instant('CreatedDate') }} as created_at,
        {{ parse_instant('LastModifiedDate') }} as received_at,
        {{ parse_quantity('Quantity__c') }} as quantity,
        lower(trim(isdeleted)) as is_deleted_text
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
            when nullif(trim(id), '') is null
                or nullif(trim(account__c), '') is null
                or nullif(trim(metric__c), '') is null
                or nullif(trim(quantity__c), '') is null
                or nullif(trim(usage_date__c), '') is null
                or nullif(trim(isdeleted), '') is null
                or nullif(trim(lastmodifieddate), '') is null
                then 'missing_field'
            when is_deleted_text not in ('true', 'false') then 'malformed_record'
            when usage_local_date is null
                or not {{ regex_full_match('trim(usage_date__c)', "'\\d{4}-\\d{2}-\\d{2}'") }}
                or not {{ is_iso_instant('LastModifiedDate') }} or received_at is null
                or (nullif(trim(createddate), '') is not null and created_at is null)
                then 'invalid_timestamp'
            when quantity is null or quantity < 0 then 'invalid_quantity'
        end as invalid_reason
    from typed
),

final as (
    select
        -- raw record
        'salesforce' as source_system,
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
        id as source_event_key,
        account__c as source_customer_key,
        metric__c as source_metric,
        cast(null as {{ type_instant() }}) as occurred_at,
        usage_local_date,
        received_at,
        quantity,
        cast(null as string) as properties,
        coalesce(is_deleted_text = 'true', false) as is_deleted,
        {{ content_hash("concat_ws('|', Account__c, Metric__c, cast(usage_local_date as string), cast(quantity as string), is_deleted_text)") }} as content_hash
    from checked
)

select * from final
