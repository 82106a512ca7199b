{#-
    DuckDB builds tables without keeping rows in the order they were produced
    (preserve_insertion_order = false in the profile): nothing after staging depends on row order,
    and writing large tables is then parallel and leaner. The staging readers number each file's
    lines by the order the file is read in, so they keep that order for their own session.
-#}
{% macro keep_read_order() -%}
    {%- if target.type == 'duckdb' -%}
        set session preserve_insertion_order = true
    {%- endif -%}
{%- endmacro %}

{% macro release_read_order() -%}
    {%- if target.type == 'duckdb' -%}
        reset session preserve_insertion_order
    {%- endif -%}
{%- endmacro %}
