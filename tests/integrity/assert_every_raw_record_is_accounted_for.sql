-- Every raw record read ends in exactly one of used, duplicate, withdrawn or quarantined, and the
-- per-source counts balance. Fails on every source whose counts do not reconcile. (That no record
-- is classified twice is the uniqueness test of int_usage_records_classified.raw_record_id; with
-- it, equal counts mean as many distinct records classified as read.) A file that cannot be read
-- counts as one record read and quarantined (unreadable_file): it fails too when such a file has
-- any other record, or its record is not the one quarantined.
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
),

-- per source: the files that cannot be read, their records read, and those quarantined as such
unreadable_files as (
    select
        source_system,
        file_name
    from {{ ref('int_usage_records_unioned') }}
    where invalid_reason = 'unreadable_file'
),

unreadable_counts as (
    select
        unioned.source_system,
        count(distinct unioned.file_name) as unreadable_files,
        count(*) as unreadable_file_records
    from {{ ref('int_usage_records_unioned') }} as unioned
    inner join unreadable_files
        on unioned.source_system = unreadable_files.source_system
            and unioned.file_name = unreadable_files.file_name
    group by 1
)

select
    raw_counts.source_system,
    raw_counts.raw_records,
    classified_counts.classified_records,
    reconciliation.records_read,
    reconciliation.is_balanced,
    unreadable_counts.unreadable_file_records,
    reconciliation.quarantined_unreadable_file
from raw_counts
left join classified_counts
    on raw_counts.source_system = classified_counts.source_system
left join reconciliation
    on raw_counts.source_system = reconciliation.source_system
left join unreadable_counts
    on raw_counts.source_system = unreadable_counts.source_system
where classified_counts.classified_records is distinct from raw_counts.raw_records
    or reconciliation.records_read is distinct from raw_counts.raw_records
    or not reconciliation.is_balanced
    -- an unreadable file is one record, and it is quarantined as unreadable_file
    or coalesce(unreadable_counts.unreadable_file_records, 0) <> coalesce(unreadable_counts.unreadable_files, 0)
    or coalesce(unreadable_counts.unreadable_files, 0) <> reconciliation.quarantined_unreadable_file
