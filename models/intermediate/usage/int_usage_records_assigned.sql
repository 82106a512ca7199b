{{ config(
    materialized=event_grain_materialization(),
    incremental_strategy='delete+insert',
    unique_key='classification_key',
    on_schema_change='fail',
    pre_hook="{{ forget_unreadable_raw_files() }}",
    post_hook="{{ keep_beside('holders', 'int_account_metric_days_held', holder_columns()) }}",
) }}

-- The event table: one row per raw usage record read, with its deduplication, its mapping and its
-- period segment. The one table written at the event grain (docs/decisions.md, "One event
-- table"): the steps are the macros of macros/usage/usage_events.sql, which the step views
-- (int_usage_events_deduplicated, _mapped, _assigned) apply to every record and this model
-- applies, in one statement, to the events a run has to decide.
-- Incremental by event (delete+insert by classification_key: the event key, or the raw record's
-- own id when it is not a valid record): a run decides again, over all their records, the events
-- that have a record in a file not read before and the events on days whose holder changed (a new
-- period, an amendment, a period billed since), every event when the contract book's mappings
-- changed, and adds the invalid records of files not read before: one filter, the macro
-- incremental_records_to_assign (macros/incremental/incremental_events.sql). The holders each run
-- assigned with are kept beside the table. The record of a file that could not be read at all
-- (unreadable_file) is forgotten first and added again while the file is there.
{%- set to_assign = incremental_records_to_assign('unioned') %}
with

source_systems as (
    select * from {{ ref('source_systems') }}
),

-- every valid raw record (an incremental run: those of the events to decide), with its source's
-- dedup policy
valid_records as (
    select
        unioned.*,
        source_systems.dedup_policy
    from {{ ref('int_usage_records_unioned') }} as unioned
    inner join source_systems
        on unioned.source_system = source_systems.source_system
    where unioned.invalid_reason is null and {{ to_assign }}
),

-- every invalid raw record (an incremental run: those of the files not read before)
invalid_records as (
    select unioned.* from {{ ref('int_usage_records_unioned') }} as unioned
    where unioned.invalid_reason is not null and {{ to_assign }}
),

-- each CTE below is read once, so that the engine streams it instead of writing it aside: the
-- duplicate deliveries go through mapping and assignment with the versions and are kept without
-- what those give them
deduplicated as (
    {{ usage_events_deduplicated('valid_records') | indent(4) }}
),

mapped as (
    {{ usage_events_mapped('deduplicated', with_duplicates=true) | indent(4) }}
),

assigned as (
    {{ usage_events_assigned('mapped') | indent(4) }}
),

-- two disjoint sets make up every raw record: invalid ones, and the valid ones (duplicate
-- deliveries, and the versions that were mapped and assigned: current or superseded)
final as (
    select
        raw_record_id,
        raw_record_id as classification_key,
        source_system,
        file_name,
        record_number,
        cast(null as string) as event_key,
        source_event_key,
        source_customer_key,
        source_metric,
        occurred_at,
        received_at,
        quantity as source_quantity,
        invalid_reason,
        cast(null as string) as dedup_status,
        cast(1 as bigint) as copies_received,
        false as is_conflict,
        cast(null as {{ type_instant() }}) as valid_from,
        cast(null as {{ type_instant() }}) as valid_to,
        false as is_deleted,
        cast(null as string) as billing_account_id,
        cast(null as string) as metric,
        cast(null as string) as aggregation,
        cast(null as date) as usage_local_date,
        cast(null as decimal(38, 9)) as quantity,
        cast(null as string) as unique_value,
        cast(null as string) as mapping_reason,
        cast(null as string) as period_segment_id,
        cast(null as string) as subscription_line_id,
        cast(null as date) as billing_period_start,
        false as is_billed,
        cast(null as {{ type_instant() }}) as billed_at,
        cast(null as string) as rejection_reason,
        false as counts_now,
        false as counts_at_billing,
        false as is_late,
        {{ mapping_fingerprint() }} as mapping_fingerprint,
        cast(null as string) as decided_by_invocation_id,
        '{{ invocation_id }}' as assigned_by_invocation_id
    from invalid_records

    union all

    select
        raw_record_id,
        event_key as classification_key,
        source_system,
        file_name,
        record_number,
        event_key,
        source_event_key,
        source_customer_key,
        source_metric,
        case when dedup_status = 'duplicate' then source_occurred_at else occurred_at end as occurred_at,
        received_at,
        source_quantity,
        cast(null as string) as invalid_reason,
        dedup_status,
        copies_received,
        is_conflict,
        valid_from,
        valid_to,
        is_deleted,
        -- a duplicate delivery keeps nothing of mapping and assignment
        case when dedup_status <> 'duplicate' then billing_account_id end as billing_account_id,
        case when dedup_status <> 'duplicate' then metric end as metric,
        case when dedup_status <> 'duplicate' then aggregation end as aggregation,
        case when dedup_status <> 'duplicate' then usage_local_date end as usage_local_date,
        case when dedup_status <> 'duplicate' then quantity end as quantity,
        case when dedup_status <> 'duplicate' then unique_value end as unique_value,
        case when dedup_status <> 'duplicate' then mapping_reason end as mapping_reason,
        case when dedup_status <> 'duplicate' then period_segment_id end as period_segment_id,
        case when dedup_status <> 'duplicate' then subscription_line_id end as subscription_line_id,
        case when dedup_status <> 'duplicate' then billing_period_start end as billing_period_start,
        dedup_status <> 'duplicate' and is_billed as is_billed,
        case when dedup_status <> 'duplicate' then billed_at end as billed_at,
        case when dedup_status <> 'duplicate' then rejection_reason end as rejection_reason,
        dedup_status <> 'duplicate' and counts_now as counts_now,
        dedup_status <> 'duplicate' and counts_at_billing as counts_at_billing,
        dedup_status <> 'duplicate' and is_late as is_late,
        mapping_fingerprint,
        decided_by_invocation_id,
        assigned_by_invocation_id
    from assigned
)

select * from final
