{#-
    The billing rules of the product, each written once. Doc blocks in macros/rules/billing_rules.md state
    every formula in words for auditors.
-#}

{#- The as-of date: the last billing period in the marts is the one containing it. -#}
{% macro as_of_date() -%}
    {%- set configured = var('as_of_date', '') -%}
    {%- set value = configured if configured else modules.datetime.date.today().isoformat() -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- First day of the billing period (monthly from bill_cycle_day) that contains a local date. -#}
{% macro billing_period_start(local_day, bill_cycle_day) -%}
    case
        when extract(day from {{ local_day }}) >= {{ bill_cycle_day }}
            then cast({{ dbt.dateadd('day', bill_cycle_day ~ ' - extract(day from ' ~ local_day ~ ')', local_day) }} as date)
        else cast({{ dbt.dateadd('month', -1, dbt.dateadd('day', bill_cycle_day ~ ' - extract(day from ' ~ local_day ~ ')', local_day)) }} as date)
    end
{%- endmacro %}

{#- Last day of the billing period that starts on period_start. -#}
{% macro billing_period_end(period_start) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, period_start)) }} as date)
{%- endmacro %}

{#- Half-month snapping: a start moves back to the first day of its half, an end forward to the last. -#}
{% macro half_month_snap_start(local_day, period_start) -%}
    case
        when {{ local_day }} >= cast({{ dbt.dateadd('day', 15, period_start) }} as date)
            then cast({{ dbt.dateadd('day', 15, period_start) }} as date)
        else {{ period_start }}
    end
{%- endmacro %}

{% macro half_month_snap_end(local_day, period_start) -%}
    case
        when {{ local_day }} >= cast({{ dbt.dateadd('day', 15, period_start) }} as date)
            then {{ billing_period_end(period_start) }}
        else cast({{ dbt.dateadd('day', 14, period_start) }} as date)
    end
{%- endmacro %}

{#- Does a proration method snap segment boundaries to half months (SPEC 3.3)? Only half_month. -#}
{% macro snaps_to_half_months(method) -%}
    case {{ method }}
        when 'half_month' then true
        when 'calendar_days' then false
        when 'business_days' then false
        when 'none' then false
        else {{ unknown_contract_value('subscriptions.proration_method', method) }}
    end
{%- endmacro %}

{#- Proration factor f of a period segment as an exact ratio: numerator and denominator. -#}
{% macro proration_numerator(method, segment_days, segment_business_days, period_business_days, halves_covered) -%}
    case {{ method }}
        when 'calendar_days' then {{ segment_days }}
        when 'business_days' then
            case when {{ period_business_days }} > 0 then {{ segment_business_days }} else {{ segment_days }} end
        when 'half_month' then {{ halves_covered }}
        when 'none' then 1
        else {{ unknown_contract_value('subscriptions.proration_method', method) }}
    end
{%- endmacro %}

{% macro proration_denominator(method, period_days, period_business_days) -%}
    case {{ method }}
        when 'calendar_days' then {{ period_days }}
        when 'business_days' then
            case when {{ period_business_days }} > 0 then {{ period_business_days }} else {{ period_days }} end
        when 'half_month' then 2
        when 'none' then 1
        else {{ unknown_contract_value('subscriptions.proration_method', method) }}
    end
{%- endmacro %}

{#- A tier bound, flat amount or minimum scaled by f when the plan prorates its tiers
    (prorate_tiers, as the contract book writes it: `true` or `false`). -#}
{% macro prorated(value, proration_factor, prorate_tiers) -%}
    cast(
        case {{ prorate_tiers }}
            when 'true' then cast({{ value }} * {{ proration_factor }} as decimal(38, 12))
            when 'false' then {{ value }}
            else {{ unknown_contract_value('price_plans.prorate_tiers', prorate_tiers) }}
        end
        as decimal(38, 12)
    )
{%- endmacro %}

{#- Graduated units in tier k: max(0, min(q, B_k) - B_(k-1)); an open upper bound is infinite. -#}
{% macro graduated_tier_units(quantity, lower_bound, upper_bound) -%}
    greatest(
        cast(0 as decimal(38, 12)),
        case
            when {{ upper_bound }} is null or {{ quantity }} < {{ upper_bound }}
                then cast({{ quantity }} as decimal(38, 12))
            else cast({{ upper_bound }} as decimal(38, 12))
        end - cast({{ lower_bound }} as decimal(38, 12))
    )
{%- endmacro %}

{#- The only rounding of money: half away from zero to the currency's minor unit, the
    `minor_unit` of the `currencies` seed (ISO 4217) that the model joins on the currency. DuckDB
    rounds a decimal only to a constant number of places: one branch per minor unit ISO 4217 uses;
    any other minor unit gives null, never an amount rounded to a guessed number of places. -#}
{% macro round_money(amount, minor_unit) -%}
    case {{ minor_unit }}
        when 0 then cast(round({{ amount }}, 0) as decimal(38, 9))
        when 2 then cast(round({{ amount }}, 2) as decimal(38, 9))
        when 3 then cast(round({{ amount }}, 3) as decimal(38, 9))
        when 4 then cast(round({{ amount }}, 4) as decimal(38, 9))
    end
{%- endmacro %}

{#- NetSuite External IDs: letters, digits, _ and - only. -#}

{% macro usage_record_external_id(subscription_line_id, segment_start) -%}
    'UR-' || {{ external_id_safe(subscription_line_id) }} || '-' || {{ date_yyyymmdd(segment_start) }}
{%- endmacro %}

{% macro adjustment_external_id(subscription_line_id, original_segment_start, adjusting_period_start) -%}
    {{ usage_record_external_id(subscription_line_id, original_segment_start) }}
        || '-ADJ-' || {{ date_yyyymmdd(adjusting_period_start) }}
{%- endmacro %}

{#- The staging model of each usage source system, named stg_<source_system>__<entity>s: the
    union reads these. The source systems themselves, with their dedup policies (SPEC 2.1), are
    listed once, in seeds/reference/source_systems.csv; a data test holds the two equal
    (tests/integrity/assert_usage_sources_have_staging_models.sql). -#}
{% macro usage_staging_models() -%}
    {{ return([
        'stg_telemetry__events',
        'stg_stripe__meter_events',
        'stg_salesforce__usage_entries',
        'stg_metering__usage_windows',
    ]) }}
{%- endmacro %}

{#- The source system a staging model reads: <source_system> of stg_<source_system>__<entity>s. -#}
{% macro staging_source_system(staging_model) -%}
    {{ return(staging_model.split('__')[0].replace('stg_', '', 1)) }}
{%- endmacro %}

{#- The quantity of a period segment by its metric's aggregation (SPEC 3.4); no events is 0. -#}
{% macro aggregate_usage(aggregation, event_count, quantity_sum, quantity_max, unique_count, latest_quantity) -%}
    case {{ aggregation }}
        when 'sum' then cast(coalesce({{ quantity_sum }}, 0) as decimal(38, 9))
        when 'count' then cast(coalesce({{ event_count }}, 0) as decimal(38, 9))
        when 'unique_count' then cast(coalesce({{ unique_count }}, 0) as decimal(38, 9))
        when 'max' then cast(coalesce({{ quantity_max }}, 0) as decimal(38, 9))
        when 'latest' then cast(coalesce({{ latest_quantity }}, 0) as decimal(38, 9))
        else {{ unknown_contract_value('metrics.aggregation', aggregation) }}
    end
{%- endmacro %}

{#- Is tier k reached by quantity q (SPEC 3.5)? Graduated: tier 1 always, tier k when q > B_(k-1).
    Volume: the one tier with B_(k-1) < q <= B_k (q = 0: tier 1). Per unit, package, flat: tier 1
    only. -#}
{% macro tier_is_reached(pricing_model, tier, quantity, lower_bound, upper_bound) -%}
    case {{ pricing_model }}
        when 'graduated' then {{ tier }} = 1 or {{ quantity }} > {{ lower_bound }}
        when 'volume' then
            ({{ tier }} = 1 and {{ quantity }} = 0)
            or ({{ quantity }} > {{ lower_bound }} and ({{ upper_bound }} is null or {{ quantity }} <= {{ upper_bound }}))
        when 'per_unit' then {{ tier }} = 1
        when 'package' then {{ tier }} = 1
        when 'flat' then {{ tier }} = 1
        else {{ unknown_contract_value('price_plans.pricing_model', pricing_model) }}
    end
{%- endmacro %}

{#- Units charged at a tier's unit price: graduated, the part of q inside the tier; volume and
    per_unit, all of q; package, whole packages ceil(q / package_size); flat, none. -#}
{% macro tier_units(pricing_model, quantity, lower_bound, upper_bound, package_size) -%}
    case {{ pricing_model }}
        when 'graduated' then cast({{ graduated_tier_units(quantity, lower_bound, upper_bound) }} as decimal(38, 12))
        when 'package' then cast({{ exact_ceil_div(quantity, package_size) }} as decimal(38, 12))
        when 'flat' then cast(0 as decimal(38, 12))
        when 'per_unit' then cast({{ quantity }} as decimal(38, 12))
        when 'volume' then cast({{ quantity }} as decimal(38, 12))
        else {{ unknown_contract_value('price_plans.pricing_model', pricing_model) }}
    end
{%- endmacro %}

{#- Prepaid lines (SPEC 3.6): only what exceeds the pool remaining before the segment is rated. -#}
{% macro prepaid_overage(charge_type, quantity, pool_remaining_before) -%}
    cast(
        case {{ charge_type }}
            when 'prepaid'
                then greatest(cast(0 as decimal(38, 9)), {{ quantity }} - {{ pool_remaining_before }})
            when 'usage' then {{ quantity }}
            else {{ unknown_contract_value('subscription_lines.charge_type', charge_type) }}
        end
        as decimal(38, 9)
    )
{%- endmacro %}

{#- The quarantine reason codes (SPEC 2.1), exactly these. -#}
{% macro quarantine_reasons() -%}
    {{ return([
        'malformed_record', 'missing_field', 'invalid_quantity', 'invalid_timestamp',
        'unknown_customer', 'unknown_metric', 'no_active_line', 'late_after_line_end',
        'unreadable_file',
    ]) }}
{%- endmacro %}
