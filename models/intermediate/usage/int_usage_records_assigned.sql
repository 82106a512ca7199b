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
with

source_systems as (
    select * from {{ ref('source_systems') }}
),

-- every raw record (an incremental run: those of the events and files to decide), with its
-- source's dedup policy
records as (
    select
        unioned.*,
        source_systems.dedup_policy
    from {{ ref('int_usage_records_unioned') }} as unioned
    inner join source_systems
        on unioned.source_system = source_systems.source_system
    where {{ incremental_records_to_assign('unioned') }}
),

valid_records as (
    select * from records
    where invalid_reason is null
),

deduplicated as (
    {{ usage_events_deduplicated('valid_records') | indent(4) }}
),

mapped as (
    {{ usage_events_mapped('deduplicated') | indent(4) }}
),

assigned as (
    {{ usage_events_assigned('mapped') | indent(4) }}
),

-- three disjoint sets make up every raw record: invalid ones, duplicate deliveries, and the
-- versions that were mapped and assigned (current or superseded)
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
    from records
    where invalid_reason is not null

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
        occurred_at,
        received_at,
        quantity as source_quantity,
        cast(null as string) as invalid_reason,
        dedup_status,
        copies_received,
        is_conflict,
        valid_from,
        valid_to,
        is_deleted,
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
        decided_by_invocation_id,
        '{{ invocation_id }}' as assigned_by_invocation_id
    from deduplicated
    where dedup_status = 'duplicate'

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
        occurred_at,
        received_at,
        source_quantity,
        cast(null as string) as invalid_reason,
        dedup_status,
        copies_received,
        is_conflict,
        valid_from,
        valid_to,
        is_deleted,
        billing_account_id,
        metric,
        aggregation,
        usage_local_date,
        quantity,
        unique_value,
        mapping_reason,
        period_segment_id,
        subscription_line_id,
        billing_period_start,
        is_billed,
        billed_at,
        rejection_reason,
        counts_now,
        counts_at_billing,
        is_late,
        mapping_fingerprint,
        decided_by_invocation_id,
        assigned_by_invocation_id
    from assigned
)

select * from final
