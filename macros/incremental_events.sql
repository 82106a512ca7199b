{#-
    Event-grain models that are incremental by event key (deduplicated, mapped, assigned,
    classified): a daily run recomputes only the events that a new raw file, a changed segment or
    a changed contract-book mapping touches, and replaces all rows of those events (delete+insert
    by key), so each event is always decided over all its records (docs/decisions.md). Engines
    without delete+insert on their default file format (Spark on parquet) build them as tables.
-#}

{% macro event_grain_materialization() -%}
    {{ return('incremental' if target.type == 'duckdb' else 'table') }}
{%- endmacro %}

{#- A fingerprint of every row of small reference tables (the contract book), as one text value:
    an incremental model keeps the one it was built with and recomputes every row when it changes.
    Engines that build the event-grain models as tables need none. -#}
{% macro rows_fingerprint(relations) -%}
    {{ return(adapter.dispatch('rows_fingerprint', 'usage_billing')(relations)) }}
{%- endmacro %}

{% macro default__rows_fingerprint(relations) -%}
    md5(concat_ws('|'
    {%- for relation in relations %},
        (
            select coalesce(md5(string_agg(cast(t as varchar), chr(10) order by cast(t as varchar))), '')
            from {{ relation }} as t
        )
    {%- endfor %}
    ))
{%- endmacro %}

{% macro spark__rows_fingerprint(relations) -%}
    ''
{%- endmacro %}

{#- Inside an incremental model: is this record (alias with source_system, file_name) from a raw
    file whose records the model already holds? -#}
{% macro in_file_read_before(records) -%}
    exists (
        select 1
        from (
            select distinct
                source_system,
                file_name
            from {{ this }}
        ) as read_files
        where
            read_files.source_system = {{ records }}.source_system
            and read_files.file_name = {{ records }}.file_name
    )
{%- endmacro %}

{#- Inside an incremental model: was this upstream row written by a run the model has not seen
    (a run id in `column` that none of the model's rows carries)? -#}
{% macro written_since_last_seen(rows, column) -%}
    {{ rows }}.{{ column }} not in (
        select distinct built.{{ column }}
        from {{ this }} as built
        where built.{{ column }} is not null
    )
{%- endmacro %}
