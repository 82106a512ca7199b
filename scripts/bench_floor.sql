-- The floor: the least work any implementation must do with the same raw files. Read every
-- source, deduplicate by its rule, map customers and metrics, and aggregate usage to billing
-- account × metric × local day. No quarantine (unreadable rows are skipped), no audit trail, no
-- segments, no rating.
-- Placeholders: {raw} (raw folder), {seeds} (contract book folder).
create or replace table floor_daily_usage as
with

telemetry_lines as (
    select raw_line
    from read_csv(
        ['{raw}/telemetry/*.jsonl', '{raw}/telemetry/*.jsonl.gz'],
        columns = {'raw_line': 'VARCHAR'}, header = false, auto_detect = false,
        delim = chr(1), quote = '', escape = '', ignore_errors = true
    )
    where json_valid(raw_line)
),

telemetry as (
    select
        'telemetry' as source_system,
        members[1] ->> '$' as event_key,
        members[2] ->> '$' as customer_key,
        members[3] ->> '$' as source_metric,
        try_cast(members[4] ->> '$' as timestamptz) as occurred_at,
        cast(null as date) as local_date,
        try_cast(members[5] ->> '$' as timestamptz) as received_at,
        coalesce(try_cast(members[6] ->> '$' as decimal(38, 9)), 1) as quantity,
        false as is_deleted,
        'first' as policy
    from (
        select json_extract(
            raw_line,
            ['$.event_id', '$.account_key', '$.event_type', '$.occurred_at', '$.received_at', '$.quantity']
        ) as members
        from telemetry_lines
    )
),

stripe as (
    select
        'stripe' as source_system,
        identifier as event_key,
        stripe_customer_id as customer_key,
        event_name as source_metric,
        to_timestamp(try_cast("timestamp" as bigint)) as occurred_at,
        cast(null as date) as local_date,
        to_timestamp(try_cast(created as bigint)) as received_at,
        try_cast(value as decimal(38, 9)) as quantity,
        false as is_deleted,
        'first' as policy
    from read_csv(
        '{raw}/stripe/*.csv', header = true, all_varchar = true, union_by_name = true,
        delim = ',', quote = '"', strict_mode = false, null_padding = true, ignore_errors = true
    )
),

salesforce as (
    select
        'salesforce' as source_system,
        Id as event_key,
        Account__c as customer_key,
        Metric__c as source_metric,
        cast(null as timestamptz) as occurred_at,
        try_cast(Usage_Date__c as date) as local_date,
        try_cast(LastModifiedDate as timestamptz) as received_at,
        try_cast(Quantity__c as decimal(38, 9)) as quantity,
        lower(IsDeleted) = 'true' as is_deleted,
        'last' as policy
    from read_csv(
        '{raw}/salesforce/*.csv', header = true, all_varchar = true, union_by_name = true,
        delim = ',', quote = '"', strict_mode = false, null_padding = true, ignore_errors = true
    )
),

metering as (
    select
        'metering' as source_system,
        record_id as event_key,
        customer_id as customer_key,
        meter_api_name as source_metric,
        cast(window_start as timestamptz) as occurred_at,
        cast(null as date) as local_date,
        cast(exported_at as timestamptz) as received_at,
        try_cast(value as decimal(38, 9)) as quantity,
        false as is_deleted,
        'last' as policy
    from read_parquet('{raw}/metering/*.parquet', union_by_name = true)
),

events as (
    select * from telemetry
    union all select * from stripe
    union all select * from salesforce
    union all select * from metering
),

deduplicated as (
    select *
    from events
    where event_key is not null and received_at is not null and quantity >= 0
    qualify row_number() over (
        partition by source_system, event_key
        order by case when policy = 'first' then epoch(received_at) else -epoch(received_at) end
    ) = 1
)

select
    accounts.billing_account_id,
    metric_mappings.metric,
    coalesce(
        deduplicated.local_date,
        cast(timezone(accounts.timezone, deduplicated.occurred_at) as date)
    ) as local_day,
    count(*) as events,
    sum(deduplicated.quantity * metric_mappings.multiplier) as quantity
from deduplicated
inner join read_csv('{seeds}/customer_mappings.csv', header = true, all_varchar = true) as customer_mappings
    on deduplicated.source_system = customer_mappings.source_system
    and deduplicated.customer_key = customer_mappings.source_customer_key
inner join read_csv('{seeds}/billing_accounts.csv', header = true, all_varchar = true) as accounts
    on customer_mappings.billing_account_id = accounts.billing_account_id
inner join (
    select source_system, source_metric, metric, cast(multiplier as decimal(38, 9)) as multiplier
    from read_csv('{seeds}/metric_mappings.csv', header = true, all_varchar = true)
) as metric_mappings
    on deduplicated.source_system = metric_mappings.source_system
    and deduplicated.source_metric = metric_mappings.source_metric
where not deduplicated.is_deleted
group by all;
