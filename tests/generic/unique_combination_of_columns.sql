{#- Fails on every combination of the columns that appears more than once. With `written_by` (the
    column holding the run id that wrote each row), looks only at combinations that a row not yet
    checked by a passing build carries: the same result on a table built that way
    (macros/incremental/checked_builds.sql). -#}
{% test unique_combination_of_columns(model, combination_of_columns, written_by=none) %}
{{ duplicated_values(model, combination_of_columns, written_by) }}
{% endtest %}
