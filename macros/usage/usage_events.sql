{#-
    The steps from raw records to assigned events, each written once as a macro over a relation
    (or CTE) of its input, because they are computed in two places that must agree:
    - the step models (int_usage_events_deduplicated, int_usage_events_mapped,
      int_usage_events_assigned): views that apply one step to every record below them, for
      auditors and unit tests;
    - the event table (int_usage_records_assigned): the one table written at the event grain,
      which applies the three steps in one statement to the events a run has to decide (every
      event on a full build; those a new file, a changed holder or changed mappings touch on an
      incremental one).
    A pytest compares the event table's rows with the step views' on the sample data.
-#}

{#- Deduplication: one row per valid raw record of `records` (columns of the union plus the
    source's dedup_policy) with its outcome (current, duplicate, superseded), and the interval in
    which it was the version known. The policy per source (first or last received wins) is the
    source_systems seed's. One ordering per event key (received, then file and line) serves every
    rule: the first copy is rank 1, the latest version is rank = versions. -#}
{% macro usage_events_deduplicated(records) -%}
    select
        ranked.raw_record_id,
        ranked.source_system,
        ranked.source_system || ':' || ranked.source_event_key as event_key,
        ranked.source_event_key,
        ranked.file_name,
        ranked.record_number,
        ranked.source_customer_key,
        ranked.source_metric,
        ranked.occurred_at,
        ranked.usage_local_date,
        ranked.received_at,
        ranked.quantity,
        ranked.properties,
        ranked.is_deleted,
        ranked.dedup_policy,
        ranked.versions as copies_received,
        -- outcome
        case
            when ranked.dedup_policy = 'first_received_wins' and ranked.received_rank = 1 then 'current'
            when ranked.dedup_policy = 'first_received_wins' then 'duplicate'
            when ranked.received_rank = ranked.versions then 'current'
            else 'superseded'
        end as dedup_status,
        ranked.dedup_policy = 'first_received_wins'
        and ranked.received_rank > 1
        and ranked.content_hash <> ranked.first_content_hash as is_conflict,
        -- the interval in which this version was the one known (for billed periods)
        ranked.received_at as valid_from,
        case when ranked.dedup_policy = 'last_received_wins' then ranked.next_version_received_at end as valid_to,
        -- the run that decided this event
        '{{ invocation_id }}' as decided_by_invocation_id
    from (
        select
            raw_record_id,
            source_system,
            source_event_key,
            file_name,
            record_number,
            source_customer_key,
            source_metric,
            occurred_at,
            usage_local_date,
            received_at,
            quantity,
            properties,
            is_deleted,
            content_hash,
            dedup_policy,
            row_number() over received_order as received_rank,
            -- over the whole partition, in the same ordering: one sort serves all four (spelled
            -- out: a frame on a named window is not portable)
            count(*) over (
                partition by source_system, source_event_key
                order by received_at asc, file_name asc, record_number asc
                rows between unbounded preceding and unbounded following
            ) as versions,
            lead(received_at) over received_order as next_version_received_at,
            first_value(content_hash) over received_order as first_content_hash
        from {{ records }}
        window
            received_order as (
                partition by source_system, source_event_key
                order by received_at asc, file_name asc, record_number asc
            )
    ) as ranked
{%- endmacro %}

{#- Mapping: one row per deduplicated version of `events` that can count (current or superseded,
    never a duplicate delivery), mapped to its billing account and metric, in billing units, on
    its local date, with the fingerprint of the contract book's mappings it was mapped with.
    `with_duplicates`: the duplicate deliveries pass through too, with their occurred_at as
    delivered (source_occurred_at), for the event table to read deduplication's result once; what
    mapping and assignment give them is not theirs (the event table keeps none of it). -#}
{% macro usage_events_mapped(events, with_duplicates=false) -%}
    select
        -- event
        mapped.raw_record_id,
        mapped.event_key,
        mapped.source_system,
        mapped.source_event_key,
        mapped.file_name,
        mapped.record_number,
        mapped.source_customer_key,
        mapped.source_metric,
        mapped.dedup_status,
        mapped.copies_received,
        mapped.is_conflict,
        mapped.valid_from,
        mapped.valid_to,
        mapped.is_deleted,
        mapped.received_at,
        -- billing account and metric
        mapped.billing_account_id,
        mapped.metric,
        mapped.aggregation,
        -- when it happened, in the account's time zone
        coalesce(mapped.usage_local_date, {{ local_date('mapped.occurred_at', 'mapped.timezone') }}) as usage_local_date,
        coalesce(mapped.occurred_at, {{ local_midnight_utc('mapped.usage_local_date', 'mapped.timezone') }}) as occurred_at,
        {%- if with_duplicates %}
        mapped.occurred_at as source_occurred_at,
        {%- endif %}
        -- how much, in billing units
        mapped.quantity as source_quantity,
        cast(mapped.quantity * coalesce(mapped.multiplier, 1) as decimal(38, 9)) as quantity,
        case
            when mapped.unique_property is not null then {{ json_text_dynamic('mapped.properties', 'mapped.unique_property') }}
        end as unique_value,
        case
            when mapped.billing_account_id is null then 'unknown_customer'
            when mapped.metric is null or mapped.aggregation is null then 'unknown_metric'
        end as mapping_reason,
        -- what it was mapped from: the deduplication run and the contract book's mappings
        mapped.decided_by_invocation_id,
        mapped.mapping_fingerprint
    from (
        select
            events.*,
            accounts.billing_account_id,
            accounts.timezone,
            metric_mappings.metric,
            metric_mappings.multiplier,
            metrics.aggregation,
            metrics.unique_property,
            {{ mapping_fingerprint() }} as mapping_fingerprint
        from {{ events }} as events
        left join {{ ref('stg_contract_book__customer_mappings') }} as customer_mappings
            on events.source_system = customer_mappings.source_system
                and events.source_customer_key = customer_mappings.source_customer_key
        left join {{ ref('stg_contract_book__billing_accounts') }} as accounts
            on customer_mappings.billing_account_id = accounts.billing_account_id
        left join {{ ref('stg_contract_book__metric_mappings') }} as metric_mappings
            on events.source_system = metric_mappings.source_system
                and events.source_metric = metric_mappings.source_metric
        left join {{ ref('stg_contract_book__metrics') }} as metrics
            on metric_mappings.metric = metrics.metric
        where events.dedup_status in ('current', 'superseded'{% if with_duplicates %}, 'duplicate'{% endif %})
    ) as mapped
{%- endmacro %}

{#- Assignment: one row per mapped version of `events` with the period segment that holds its
    account × metric × local day (int_account_metric_days_held), whether it counts now, whether it
    was known when the period was billed, and whether it is late. -#}
{% macro usage_events_assigned(events) -%}
    select
        assigned.*,
        coalesce(assigned.mapping_reason, case when assigned.period_segment_id is null then 'no_active_line' end) as rejection_reason,
        -- counts in the period segment as known now
        assigned.dedup_status = 'current' and not assigned.is_deleted and assigned.period_segment_id is not null as counts_now,
        -- counted when its billed period was invoiced (the version current at billed_at)
        coalesce(
            assigned.is_billed
            and not assigned.is_deleted
            and assigned.valid_from <= assigned.billed_at
            and (assigned.valid_to is null or assigned.valid_to > assigned.billed_at),
            false
        ) as counts_at_billing,
        -- arrived or changed after its period was billed
        coalesce(assigned.dedup_status = 'current' and assigned.is_billed and assigned.valid_from > assigned.billed_at, false) as is_late,
        '{{ invocation_id }}' as assigned_by_invocation_id
    from (
        select
            events.*,
            holders.period_segment_id,
            holders.subscription_line_id,
            holders.billing_period_start,
            coalesce(holders.is_billed, false) as is_billed,
            holders.billed_at
        from {{ events }} as events
        left join {{ ref('int_account_metric_days_held') }} as holders
            on events.mapping_reason is null
                and events.billing_account_id = holders.billing_account_id
                and events.metric = holders.metric
                and events.usage_local_date = holders.usage_local_date
    ) as assigned
{%- endmacro %}
