-- One row per source system: raw records read and where each ended (used, duplicate, withdrawn,
-- quarantined by reason), conflicts among duplicates, and whether the counts balance. A file that
-- cannot be read counts as one record read and quarantined (unreadable_file); unreadable_files
-- names those files.
with

classified as (
    select * from {{ ref('int_usage_records_classified') }}
),

watermarks as (
    select * from {{ ref('stg_watermarks__signals') }}
),

-- every usage source has its row, also one that delivered nothing
source_systems as (
    select source_system from {{ ref('source_systems') }}
    where is_usage_source
),

usage_counts as (
    select
        source_system,
        count(*) as records_read,
        sum(case when record_outcome = 'used' then 1 else 0 end) as records_used,
        sum(case when record_outcome = 'duplicate' then 1 else 0 end) as records_duplicate,
        sum(case when is_conflict then 1 else 0 end) as records_conflicting,
        sum(case when record_outcome = 'withdrawn' then 1 else 0 end) as records_withdrawn,
        sum(case when record_outcome = 'quarantined' then 1 else 0 end) as records_quarantined,
        {% for reason in quarantine_reasons() -%}
            sum(case when quarantine_reason = '{{ reason }}' then 1 else 0 end) as quarantined_{{ reason }},
        {% endfor -%}
        cast(sum(case when record_outcome = 'used' then billing_quantity else 0 end) as decimal(38, 9)) as used_billing_quantity
    from classified
    group by 1
),

-- the names of the files that could not be read, listed from their records alone (an ordered
-- list over every record would sort them all)
unreadable_files as (
    select
        source_system,
        {{ dbt.listagg('file_name', "', '", 'order by file_name') }} as unreadable_files
    from classified
    where quarantine_reason = 'unreadable_file'
    group by 1
),

watermark_counts as (
    select
        'watermarks' as source_system,
        count(*) as records_read,
        sum(case when invalid_reason is null then 1 else 0 end) as records_used,
        0 as records_duplicate,
        0 as records_conflicting,
        0 as records_withdrawn,
        sum(case when invalid_reason is not null then 1 else 0 end) as records_quarantined,
        {% for reason in quarantine_reasons() -%}
            sum(case when invalid_reason = '{{ reason }}' then 1 else 0 end) as quarantined_{{ reason }},
        {% endfor -%}
        cast(null as decimal(38, 9)) as used_billing_quantity,
        {{ dbt.listagg(
            "case when invalid_reason = 'unreadable_file' then file_name end", "', '", 'order by file_name'
        ) }} as unreadable_files
    from watermarks
),

all_counts as (
    select
        source_systems.source_system,
        coalesce(usage_counts.records_read, 0) as records_read,
        coalesce(usage_counts.records_used, 0) as records_used,
        coalesce(usage_counts.records_duplicate, 0) as records_duplicate,
        coalesce(usage_counts.records_conflicting, 0) as records_conflicting,
        coalesce(usage_counts.records_withdrawn, 0) as records_withdrawn,
        coalesce(usage_counts.records_quarantined, 0) as records_quarantined,
        {% for reason in quarantine_reasons() -%}
            coalesce(usage_counts.quarantined_{{ reason }}, 0) as quarantined_{{ reason }},
        {% endfor -%}
        coalesce(usage_counts.used_billing_quantity, 0) as used_billing_quantity,
        unreadable_files.unreadable_files
    from source_systems
    left join usage_counts
        on source_systems.source_system = usage_counts.source_system
    left join unreadable_files
        on source_systems.source_system = unreadable_files.source_system

    union all

    select * from watermark_counts
),

final as (
    select
        *,
        records_read = records_used + records_duplicate + records_withdrawn + records_quarantined as is_balanced
    from all_counts
)

select * from final
