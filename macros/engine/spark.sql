{#-
    Apache Spark implementations of the macros that engine.sql, raw_files.sql and revenue.sql
    dispatch, and the overrides of dbt's own macros that Spark needs, for dbt-spark (session,
    thrift or ODBC) and, through adapter inheritance, dbt-databricks.

    Every macro returns what its DuckDB default returns for the same input, so that one set of
    models builds the same marts on both engines. Two session settings are part of that contract
    (profiles.example.yml sets them): decimal arithmetic without precision loss
    (spark.sql.decimalOperations.allowPrecisionLoss = false, checked by exact_ratio below) and a
    UTC session time zone.
-#}

{#- ---- Types ---------------------------------------------------------------------------------- -#}

{#- The Spark name of a type written with DuckDB's names in the project (seed column_types,
    contracts, empty relations): varchar and text are string, timestamptz is timestamp (Spark's
    timestamp is an instant), hugeint is decimal(38, 0); other names are the same on both. -#}
{% macro spark_type(data_type) -%}
    {%- set normalized = data_type | trim | lower -%}
    {%- set base = normalized.split('(')[0] | trim -%}
    {%- if base in ['varchar', 'text', 'string', 'char', 'bpchar', 'json', 'uuid'] -%}
        {{- return('string') -}}
    {%- elif normalized in ['timestamptz', 'timestamp with time zone', 'timestamp', 'datetime'] -%}
        {{- return('timestamp') -}}
    {%- elif base == 'hugeint' -%}
        {{- return('decimal(38, 0)') -}}
    {%- elif base in ['integer', 'int4', 'int'] -%}
        {{- return('int') -}}
    {%- elif base in ['int8', 'long'] -%}
        {{- return('bigint') -}}
    {%- elif base in ['float8', 'double precision'] -%}
        {{- return('double') -}}
    {%- elif base in ['float4', 'real'] -%}
        {{- return('float') -}}
    {%- elif base == 'bool' -%}
        {{- return('boolean') -}}
    {%- elif base == 'numeric' -%}
        {{- return(normalized.replace('numeric', 'decimal', 1)) -}}
    {%- elif base == 'blob' -%}
        {{- return('binary') -}}
    {%- else -%}
        {{- return(normalized) -}}
    {%- endif -%}
{%- endmacro %}

{#- The SQL type of a UTC instant. -#}
{% macro spark__type_instant() -%}
    timestamp
{%- endmacro %}

{#- dbt.cast (contracts build their empty schema query with it): DuckDB type names translated. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type(type) }})
{%- endmacro %}

{#- ---- Time ----------------------------------------------------------------------------------- -#}

{#- Independent of the session time zone: the instant is read as a wall time of the session and
    converted to the account's zone. -#}
{% macro spark__local_date(instant, timezone) -%}
    cast(convert_timezone({{ timezone }}, cast({{ instant }} as timestamp_ntz)) as date)
{%- endmacro %}

{#- make_timestamp resolves a midnight that falls in a daylight-saving gap as DuckDB (ICU) does:
    to the first instant after the gap. -#}
{% macro spark__local_midnight_utc(local_day, timezone) -%}
    make_timestamp(
        year(cast({{ local_day }} as date)),
        month(cast({{ local_day }} as date)),
        day(cast({{ local_day }} as date)),
        0, 0, 0,
        {{ timezone }}
    )
{%- endmacro %}

{#- Spark's cast needs the seconds that DuckDB lets an ISO-8601 text omit (2026-01-01T05:00Z). -#}
{% macro spark__parse_instant(text) -%}
    try_cast(
        regexp_replace(
            {{ text }},
            r'^(\s*\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2})(?=\s*(Z|[+-]\d|$))',
            '$1:00'
        )
        as timestamp
    )
{%- endmacro %}

{#- DuckDB casts a decimal text to bigint by rounding half away from zero; so does this. A
    double-quoted identifier (DuckDB's quoting) is quoted with backticks. -#}
{% macro spark__parse_unix_seconds(text) -%}
    {%- set column = spark_identifier(text) -%}
    timestamp_seconds(
        coalesce(
            try_cast({{ column }} as bigint),
            try_cast(round(try_cast({{ column }} as decimal(38, 9)), 0) as bigint)
        )
    )
{%- endmacro %}

{#- `"name"` (DuckDB and ANSI quoting) as `name`; any other expression unchanged. -#}
{% macro spark_identifier(expression) -%}
    {%- set stripped = expression | trim -%}
    {%- if stripped.startswith('"') and stripped.endswith('"') and stripped | length > 2 -%}
        {{- return('`' ~ stripped[1:-1] ~ '`') -}}
    {%- else -%}
        {{- return(expression) -}}
    {%- endif -%}
{%- endmacro %}

{#- Java's time zone database (java.time.ZoneId), case included: try_reflect gives null where
    ZoneId.of fails (from_utc_timestamp would stop the query instead). ZoneId.of also takes fixed
    offsets (+05:00, Z, UTC+5), which are no IANA names: a name is what it returns unchanged, not
    an offset. Java leaves out three of the IANA database's names (EST, MST, HST), which DuckDB
    knows. -#}
{% macro spark__is_time_zone_name(text) -%}
    coalesce(
        try_reflect('java.time.ZoneId', 'of', {{ text }}) = {{ text }}
        and not ({{ text }} rlike r'^([+-]|Z$)'),
        false
    )
{%- endmacro %}

{#- ---- JSON ----------------------------------------------------------------------------------- -#}

{#- One JSON object and nothing after it. Spark's parser stops after the first value, so the text
    is parsed as the only element of an array: trailing text or a second value fails. -#}
{% macro spark__json_is_object(text) -%}
    coalesce(
        schema_of_variant(try_parse_json(concat('[', {{ text }}, ']'))) like 'ARRAY<OBJECT<%'
        and json_array_length(concat('[', {{ text }}, ']')) = 1,
        false
    )
{%- endmacro %}

{#- A member as text: strings unquoted, objects and arrays as JSON text in their key order, JSON
    null as null (get_json_object, as DuckDB's json_extract_string, takes the first of duplicate
    keys). -#}
{% macro spark__json_text(json, member) -%}
    get_json_object({{ json }}, '$[''{{ member }}'']')
{%- endmacro %}

{#- A member's JSON type with DuckDB's names: VARCHAR, BIGINT, UBIGINT (an integer beyond bigint),
    DOUBLE, BOOLEAN, OBJECT, ARRAY, and NULL for a JSON null; null when the member is absent. -#}
{% macro spark__json_member_type(json, member) -%}
    {{ spark_json_type(json, member) }}
{%- endmacro %}

{% macro spark_json_type(json, member) -%}
    {%- set variant_type -%}
        schema_of_variant(try_variant_get(try_parse_json({{ json }}), '$[''{{ member }}'']', 'variant'))
    {%- endset -%}
    case
        when {{ variant_type }} = 'VOID' then 'NULL'
        when {{ variant_type }} = 'STRING' then 'VARCHAR'
        when {{ variant_type }} in ('BIGINT', 'INT', 'SMALLINT', 'TINYINT') then 'BIGINT'
        when {{ variant_type }} rlike r'^DECIMAL\(\d+,0\)$'
            and try_cast(get_json_object({{ json }}, '$[''{{ member }}'']') as bigint) is null
            then 'UBIGINT'
        when {{ variant_type }} rlike r'^(DECIMAL|DOUBLE|FLOAT)' then 'DOUBLE'
        when {{ variant_type }} = 'BOOLEAN' then 'BOOLEAN'
        when {{ variant_type }} like 'OBJECT<%' then 'OBJECT'
        when {{ variant_type }} like 'ARRAY<%' then 'ARRAY'
        else {{ variant_type }}
    end
{%- endmacro %}

{#- The members of one JSON object, each with its type and its text, read back by 1-based position
    with json_item_type and json_item_text. -#}
{% macro spark__json_extract_members(json, members) -%}
    array(
        {%- for member in members %}
        named_struct(
            'json_type', {{ spark_json_type(json, member) }},
            'json_text', get_json_object({{ json }}, '$[''{{ member }}'']')
        ){% if not loop.last %},{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{% macro spark__json_item_type(members, position) -%}
    element_at({{ members }}, {{ position }}).json_type
{%- endmacro %}

{% macro spark__json_item_text(members, position) -%}
    element_at({{ members }}, {{ position }}).json_text
{%- endmacro %}

{% macro spark__json_text_dynamic(json, member_expression) -%}
    get_json_object({{ json }}, concat('$[''', {{ member_expression }}, ''']'))
{%- endmacro %}

{% macro spark__query_error(message) -%}
    raise_error({{ message }})
{%- endmacro %}

{#- ---- Numbers and text ------------------------------------------------------------------------ -#}

{% macro spark__content_hash(text) -%}
    md5({{ text }})
{%- endmacro %}

{#- try_cast to decimal rejects NaN, infinities and non-numbers, and rounds half up at the 9th
    place, as DuckDB does. -#}
{% macro spark__parse_quantity(text) -%}
    try_cast({{ text }} as decimal(38, 9))
{%- endmacro %}

{#- a / b rounded half up at the 18th place, in integers: (a * 10^18 * 2 + b) div (2 * b). The
    product with 10^-18 keeps its 18 places only without decimal precision loss, which is checked
    here once per model that uses it. -#}
{% macro spark__exact_ratio(numerator, denominator) -%}
    {%- if execute -%}
        {%- set setting = run_query('set spark.sql.decimalOperations.allowPrecisionLoss') -%}
        {%- if setting.columns[1].values()[0] | string | lower != 'false' -%}
            {{ exceptions.raise_compiler_error(
                'Exact decimal arithmetic needs spark.sql.decimalOperations.allowPrecisionLoss = false '
                ~ 'in the Spark session (server_side_parameters in profiles.yml).'
            ) }}
        {%- endif -%}
    {%- endif -%}
    (
        cast(
            (cast({{ numerator }} as decimal(38, 0)) * 2000000000000000000 + cast({{ denominator }} as decimal(38, 0)))
            div (2 * cast({{ denominator }} as decimal(38, 0)))
            as decimal(38, 0)
        ) * cast(0.000000000000000001 as decimal(19, 18))
    )
{%- endmacro %}

{% macro spark__exact_ceil_div(numerator, denominator) -%}
    cast(
        (
            cast({{ numerator }} * 1000000000 as decimal(38, 0))
            + cast({{ denominator }} * 1000000000 as decimal(38, 0)) - 1
        )
        div cast({{ denominator }} * 1000000000 as decimal(38, 0))
        as decimal(38, 0)
    )
{%- endmacro %}

{#- Java's `$` also matches before a final line break; `\z` is the end of the text, as in a full
    match. -#}
{% macro spark__is_iso_instant(text) -%}
    coalesce(
        trim({{ text }}) rlike r'^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)\z',
        false
    )
{%- endmacro %}

{% macro spark__date_yyyymmdd(day) -%}
    date_format({{ day }}, 'yyyyMMdd')
{%- endmacro %}

{% macro spark__external_id_safe(text) -%}
    regexp_replace({{ text }}, '[^A-Za-z0-9_-]', '_')
{%- endmacro %}

{% macro spark__integer_series(count) -%}
    select cast(id as int) as n from range({{ count }})
{%- endmacro %}

{#- dayofweek: 1 is Sunday, 7 Saturday. -#}
{% macro spark__is_weekday(day) -%}
    (dayofweek({{ day }}) between 2 and 6)
{%- endmacro %}

{#- A full match. A pattern given as a string literal is passed as a raw literal, so that its
    backslashes reach the regular expression as they do on DuckDB. -#}
{% macro spark__regex_full_match(text, pattern) -%}
    {%- set stripped = pattern | trim -%}
    {%- set literal = 'r' ~ stripped if stripped.startswith("'") and stripped.endswith("'") else stripped -%}
    ({{ text }} rlike concat('^(?:', {{ literal }}, r')\z'))
{%- endmacro %}

{#- ---- Raw files ------------------------------------------------------------------------------ -#}

{#- Whether raw files are listed and checked by the Python functions (raw_file_check,
    raw_file_list) that loader.dbt_plugins.spark_session registers on the Spark session dbt runs
    in (the var spark_raw_file_checks: python, the default), or in SQL from the files' bytes
    (`sql`: for a Spark cluster or Databricks, where no Python of this package runs beside Spark;
    it sees fewer unreadable files, docs/decisions.md). Without the functions on `python`, the
    build stops with a message saying how to run. -#}
{% macro spark_raw_file_functions() -%}
    {%- set checks = var('spark_raw_file_checks') -%}
    {%- if checks not in ['python', 'sql'] -%}
        {{ exceptions.raise_compiler_error(
            "The var spark_raw_file_checks is '" ~ checks ~ "': it must be 'python' (the raw-file checks "
            ~ "registered by loader.dbt_plugins.spark_session) or 'sql' (checks in SQL, for a remote Spark)."
        ) }}
    {%- endif -%}
    {%- if checks == 'sql' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query("show user functions like 'raw_file_check'") -%}
    {%- if found.rows | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "The Spark session has no function raw_file_check: run dbt through "
            ~ "`python -m loader.dbt_plugins.spark_session` with dbt's arguments (e.g. `build --target spark`; "
            ~ "`make build-spark` does), which registers the raw-file checks on the session dbt runs in. "
            ~ "On a Spark cluster or Databricks, where that cannot be, set the var spark_raw_file_checks to 'sql' "
            ~ "(checks in SQL, which see fewer unreadable files: docs/decisions.md)."
        ) }}
    {%- endif -%}
    {{ return(true) }}
{%- endmacro %}

{#- The files of a source folder that match the patterns, by path: [{path, name, size,
    modified_at}]. With the raw-file functions, listed by raw_file_list (empty files included, a
    missing folder lists no file). Without them, by the binaryFile source over the raw dir (it must
    exist), which does not list an empty file. -#}
{% macro spark__raw_file_listing(source_system, patterns) -%}
    {%- if spark_raw_file_functions() -%}
        {%- set quoted = [] -%}
        {%- for pattern in patterns -%}{%- do quoted.append(spark_string_literal(pattern)) -%}{%- endfor -%}
        {%- set result = run_query(
            "select listed.path, listed.name, listed.size, cast(timestamp_millis(listed.modified_ms) as string) "
            ~ "from (select explode(raw_file_list(" ~ spark_string_literal(raw_dir(source_system)) ~ ", array("
            ~ quoted | join(', ') ~ "))) as listed) as files order by listed.path"
        ) -%}
        {%- set files = [] -%}
        {%- for row in result.rows -%}
            {%- do files.append({'path': row[0], 'name': row[1], 'size': row[2], 'modified_at': row[3], 'md5': none}) -%}
        {%- endfor -%}
        {{ return(files) }}
    {%- endif -%}
    {%- set parent = raw_dir(source_system).rsplit('/', 1)[0] -%}
    {%- set queries = [] -%}
    {%- for pattern in patterns -%}
        {%- set query -%}
            select
                _metadata.file_path as file_path,
                _metadata.file_name as file_name,
                length as file_size,
                cast(modificationTime as string) as file_modified_at
            from binaryFile.`{{ parent }}` with ('recursiveFileLookup' = 'true', 'pathGlobFilter' = '{{ pattern }}')
            where regexp_extract(_metadata.file_path, '/([^/]+)/[^/]+$', 1) = '{{ source_system }}'
        {%- endset -%}
        {%- do queries.append(query) -%}
    {%- endfor -%}
    {%- set result = run_query('select * from (' ~ (queries | join(' union all ')) ~ ') as listed order by file_path') -%}
    {%- set files = [] -%}
    {%- for row in result.rows -%}
        {%- do files.append({'path': row[0], 'name': row[1], 'size': row[2], 'modified_at': row[3], 'md5': none}) -%}
    {%- endfor -%}
    {{ return(files) }}
{%- endmacro %}

{#- The MD5 of each file's bytes, by file name (as DuckDB's md5 of read_blob's content). -#}
{% macro spark__raw_file_md5s(source_system, files) -%}
    {%- set result = run_query(
        "select _metadata.file_name, md5(content) from binaryFile.`" ~ spark_raw_files_glob(source_system, files) ~ "`"
    ) -%}
    {%- set hashes = {} -%}
    {#- binaryFile has no row for an empty file: the MD5 of no bytes -#}
    {%- for file in files if file['size'] == 0 -%}{%- do hashes.update({file['name']: 'd41d8cd98f00b204e9800998ecf8427e'}) -%}{%- endfor -%}
    {%- for row in result.rows -%}{%- do hashes.update({row[0]: row[1]}) -%}{%- endfor -%}
    {{ return(hashes) }}
{%- endmacro %}

{#- Spark's parquet tables take no delete: the staging tables are partitioned by invalid_reason and
    the unreadable files' records are forgotten by dropping their partition (a table of another
    format that takes a delete, Delta, deletes). A staging table built before it was partitioned
    is rebuilt once with --full-refresh. -#}
{% macro spark__raw_files_partition_by() -%}
    {{ return('invalid_reason') }}
{%- endmacro %}

{% macro spark__forget_unreadable_raw_files(reason_column) -%}
    {%- if config.get('file_format', 'parquet') == 'delta' -%}
        delete from {{ this }} where {{ reason_column }} = 'unreadable_file'
    {%- else -%}
        {%- set described = run_query('describe table ' ~ this) -%}
        {%- set names = described.columns[0].values() | map('string') | map('trim') | list -%}
        {%- set partitioned = '# Partition Information' in names
            and reason_column in names[names.index('# Partition Information') + 1:] -%}
        {%- if not partitioned -%}
            {{ exceptions.raise_compiler_error(
                this ~ " was built by an earlier version that did not partition it by " ~ reason_column
                ~ " (so that an unreadable file's record can be dropped): rebuild it once with `dbt build --full-refresh`."
            ) }}
        {%- endif -%}
        alter table {{ this }} drop if exists partition ({{ reason_column }} = 'unreadable_file')
    {%- endif -%}
{%- endmacro %}

{#- How each file can be read, by path. With the raw-file functions, raw_file_check says it, the
    check DuckDB's plugin runs (gzip inflated, Parquet read whole). Spark's text reader takes bytes
    that are not UTF-8, NUL bytes and long lines (the readers mark such lines malformed), so a file
    DuckDB reads line by line (`lines`) is `fast` here, and an empty text file is `empty` (no
    records). Without the functions (thrift, ODBC), from the bytes (binaryFile): a
    file is `unreadable` when a .gz file does not start as gzip, a Parquet file lacks Parquet's
    PAR1 marks at its start and end or a column of its source, or a text file's first 8 KiB are not
    text; a gzip stream truncated inside, or a Parquet file broken inside, is not seen from SQL and
    stops the build there. -#}
{% macro spark__raw_file_checks(source_system, files, file_format, columns) -%}
    {%- set checks = {} -%}
    {%- if spark_raw_file_functions() -%}
        {%- set paths = [] -%}
        {%- for file in files -%}{%- do paths.append('(' ~ spark_string_literal(file['path']) ~ ')') -%}{%- endfor -%}
        {%- set declared = [] -%}
        {%- for column, type in columns.items() -%}{%- do declared.append(spark_string_literal(column ~ ' ' ~ type)) -%}{%- endfor -%}
        {%- set result = run_query(
            "select path, checked.read_as, checked.problem from (select path, raw_file_check(path, '"
            ~ file_format ~ "', cast(array(" ~ declared | join(', ') ~ ") as array<string>)) as checked from (values "
            ~ paths | join(', ') ~ ") as paths (path)) as checks"
        ) -%}
        {%- for row in result.rows -%}
            {%- set read_as, problem = row[1], row[2] -%}
            {%- if read_as == 'lines' -%}
                {%- set read_as = 'empty' if problem == 'empty file' else 'fast' -%}
            {%- endif -%}
            {%- do checks.update({row[0]: {'read_as': read_as, 'problem': problem}}) -%}
        {%- endfor -%}
        {{ return(checks) }}
    {%- endif -%}
    {%- set parquet_columns = columns.keys() | map('lower') | list -%}
    {%- set result = run_query(
        "select _metadata.file_name, length(content), hex(substring(content, 1, 4)), hex(substring(content, -4, 4)), "
        ~ "make_valid_utf8(cast(substring(content, 1, 8192) as string)) from binaryFile.`" ~ spark_raw_files_glob(source_system, files) ~ "`"
    ) -%}
    {%- set found = {} -%}
    {%- for row in result.rows -%}{%- do found.update({row[0]: row}) -%}{%- endfor -%}
    {%- for file in files -%}
        {%- set row = found[file['name']] -%}
        {%- set size, head, tail, sample = row[1], row[2], row[3], row[4] or '' -%}
        {%- set check = {'read_as': 'fast', 'problem': none} -%}
        {%- if file_format == 'parquet' -%}
            {%- if size < 12 or head != '50415231' or tail != '50415231' -%}
                {%- set check = {'read_as': 'unreadable', 'problem': 'not a Parquet file: it lacks the PAR1 marks at its start and end'} -%}
            {%- else -%}
                {#- the source's columns, from the file's schema -#}
                {%- set present = run_query(
                    "select * from parquet.`" ~ spark_raw_files_glob(source_system, [file]) ~ "` limit 0"
                ).column_names | map('lower') | list -%}
                {%- set missing = parquet_columns | reject('in', present) | list -%}
                {%- if missing | length > 0 -%}
                    {%- set check = {'read_as': 'unreadable', 'problem': 'lacks the column(s) ' ~ missing | join(', ')} -%}
                {%- endif -%}
            {%- endif -%}
        {%- elif size == 0 -%}
            {%- set check = {'read_as': 'empty', 'problem': 'empty file'} -%}
        {%- elif file['name'].endswith('.gz') -%}
            {%- if size < 18 or head[:4] != '1F8B' -%}
                {%- set check = {'read_as': 'unreadable', 'problem': 'not a gzip file: it does not start with the gzip magic bytes'} -%}
            {%- endif -%}
        {%- else -%}
            {%- set text = sample[1:] if sample.startswith('\ufeff') else sample -%}
            {%- set text = text[:-3] if size > 8192 else text -%}
            {%- set ns = namespace(bad=0) -%}
            {%- for char in text -%}
                {%- if char == '\ufffd' or (char < ' ' and char not in '\t\n\r\f') -%}{%- set ns.bad = ns.bad + 1 -%}{%- endif -%}
            {%- endfor -%}
            {%- if text | length > 0 and ns.bad / (text | length) > 0.1 -%}
                {%- set check = {'read_as': 'unreadable', 'problem': "not a text file: its first bytes are mostly not UTF-8 text (a binary or compressed file under a text file's name)"} -%}
            {%- endif -%}
        {%- endif -%}
        {%- do checks.update({file['path']: check}) -%}
    {%- endfor -%}
    {{ return(checks) }}
{%- endmacro %}

{#- A line as read by Spark's text reader: malformed when its bytes are not UTF-8 or hold a NUL
    byte, shown with U+FFFD for both; a BOM at the file's start dropped. -#}
{% macro spark_line_problem(line) -%}
    case when not is_valid_utf8({{ line }}) or instr({{ line }}, char(0)) > 0 then 'malformed_record' end
{%- endmacro %}

{% macro spark_line_text(line, record_number) -%}
    replace(
        case when {{ record_number }} = 1 then regexp_replace(make_valid_utf8({{ line }}), '^\\x{FEFF}', '') else make_valid_utf8({{ line }}) end,
        char(0), '\uFFFD'
    )
{%- endmacro %}

{#- The one record of each file that cannot be read (file_name, null record number, problem). -#}
{% macro spark_unreadable_files(files) -%}
    {%- for file in files %}
    select
        {{ spark_string_literal(file['name']) }} as file_name,
        cast(null as bigint) as record_number,
        {{ spark_string_literal('unreadable file: ' ~ file['problem']) }} as raw_line,
        'unreadable_file' as read_problem
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- One glob for the named files of a source folder: <folder>/{name,name}, glob characters escaped. -#}
{% macro spark_raw_files_glob(source_system, files) -%}
    {%- set names = [] -%}
    {%- for file in files -%}
        {%- do names.append(
            file['name'] | replace('\\', '\\\\') | replace('{', '\\{') | replace('}', '\\}')
            | replace('[', '\\[') | replace(']', '\\]') | replace('*', '\\*') | replace('?', '\\?')
            | replace(',', '\\,')
        ) -%}
    {%- endfor -%}
    {{ return(raw_dir(source_system) ~ '/{' ~ (names | join(',')) ~ '}') }}
{%- endmacro %}

{#- The metadata of the files read, joined to each record by file name (unique in its folder). -#}
{% macro spark_raw_file_metadata_values(files) -%}
    (
        values
        {% for file in files -%}
            ({{ spark_string_literal(file['name']) }}, cast({{ file['size'] }} as bigint), cast('{{ file['modified_at'] }}' as timestamp), {{ "'" ~ file['md5'] ~ "'" if file['md5'] else 'cast(null as string)' }}){% if not loop.last %},{% endif %}
        {% endfor -%}
    ) as raw_files (file_name, file_size, file_modified_at, file_md5)
{%- endmacro %}

{% macro spark_raw_file_metadata_columns() -%}
    cast(null as string) as file_name,
    cast(null as bigint) as file_size,
    cast(null as timestamp) as file_modified_at,
    cast(null as string) as file_md5
{%- endmacro %}

{#- Where a row was read: its file, the split it came from, and the order of reading in it. -#}
{% macro spark_raw_file_position() -%}
    _metadata.file_path as file_path,
    _metadata.file_name as file_name,
    _metadata.file_block_start as file_block_start,
    monotonically_increasing_id() as read_position
{%- endmacro %}

{#- A bigint, as DuckDB's row_number, so that an incremental build that reads no new file has the
    same column types as the build that read them. -#}
{% macro spark_raw_record_number() -%}
    cast(row_number() over (partition by file_path order by file_block_start, read_position) as bigint)
{%- endmacro %}

{#- Text lines (\n or \r\n; .gz inflated), numbered as lines, a blank line as null, as on DuckDB. -#}
{% macro spark__read_raw_lines(source_system, patterns, files=none) -%}
    {%- set files = raw_files_to_read(source_system, patterns) if files is none else files -%}
    {%- set readable = files | selectattr('read_as', 'equalto', 'fast') | list -%}
    {%- set unreadable = files | selectattr('read_as', 'equalto', 'unreadable') | list -%}
    {%- if readable | length + unreadable | length == 0 -%}
        select
            {{ spark_raw_file_metadata_columns() }},
            cast(null as bigint) as record_number,
            cast(null as string) as raw_line,
            cast(null as string) as read_problem
        where false
    {%- else -%}
        with

        raw_lines as (
            {% if readable | length > 0 -%}
            select
                file_name,
                record_number,
                {{ spark_line_text('raw_line', 'record_number') }} as raw_line,
                {{ spark_line_problem('raw_line') }} as read_problem
            from (
                select
                    file_name,
                    {{ spark_raw_record_number() }} as record_number,
                    raw_line
                from (
                    select
                        {{ spark_raw_file_position() }},
                        nullif(value, '') as raw_line
                    from text.`{{ spark_raw_files_glob(source_system, readable) }}`
                ) as lines
            ) as numbered
            {%- if unreadable | length > 0 %}
            union all
            {% endif %}
            {%- endif %}
            {{- spark_unreadable_files(unreadable) }}
        )

        select
            raw_files.file_name,
            raw_files.file_size,
            raw_files.file_modified_at,
            raw_files.file_md5,
            raw_lines.record_number,
            raw_lines.raw_line,
            raw_lines.read_problem
        from raw_lines
        inner join {{ spark_raw_file_metadata_values(files) }}
            on raw_lines.file_name = raw_files.file_name
    {%- endif -%}
{%- endmacro %}

{#- CSV rows as default__read_raw_csv returns them: blank lines are not records; each row's fields
    f1..fN (N = columns + 4, enough to see a row with too many) as text, an empty field as '' and a
    field the row lacks as null; field_count; columns matched to the file's header by name; the
    row re-quoted as raw_record. Each line is one row (as on DuckDB, whose reader refuses a line
    break inside quotes). -#}
{% macro spark__read_raw_csv(source_system, columns, files=none) -%}
    {%- set files = raw_files_to_read(source_system, ['*.csv']) if files is none else files -%}
    {%- set readable = files | selectattr('read_as', 'equalto', 'fast') | list -%}
    {%- set unreadable = files | selectattr('read_as', 'equalto', 'unreadable') | list -%}
    {%- set width = columns | length + 4 -%}
    {%- if readable | length + unreadable | length == 0 -%}
        select
            {{ spark_raw_file_metadata_columns() }},
            cast(null as bigint) as record_number,
            {% for column in columns %}cast(null as string) as `{{ column }}`,
            {% endfor %}cast(null as int) as field_count,
            cast(null as int) as header_field_count,
            cast(null as string) as raw_record,
            cast(null as string) as read_problem
        where false
    {%- else -%}
        with

        {% if readable | length > 0 -%}
        numbered_lines as (
            select
                file_path,
                file_name,
                {{ spark_raw_record_number() }} as record_number,
                {{ spark_line_text('value', spark_raw_record_number()) }} as line,
                -- bytes that are not UTF-8, a NUL byte, or a quote left open at the line's end
                coalesce(
                    {{ spark_line_problem('value') }},
                    case when (length(value) - length(replace(value, '"', ''))) % 2 = 1 then 'malformed_record' end
                ) as read_problem
            from (
                select
                    {{ spark_raw_file_position() }},
                    value
                from text.`{{ spark_raw_files_glob(source_system, readable) }}`
                where value <> ''
            ) as lines
        ),

        csv_lines as (
            select
                file_path,
                file_name,
                record_number,
                line,
                read_problem,
                from_csv(
                    line,
                    '{% for i in range(1, width + 1) %}f{{ i }} string{% if not loop.last %}, {% endif %}{% endfor %}',
                    map('sep', ',', 'quote', '"', 'escape', '"', 'mode', 'PERMISSIVE')
                ) as parsed,
                -- fields in the line: separators outside quoted text, plus one
                size(split(regexp_replace(line, '"(?:[^"]|"")*"', ''), ',', -1)) as fields_in_line
            from numbered_lines
        ),

        csv_rows as (
            select
                file_path,
                file_name,
                record_number,
                read_problem,
                {% for i in range(1, width + 1) %}case when fields_in_line >= {{ i }} then coalesce(parsed.f{{ i }}, '') end as f{{ i }},
                {% endfor %}least(fields_in_line, {{ width }}) as field_count,
                case when read_problem is not null then line else concat_ws(
                    ','{% for i in range(1, width + 1) %},
                    case
                        when fields_in_line < {{ i }} then null
                        when coalesce(parsed.f{{ i }}, '') like '%,%' or coalesce(parsed.f{{ i }}, '') like '%"%'
                            then '"' || replace(parsed.f{{ i }}, '"', '""') || '"'
                        else coalesce(parsed.f{{ i }}, '')
                    end{% endfor %}
                ) end as raw_record
            from csv_lines
        ),

        csv_headers as (
            select * from csv_rows where record_number = 1
        ),
        {%- endif %}

        csv_records as (
            {% if readable | length > 0 -%}
            select
                csv_rows.file_name,
                csv_rows.record_number,
                {% for column in columns %}case
                    {% for i in range(1, width + 1) %}when trim(csv_headers.f{{ i }}) = '{{ column }}' then csv_rows.f{{ i }}
                    {% endfor %}end as `{{ column }}`,
                {% endfor %}csv_rows.field_count,
                csv_headers.field_count as header_field_count,
                csv_rows.raw_record,
                csv_rows.read_problem
            from csv_rows
            inner join csv_headers
                on csv_rows.file_path = csv_headers.file_path
            where csv_rows.record_number > 1
            {%- if unreadable | length > 0 %}
            union all
            {% endif %}
            {%- endif %}
            {%- for file in unreadable %}
            select
                {{ spark_string_literal(file['name']) }} as file_name,
                cast(null as bigint) as record_number,
                {% for column in columns %}cast(null as string) as `{{ column }}`,
                {% endfor %}cast(null as int) as field_count,
                cast(null as int) as header_field_count,
                {{ spark_string_literal('unreadable file: ' ~ file['problem']) }} as raw_record,
                'unreadable_file' as read_problem
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        )

        select
            raw_files.file_name,
            raw_files.file_size,
            raw_files.file_modified_at,
            raw_files.file_md5,
            csv_records.record_number,
            {% for column in columns %}csv_records.`{{ column }}`,
            {% endfor %}csv_records.field_count,
            csv_records.header_field_count,
            csv_records.raw_record,
            csv_records.read_problem
        from csv_records
        inner join {{ spark_raw_file_metadata_values(files) }}
            on csv_records.file_name = raw_files.file_name
    {%- endif -%}
{%- endmacro %}

{#- Parquet: columns matched by name across files (mergeSchema); record_number is the row index. -#}
{% macro spark__read_raw_parquet(source_system, columns, files=none) -%}
    {%- set files = raw_files_to_read(source_system, ['*.parquet'], columns) if files is none else files -%}
    {%- set readable = files | selectattr('read_as', 'equalto', 'fast') | list -%}
    {%- set unreadable = files | rejectattr('read_as', 'equalto', 'fast') | list -%}
    {%- if files | length == 0 -%}
        select
            {{ spark_raw_file_metadata_columns() }},
            cast(null as bigint) as record_number,
            {% for column, type in columns.items() %}cast(null as {{ spark_type(type) }}) as {{ column }},
            {% endfor %}cast(null as string) as read_problem,
            cast(null as string) as read_error
        where false
    {%- else -%}
        select
            raw_files.file_name,
            raw_files.file_size,
            raw_files.file_modified_at,
            raw_files.file_md5,
            parquet_rows.record_number,
            {% for column, type in columns.items() %}parquet_rows.{{ column }},
            {% endfor %}parquet_rows.read_problem,
            parquet_rows.read_error
        from (
            {% if readable | length > 0 -%}
            select
                _metadata.file_name as file_name,
                _metadata.row_index + 1 as record_number,
                {% for column, type in columns.items() %}{{ column }},
                {% endfor %}cast(null as string) as read_problem,
                cast(null as string) as read_error
            from parquet.`{{ spark_raw_files_glob(source_system, readable) }}` with ('mergeSchema' = 'true')
            {%- if unreadable | length > 0 %}
            union all
            {% endif %}
            {%- endif %}
            {%- for file in unreadable %}
            select
                {{ spark_string_literal(file['name']) }} as file_name,
                cast(null as bigint) as record_number,
                {% for column, type in columns.items() %}cast(null as {{ spark_type(type) }}) as {{ column }},
                {% endfor %}'unreadable_file' as read_problem,
                {{ spark_string_literal('unreadable file: ' ~ file['problem']) }} as read_error
            {% if not loop.last %}union all{% endif %}
            {%- endfor %}
        ) as parquet_rows
        inner join {{ spark_raw_file_metadata_values(files) }}
            on parquet_rows.file_name = raw_files.file_name
    {%- endif -%}
{%- endmacro %}

{#- A text as a Spark string literal, backslashes and quotes escaped. -#}
{% macro spark_string_literal(text) -%}
    '{{ text | string | replace('\\', '\\\\') | replace("'", "\\'") }}'
{%- endmacro %}

{#- ---- dbt's own macros on Spark ---------------------------------------------------------------- -#}

{#- dateadd as DuckDB's date + interval: a timestamp, month ends clamped, fractions of a second
    kept (dbt-spark's version goes through unix seconds). -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{#- datediff as DuckDB's: whole weeks of 7 days; months, quarters, years and hours as the number of
    boundaries crossed (dbt-spark's month count goes through months_between, which treats two month
    ends as a whole month apart and then adds one). -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart == 'week' -%}
        (datediff(cast({{ second_date }} as date), cast({{ first_date }} as date)) div 7)
    {%- elif datepart == 'month' -%}
        ((year({{ second_date }}) * 12 + month({{ second_date }})) - (year({{ first_date }}) * 12 + month({{ first_date }})))
    {%- elif datepart == 'quarter' -%}
        ((year({{ second_date }}) * 4 + quarter({{ second_date }})) - (year({{ first_date }}) * 4 + quarter({{ first_date }})))
    {%- elif datepart == 'year' -%}
        (year({{ second_date }}) - year({{ first_date }}))
    {%- elif datepart in ['hour', 'minute', 'second'] -%}
        {%- set seconds = {'hour': 3600, 'minute': 60, 'second': 1}[datepart] -%}
        (floor(unix_seconds(cast({{ second_date }} as timestamp)) / {{ seconds }}) - floor(unix_seconds(cast({{ first_date }} as timestamp)) / {{ seconds }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff does not support datepart '" ~ datepart ~ "' on Spark") }}
    {%- endif -%}
{%- endmacro %}

{#- listagg honouring its order (dbt-spark's ignores it); Spark 4 has listagg ... within group. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error('listagg with a limit is not supported on Spark') }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}

{#- Constraints of an enforced contract are altered into the table only on Delta: dbt-spark takes a
    table without a file_format for Delta, and Parquet tables cannot alter a column to not null.
    The contract's data tests check the same columns on every engine. -#}
{% macro spark__persist_constraints(relation, model) -%}
    {%- if config.get('contract').enforced and config.get('file_format') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
    {%- endif -%}
{%- endmacro %}

{#- Seeds: the column types of dbt_project.yml are DuckDB's names, and dbt-spark's session method
    binds a blank cell as the text 'None' and does not escape quotes. Values are written as
    escaped literals instead, blanks as null. -#}
{% macro spark__create_csv_table(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
    {% set sql %}
        create table {{ this.render() }} (
            {%- for col_name in agate_table.column_names -%}
                {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                {%- set type = spark_type(column_override.get(col_name, inferred_type)) -%}
                {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }}{%- if not loop.last -%}, {%- endif -%}
            {%- endfor -%}
        )
        {{ file_format_clause() }}
        {{ partition_cols(label="partitioned by") }}
        {{ clustered_cols(label="clustered by") }}
        {{ location_clause() }}
        {{ comment_clause() }}
    {% endset %}
    {% call statement('_') -%}
        {{ sql }}
    {%- endcall %}
    {{ return(sql) }}
{% endmacro %}

{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
        {%- do types.append(spark_type(column_override.get(col_name, inferred_type))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    cast({{ spark_seed_literal(value) }} as {{ types[loop.index0] }}){%- if not loop.last -%}, {% endif -%}
                {%- endfor -%}){%- if not loop.last -%},{%- endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#- A seed cell as a Spark literal: null, true/false, a number as written, else quoted text with
    backslashes and quotes escaped. -#}
{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        {{ spark_string_literal(value) }}
    {%- endif -%}
{%- endmacro %}

{#- ---- Revenue (revenue.sql) -------------------------------------------------------------------- -#}

{#- Whole numbers wider than bigint: decimal(38, 0). Spark's div returns a bigint quotient, which
    holds every quotient here (a share of an amount); the operands keep all 38 digits. -#}
{% macro spark__type_exact_integer() -%}
    decimal(38, 0)
{%- endmacro %}

{% macro spark__to_minor_units(amount, minor_unit) -%}
    cast({{ round_money(amount, minor_unit) }} * {{ minor_units_per_major(minor_unit) }} as decimal(38, 0))
{%- endmacro %}

{% macro spark__exact_weight(value) -%}
    cast(cast({{ value }} as decimal(38, 9)) * 1000000000 as decimal(38, 0))
{%- endmacro %}

{% macro spark__exact_floor_div(numerator, denominator) -%}
    cast(
        case
            when cast({{ numerator }} as decimal(38, 0)) >= 0
                then cast({{ numerator }} as decimal(38, 0)) div cast({{ denominator }} as decimal(38, 0))
            else -((-cast({{ numerator }} as decimal(38, 0)) + cast({{ denominator }} as decimal(38, 0)) - 1) div cast({{ denominator }} as decimal(38, 0)))
        end
        as decimal(38, 0)
    )
{%- endmacro %}

{% macro spark__value_of_greatest(value, ordering) -%}
    max_by({{ value }}, struct({{ ordering | join(', ') }}))
{%- endmacro %}
