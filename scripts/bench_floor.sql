-- The floor of `make bench`: the least work any implementation must do with the same raw files,
-- written by hand as a user would write it. Each source is read with DuckDB's typed reader and
-- its columns declared, deduplicated by its own rule (SPEC 2.1), mapped to billing account and
-- metric, and summed to billing account × metric × local day. Nothing else: no quarantine (a row
-- the typed reader cannot read is skipped), no audit trail, no versions, segments or rating.
--
-- scripts/bench.py runs it with the build's DuckDB settings (profiles.example.yml) and replaces
-- two placeholders: {raw} (the raw folder) and {seeds} (the contract book's folder).
--
-- Where it differs from the build by design: a typed reader converts what it can, so a telemetry
-- quantity written as a JSON string ("12") or true counts as a number, and an explicit null
-- quantity counts as the default 1, where the build quarantines those records (malformed_record,
-- invalid_quantity). Copies received at the same instant are ordered by file name only (a typed
-- reader has no line number). The floor counts days no subscription line holds (the build
-- quarantines them as no_active_line). python_tests/pipeline/test_bench.py compares the two.
create or replace table floor_daily_usage as
with

-- telemetry: NDJSON, plain and gzip; quantity absent means 1
telemetry as (
    select
        'telemetry' as source_system,
        filename as file_name,
        event_id as event_key,
        account_key as customer_key,
        event_type as source_metric,
        occurred_at,
        cast(null as date) as local_date,
        received_at,
        coalesce(quantity, 1) as quantity,
        false as is_deleted
    from read_json(
        ['{raw}/telemetry/*.jsonl', '{raw}/telemetry/*.jsonl.gz'],
        format = 'newline_delimited',
        columns = {
            event_id: 'VARCHAR',
            account_key: 'VARCHAR',
            event_type: 'VARCHAR',
            occurred_at: 'TIMESTAMPTZ',
            received_at: 'TIMESTAMPTZ',
            quantity: 'DECIMAL(38, 9)'
        },
        filename = true,
        ignore_errors = true
    )
),

-- stripe: meter event exports, times in unix seconds
stripe as (
    select
        'stripe' as source_system,
        filename as file_name,
        identifier as event_key,
        stripe_customer_id as customer_key,
        event_name as source_metric,
        to_timestamp("timestamp") as occurred_at,
        cast(null as date) as local_date,
        to_timestamp(created) as received_at,
        value as quantity,
        false as is_deleted
    from read_csv(
        '{raw}/stripe/*.csv',
        header = true,
        columns = {
            identifier: 'VARCHAR',
            event_name: 'VARCHAR',
            timestamp: 'BIGINT',
            stripe_customer_id: 'VARCHAR',
            value: 'DECIMAL(38, 9)',
            created: 'BIGINT'
        },
        filename = true,
        ignore_errors = true
    )
),

-- salesforce: Usage_Entry__c exports, the usage date already local
salesforce as (
    select
        'salesforce' as source_system,
        filename as file_name,
        id as event_key,
        account__c as customer_key,
        metric__c as source_metric,
        cast(null as timestamptz) as occurred_at,
        usage_date__c as local_date,
        lastmodifieddate as received_at,
        quantity__c as quantity,
        isdeleted as is_deleted
    from read_csv(
        '{raw}/salesforce/*.csv',
        header = true,
        columns = {
            Id: 'VARCHAR',
            Account__c: 'VARCHAR',
            Metric__c: 'VARCHAR',
            Quantity__c: 'DECIMAL(38, 9)',
            Usage_Date__c: 'DATE',
            IsDeleted: 'BOOLEAN',
            CreatedDate: 'TIMESTAMPTZ',
            LastModifiedDate: 'TIMESTAMPTZ'
        },
        filename = true,
        ignore_errors = true
    )
),

-- metering: Parquet carries its own types; times are UTC, the value a double (NaN and infinity
-- are no quantity)
metering as (
    select
        'metering' as source_system,
        filename as file_name,
        record_id as event_key,
        customer_id as customer_key,
        meter_api_name as source_metric,
        cast(window_start as timestamptz) as occurred_at,
        cast(null as date) as local_date,
        cast(exported_at as timestamptz) as received_at,
        case when isfinite(value) then cast(value as decimal(38, 9)) end as quantity,
        false as is_deleted
    from read_parquet('{raw}/metering/*.parquet', filename = true, union_by_name = true)
),

events as (
    select *, true as first_received_wins from telemetry
    union all
    select *, true as first_received_wins from stripe
    union all
    select *, false as first_received_wins from salesforce
    union all
    select *, false as first_received_wins from metering
),

-- one row per event key: the copy received first (telemetry, stripe) or the latest version
-- (salesforce, metering)
deduplicated as (
    select *
    from events
    where
        event_key is not null
        and customer_key is not null
        and source_metric is not null
        and coalesce(occurred_at, local_date) is not null
        and received_at is not null
        and quantity >= 0
    qualify row_number() over (
        partition by source_system, event_key
        order by
            case when first_received_wins then received_at end asc,
            case when not first_received_wins then received_at end desc,
            case when first_received_wins then file_name end asc,
            case when not first_received_wins then file_name end desc
    ) = 1
),

customer_mappings as (
    select * from read_csv('{seeds}/customer_mappings.csv', header = true, all_varchar = true)
),

billing_accounts as (
    select * from read_csv('{seeds}/billing_accounts.csv', header = true, all_varchar = true)
),

metric_mappings as (
    select
        source_system,
        source_metric,
        metric,
        cast(coalesce(nullif(multiplier, ''), '1') as decimal(38, 9)) as multiplier
    from read_csv('{seeds}/metric_mappings.csv', header = true, all_varchar = true)
)

-- a withdrawn (deleted) current version counts nothing
select
    billing_accounts.billing_account_id,
    metric_mappings.metric,
    coalesce(
        deduplicated.local_date,
        cast(timezone(billing_accounts.timezone, deduplicated.occurred_at) as date)
    ) as local_day,
    count(*) as events,
    -- in billing units, each event's quantity kept to 9 places as the build keeps it
    sum(cast(deduplicated.quantity * metric_mappings.multiplier as decimal(38, 9))) as quantity
from deduplicated
inner join customer_mappings
    on
        deduplicated.source_system = customer_mappings.source_system
        and deduplicated.customer_key = customer_mappings.source_customer_key
inner join billing_accounts
    on customer_mappings.billing_account_id = billing_accounts.billing_account_id
inner join metric_mappings
    on
        deduplicated.source_system = metric_mappings.source_system
        and deduplicated.source_metric = metric_mappings.source_metric
where not deduplicated.is_deleted
group by all;
