{#- Fails on every non-null value that does not match the regular expression as a whole. -#}
{% test matches_pattern(model, column_name, pattern) %}
select *
from {{ model }}
where {{ column_name }} is not null
    and not {{ regex_full_match(column_name, "'" ~ pattern ~ "'") }}
{% endtest %}
