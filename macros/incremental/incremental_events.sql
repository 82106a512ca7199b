{#-
    The event table (int_usage_records_assigned) is incremental by event key: a daily run decides
    again only the events that a new raw file, a changed holder of their day or a changed
    contract-book mapping touches, and replaces all rows of those events (delete+insert by key),
    so each event is always decided over all its records (docs/decisions.md). The classification
    (int_usage_records_classified) follows it by the same key: a run classifies again the keys the
    event table wrote since and those in segments whose outcome changed. Engines without
    delete+insert on their default file format (Spark on parquet) build both as tables.
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
        ref('stg_contract_book__customer_mappings'), ref('stg_contract_book__billing_accounts'), ref('stg_contract_book__metric_mappings'), ref('stg_contract_book__metrics')
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
    file whose records the model already holds? One lookup in the set of files read
    (`source_system/file_name`): a correlated lookup would have the engine set every record aside
    first to join it back. -#}
{% macro in_file_read_before(records) -%}
    ({{ records }}.source_system || '/' || {{ records }}.file_name) in (
        select distinct (read_files.source_system || '/' || read_files.file_name) as read_file
        from {{ this }} as read_files
    )
{%- endmacro %}

{#- What the event table's rows were last computed with (each day's holder), kept beside it as `<table>__<name>` by a
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

{#- The incremental filter of the event table (int_usage_records_assigned), on the union's records
    (`records`, their alias), `true` on a full build:
    - an invalid record of a raw file the table has not read before (it is classified once, when
      its file is read);
    - every record of an event (source system × event key) that has a valid record in a raw file
      the table has not read before, so that the event is decided again over all its records;
    - every record of an event on a day whose holder (int_account_metric_days_held) is not the one
      the last run assigned with, either way round (the holders it assigned with are kept beside
      the table).
    Every record when there is no record of what the last run assigned with, or when the contract
    book's mappings changed since (both read before the model runs, so that the records to decide
    are one filter). -#}
{% macro incremental_records_to_assign(records) -%}
    {#- what an incremental run reads, declared on every run (dbt learns a model's inputs from a
        build that is not incremental) -#}
    {%- set unioned = ref('int_usage_records_unioned') -%}
    {%- set holders = ref('int_account_metric_days_held') -%}
    {%- set current_mapping_fingerprint = mapping_fingerprint() -%}
    {%- if not is_incremental() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set assigned_with = kept_beside('holders') -%}
    {%- if assigned_with is none or built_with_other_mapping_fingerprint() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set read_before_new = in_file_read_before('new_records') -%}
    (
        ({{ records }}.invalid_reason is not null and not {{ in_file_read_before(records) }})
        or (
            {{ records }}.invalid_reason is null
            -- its event key (as deduplication writes it), among the events to decide: one lookup
            -- of a set of keys, not a correlated one
            and ({{ records }}.source_system || ':' || {{ records }}.source_event_key) in (
                -- a valid record in a file not read before
                select (new_records.source_system || ':' || new_records.source_event_key) as event_key
                from {{ unioned }} as new_records
                where
                    new_records.invalid_reason is null
                    and not {{ read_before_new }}
                union
                -- on a day whose holder changed
                select built.event_key
                from {{ this }} as built
                inner join (
                    select distinct
                        billing_account_id,
                        metric,
                        usage_local_date
                    from (
                        {{ changed_since_kept(holders, assigned_with, holder_columns()) | indent(24) }}
                    ) as changed
                ) as changed_days
                    on built.billing_account_id = changed_days.billing_account_id
                        and built.metric = changed_days.metric
                        and built.usage_local_date = changed_days.usage_local_date
                where built.mapping_reason is null and built.dedup_status in ('current', 'superseded')
            )
        )
    )
{%- endmacro %}

{#- Inside the classification (int_usage_records_classified): the filter of the event table's rows
    to classify, `true` on a full build and when what the last run classified with is not kept:
    every row of the keys (classification_key)
    - that the event table wrote in a run this table has not read yet (the event table's runs it
      has read are kept beside it, `__event_runs`);
    - of events in a period segment whose outcome (late usage, External IDs) is not the one the last
      run classified with, either way round (kept beside it, `__segment_outcomes`).
    Every row of a key is classified in the same run (an event's conflicting copies are counted
    over all its records), and delete+insert replaces all of them. -#}
{% macro incremental_records_to_classify() -%}
    {%- set outcomes = ref('int_usage_segment_outcomes') -%}
    {%- set events = ref('int_usage_records_assigned') -%}
    {%- if not is_incremental() -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set classified_with = kept_beside('segment_outcomes') -%}
    {%- set event_runs_read = kept_beside('event_runs') -%}
    {%- if classified_with is none or event_runs_read is none -%}
        {{ return('true') }}
    {%- endif -%}
    classification_key in (
        select written.classification_key
        from {{ events }} as written
        where {{ not_among_runs('written.assigned_by_invocation_id', 'select assigned_by_invocation_id from ' ~ event_runs_read ~ ' order by 1') }}
        union
        select built.classification_key
        from {{ this }} as built
        where built.period_segment_id in (
            select changed.period_segment_id
            from (
                {{ changed_since_kept(outcomes, classified_with, 'period_segment_id, segment_outcome') | indent(16) }}
            ) as changed
        )
    )
{%- endmacro %}

{#- The post-hook of the classification: what it classified with, kept beside it (the segment
    outcomes, and the runs of the event table it has read). -#}
{% macro keep_classified_with() -%}
    {%- if target.type == 'duckdb' -%}
        {{ keep_beside('segment_outcomes', 'int_usage_segment_outcomes', 'period_segment_id, segment_outcome') }};
        {{ keep_beside('event_runs', 'int_usage_records_assigned', 'distinct assigned_by_invocation_id') }}
    {%- endif -%}
{%- endmacro %}
