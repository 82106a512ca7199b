{#- A rule of the contract book (SPEC 2.2), checked on the staging model of one of its tables: fails
    on every row that breaks it, and names that row so that a reader knows which line of which
    file to fix. Each failing row holds `seed` (the contract book's table, e.g. price_plans),
    `row_key` (its key columns and values, e.g. `price_plan_id=PP-A-USD`), `column_name`, `value`
    (as written; `(blank)` for none) and `rule` (in words). The test's name
    (contract_book__<seed>__<rule>, given in the YAML) says the same in dbt's output.

    The rule is one of:
    - `one_of`: the column holds exactly one of these values, case included (a blank breaks it);
      `enumerated: true` takes them from contract_book_values (macros/rules/contract_book.sql);
    - `is_unique: true`: no other row has the same key (rows with a blank key are left to a
      presence rule);
    - `refers_to` (a relation) and `field`: the column's value is a `field` of that relation (a
      blank breaks it unless `blank_allowed: true`);
    - `condition`: a boolean SQL expression over the row, aliased `book_row` for a correlated
      subquery; a row where it is not true (false or null) breaks it. `rule` says it in words.
    `value` is the SQL expression shown as the value (default: the column). -#}
{% test contract_book_rule(
    model,
    column_name=none,
    rule=none,
    one_of=none,
    enumerated=false,
    is_unique=false,
    refers_to=none,
    field=none,
    blank_allowed=false,
    condition=none,
    value=none
) %}
    {{ config(severity='error', store_failures=true) }}
    {%- set seed = model.identifier.split('__')[-1] -%}
    {%- set key_columns = contract_book_key(seed) -%}
    {%- set shown_column = column_name or (key_columns | join(', ')) -%}
    {%- if enumerated -%}
        {%- set one_of = contract_book_values(column_name) -%}
    {%- endif -%}
    {%- set quoted_values = [] -%}
    {%- for allowed in (one_of or []) -%}
        {%- do quoted_values.append("'" ~ allowed ~ "'") -%}
    {%- endfor -%}

    {%- if one_of is not none -%}
        {%- set check = 'book_row.' ~ column_name ~ ' in (' ~ (quoted_values | join(', ')) ~ ')' -%}
        {%- set rule_text = rule or (column_name ~ ' is one of ' ~ (one_of | join(', ')) ~ ', exactly (case included)') -%}
    {%- elif is_unique -%}
        {%- set blank_key = [] -%}
        {%- set same_key = [] -%}
        {%- for key_column in key_columns -%}
            {%- do blank_key.append('book_row.' ~ key_column ~ ' is null') -%}
            {%- do same_key.append('other_row.' ~ key_column ~ ' = book_row.' ~ key_column) -%}
        {%- endfor -%}
        {%- set check -%}
            ({{ blank_key | join(' or ') }})
            or (select count(*) from {{ model }} as other_row where {{ same_key | join(' and ') }}) = 1
        {%- endset -%}
        {%- set rule_text = rule or ((key_columns | join(', ')) ~ ' is unique: no other row has it') -%}
    {%- elif refers_to is not none -%}
        {%- set check -%}
            {% if blank_allowed %}book_row.{{ column_name }} is null or {% endif -%}
            exists (
                select 1 from {{ refers_to }} as referred
                where referred.{{ field }} = book_row.{{ column_name }}
            )
        {%- endset -%}
        {%- set rule_text = rule or (column_name ~ ' is a ' ~ field ~ ' of ' ~ refers_to.identifier.split('__')[-1]
            ~ (' (or blank)' if blank_allowed else '')) -%}
    {%- elif condition is not none -%}
        {%- set check = condition -%}
        {%- set rule_text = rule -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error('contract_book_rule needs one_of, is_unique, refers_to or condition') }}
    {%- endif -%}
    {%- if not rule_text -%}
        {{ exceptions.raise_compiler_error('contract_book_rule with a condition needs its rule in words') }}
    {%- endif -%}
    {%- set key_parts = [] -%}
    {%- for key_column in key_columns -%}
        {%- do key_parts.append(
            "'" ~ key_column ~ "=' || coalesce(cast(book_row." ~ key_column ~ " as string), '(blank)')"
        ) -%}
    {%- endfor -%}
    {%- set row_key = key_parts | join(" || ', ' || ") -%}
    {%- set shown_value = value or (row_key if is_unique else 'book_row.' ~ (column_name or key_columns[0])) %}

select
    '{{ seed }}' as seed,
    {{ row_key }} as row_key,
    '{{ shown_column }}' as column_name,
    coalesce(cast({{ shown_value }} as string), '(blank)') as value,
    '{{ rule_text | replace("'", "") }}' as rule
from {{ model }} as book_row
where not coalesce(({{ check }}), false)
{% endtest %}
