{#-
    The data tests of the event tables check every row that no passing build has checked yet, which
    on a daily run is the day's rows instead of all of them (docs/decisions.md, "Checked builds").

    A build that ran every model and test (no selection) and in which every node succeeded or passed
    records, for each model, its run id and the checksum of the model's SQL in `dbt_checked_builds`.
    A row of a model counts as checked when the run that wrote it is recorded there with the model's
    current checksum: a failed or partial build checks nothing, and a change to a model's SQL makes
    all of its rows unchecked again (a view's rows are its SQL applied to the rows below it).

    Why that is the same check as testing every row: rows of these tables are only ever written
    whole (append or delete+insert, with the run's id); a checked row has not changed since a build
    in which every row present passed. So a row-level test (not null, accepted values) can only
    fail on an unchecked row, and a uniqueness test can only fail on a value that an unchecked row
    carries. The tests below look exactly there. A `--full-refresh` rewrites every row, so its
    tests look at every row.
    Engines that build the event tables as plain tables (Spark) check every row every time.
-#}

{% macro checked_builds_relation() -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema=target.schema,
        identifier='dbt_checked_builds',
    )) }}
{%- endmacro %}

{#- on-run-start: the ledger exists before any test reads it. -#}
{% macro create_checked_builds() -%}
    {%- if target.type == 'duckdb' -%}
        create schema if not exists {{ target.schema }};
        create table if not exists {{ checked_builds_relation() }} (
            invocation_id varchar not null,
            model_id varchar not null,
            model_checksum varchar not null,
            checked_at timestamp with time zone not null
        )
    {%- endif -%}
{%- endmacro %}

{#- on-run-end: record the build when it ran everything and everything passed. -#}
{% macro record_checked_build(results) -%}
    {%- if target.type != 'duckdb' or not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set args = invocation_args_dict -%}
    {%- if args.get('which') != 'build' -%}
        {{ return('') }}
    {%- endif -%}
    {%- for narrowing in ['select', 'exclude', 'selector', 'resource_types', 'empty'] -%}
        {%- if args.get(narrowing) -%}
            {{ return('') }}
        {%- endif -%}
    {%- endfor -%}
    {%- for excluded in (args.get('exclude_resource_types') or []) -%}
        {%- if excluded in ['model', 'test'] -%}
            {{ return('') }}
        {%- endif -%}
    {%- endfor -%}
    {%- for result in results -%}
        {%- if result.status not in ['success', 'pass', 'no-op'] -%}
            {{ return('') }}
        {%- endif -%}
    {%- endfor -%}
    {%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | list -%}
    {#- after a full refresh of everything no row carries an earlier run's id -#}
    {%- if flags.FULL_REFRESH %}
        delete from {{ checked_builds_relation() }};
    {%- endif %}
    insert into {{ checked_builds_relation() }} values
    {%- for node in models %}
        ('{{ invocation_id }}', '{{ node.unique_id }}', '{{ node.checksum.checksum }}', current_timestamp)
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- True for the rows of `model_name` that no passing build has checked; `written_by` is the
    model's column holding the run id that wrote each row. The checked runs are read when the test
    is compiled (the ledger changes only at the end of a build) and written into the test as
    literals, which DuckDB applies while scanning. -#}
{% macro unchecked_rows(model_name, written_by) -%}
    {#- a full refresh rewrites the rows: check them all -#}
    {%- if target.type != 'duckdb' or not execute or flags.FULL_REFRESH -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set node = graph.nodes.values()
        | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name)
        | first -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("unchecked_rows: no model named " ~ model_name) }}
    {%- endif -%}
    {%- set ledger = checked_builds_relation() -%}
    {%- if adapter.get_relation(ledger.database, ledger.schema, ledger.identifier) is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set checked -%}
        select distinct invocation_id
        from {{ ledger }}
        where
            model_id = '{{ node.unique_id }}'
            and model_checksum = '{{ node.checksum.checksum }}'
        order by 1
    {%- endset -%}
    {%- set not_checked = not_among_runs(written_by, checked) | trim -%}
    {%- if not_checked == 'true' -%}
        {{ return('true') }}
    {%- endif -%}
    ({{ written_by }} is null or {{ not_checked }})
{%- endmacro %}

{#- The values of `columns` that occur more than once in `model`, looking only at values that an
    unchecked row carries (every value when `written_by` is not given, or on engines that build
    the event tables whole). -#}
{% macro duplicated_values(model, columns, written_by=none) -%}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }} as tested
    {%- set unchecked = unchecked_rows(model.identifier, 'unchecked.' ~ written_by) | trim
        if written_by is not none else 'true' %}
    {#- when every row is unchecked (a first build, a full refresh) the filter would keep them all #}
    {%- if unchecked != 'true' %}
        where exists (
            select 1
            from {{ model }} as unchecked
            where
                {{ unchecked }}
                {%- for column in columns %}
                    and unchecked.{{ column }} = tested.{{ column }}
                {%- endfor %}
        )
    {%- endif %}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{%- endmacro %}

{#- dbt's generic tests filter the rows they test with their `where` config. A `where` of
    `__unchecked_rows__(column)` tests only the rows not yet checked by a passing build, `column`
    being the model's run-id column (row-level tests: not_null, accepted_values). Any other `where`
    works as in dbt. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set marker = '__unchecked_rows__(' -%}
    {%- if where.startswith(marker) and where.endswith(')') -%}
        {%- set where = unchecked_rows(relation.identifier, where[marker | length:-1].strip()) -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) as dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
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
