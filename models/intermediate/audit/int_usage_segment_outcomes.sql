-- One row per period segment that has a Usage Record or a late-usage outcome: what the
-- classification of its raw records takes from it (its late-usage outcome, its regular and its
-- adjustment External ID), and the three as one value. A few rows per line, joined to the raw
-- records the classification classifies; it keeps the outcomes it classified with and classifies
-- again the records of a segment whose outcome changed.
with

late_outcomes as (
    select * from {{ ref('int_late_usage_adjustments') }}
),

usage_records as (
    select * from {{ ref('int_usage_records_prepared') }}
),

outcomes as (
    select
        period_segment_id,
        late_usage_outcome,
        cast(null as string) as regular_external_id,
        cast(null as string) as adjustment_external_id
    from late_outcomes

    union all

    select
        period_segment_id,
        cast(null as string) as late_usage_outcome,
        external_id as regular_external_id,
        cast(null as string) as adjustment_external_id
    from usage_records
    where not is_adjustment

    union all

    -- an adjustment belongs to the segment whose late usage it bills
    select
        original_period_segment_id as period_segment_id,
        cast(null as string) as late_usage_outcome,
        cast(null as string) as regular_external_id,
        external_id as adjustment_external_id
    from usage_records
    where is_adjustment
),

final as (
    select
        period_segment_id,
        max(late_usage_outcome) as late_usage_outcome,
        max(regular_external_id) as regular_external_id,
        max(adjustment_external_id) as adjustment_external_id,
        concat_ws(
            '|',
            coalesce(max(late_usage_outcome), ''),
            coalesce(max(regular_external_id), ''),
            coalesce(max(adjustment_external_id), '')
        ) as segment_outcome
    from outcomes
    group by 1
)

select * from final
