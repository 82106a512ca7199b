-- One row per distinct source event (a deduplication key of a source system), or per raw record
-- that could not be read as an event: the raw record that counts, how many copies or versions
-- arrived, and the Usage Record it counts in or the reason it was quarantined.
with

classified as (
    select * from {{ ref('int_usage_records_classified') }}
),

copies as (
    select
        event_key,
        count(*) as raw_record_count,
        sum(case when record_outcome = 'duplicate' then 1 else 0 end) as duplicate_count,
        sum(case when is_conflict then 1 else 0 end) as conflict_count
    from classified
    where event_key is not null
    group by 1
),

-- the record that speaks for the event: its current version, else its latest rejected copy
representatives as (
    select
        *,
        coalesce(event_key, raw_record_id) as lineage_id,
        row_number() over (
            partition by coalesce(event_key, raw_record_id)
            order by
                case when dedup_status = 'current' then 0 else 1 end,
                received_at desc nulls last,
                raw_record_id desc
        ) as representative_rank
    from classified
    where record_outcome <> 'duplicate'
),

final as (
    select
        representatives.lineage_id,
        representatives.event_key,
        representatives.source_system,
        representatives.source_event_key,
        -- the raw record that counts
        representatives.raw_record_id,
        representatives.file_name,
        representatives.record_number,
        coalesce(copies.raw_record_count, 1) as raw_record_count,
        coalesce(copies.duplicate_count, 0) as duplicate_count,
        coalesce(copies.conflict_count, 0) as conflict_count,
        -- the event
        representatives.source_customer_key,
        representatives.source_metric,
        representatives.billing_account_id,
        representatives.metric,
        representatives.occurred_at,
        representatives.usage_local_date,
        representatives.received_at,
        representatives.source_quantity,
        representatives.billing_quantity,
        -- where it went
        representatives.record_outcome as event_outcome,
        representatives.quarantine_reason,
        representatives.subscription_line_id,
        representatives.billing_period_start,
        representatives.is_late,
        representatives.counted_at_billing,
        representatives.late_usage_outcome,
        representatives.external_id,
        representatives.period_segment_external_id
    from representatives
    left join copies
        on representatives.event_key = copies.event_key
    where representatives.representative_rank = 1
)

select * from final
