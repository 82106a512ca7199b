-- Every raw record read ends in exactly one of used, duplicate, withdrawn or quarantined, and the
-- per-source counts balance. Fails on every source whose counts do not reconcile. (That no record
-- is classified twice is the uniqueness test of int_usage_records_classified.raw_record_id; with
-- it, equal counts mean as many distinct records classified as read.)
with

raw_counts as (
    select
        source_system,
        count(*) as raw_records
    from {{ ref('int_usage_records_unioned') }}
    group by 1
),

classified_counts as (
    select
        source_system,
        count(*) as classified_records
    from {{ ref('int_usage_records_classified') }}
    group by 1
),

reconciliation as (
    select * from {{ ref('rpt_source_reconciliation') }}
)

select
    raw_counts.source_system,
    raw_counts.raw_records,
    classified_counts.classified_records,
    reconciliation.records_read,
    reconciliation.is_balanced
from raw_counts
left join classified_counts
    on raw_counts.source_system = classified_counts.source_system
left join reconciliation
    on raw_counts.source_system = reconciliation.source_system
where classified_counts.classified_records is distinct from raw_counts.raw_records
    or reconciliation.records_read is distinct from raw_counts.raw_records
    or not reconciliation.is_balanced
