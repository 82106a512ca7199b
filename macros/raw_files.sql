{#-
    Reading raw usage files. Every reader returns one row per raw record with the file it came
    from and its line (NDJSON) or row (CSV, Parquet) number, so that nothing read can be lost.
    An empty or missing source folder yields an empty relation of the same shape.
    Engine-specific: DuckDB is the default implementation; other engines dispatch.
-#}

{% macro raw_dir(source_system) -%}
    {{ return(env_var('USAGE_RAW_DIR', 'data/raw') ~ '/' ~ source_system) }}
{%- endmacro %}

{% macro raw_files_exist(path_glob) -%}
    {{ return(adapter.dispatch('raw_files_exist', 'usage_billing')(path_glob)) }}
{%- endmacro %}

{% macro default__raw_files_exist(path_glob) -%}
    {% if not execute %}{{ return(true) }}{% endif %}
    {% set result = run_query("select count(*) from glob('" ~ path_glob ~ "')") %}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- One row per text line: file_name, record_number (1-based line), raw_line. -#}
{% macro read_raw_lines(source_system, patterns) -%}
    {{ return(adapter.dispatch('read_raw_lines', 'usage_billing')(source_system, patterns)) }}
{%- endmacro %}

{% macro default__read_raw_lines(source_system, patterns) -%}
    {%- set globs = [] -%}
    {%- for pattern in patterns -%}
        {%- set path_glob = raw_dir(source_system) ~ '/' ~ pattern -%}
        {%- if raw_files_exist(path_glob) -%}{%- do globs.append(path_glob) -%}{%- endif -%}
    {%- endfor -%}
    {%- if globs | length == 0 -%}
        select
            cast(null as varchar) as file_name,
            cast(null as bigint) as record_number,
            cast(null as varchar) as raw_line
        where false
    {%- else -%}
        select
            parse_filename(filename) as file_name,
            row_number() over (partition by filename order by ordinality) as record_number,
            raw_line
        from read_csv(
            [{% for g in globs %}'{{ g }}'{% if not loop.last %}, {% endif %}{% endfor %}],
            columns = {'raw_line': 'VARCHAR'},
            header = false,
            auto_detect = false,
            delim = chr(1),
            quote = '',
            escape = '',
            filename = true,
            parallel = false
        ) with ordinality
    {%- endif -%}
{%- endmacro %}

{#- One row per CSV data row: file_name, record_number (line, the header is line 1), the named
    columns as text (matched to the file's header by name, empty values as ''), field_count and
    header_field_count (a row with another number of fields than its header is malformed), and
    raw_record (the row's fields as read, re-quoted where CSV needs it).
    Blank lines are not records. -#}
{% macro read_raw_csv(source_system, columns) -%}
    {{ return(adapter.dispatch('read_raw_csv', 'usage_billing')(source_system, columns)) }}
{%- endmacro %}

{% macro default__read_raw_csv(source_system, columns) -%}
    {%- set path_glob = raw_dir(source_system) ~ '/*.csv' -%}
    {%- set width = columns | length + 4 -%}
    {%- if not raw_files_exist(path_glob) -%}
        select
            cast(null as varchar) as file_name,
            cast(null as bigint) as record_number,
            {% for column in columns %}cast(null as varchar) as "{{ column }}",
            {% endfor %}cast(null as integer) as field_count,
            cast(null as integer) as header_field_count,
            cast(null as varchar) as raw_record
        where false
    {%- else -%}
        with

        csv_rows as (
            select
                parse_filename(filename) as file_name,
                row_number() over (partition by filename order by ordinality) as record_number,
                {% for i in range(1, width + 1) %}f{{ i }},
                {% endfor %}{% for i in range(1, width + 1) %}(case when f{{ i }} is null then 0 else 1 end){% if not loop.last %} + {% endif %}{% endfor %} as field_count,
                -- the row as it was read: its fields, quoted where CSV needs it
                concat_ws(
                    ','{% for i in range(1, width + 1) %},
                    case
                        when f{{ i }} like '%,%' or f{{ i }} like '%"%' then '"' || replace(f{{ i }}, '"', '""') || '"'
                        else f{{ i }}
                    end{% endfor %}
                ) as raw_record
            from read_csv(
                '{{ path_glob }}',
                columns = { {%- for i in range(1, width + 1) %}'f{{ i }}': 'VARCHAR'{% if not loop.last %}, {% endif %}{% endfor -%} },
                header = false,
                auto_detect = false,
                delim = ',',
                quote = '"',
                escape = '"',
                nullstr = chr(2),
                null_padding = true,
                strict_mode = false,
                filename = true
            ) with ordinality
        ),

        csv_headers as (
            select * from csv_rows where record_number = 1
        )

        select
            csv_rows.file_name,
            csv_rows.record_number,
            {% for column in columns %}case
                {% for i in range(1, width + 1) %}when trim(csv_headers.f{{ i }}) = '{{ column }}' then csv_rows.f{{ i }}
                {% endfor %}end as "{{ column }}",
            {% endfor %}csv_rows.field_count,
            csv_headers.field_count as header_field_count,
            csv_rows.raw_record
        from csv_rows
        inner join csv_headers
            on csv_rows.file_name = csv_headers.file_name
        where csv_rows.record_number > 1
    {%- endif -%}
{%- endmacro %}

{#- One row per Parquet row: file_name, record_number (1-based row), the named columns. -#}
{% macro read_raw_parquet(source_system, columns) -%}
    {{ return(adapter.dispatch('read_raw_parquet', 'usage_billing')(source_system, columns)) }}
{%- endmacro %}

{% macro default__read_raw_parquet(source_system, columns) -%}
    {%- set path_glob = raw_dir(source_system) ~ '/*.parquet' -%}
    {%- if not raw_files_exist(path_glob) -%}
        select
            cast(null as varchar) as file_name,
            cast(null as bigint) as record_number,
            {% for column, type in columns.items() %}cast(null as {{ type }}) as {{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
        where false
    {%- else -%}
        select
            parse_filename(filename) as file_name,
            file_row_number + 1 as record_number,
            {% for column, type in columns.items() %}{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
        from read_parquet(
            '{{ path_glob }}',
            union_by_name = true,
            filename = true,
            file_row_number = true
        )
    {%- endif -%}
{%- endmacro %}
