{#- Fails on every value that appears more than once when case is ignored: NetSuite matches
    External IDs without regard to case, so `UR-a-20260501` and `UR-A-20260501` are one record
    there. Returns each such value upper-cased, two of its spellings (first and last in
    order) and how often it occurs: plain aggregates, so that every engine runs it. -#}
{% test unique_case_insensitive(model, column_name) %}
select
    upper({{ column_name }}) as value_ignoring_case,
    min({{ column_name }}) as first_spelling,
    max({{ column_name }}) as last_spelling,
    count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
group by upper({{ column_name }})
having count(*) > 1
{% endtest %}
