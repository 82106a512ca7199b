{#-
    Engine-specific expressions. DuckDB is the default; another engine adds `<adapter>__<macro>`.
-#}

{#- The local calendar date of a UTC instant in an IANA time zone. -#}
{% macro local_date(instant, timezone) -%}
    {{ return(adapter.dispatch('local_date', 'usage_billing')(instant, timezone)) }}
{%- endmacro %}
{% macro default__local_date(instant, timezone) -%}
    cast(timezone({{ timezone }}, {{ instant }}) as date)
{%- endmacro %}

{#- The UTC instant of local midnight at the start of a date in an IANA time zone. -#}
{% macro local_midnight_utc(local_day, timezone) -%}
    {{ return(adapter.dispatch('local_midnight_utc', 'usage_billing')(local_day, timezone)) }}
{%- endmacro %}
{% macro default__local_midnight_utc(local_day, timezone) -%}
    timezone({{ timezone }}, cast({{ local_day }} as timestamp))
{%- endmacro %}

{#- Parses ISO-8601 text (offset or Z) to a UTC instant; null when it is not a valid instant. -#}
{% macro parse_instant(text) -%}
    {{ return(adapter.dispatch('parse_instant', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__parse_instant(text) -%}
    try_cast({{ text }} as timestamptz)
{%- endmacro %}

{#- Unix seconds (text) to a UTC instant; null when not a whole number. -#}
{% macro parse_unix_seconds(text) -%}
    {{ return(adapter.dispatch('parse_unix_seconds', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__parse_unix_seconds(text) -%}
    to_timestamp(try_cast({{ text }} as bigint))
{%- endmacro %}

{#- JSON: is the text one JSON object; a member as text; a member's JSON type. -#}
{% macro json_is_object(text) -%}
    {{ return(adapter.dispatch('json_is_object', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__json_is_object(text) -%}
    case when json_valid({{ text }}) then json_type({{ text }}) = 'OBJECT' else false end
{%- endmacro %}

{% macro json_text(json, member) -%}
    {{ return(adapter.dispatch('json_text', 'usage_billing')(json, member)) }}
{%- endmacro %}
{% macro default__json_text(json, member) -%}
    json_extract_string({{ json }}, '$."{{ member }}"')
{%- endmacro %}

{% macro json_member_type(json, member) -%}
    {{ return(adapter.dispatch('json_member_type', 'usage_billing')(json, member)) }}
{%- endmacro %}
{% macro default__json_member_type(json, member) -%}
    json_type({{ json }}, '$."{{ member }}"')
{%- endmacro %}

{#- A JSON member of a JSON text chosen at run time (e.g. properties.<unique_property>). -#}
{% macro json_text_dynamic(json, member_expression) -%}
    {{ return(adapter.dispatch('json_text_dynamic', 'usage_billing')(json, member_expression)) }}
{%- endmacro %}
{% macro default__json_text_dynamic(json, member_expression) -%}
    json_extract_string({{ json }}, '$."' || {{ member_expression }} || '"')
{%- endmacro %}

{#- A stable content hash of a text (for conflict detection): the MD5 of the text. On DuckDB it
    is kept as its 128-bit number, which is cheaper to write and compare than its 32 hex digits. -#}
{% macro content_hash(text) -%}
    {{ return(adapter.dispatch('content_hash', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__content_hash(text) -%}
    md5_number({{ text }})
{%- endmacro %}

{#- A quantity text to exact decimal(38, 9); null when not a finite number. -#}
{% macro parse_quantity(text) -%}
    {{ return(adapter.dispatch('parse_quantity', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__parse_quantity(text) -%}
    case
        when isfinite(try_cast({{ text }} as double))
            then try_cast({{ text }} as decimal(38, 9))
    end
{%- endmacro %}

{#- An exact integer ratio a / b as decimal(38, 18), rounded half up at the 18th place. -#}
{% macro exact_ratio(numerator, denominator) -%}
    {{ return(adapter.dispatch('exact_ratio', 'usage_billing')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__exact_ratio(numerator, denominator) -%}
    (
        cast(
            (cast({{ numerator }} as hugeint) * cast(1000000000000000000 as hugeint) * 2
                + cast({{ denominator }} as hugeint))
            // (2 * cast({{ denominator }} as hugeint))
            as decimal(38, 0)
        ) * cast(0.000000000000000001 as decimal(19, 18))
    )
{%- endmacro %}

{#- ceil(a / b) for non-negative decimals with at most 9 places, exactly. -#}
{% macro exact_ceil_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('exact_ceil_div', 'usage_billing')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__exact_ceil_div(numerator, denominator) -%}
    cast(
        (cast({{ numerator }} * 1000000000 as hugeint) + cast({{ denominator }} * 1000000000 as hugeint) - 1)
        // cast({{ denominator }} * 1000000000 as hugeint)
        as decimal(38, 0)
    )
{%- endmacro %}

{#- True when text is an ISO-8601 instant that carries its offset or Z (never a bare local time). -#}
{% macro is_iso_instant(text) -%}
    {{ return(adapter.dispatch('is_iso_instant', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__is_iso_instant(text) -%}
    {%- set pattern = "'\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)'" -%}
    {#- text that matches as it is has nothing to trim: only the rest is trimmed (trimming every
        value costs as much as matching it) -#}
    case
        when regexp_full_match({{ text }}, {{ pattern }}) then true
        else coalesce(regexp_full_match(trim({{ text }}), {{ pattern }}), false)
    end
{%- endmacro %}

{#- A date as YYYYMMDD text. -#}
{% macro date_yyyymmdd(day) -%}
    {{ return(adapter.dispatch('date_yyyymmdd', 'usage_billing')(day)) }}
{%- endmacro %}
{% macro default__date_yyyymmdd(day) -%}
    strftime({{ day }}, '%Y%m%d')
{%- endmacro %}

{#- Any character NetSuite does not allow in an External ID becomes `_`. -#}
{% macro external_id_safe(text) -%}
    {{ return(adapter.dispatch('external_id_safe', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__external_id_safe(text) -%}
    regexp_replace({{ text }}, '[^A-Za-z0-9_-]', '_', 'g')
{%- endmacro %}

{#- A series of whole numbers 0..n-1 as a relation with column `n`. -#}
{% macro integer_series(count) -%}
    {{ return(adapter.dispatch('integer_series', 'usage_billing')(count)) }}
{%- endmacro %}
{% macro default__integer_series(count) -%}
    select cast(range as integer) as n from range({{ count }})
{%- endmacro %}

{#- Monday to Friday. -#}
{% macro is_weekday(day) -%}
    {{ return(adapter.dispatch('is_weekday', 'usage_billing')(day)) }}
{%- endmacro %}
{% macro default__is_weekday(day) -%}
    (isodow({{ day }}) between 1 and 5)
{%- endmacro %}

{#- True when the whole text matches the regular expression. -#}
{% macro regex_full_match(text, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'usage_billing')(text, pattern)) }}
{%- endmacro %}
{% macro default__regex_full_match(text, pattern) -%}
    regexp_full_match({{ text }}, {{ pattern }})
{%- endmacro %}

{#- Reads the members of a JSON object, in order, each with its JSON type and its text, to be read
    back by 1-based position with json_item_type and json_item_text. On DuckDB the object is
    parsed twice, once for the list of types and once for the list of texts (reading each member
    back out of a list of JSON values parses every member again: twice as slow at scale). -#}
{% macro json_extract_members(json, members) -%}
    {{ return(adapter.dispatch('json_extract_members', 'usage_billing')(json, members)) }}
{%- endmacro %}
{% macro default__json_extract_members(json, members) -%}
    {%- set paths -%}
        [{% for member in members %}'$."{{ member }}"'{% if not loop.last %}, {% endif %}{% endfor %}]
    {%- endset -%}
    {'json_types': json_type({{ json }}, {{ paths }}), 'json_texts': json_extract_string({{ json }}, {{ paths }})}
{%- endmacro %}

{#- The JSON type of one extracted member (1-based position): VARCHAR, BIGINT, UBIGINT, DOUBLE, BOOLEAN, OBJECT,
    ARRAY, NULL (JSON null), or null when the member is absent. -#}
{% macro json_item_type(members, position) -%}
    {{ return(adapter.dispatch('json_item_type', 'usage_billing')(members, position)) }}
{%- endmacro %}
{% macro default__json_item_type(members, position) -%}
    {{ members }}.json_types[{{ position }}]
{%- endmacro %}

{#- One extracted member (1-based position) as text: a string unquoted, a number or an object as
    its JSON text. -#}
{% macro json_item_text(members, position) -%}
    {{ return(adapter.dispatch('json_item_text', 'usage_billing')(members, position)) }}
{%- endmacro %}
{% macro default__json_item_text(members, position) -%}
    {{ members }}.json_texts[{{ position }}]
{%- endmacro %}

{#- The SQL type of a UTC instant. -#}
{% macro type_instant() -%}
    {{ return(adapter.dispatch('type_instant', 'usage_billing')()) }}
{%- endmacro %}
{% macro default__type_instant() -%}
    timestamptz
{%- endmacro %}

{#- The value of the row whose ordering columns are greatest, compared in order (an aggregate). -#}
{% macro value_of_greatest(value, ordering) -%}
    {{ return(adapter.dispatch('value_of_greatest', 'usage_billing')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_of_greatest(value, ordering) -%}
    arg_max({{ value }}, ({{ ordering | join(', ') }}))
{%- endmacro %}

{#- Stops the query with a message (a text expression): the rules call it on a value of the
    contract book they do not know, instead of giving it some rule. -#}
{% macro query_error(message) -%}
    {{ return(adapter.dispatch('query_error', 'usage_billing')(message)) }}
{%- endmacro %}
{% macro default__query_error(message) -%}
    error({{ message }})
{%- endmacro %}

{#- True when a text is the name of a time zone of the IANA database (case included), as the
    engine knows them: DuckDB lists its zones in pg_timezone_names() (ICU). -#}
{% macro is_time_zone_name(text) -%}
    {{ return(adapter.dispatch('is_time_zone_name', 'usage_billing')(text)) }}
{%- endmacro %}
{% macro default__is_time_zone_name(text) -%}
    coalesce({{ text }} in (select time_zones.name from pg_timezone_names() as time_zones), false)
{%- endmacro %}
