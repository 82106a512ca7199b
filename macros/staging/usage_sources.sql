{#-
    The raw sources the staging models read, each described once: its file format, the file names
    it reads and, for CSV and Parquet, the columns its reader takes. The staging models read their
    files through raw_source_records; fct_raw_record_text reads the files already read again
    through the same macro, so that a record's line or row number and raw text are the same both
    ways.

    The raw text of a record (raw_record) is kept in staging only for a record that is invalid
    there: quarantined records need it, and copying every line of every file is a large part of a
    build's writing. A valid record's audit trail is its file and line (or row) number; its text
    is read back from the raw file when asked (fct_raw_record_text, docs/decisions.md, "Raw text is
    read back, not copied").
-#}

{#- The raw sources by source system: format (lines, csv, parquet), file name patterns, columns
    (CSV: names matched to the header; Parquet: names and types), and the staging model. -#}
{% macro raw_sources() -%}
    {{ return({
        'telemetry': {
            'format': 'lines',
            'patterns': ['*.jsonl', '*.jsonl.gz'],
            'columns': none,
            'staging_model': 'stg_telemetry__events',
        },
        'stripe': {
            'format': 'csv',
            'patterns': ['*.csv'],
            'columns': ['identifier', 'event_name', 'timestamp', 'stripe_customer_id', 'value', 'created'],
            'staging_model': 'stg_stripe__meter_events',
        },
        'salesforce': {
            'format': 'csv',
            'patterns': ['*.csv'],
            'columns': ['Id', 'Account__c', 'Metric__c', 'Quantity__c', 'Usage_Date__c', 'IsDeleted', 'CreatedDate', 'LastModifiedDate'],
            'staging_model': 'stg_salesforce__usage_entries',
        },
        'metering': {
            'format': 'parquet',
            'patterns': ['*.parquet'],
            'columns': {
                'record_id': 'varchar',
                'meter_api_name': 'varchar',
                'customer_id': 'varchar',
                'window_start': 'timestamp',
                'window_end': 'timestamp',
                'value': 'double',
                'exported_at': 'timestamp',
            },
            'staging_model': 'stg_metering__usage_windows',
        },
        'watermarks': {
            'format': 'csv',
            'patterns': ['*.csv'],
            'columns': ['source_system', 'complete_through', 'reported_at'],
            'staging_model': 'stg_watermarks__signals',
        },
    }) }}
{%- endmacro %}

{#- The records of a source's files, as its reader returns them (read_raw_lines, read_raw_csv or
    read_raw_parquet): `files` as raw_files_to_read lists them, or none for the files a staging
    build has to read. -#}
{% macro raw_source_records(source_system, files=none) -%}
    {%- set source = raw_sources()[source_system] -%}
    {%- if source['format'] == 'lines' -%}
        {{ return(read_raw_lines(source_system, source['patterns'], files)) }}
    {%- elif source['format'] == 'csv' -%}
        {{ return(read_raw_csv(source_system, source['columns'], files)) }}
    {%- else -%}
        {{ return(read_raw_parquet(source_system, source['columns'], files)) }}
    {%- endif -%}
{%- endmacro %}

{#- A record's raw text, from its reader's columns: the line (NDJSON), the row's fields re-quoted
    where CSV needs it (raw_record of read_raw_csv), or the row's values joined by commas
    (Parquet; an unreadable file's error instead). -#}
{% macro raw_source_text(source_system) -%}
    {%- set source = raw_sources()[source_system] -%}
    {%- if source['format'] == 'lines' -%}
        raw_line
    {%- elif source['format'] == 'csv' -%}
        raw_record
    {%- else -%}
        coalesce(
            read_error,
            concat_ws(
                ','{% for column in source['columns'] %}, cast({{ column }} as string){% endfor %}
            )
        )
    {%- endif -%}
{%- endmacro %}

{#- A line that is a record: not blank (a line opening an object is not, without trimming it: the
    trim of every line costs more than the rest of the filter). -#}
{% macro raw_line_is_record(raw_line) -%}
    (left({{ raw_line }}, 1) = '{' or trim(coalesce({{ raw_line }}, '')) <> '')
{%- endmacro %}

{#- Whether a record's raw text is read back from the raw file (fct_raw_record_text) instead of
    kept in staging for every record. Not on Spark, whose readers number a file's lines as one
    job reads them all: there staging keeps every record's text, as before. -#}
{% macro raw_text_is_read_back() -%}
    {{ return(target.type != 'spark') }}
{%- endmacro %}

{#- The raw text staging keeps: a record invalid at staging keeps it (it is quarantined), a valid
    one none (read back by file and record number) where the engine reads it back. -#}
{% macro raw_record_kept(raw_record, invalid_reason) -%}
    {%- if raw_text_is_read_back() -%}
        case when {{ invalid_reason }} is not null then {{ raw_record }} end
    {%- else -%}
        {{ raw_record }}
    {%- endif -%}
{%- endmacro %}

{#- The raw texts of the records quarantined after staging, read back once
    (int_usage_quarantined_texts), where the engine reads them back; none where staging keeps every
    record's text. -#}
{% macro raw_texts_read_back() -%}
    {%- if raw_text_is_read_back() -%}
        select source_system, file_name, record_number, raw_record from {{ ref('int_usage_quarantined_texts') }}
    {%- else -%}
        {{ no_raw_texts() }}
    {%- endif -%}
{%- endmacro %}

{#- No raw text: the empty relation of the read-back texts' shape. -#}
{% macro no_raw_texts() -%}
    select
        cast(null as string) as source_system,
        cast(null as string) as file_name,
        cast(null as bigint) as record_number,
        cast(null as string) as raw_record
    where false
{%- endmacro %}

{#- The files of a source that its staging model has read (all but those it found unreadable,
    which have no records to read back; of those, the ones named in `file_names` when given),
    still in the source folder, each with how it was read, so that its reader numbers and shows
    its records as staging did. A file was read line by line only when some line would have
    stopped the engine's reader, and each such line is a 'malformed_record' record: so a file
    without one was read fast, and only the files with one are checked again (raw_file_checks),
    not every file on every build. Not hashed: nothing is compared with them. -#}
{% macro raw_files_already_read(source_system, staging_relation, file_names=none) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- if load_relation(staging_relation) is none -%}{{ return([]) }}{%- endif -%}
    {%- set source = raw_sources()[source_system] -%}
    {%- set read = {} -%}
    {%- for row in run_query(
        "select file_name, bool_or(invalid_reason = 'malformed_record') from " ~ staging_relation
        ~ " where invalid_reason is distinct from 'unreadable_file' group by file_name"
    ).rows -%}
        {%- if file_names is none or row[0] in file_names -%}
            {%- do read.update({row[0]: row[1]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set files = raw_file_listing(source_system, source['patterns']) | selectattr('name', 'in', read) | list -%}
    {%- set to_check = [] -%}
    {%- for file in files -%}
        {%- if read[file['name']] -%}
            {%- do to_check.append(file) -%}
        {%- else -%}
            {%- do file.update({'read_as': 'fast', 'problem': none}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if to_check | length > 0 -%}
        {%- set checks = raw_file_checks(source_system, to_check, raw_file_format(source['patterns']), source['columns'] if source['format'] == 'parquet' else {}) -%}
        {%- for file in to_check -%}
            {%- do file.update(checks[file['path']]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(files) }}
{%- endmacro %}

{#- Every record of the files a source's staging model has read (or of those of them named in
    `file_names`): source_system, file_name, record_number and raw_record, read again from the
    files by the source's reader. -#}
{% macro raw_records_read_back(source_system, staging_relation, file_names=none) -%}
    {%- set files = raw_files_already_read(source_system, staging_relation, file_names) -%}
    select
        '{{ source_system }}' as source_system,
        file_name,
        record_number,
        {{ raw_source_text(source_system) }} as raw_record
    from ({{ raw_source_records(source_system, files) | indent(8) }}) as source_records
    where record_number is not null
    {%- if raw_sources()[source_system]['format'] == 'lines' %}
        and {{ raw_line_is_record('raw_line') }}
    {%- endif %}
{%- endmacro %}

{#- Inside int_usage_quarantined_texts: the records quarantined after staging (valid records,
    deduplicated, then quarantined: staging kept the others' text) whose text the table does not
    hold yet; every one on a full build. -#}
{% macro quarantined_texts_missing() -%}
    select
        classified.raw_record_id,
        classified.source_system,
        classified.file_name,
        classified.record_number
    from {{ ref('int_usage_records_classified') }} as classified
    where
        classified.record_outcome = 'quarantined'
        and classified.dedup_status is not null
        {%- if is_incremental() %}
            and not exists (
                select 1 from {{ this }} as held where held.raw_record_id = classified.raw_record_id
            )
        {%- endif %}
{%- endmacro %}

{#- Inside int_usage_quarantined_texts: the raw files, by source system, that hold a record
    whose text is missing (quarantined_texts_missing). Read when the model runs, after the
    classification's inputs are built. -#}
{% macro quarantined_files_to_read_back() -%}
    {%- if not execute or load_relation(ref('int_usage_records_classified')) is none -%}{{ return({}) }}{%- endif -%}
    {%- set files = {} -%}
    {%- set query -%}
        select distinct source_system, file_name from ({{ quarantined_texts_missing() }}) as missing order by 1, 2
    {%- endset -%}
    {%- for row in run_query(query).rows -%}
        {%- do files.setdefault(row[0], []).append(row[1]) -%}
    {%- endfor -%}
    {{ return(files) }}
{%- endmacro %}
