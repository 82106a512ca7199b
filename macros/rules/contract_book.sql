{#-
    The contract book (SPEC 2.2) as the rules see it: the values of its enumerated columns, the
    key of each of its tables, and the guard that stops a query on a value no rule knows. Its
    tests (tests/generic/contract_book_rule.sql, in models/staging/contract_book/) check every
    row before anything is rated.
-#}

{#- The key of each table of the contract book: what names one of its rows. -#}
{% macro contract_book_key(seed) -%}
    {{ return({
        'billing_accounts': ['billing_account_id'],
        'subscriptions': ['subscription_id'],
        'subscription_lines': ['subscription_line_id'],
        'price_plans': ['price_plan_id'],
        'price_plan_tiers': ['price_plan_id', 'tier'],
        'amendments': ['amendment_id'],
        'metrics': ['metric'],
        'metric_mappings': ['source_system', 'source_metric'],
        'customer_mappings': ['source_system', 'source_customer_key'],
        'holidays': ['holiday_date'],
        'billing_runs': ['subscription_id', 'billing_period_start'],
        'usage_approvals': ['billing_account_id', 'billing_period_start'],
    }[seed]) }}
{%- endmacro %}

{#- A value of the contract book that a rule does not know stops the query, naming the column
    and the value: no rule is ever chosen for it by default. The contract book's tests (SPEC 2.2)
    fail the build on such a value first and name its row; this is the rule's own guard. -#}
{% macro unknown_contract_value(column, value) -%}
    {{ query_error(
        "'A value no rule knows: " ~ column ~ " holds ' || coalesce('\"' || cast(" ~ value ~ " as string) || '\"', 'a blank')"
        ~ " || '. Fix the contract book: dbt build names its row.'"
    ) }}
{%- endmacro %}

{#- The values of the contract book's enumerated columns (SPEC 2.2), exactly, case included. -#}
{% macro contract_book_values(column) -%}
    {{ return({
        'proration_method': ['calendar_days', 'business_days', 'half_month', 'none'],
        'charge_type': ['usage', 'prepaid', 'recurring'],
        'rev_rec_rule': ['consumption', 'ratable'],
        'pricing_model': ['per_unit', 'graduated', 'volume', 'package', 'flat'],
        'change_type': ['price_change', 'termination', 'extension'],
        'aggregation': ['sum', 'count', 'unique_count', 'max', 'latest'],
        'prorate_tiers': ['true', 'false'],
    }[column]) }}
{%- endmacro %}

{#- An enumerated value of the contract book (`<seed>.<column>`), passed on when it is one of the
    column's values; any other stops the query (unknown_contract_value). -#}
{% macro known_contract_value(seed_column, value) -%}
    case
        when {{ value }} in (
            {%- for known in contract_book_values(seed_column.split('.')[-1]) -%}
                '{{ known }}'{% if not loop.last %}, {% endif %}
            {%- endfor -%}
        ) then {{ value }}
        else {{ unknown_contract_value(seed_column, value) }}
    end
{%- endmacro %}


{#- Where the staging model of a NetSuite-held table of the contract book reads it from: the seed
    (`contract_book_origin: seeds`, kept in step by `usage-loader contracts pull`) or NetSuite's
    tables loaded by an ELT tool, mapped by models/staging/netsuite with the pull's own macros
    (`contract_book_origin: netsuite`). Any other value stops the build naming the setting. -#}
{% macro contract_book_origin(table) -%}
    {%- set origin = var('contract_book_origin', 'seeds') -%}
    {%- if origin == 'seeds' -%}
        {{ ref(table) }}
    {%- elif origin == 'netsuite' -%}
        {{ ref('stg_netsuite__' ~ table) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "the project variable contract_book_origin is '" ~ origin ~ "': set it to seeds "
            ~ "(the contract book's CSV files) or netsuite (NetSuite's tables as dbt sources) "
            ~ "in dbt_project.yml or with --vars"
        ) }}
    {%- endif -%}
{%- endmacro %}
