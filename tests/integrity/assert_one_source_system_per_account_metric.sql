-- No metric of a billing account is fed by two source systems at once (the same local day):
-- that would bill the same usage twice.
select
    billing_account_id,
    metric,
    usage_local_date,
    count(distinct source_system) as source_systems
from {{ ref('int_usage_records_assigned') }}
where dedup_status = 'current'
    and mapping_reason is null
    and not is_deleted
group by 1, 2, 3
having count(distinct source_system) > 1
