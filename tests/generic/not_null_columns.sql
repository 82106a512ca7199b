{#- `not_null` on several columns of a model as one test: fails on every (row, column) where the
    column is null, one row each, whose `column_name` says which column it is. The model is read
    through the test's `where` config as dbt's own tests read it (macros/incremental/checked_builds.sql,
    get_where_subquery): columns checked under different `where`s are separate tests. Each column
    is read as dbt's `not_null` reads it (`where column is null`); the test is their union. -#}
{% test not_null_columns(model, columns) %}
{%- if columns is string or columns | length == 0 -%}
    {{ exceptions.raise_compiler_error('not_null_columns needs a list of columns') }}
{%- endif -%}
{%- for column in columns %}
select '{{ column }}' as column_name
from {{ model }}
where {{ column }} is null
{% if not loop.last %}
union all
{% endif %}
{%- endfor %}
{% endtest %}
