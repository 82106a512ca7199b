{#- Fails on every pair of rows of one partition whose inclusive [lower, upper] ranges overlap
    (a null upper bound is open-ended). -#}
{% test mutually_exclusive_ranges(model, lower_bound_column, upper_bound_column, partition_by) %}
with

ranges as (
    select
        {{ partition_by }} as partition_key,
        {{ lower_bound_column }} as lower_bound,
        {{ upper_bound_column }} as upper_bound,
        row_number() over (order by {{ partition_by }}, {{ lower_bound_column }}) as range_id
    from {{ model }}
)

select
    earlier.partition_key,
    earlier.lower_bound,
    earlier.upper_bound,
    later.lower_bound as overlapping_lower_bound,
    later.upper_bound as overlapping_upper_bound
from ranges as earlier
inner join ranges as later
    on earlier.partition_key = later.partition_key
    and earlier.range_id < later.range_id
where (later.upper_bound is null or earlier.lower_bound <= later.upper_bound)
    and (earlier.upper_bound is null or later.lower_bound <= earlier.upper_bound)
{% endtest %}
