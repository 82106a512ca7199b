{{ config(
    materialized='incremental',
    on_schema_change='fail',
    enabled=target.type != 'spark',
) }}

-- One row per raw usage record quarantined after staging (unknown customer or metric, no active
-- line, late after the line's end): its raw text, read back from its raw file once. Staging keeps
-- the text of the records invalid there only (docs/decisions.md, "Raw text is read back, not
-- copied"); fct_usage_quarantine shows this text for the others.
-- Incremental: a run reads back only the files that hold a quarantined record whose text the
-- table does not hold yet (a daily run: usually the new files, or none), so no build reads every
-- raw file again. A raw file never changes once read, so a text once read stays right; a record
-- no longer quarantined keeps its row, unused. Not on Spark, where staging keeps every text.
{#- what a run may read, declared on every run (dbt learns a model's inputs from a parse, where
    no file is to be read): the classification and the staging model of each source -#}
{%- set classified = ref('int_usage_records_classified') %}
{%- set staging_models = {} %}
{%- for source_system, source in raw_sources().items() %}
    {%- do staging_models.update({source_system: ref(source['staging_model'])}) %}
{%- endfor %}
{%- set to_read = quarantined_files_to_read_back() %}
with

-- the records whose text is missing; none to look for when no file is to be read back (the
-- classification was just read for them)
quarantined as (
    {%- if to_read %}
        {{ quarantined_texts_missing() | indent(8) }}
    {%- else %}
        select
            cast(null as string) as raw_record_id,
            cast(null as string) as source_system,
            cast(null as string) as file_name,
            cast(null as bigint) as record_number
        where false
    {%- endif %}
),

read_back as (
    {%- for source_system, file_names in to_read.items() %}
        {{ raw_records_read_back(source_system, staging_models[source_system], file_names) | indent(8) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- else %}
        {{ no_raw_texts() }}
    {%- endfor %}
),

final as (
    select
        quarantined.raw_record_id,
        quarantined.source_system,
        quarantined.file_name,
        quarantined.record_number,
        read_back.raw_record,
        '{{ invocation_id }}' as read_by_invocation_id
    from quarantined
    inner join read_back
        on quarantined.source_system = read_back.source_system
            and quarantined.file_name = read_back.file_name
            and quarantined.record_number = read_back.record_number
)

select * from final
