{#- `unique` for tables written a run at a time: fails on every non-null value of the column that
    appears more than once, looking only at values that a row not yet checked by a passing build
    carries (macros/incremental/checked_builds.sql). `written_by` is the column holding the run id that wrote
    each row. -#}
{% test unique_across_builds(model, column_name, written_by) %}
with duplicates as (
    {{ duplicated_values(model, [column_name], written_by) }}
)

select * from duplicates
where {{ column_name }} is not null
{% endtest %}
