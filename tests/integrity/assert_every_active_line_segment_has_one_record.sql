-- Completeness: every period segment of a usage or prepaid line has exactly one regular Usage
-- Record, and no regular record exists without its period segment.
with

segments as (
    select
        segments.period_segment_id,
        segments.subscription_line_id,
        segments.segment_start
    from {{ ref('int_line_segments_prorated') }} as segments
    inner join {{ ref('int_subscription_lines_amended') }} as subscription_lines
        on segments.subscription_line_id = subscription_lines.subscription_line_id
    where subscription_lines.charge_type in ('usage', 'prepaid')
),

records as (
    select
        subscription_line_id,
        segment_start,
        count(*) as record_count
    from {{ ref('fct_usage_records') }}
    where not is_adjustment
    group by 1, 2
)

select
    coalesce(segments.subscription_line_id, records.subscription_line_id) as subscription_line_id,
    coalesce(segments.segment_start, records.segment_start) as segment_start,
    records.record_count
from segments
full outer join records
    on segments.subscription_line_id = records.subscription_line_id
        and segments.segment_start = records.segment_start
where segments.period_segment_id is null
    or records.record_count is null
    or records.record_count <> 1
