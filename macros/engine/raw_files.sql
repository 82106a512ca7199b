{#-
    Reading raw usage files. Every reader returns one row per raw record with the file it came
    from (file_name, file_size, file_modified_at, file_md5) and its line (NDJSON) or row (CSV,
    Parquet) number, so that nothing read can be lost. An empty or missing source folder yields an
    empty relation of the same shape.

    Staging models are incremental by file: a build reads only the files it has not read before.
    A reader may also be given its files (`files`, as raw_files_to_read lists them):
    fct_raw_record_text reads the files already read again that way, to show a record's raw text
    (macros/staging/usage_sources.sql).
    Raw files are immutable once delivered; a file that was read and then changed or vanished stops
    the build with a message (its records are already billed from), until it is put back or the
    models are rebuilt with --full-refresh.

    No content of a file stops a build (SPEC 2.1). Each new file is checked first
    (raw_file_checks) and read one of three ways: `fast`, by the engine's own reader, as every
    clean file is; `lines`, line by line, when some line would stop that reader (bytes that are
    not UTF-8, a NUL byte, a line beyond the reader's limit, a CSV quote left open): such a line
    is one record with read_problem 'malformed_record' and the rest of the file is read;
    `unreadable`, when the file cannot be read at all: one record with read_problem
    'unreadable_file', a null record number and the error in words as its content. An unreadable
    file was never read: every build checks it again (its record is replaced, see
    forget_unreadable_raw_files), so it may be removed or replaced without --full-refresh, on
    every engine.
    Engine-specific: DuckDB is the default implementation; other engines dispatch.
-#}

{% macro raw_dir(source_system) -%}
    {{ return(env_var('USAGE_RAW_DIR', 'data/raw') ~ '/' ~ source_system) }}
{%- endmacro %}

{#- The files to read for a staging model: every file matching the patterns on a full build; on an
    incremental build only those not read before. Returns a list of dicts (path, name, size,
    modified_at, md5, read_as, problem). Engines differ in how they list, hash and check files
    (raw_file_listing, raw_file_md5s, raw_file_checks). `columns`: a Parquet reader's columns
    and their types, which each file must hold. -#}
{% macro raw_files_to_read(source_system, patterns, columns=none) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set found = raw_file_listing(source_system, patterns) -%}
    {%- set loaded = {} -%}
    {%- if is_incremental() -%}
        {%- set existing_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if 'file_md5' not in existing_columns -%}
            {{ exceptions.raise_compiler_error(
                this ~ " was built by an earlier version that did not record which raw files it read: "
                ~ "rebuild it once with `dbt build --full-refresh`."
            ) }}
        {%- endif -%}
        {#- an unreadable file was never read: it is checked and read again as a new file (where
            the engine can forget its record, see forget_unreadable_raw_files) -#}
        {%- set previous = run_query(
            "select distinct file_name, file_size, cast(file_modified_at as string), file_md5 from " ~ this
            ~ (" where invalid_reason is distinct from 'unreadable_file'" if raw_files_forget_unreadable() else "")
        ) -%}
        {%- for row in previous.rows -%}
            {%- do loaded.update({row[0]: {'size': row[1], 'modified_at': row[2], 'md5': row[3]}}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set files = [] -%}
    {%- set present = [] -%}
    {%- for file in found -%}
        {%- do present.append(file['name']) -%}
        {%- if file['name'] not in loaded -%}
            {%- do files.append(file) -%}
        {%- else -%}
            {%- set before = loaded[file['name']] -%}
            {#- a file is the same when its size and time are; a new time with the same content
                (a file copied or regenerated identically) is the same file too -#}
            {%- if before['size'] != file['size']
                or (before['modified_at'] != file['modified_at']
                    and (before['md5'] is none
                        or raw_file_md5s(source_system, [file])[file['name']] != before['md5'])) -%}
                {{ exceptions.raise_compiler_error(
                    "raw file " ~ file['path'] ~ " changed after its records were read (size or content differs). "
                    ~ "Raw files are immutable once delivered: deliver corrections as new files, "
                    ~ "or rebuild with `dbt build --full-refresh`."
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in loaded -%}
        {%- if name not in present -%}
            {{ exceptions.raise_compiler_error(
                "raw file " ~ name ~ " of " ~ source_system ~ " was read by an earlier build and is no longer in "
                ~ raw_dir(source_system) ~ ". Put it back, or rebuild with `dbt build --full-refresh`."
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {#- hashing reads a whole file into memory: files above 256 MiB are known by size and time -#}
    {%- set hashable = files | selectattr('size', 'le', 268435456) | list -%}
    {%- if hashable | length > 0 -%}
        {%- set hashes = raw_file_md5s(source_system, hashable) -%}
        {%- for file in hashable -%}{%- do file.update({'md5': hashes[file['name']]}) -%}{%- endfor -%}
    {%- endif -%}
    {#- how each new file can be read: fast, lines or unreadable (with the problem in words) -#}
    {%- if files | length > 0 -%}
        {%- set checks = raw_file_checks(source_system, files, raw_file_format(patterns), columns or {}) -%}
        {%- for file in files -%}
            {%- do file.update(checks[file['path']]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(files) }}
{%- endmacro %}

{#- The format of a source's files, by their name patterns: parquet, csv or lines. -#}
{% macro raw_file_format(patterns) -%}
    {{ return('parquet' if '*.parquet' in patterns else ('csv' if '*.csv' in patterns else 'lines')) }}
{%- endmacro %}

{#- How each file can be read, by path: {read_as: fast | lines | unreadable, problem}. -#}
{% macro raw_file_checks(source_system, files, file_format, columns) -%}
    {{ return(adapter.dispatch('raw_file_checks', 'usage_billing')(source_system, files, file_format, columns)) }}
{%- endmacro %}

{#- DuckDB: raw_file_check, a Python function that the profile's plugin
    loader.dbt_plugins.raw_files registers on the connection, reads each new file once without
    parsing it (inflating .gz, opening Parquet with a connection of its own). What it says of a
    file is kept in `dbt_raw_file_checks` (raw_file_checks_kept) by path, size and modification
    time, as raw_files_to_read knows a file: a file read again to show its records
    (fct_raw_record_text, every build) is not checked again while it is the same file. -#}
{% macro default__raw_file_checks(source_system, files, file_format, columns) -%}
    {%- set registered = run_query(
        "select count(*) from duckdb_functions() where function_name = 'raw_file_check'"
    ).columns[0].values()[0] -%}
    {%- if registered == 0 -%}
        {{ exceptions.raise_compiler_error(
            "The DuckDB connection has no function raw_file_check: add the plugin to the profile "
            ~ "(profiles.yml, under the DuckDB output: `plugins: [{module: loader.dbt_plugins.raw_files}]`, "
            ~ "as in profiles.example.yml)."
        ) }}
    {%- endif -%}
    {%- set declared = [] -%}
    {%- for column, type in columns.items() -%}{%- do declared.append(column ~ ' ' ~ type) -%}{%- endfor -%}
    {%- set checked_as = file_format ~ ':' ~ declared | join(', ') -%}
    {%- set kept = raw_file_checks_kept() -%}
    {%- set checks = {} -%}
    {%- if kept is not none -%}
        {%- set by_path = {} -%}
        {%- for file in files -%}{%- do by_path.update({file['path']: file}) -%}{%- endfor -%}
        {%- for row in run_query(
            "select path, size, modified_at, read_as, problem from " ~ kept
            ~ " where checked_as = " ~ sql_text(checked_as)
        ).rows -%}
            {%- set file = by_path.get(row[0]) -%}
            {%- if file is not none and row[1] == file['size'] and row[2] == file['modified_at'] -%}
                {%- do checks.update({row[0]: {'read_as': row[3], 'problem': row[4]}}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set to_check = files | rejectattr('path', 'in', checks) | list -%}
    {%- if to_check | length == 0 -%}
        {{ return(checks) }}
    {%- endif -%}
    {%- set paths = [] -%}
    {%- for file in to_check -%}{%- do paths.append('(' ~ sql_text(file['path']) ~ ')') -%}{%- endfor -%}
    {%- set quoted = [] -%}
    {%- for column in declared -%}{%- do quoted.append(sql_text(column)) -%}{%- endfor -%}
    {%- set result = run_query(
        "select path, checked.read_as, checked.problem from (select path, raw_file_check(path, '"
        ~ file_format ~ "', cast([" ~ quoted | join(', ') ~ "] as varchar[])) as checked from (values "
        ~ paths | join(', ') ~ ") as paths (path))"
    ) -%}
    {%- for row in result.rows -%}
        {%- do checks.update({row[0]: {'read_as': row[1], 'problem': row[2]}}) -%}
    {%- endfor -%}
    {%- if kept is not none -%}
        {%- set rows = [] -%}
        {%- for file in to_check -%}
            {%- set check = checks[file['path']] -%}
            {%- do rows.append('(' ~ sql_text(file['path']) ~ ', ' ~ file['size'] ~ ', ' ~ sql_text(file['modified_at'])
                ~ ', ' ~ sql_text(checked_as) ~ ', ' ~ sql_text(check['read_as'])
                ~ ', ' ~ (sql_text(check['problem']) if check['problem'] is not none else 'null')
                ~ ', ' ~ sql_text(invocation_id) ~ ')') -%}
        {%- endfor -%}
        {%- do run_query(
            "delete from " ~ kept ~ " where checked_as = " ~ sql_text(checked_as) ~ " and path in ("
            ~ paths | join(', ') ~ "); insert into " ~ kept ~ " values " ~ rows | join(', ')
        ) -%}
    {%- endif -%}
    {{ return(checks) }}
{%- endmacro %}

{#- The table of the raw files' checks (DuckDB, created by on-run-start: create_raw_file_checks),
    or none where it does not exist (a `dbt compile`): files are then checked each time. -#}
{% macro raw_file_checks_kept() -%}
    {%- if not execute or target.type != 'duckdb' -%}{{ return(none) }}{%- endif -%}
    {%- set kept = raw_file_checks_relation() -%}
    {#- asked of the database: the table is created after dbt has listed the relations it knows -#}
    {%- set exists = run_query(
        "select count(*) from duckdb_tables() where database_name = " ~ sql_text(kept.database)
        ~ " and schema_name = " ~ sql_text(kept.schema) ~ " and table_name = " ~ sql_text(kept.identifier)
    ).columns[0].values()[0] -%}
    {{ return(kept if exists > 0 else none) }}
{%- endmacro %}

{% macro raw_file_checks_relation() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=target.schema,
        identifier='dbt_raw_file_checks',
    )) }}
{%- endmacro %}

{#- on-run-start: the table of raw file checks exists before any model reads a file. -#}
{% macro create_raw_file_checks() -%}
    {%- if target.type == 'duckdb' -%}
        create schema if not exists {{ target.schema }};
        create table if not exists {{ raw_file_checks_relation() }} (
            path varchar not null,
            size bigint not null,
            modified_at varchar not null,
            checked_as varchar not null,
            read_as varchar not null,
            problem varchar,
            checked_by_invocation_id varchar not null
        )
    {%- endif -%}
{%- endmacro %}

{#- A pre-hook of each staging model (and of the incremental classification): an incremental
    build first forgets the records of the files it found unreadable before, and checks those
    files again as new ones (a file removed since leaves nothing behind; a replaced one is read). -#}
{% macro forget_unreadable_raw_files(reason_column='invalid_reason') -%}
    {%- if is_incremental() and raw_files_forget_unreadable() -%}
        {{ return(adapter.dispatch('forget_unreadable_raw_files', 'usage_billing')(reason_column)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__forget_unreadable_raw_files(reason_column) -%}
    delete from {{ this }} where {{ reason_column }} = 'unreadable_file'
{%- endmacro %}

{#- Whether the engine forgets the unreadable files' records (every engine here does; on Spark by
    dropping the partition that holds them, see raw_files_partition_by). -#}
{% macro raw_files_forget_unreadable() -%}
    {{ return(adapter.dispatch('raw_files_forget_unreadable', 'usage_billing')()) }}
{%- endmacro %}

{% macro default__raw_files_forget_unreadable() -%}
    {{ return(true) }}
{%- endmacro %}

{#- The partitioning of the staging tables (`partition_by` of their config): none on DuckDB, which
    deletes; by invalid_reason on Spark, whose parquet tables take no delete but drop a partition. -#}
{% macro raw_files_partition_by() -%}
    {{ return(adapter.dispatch('raw_files_partition_by', 'usage_billing')()) }}
{%- endmacro %}

{% macro default__raw_files_partition_by() -%}
    {{ return(none) }}
{%- endmacro %}

{#- A SQL text literal. -#}
{% macro sql_text(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}

{#- The files of a source folder matching the patterns: [{path, name, size, modified_at (text)}],
    by path. A missing folder lists no file. -#}
{% macro raw_file_listing(source_system, patterns) -%}
    {{ return(adapter.dispatch('raw_file_listing', 'usage_billing')(source_system, patterns)) }}
{%- endmacro %}

{% macro default__raw_file_listing(source_system, patterns) -%}
    {%- set globs = [] -%}
    {%- for pattern in patterns -%}
        {%- do globs.append("'" ~ raw_dir(source_system) ~ "/" ~ pattern ~ "'") -%}
    {%- endfor -%}
    {%- set found = run_query(
        "select filename, parse_filename(filename), size, cast(last_modified as varchar) "
        ~ "from read_blob([" ~ globs | join(", ") ~ "]) order by filename"
    ) -%}
    {%- set files = [] -%}
    {%- for row in found.rows -%}
        {%- do files.append({'path': row[0], 'name': row[1], 'size': row[2], 'modified_at': row[3], 'md5': none}) -%}
    {%- endfor -%}
    {{ return(files) }}
{%- endmacro %}

{#- The MD5 of each file's bytes, by file name. -#}
{% macro raw_file_md5s(source_system, files) -%}
    {{ return(adapter.dispatch('raw_file_md5s', 'usage_billing')(source_system, files)) }}
{%- endmacro %}

{% macro default__raw_file_md5s(source_system, files) -%}
    {%- set paths = [] -%}
    {%- for file in files -%}{%- do paths.append("'" ~ file['path'] ~ "'") -%}{%- endfor -%}
    {%- set result = run_query(
        "select parse_filename(filename), md5(content) from read_blob([" ~ paths | join(", ") ~ "])"
    ) -%}
    {%- set hashes = {} -%}
    {%- for row in result.rows -%}{%- do hashes.update({row[0]: row[1]}) -%}{%- endfor -%}
    {{ return(hashes) }}
{%- endmacro %}

{#- The metadata of one file, as literals in the select that reads it: every record of the file
    carries them without a join of every record to the list of files. -#}
{% macro raw_file_metadata_literals(file) -%}
    {{ sql_text(file.name) }} as file_name,
    cast({{ file.size }} as bigint) as file_size,
    cast({{ sql_text(file.modified_at) }} as {{ type_instant() }}) as file_modified_at,
    {{ sql_text(file.md5) if file.md5 else 'cast(null as string)' }} as file_md5
{%- endmacro %}

{% macro raw_file_metadata_columns() -%}
    cast(null as string) as file_name,
    cast(null as bigint) as file_size,
    cast(null as {{ type_instant() }}) as file_modified_at,
    cast(null as string) as file_md5
{%- endmacro %}

{#- One row per text line: the file, record_number (1-based line), raw_line and read_problem
    (null, 'malformed_record' for a line of bytes that are not UTF-8 or with a NUL byte, or
    'unreadable_file' for the one record of a file that cannot be read, its error as raw_line). -#}
{% macro read_raw_lines(source_system, patterns, files=none) -%}
    {{ return(adapter.dispatch('read_raw_lines', 'usage_billing')(source_system, patterns, files)) }}
{%- endmacro %}

{#- The columns of read_raw_lines, in order. -#}
{% macro raw_line_columns() -%}
    file_name, file_size, file_modified_at, file_md5, record_number, raw_line, read_problem
{%- endmacro %}

{% macro default__read_raw_lines(source_system, patterns, files=none) -%}
    {%- set files = raw_files_to_read(source_system, patterns) if files is none else files -%}
    {%- if files | length == 0 -%}
        select
            {{ raw_file_metadata_columns() }},
            cast(null as bigint) as record_number,
            cast(null as varchar) as raw_line,
            cast(null as varchar) as read_problem
        where false
    {%- else -%}
        with

        -- each file read on its own by one thread, in order: its ordinality is the line number
        raw_lines as (
            {% for file in files -%}
            {% if file.read_as == 'fast' -%}
            select
                {{ raw_file_metadata_literals(file) | indent(16) }},
                ordinality as record_number,
                raw_line,
                cast(null as varchar) as read_problem
            from read_csv(
                '{{ file.path }}',
                columns = {'raw_line': 'VARCHAR'},
                header = false,
                auto_detect = false,
                delim = chr(1),
                quote = '',
                escape = '',
                parallel = false
            ) with ordinality
            {%- elif file.read_as == 'lines' %}
            -- {{ file.problem }}: read line by line
            select {{ raw_line_columns() }}
            from ({{ raw_file_lines_read(file, 'lines') | indent(16) }}) as file_lines
            {%- else %}
            select {{ raw_line_columns() }}
            from ({{ raw_file_unreadable(file) | indent(16) }}) as unreadable_file
            {%- endif %}
            {% if not loop.last %}union all
            {% endif %}
            {%- endfor %}
        )

        select * from raw_lines
    {%- endif -%}
{%- endmacro %}

{#- The lines of a file that the engine's reader cannot read whole, from raw_file_lines: the file
    (file_path and its metadata), record_number, raw_line (bytes that are not UTF-8 shown as
    U+FFFD), read_problem, and for CSV the line's fields (null when malformed). The file is read
    part by part, as raw_file_line_chunks cuts it at line starts (about 32 MiB each), one select
    each: no value holds a large file's every line. An empty file has no part and no line. -#}
{% macro raw_file_lines_read(file, file_format) -%}
    {%- set chunks = run_query(
        "select chunk.start, chunk.length, chunk.first_line from "
        ~ "(select unnest(raw_file_line_chunks(" ~ sql_text(file.path) ~ ")) as chunk) order by 1"
    ).rows if execute else [] -%}
    {%- for chunk in chunks %}
    select
        '{{ file.path }}' as file_path,
        {{ raw_file_metadata_literals(file) | indent(8) }},
        {{ chunk[2] - 1 }} + file_lines.record_number as record_number,
        file_lines.item.line as raw_line,
        case when file_lines.item.is_malformed then 'malformed_record' end as read_problem
        {%- if file_format == 'csv' %},
        file_lines.item.fields as fields
        {%- endif %}
    from
        (
            select raw_file_lines({{ sql_text(file.path) }}, '{{ file_format }}', {{ chunk[0] }}, {{ chunk[1] }}) as items
        ) as read_file,
        unnest(read_file.items) with ordinality as file_lines (item, record_number)
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select
        '{{ file.path }}' as file_path,
        {{ raw_file_metadata_literals(file) | indent(8) }},
        cast(null as bigint) as record_number,
        cast(null as varchar) as raw_line,
        cast(null as varchar) as read_problem
        {%- if file_format == 'csv' %},
        cast(null as varchar[]) as fields
        {%- endif %}
    where false
    {%- endfor %}
{%- endmacro %}

{#- The one record of a file that cannot be read: its path and metadata, no record number, the
    error in words. -#}
{% macro raw_file_unreadable(file) -%}
    select
        '{{ file.path }}' as file_path,
        {{ raw_file_metadata_literals(file) | indent(8) }},
        cast(null as bigint) as record_number,
        {{ sql_text('unreadable file: ' ~ file.problem) }} as raw_line,
        'unreadable_file' as read_problem
{%- endmacro %}

{#- One row per CSV data row: the file, record_number (line, the header is line 1), the named
    columns as text (matched to the file's header by name, empty values as ''), field_count and
    header_field_count (a row with another number of fields than its header is malformed), and
    raw_record (the row's fields as read, re-quoted where CSV needs it). Blank lines are not
    records. -#}
{% macro read_raw_csv(source_system, columns, files=none) -%}
    {{ return(adapter.dispatch('read_raw_csv', 'usage_billing')(source_system, columns, files)) }}
{%- endmacro %}

{% macro default__read_raw_csv(source_system, columns, files=none) -%}
    {%- set files = raw_files_to_read(source_system, ['*.csv']) if files is none else files -%}
    {%- set width = columns | length + 4 -%}
    {%- if files | length == 0 -%}
        select
            {{ raw_file_metadata_columns() }},
            cast(null as bigint) as record_number,
            {% for column in columns %}cast(null as varchar) as "{{ column }}",
            {% endfor %}cast(null as integer) as field_count,
            cast(null as integer) as header_field_count,
            cast(null as varchar) as raw_record,
            cast(null as varchar) as read_problem
        where false
    {%- else -%}
        with

        -- each file read on its own by one thread, in order: its ordinality is the line number
        csv_lines as (
            {% for file in files -%}
            {% if file.read_as == 'fast' -%}
            select
                '{{ file.path }}' as file_path,
                {{ raw_file_metadata_literals(file) | indent(16) }},
                ordinality as record_number,
                {% for i in range(1, width + 1) %}f{{ i }},
                {% endfor %}cast(null as varchar) as raw_line,
                cast(null as varchar) as read_problem
            from read_csv(
                '{{ file.path }}',
                columns = { {%- for i in range(1, width + 1) %}'f{{ i }}': 'VARCHAR'{% if not loop.last %}, {% endif %}{% endfor -%} },
                header = false,
                auto_detect = false,
                delim = ',',
                quote = '"',
                escape = '"',
                nullstr = chr(2),
                null_padding = true,
                strict_mode = false,
                parallel = false
            ) with ordinality
            {%- elif file.read_as == 'lines' %}
            -- {{ file.problem }}: read line by line, each line's fields split as CSV
            select
                file_path,
                file_name,
                file_size,
                file_modified_at,
                file_md5,
                record_number,
                {% for i in range(1, width + 1) %}fields[{{ i }}] as f{{ i }},
                {% endfor %}raw_line,
                read_problem
            from ({{ raw_file_lines_read(file, 'csv') | indent(16) }}) as file_lines
            -- blank lines are not records
            where raw_line <> ''
            {%- else %}
            select
                file_path,
                file_name,
                file_size,
                file_modified_at,
                file_md5,
                record_number,
                {% for i in range(1, width + 1) %}cast(null as varchar) as f{{ i }},
                {% endfor %}raw_line,
                read_problem
            from ({{ raw_file_unreadable(file) | indent(16) }}) as unreadable_file
            {%- endif %}
            {% if not loop.last %}union all
            {% endif %}
            {%- endfor %}
        ),

        csv_rows as (
            select
                file_path,
                file_name,
                file_size,
                file_modified_at,
                file_md5,
                record_number,
                read_problem,
                {% for i in range(1, width + 1) %}f{{ i }},
                {% endfor %}{% for i in range(1, width + 1) %}(case when f{{ i }} is null then 0 else 1 end){% if not loop.last %} + {% endif %}{% endfor %} as field_count,
                -- the row as it was read: its fields, quoted where CSV needs it (a line that could
                -- not be split, or a file's error, as it is)
                case when read_problem is not null then raw_line else concat_ws(
                    ','{% for i in range(1, width + 1) %},
                    case
                        when f{{ i }} like '%,%' or f{{ i }} like '%"%' then '"' || replace(f{{ i }}, '"', '""') || '"'
                        else f{{ i }}
                    end{% endfor %}
                ) end as raw_record
            from csv_lines
        ),

        -- per file, the field each named column is in (matched to the header by name)
        csv_headers as (
            select
                file_path,
                {% for column in columns %}case
                    {% for i in range(1, width + 1) %}when trim(f{{ i }}) = '{{ column }}' then {{ i }}
                    {% endfor %}end as "{{ column }}__field",
                {% endfor %}field_count
            from csv_rows
            where record_number = 1
        )

        select
            csv_rows.file_name,
            csv_rows.file_size,
            csv_rows.file_modified_at,
            csv_rows.file_md5,
            csv_rows.record_number,
            {% for column in columns %}case csv_headers."{{ column }}__field"
                {% for i in range(1, width + 1) %}when {{ i }} then csv_rows.f{{ i }}
                {% endfor %}end as "{{ column }}",
            {% endfor %}csv_rows.field_count,
            csv_headers.field_count as header_field_count,
            csv_rows.raw_record,
            csv_rows.read_problem
        from csv_rows
        -- an unreadable file has no header
        left join csv_headers
            on csv_rows.file_path = csv_headers.file_path
        where csv_rows.record_number > 1 or csv_rows.read_problem = 'unreadable_file'
    {%- endif -%}
{%- endmacro %}

{#- One row per Parquet row: the file, record_number (1-based row) and the named columns. -#}
{% macro read_raw_parquet(source_system, columns, files=none) -%}
    {{ return(adapter.dispatch('read_raw_parquet', 'usage_billing')(source_system, columns, files)) }}
{%- endmacro %}

{% macro default__read_raw_parquet(source_system, columns, files=none) -%}
    {%- set files = raw_files_to_read(source_system, ['*.parquet'], columns) if files is none else files -%}
    {%- if files | length == 0 -%}
        select
            {{ raw_file_metadata_columns() }},
            cast(null as bigint) as record_number,
            {% for column, type in columns.items() %}cast(null as {{ type }}) as {{ column }},
            {% endfor %}cast(null as varchar) as read_problem,
            cast(null as varchar) as read_error
        where false
    {%- else -%}
        with

        -- each file read on its own, with its metadata as literals
        parquet_rows as (
            {% for file in files -%}
            {% if file.read_as == 'fast' -%}
            select
                {{ raw_file_metadata_literals(file) | indent(16) }},
                file_row_number + 1 as record_number,
                {% for column, type in columns.items() %}{{ column }},
                {% endfor %}cast(null as varchar) as read_problem,
                cast(null as varchar) as read_error
            from read_parquet({{ sql_text(file.path) }}, file_row_number = true)
            {%- else %}
            -- a file that cannot be read: one record
            select
                {{ raw_file_metadata_literals(file) | indent(16) }},
                cast(null as bigint) as record_number,
                {% for column, type in columns.items() %}cast(null as {{ type }}) as {{ column }},
                {% endfor %}'unreadable_file' as read_problem,
                {{ sql_text('unreadable file: ' ~ file.problem) }} as read_error
            {%- endif %}
            {% if not loop.last %}union all
            {% endif %}
            {%- endfor %}
        )

        select * from parquet_rows
    {%- endif -%}
{%- endmacro %}
