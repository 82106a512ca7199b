-- A view: the staging tables already hold every record; the union adds no work of its own.
{{ config(materialized='view') }}

-- One row per raw usage record read from any source system, in one shape: the staging model of
-- every usage source (usage_staging_models(); the sources are listed in the source_systems seed).
with

{% for staging_model in usage_staging_models() %}
    {{ staging_source_system(staging_model) }} as (
        select * from {{ ref(staging_model) }}
    ),
{% endfor %}

unioned as (
    {%- for staging_model in usage_staging_models() %}
        select * from {{ staging_source_system(staging_model) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        -- a file that cannot be read is one record without a number: <source>:<file>:file
        source_system || ':' || file_name || ':' || coalesce(cast(record_number as string), 'file') as raw_record_id,
        *
    from unioned
)

select * from final
