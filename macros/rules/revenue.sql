{#-
    Revenue recognition (SPEC 3.10), each rule written once. Doc blocks in macros/rules/revenue_rules.md
    state every rule in words for auditors. Money is spread in whole minor units of the currency
    (cents; yen; fils), with integer arithmetic only, so that every spread adds up exactly.
-#}

{#- The calendar month (its first day) that contains a local date of the account. -#}
{% macro revenue_month(local_day) -%}
    cast({{ dbt.date_trunc('month', local_day) }} as date)
{%- endmacro %}

{#- The last day of the calendar month that starts on month_start. -#}
{% macro revenue_month_end(month_start) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start)) }} as date)
{%- endmacro %}

{#- Minor units per major unit, 10 ^ minor_unit (the currency's minor unit from the `currencies`
    seed, as round_money takes it): 1 for JPY, 100 for USD, 1000 for KWD. -#}
{% macro minor_units_per_major(minor_unit) -%}
    case {{ minor_unit }}
        when 0 then 1
        when 2 then 100
        when 3 then 1000
        when 4 then 10000
    end
{%- endmacro %}

{#- The SQL type of exact whole numbers wider than bigint (minor units × weights): DuckDB's
    hugeint; another engine adds its own. -#}
{% macro type_exact_integer() -%}
    {{ return(adapter.dispatch('type_exact_integer', 'usage_billing')()) }}
{%- endmacro %}
{% macro default__type_exact_integer() -%}
    hugeint
{%- endmacro %}

{#- An amount as a whole number of minor units, after the one rounding of money (round_money). -#}
{% macro to_minor_units(amount, minor_unit) -%}
    {{ return(adapter.dispatch('to_minor_units', 'usage_billing')(amount, minor_unit)) }}
{%- endmacro %}
{% macro default__to_minor_units(amount, minor_unit) -%}
    cast({{ round_money(amount, minor_unit) }} * {{ minor_units_per_major(minor_unit) }} as hugeint)
{%- endmacro %}

{#- A whole number of minor units back to an exact decimal(38, 9) amount of the currency. -#}
{% macro from_minor_units(units, minor_unit) -%}
    case {{ minor_unit }}
        when 0 then cast(cast({{ units }} as decimal(38, 0)) as decimal(38, 9))
        when 2 then cast(cast({{ units }} as decimal(38, 0)) * cast(0.01 as decimal(3, 2)) as decimal(38, 9))
        when 3 then cast(cast({{ units }} as decimal(38, 0)) * cast(0.001 as decimal(4, 3)) as decimal(38, 9))
        when 4 then cast(cast({{ units }} as decimal(38, 0)) * cast(0.0001 as decimal(5, 4)) as decimal(38, 9))
    end
{%- endmacro %}

{#- A decimal(38, 9) weight (units, events, days) as an exact whole number of billionths. -#}
{% macro exact_weight(value) -%}
    {{ return(adapter.dispatch('exact_weight', 'usage_billing')(value)) }}
{%- endmacro %}
{% macro default__exact_weight(value) -%}
    cast(cast({{ value }} as decimal(38, 9)) * 1000000000 as hugeint)
{%- endmacro %}

{#- floor(a / b) of whole numbers for b > 0, also for a negative a (rounds toward minus infinity). -#}
{% macro exact_floor_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('exact_floor_div', 'usage_billing')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__exact_floor_div(numerator, denominator) -%}
    case
        when cast({{ numerator }} as hugeint) >= 0
            then cast({{ numerator }} as hugeint) // cast({{ denominator }} as hugeint)
        else -((-cast({{ numerator }} as hugeint) + cast({{ denominator }} as hugeint) - 1) // cast({{ denominator }} as hugeint))
    end
{%- endmacro %}

{#- round(amount_units * part / whole) half up, for part >= 0 and whole > 0, in whole numbers: the
    value in minor units of part units of a pool priced amount_units for whole units. -#}
{% macro exact_pro_rata_units(amount_units, part, whole) -%}
    {{ exact_floor_div(
        '2 * cast(' ~ amount_units ~ ' as ' ~ type_exact_integer() ~ ') * cast(' ~ part ~ ' as ' ~ type_exact_integer() ~ ') + cast(' ~ whole ~ ' as ' ~ type_exact_integer() ~ ')',
        '2 * cast(' ~ whole ~ ' as ' ~ type_exact_integer() ~ ')'
    ) }}
{%- endmacro %}

{#- Largest remainder (SPEC 3.10: every spread adds up exactly). Expects a CTE named by `spreads`
    with one row per spread × bucket and the columns `spread_id`, `amount_units` (the amount to
    spread, in whole minor units, the same on every row of the spread), `weight_units` (the
    bucket's weight, a whole number, may be negative) and the tie-break column `tie_break` (earlier
    first). Adds CTEs ending in `spread_allocated` with `allocated_units` per bucket:
    each bucket first gets floor(amount × weight / total weight) units; the units left over go one
    each to the buckets with the largest remainders (ties: the earlier bucket first). A spread
    whose weights add up to 0 is spread evenly over its buckets. -#}
{% macro largest_remainder_ctes(spreads) -%}
spread_totals as (
    select
        {{ spreads }}.*,
        sum({{ spreads }}.weight_units) over (partition by {{ spreads }}.spread_id) as total_weight_units,
        count(*) over (partition by {{ spreads }}.spread_id) as bucket_count
    from {{ spreads }}
),

-- a negative total flips every sign, so that the denominator is positive
spread_normalised as (
    select
        *,
        cast(
            case
                when total_weight_units = 0 then 1
                when total_weight_units < 0 then -weight_units
                else weight_units
            end
            as {{ type_exact_integer() }}
        ) as share_numerator,
        cast(
            case
                when total_weight_units = 0 then bucket_count
                when total_weight_units < 0 then -total_weight_units
                else total_weight_units
            end
            as {{ type_exact_integer() }}
        ) as share_denominator
    from spread_totals
),

spread_floored as (
    select
        *,
        {{ exact_floor_div('amount_units * share_numerator', 'share_denominator') }} as floor_units
    from spread_normalised
),

spread_remainders as (
    select
        *,
        cast(amount_units as {{ type_exact_integer() }}) * share_numerator - floor_units * share_denominator as remainder_numerator,
        cast(amount_units as {{ type_exact_integer() }}) - sum(floor_units) over (partition by spread_id) as units_left
    from spread_floored
),

spread_ranked as (
    select
        *,
        row_number() over (
            partition by spread_id
            order by remainder_numerator desc, tie_break asc
        ) as remainder_rank
    from spread_remainders
),

spread_allocated as (
    select
        *,
        floor_units + case when remainder_rank <= units_left then 1 else 0 end as allocated_units
    from spread_ranked
)
{%- endmacro %}
