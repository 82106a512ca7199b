-- A view: the text is read from the raw files when the view is queried, never written (staging
-- keeps the text of invalid records only; docs/decisions.md, "Raw text is read back, not
-- copied"). Not on Spark, where staging keeps every record's text.
{{ config(materialized='view', enabled=target.type != 'spark') }}

-- One row per raw record of the files the staging models have read (usage sources and
-- watermarks): its source system, file, line or row number and raw text, read again from the file
-- by the reader that staging read it with, so numbers and text are the ones staging had. The
-- files are those read when the view was last built (every dbt build rebuilds it); a file that
-- could not be read has no records here (its one record keeps its error in staging).
with

{% for source_system, source in raw_sources().items() %}
    {{ source_system }}_records as (
        {{ raw_records_read_back(source_system, ref(source['staging_model'])) | indent(8) }}
    ),
{% endfor %}

final as (
    {%- for source_system in raw_sources() %}
        select * from {{ source_system }}_records
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from final
