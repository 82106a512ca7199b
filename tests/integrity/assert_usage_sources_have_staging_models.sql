-- The usage source systems listed in the source_systems seed are exactly those whose staging model
-- the union reads (usage_staging_models()): a listed source without a staging model, or a staging
-- model of a source the seed does not list (no dedup policy), fails the build.
with

listed as (
    select source_system
    from {{ ref('source_systems') }}
    where is_usage_source
),

staged as (
    {%- for staging_model in usage_staging_models() %}
        select '{{ staging_source_system(staging_model) }}' as source_system
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

listed_not_staged as (
    select
        source_system,
        'listed in source_systems, no staging model' as problem
    from listed
    where source_system not in (select staged.source_system from staged)
),

staged_not_listed as (
    select
        source_system,
        'staging model of a source not listed in source_systems' as problem
    from staged
    where source_system not in (select listed.source_system from listed)
)

select * from listed_not_staged
union all
select * from staged_not_listed
