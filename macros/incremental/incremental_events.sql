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

{#- The fingerprint of the contract book's rows that mapping reads (customer and metric mappings,
    accounts with their time zones, metrics): the assignment keeps it with each row and assigns
    every event again when it changes. -#}
{% macro mapping_fingerprint() -%}
    {{ rows_fingerprint([
        ref('customer_mappings'), ref('billing_accounts'), ref('metric_mappings'), ref('metrics')
    ]) }}
{%- endmacro %}

{#- Inside an incremental model that keeps mapping_fingerprint with its rows: was a row built with
    other mappings than the contract book's now? -#}
{% macro built_with_other_mapping_fingerprint() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set query -%}
        select count(*) from {{ this }} where mapping_fingerprint is distinct from {{ mapping_fingerprint() }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] > 0) }}
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
    (a run id in `column` that none of the model's rows carries)? The runs the model has seen are
    read when it is compiled and written in as literals, which DuckDB applies while scanning the
    upstream table (instead of joining 10M run ids against them). -#}
{% macro written_since_last_seen(rows, column) -%}
    {%- if not execute -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set seen_query -%}
        select distinct {{ column }}
        from {{ this }}
        where {{ column }} is not null
        order by 1
    {%- endset -%}
    {{ not_among_runs(rows ~ '.' ~ column, seen_query) }}
{%- endmacro %}

{#- `column not in (...)` with the run ids that `query` (one column) reads, as literals; `true`
    when it reads none. -#}
{% macro not_among_runs(column, query) -%}
    {%- set runs = run_query(query).columns[0].values() -%}
    {%- if runs | length == 0 -%}
        {{ return('true') }}
    {%- endif -%}
    {{ column }} not in (
        {%- for run in runs %}'{{ run }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}

{#- What an incremental event model's rows were last computed with (the assignment: each day's
    holder; the classification: each segment's outcome), kept beside it as `<table>__<name>` by a
    post-hook in the same transaction as its rows. Every row of the table agrees with the kept
    copy, so the rows to compute again are those where it differs from the model's input now
    (`changed_since_kept`): two small tables compared instead of every row with its input. None
    when not kept yet (a first build, or one from before it was kept): the model then computes
    every row again. -#}
{% macro kept_beside_relation(name) -%}
    {{ return(api.Relation.create(
        database=this.database,
        schema=this.schema,
        identifier=this.identifier ~ '__' ~ name,
    )) }}
{%- endmacro %}

{% macro kept_beside(name) -%}
    {%- if not execute or target.type != 'duckdb' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kept = kept_beside_relation(name) -%}
    {{ return(adapter.get_relation(kept.database, kept.schema, kept.identifier)) }}
{%- endmacro %}

{% macro keep_beside(name, model_name, columns) -%}
    {%- if target.type == 'duckdb' -%}
        create or replace table {{ kept_beside_relation(name) }} as
        select {{ columns }} from {{ ref(model_name) }}
    {%- endif -%}
{%- endmacro %}

{#- The rows of `columns` that are in `current` or in `kept` but not in both. -#}
{% macro changed_since_kept(current, kept, columns) -%}
    (
        select {{ columns }} from {{ current }}
        except
        select {{ columns }} from {{ kept }}
    )
    union all
    (
        select {{ columns }} from {{ kept }}
        except
        select {{ columns }} from {{ current }}
    )
{%- endmacro %}

{#- A day's holder as the assignment keeps it (`<table>__holders`). -#}
{% macro holder_columns() -%}
    billing_account_id, metric, usage_local_date, period_segment_id, subscription_line_id,
    billing_period_start, is_billed, billed_at
{%- endmacro %}
