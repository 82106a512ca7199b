-- The auditor's view of each rating is complete: for every Usage Record, its tier lines (tiers
-- reached, minimum top-up, rounding and, for an adjustment, the credit-memo offset) add up to the
-- record's rated_amount exactly, and every record with an amount has its lines.
with

records as (
    select
        external_id,
        rated_amount
    from {{ ref('fct_usage_records') }}
),

tier_totals as (
    select
        external_id,
        sum(amount) as tier_amount,
        count(*) as tier_lines
    from {{ ref('fct_rated_usage_tiers') }}
    group by 1
)

select
    coalesce(records.external_id, tier_totals.external_id) as external_id,
    records.rated_amount,
    tier_totals.tier_amount,
    tier_totals.tier_lines
from records
full outer join tier_totals
    on records.external_id = tier_totals.external_id
where records.external_id is null
    or coalesce(tier_totals.tier_amount, 0) <> records.rated_amount
    or (records.rated_amount <> 0 and tier_totals.external_id is null)
