-- One row per Usage Record × line of its rating: each tier reached (units, unit price, flat amount,
-- amount), the minimum top-up and the rounding to the minor unit, adding up to the record's
-- rated_amount exactly. An adjustment shows, tier by tier, rate(now) − rate(billed) of its
-- original segment, and the part of a negative difference that goes to a credit memo instead.
with

records as (
    select *
    from {{ ref('fct_usage_records') }}
),

prepared as (
    select *
    from {{ ref('int_usage_records_prepared') }}
),

ratings as (
    select *
    from {{ ref('int_rating_requests_rated') }}
),

tiers as (
    select *
    from {{ ref('int_rating_tiers_applied') }}
),

plans as (
    select *
    from {{ ref('stg_contract_book__price_plans') }}
),

-- the rating behind each record: a billed segment's as billed, an unbilled one's as rated now;
-- an adjustment's is now minus billed of its original segment
record_ratings as (
    select
        records.external_id,
        records.is_adjustment,
        records.rated_amount as record_rated_amount,
        prepared.original_period_segment_id as rated_period_segment_id,
        case
            when records.is_adjustment then 'now_minus_billed'
            when records.is_billed then 'billed'
            else 'now'
        end as rating_scope,
        case
            when records.is_adjustment or not records.is_billed
                then prepared.original_period_segment_id || '|now'
            else prepared.original_period_segment_id || '|billed'
        end as added_rating_id,
        case
            when records.is_adjustment then prepared.original_period_segment_id || '|billed'
        end as subtracted_rating_id
    from records
    inner join prepared
        on records.external_id = prepared.external_id
),

rating_pairs as (
    select
        record_ratings.*,
        added.price_plan_id,
        added.proration_factor,
        cast(added.rated_quantity - coalesce(subtracted.rated_quantity, 0) as decimal(38, 9)) as rated_quantity,
        cast(added.tiered_amount - coalesce(subtracted.tiered_amount, 0) as decimal(38, 12)) as tiered_amount,
        cast(added.unrounded_amount - coalesce(subtracted.unrounded_amount, 0) as decimal(38, 12)) as unrounded_amount,
        cast(added.rated_amount - coalesce(subtracted.rated_amount, 0) as decimal(38, 12)) as rated_amount
    from record_ratings
    inner join ratings as added
        on record_ratings.added_rating_id = added.rating_id
    left join ratings as subtracted
        on record_ratings.subtracted_rating_id = subtracted.rating_id
),

-- every tier reached in the rating (for an adjustment: in either rating), as a difference
tier_lines as (
    select
        rating_pairs.external_id,
        added.tier,
        added.lower_bound as tier_lower_bound,
        added.upper_bound as tier_upper_bound,
        cast(added.units - coalesce(subtracted.units, 0) as decimal(38, 12)) as units,
        cast(added.unit_price as decimal(38, 12)) as unit_price,
        cast(added.flat_amount - coalesce(subtracted.flat_amount, 0) as decimal(38, 12)) as flat_amount,
        cast(added.tier_amount - coalesce(subtracted.tier_amount, 0) as decimal(38, 12)) as amount
    from rating_pairs
    inner join tiers as added
        on rating_pairs.added_rating_id = added.rating_id
    -- both ratings use the same plan, so they have the same tiers
    left join tiers as subtracted
        on rating_pairs.subtracted_rating_id = subtracted.rating_id
            and added.tier = subtracted.tier
    where added.is_reached or coalesce(subtracted.is_reached, false)
),

-- the minimum lifts the tiered amount; rounding takes it to the minor unit
adjustment_lines as (
    select
        external_id,
        'minimum_top_up' as rating_line_kind,
        cast(unrounded_amount - tiered_amount as decimal(38, 12)) as amount
    from rating_pairs
    where unrounded_amount <> tiered_amount

    union all

    select
        external_id,
        'rounding' as rating_line_kind,
        cast(rated_amount - unrounded_amount as decimal(38, 12)) as amount
    from rating_pairs
    where rated_amount <> unrounded_amount

    -- NetSuite takes no negative usage: a negative difference is credited, not sent
    union all

    select
        external_id,
        'credit_memo_offset' as rating_line_kind,
        cast(record_rated_amount - rated_amount as decimal(38, 12)) as amount
    from rating_pairs
    where is_adjustment
        and record_rated_amount <> rated_amount
),

rating_lines as (
    select
        external_id,
        'tier' as rating_line_kind,
        tier,
        tier_lower_bound,
        tier_upper_bound,
        units,
        unit_price,
        flat_amount,
        amount
    from tier_lines

    union all

    select
        external_id,
        rating_line_kind,
        cast(null as integer) as tier,
        cast(null as decimal(38, 12)) as tier_lower_bound,
        cast(null as decimal(38, 12)) as tier_upper_bound,
        cast(null as decimal(38, 12)) as units,
        cast(null as decimal(38, 12)) as unit_price,
        cast(null as decimal(38, 12)) as flat_amount,
        amount
    from adjustment_lines
),

final as (
    select
        -- keys
        cast(
            rating_lines.external_id || '|' || rating_lines.rating_line_kind
            || coalesce('|' || cast(rating_lines.tier as string), '')
            as string
        ) as rated_usage_tier_id,
        cast(rating_lines.external_id as string) as external_id,
        -- the record
        cast(records.billing_account_id as string) as billing_account_id,
        cast(records.subscription_line_id as string) as subscription_line_id,
        cast(records.billing_period_start as date) as billing_period_start,
        cast(records.segment_start as date) as segment_start,
        cast(records.segment_end as date) as segment_end,
        cast(records.is_adjustment as boolean) as is_adjustment,
        cast(records.adjusts_period_start as date) as adjusts_period_start,
        -- the rating
        cast(rating_pairs.rated_period_segment_id as string) as rated_period_segment_id,
        cast(rating_pairs.rating_scope as string) as rating_scope,
        cast(rating_pairs.price_plan_id as string) as price_plan_id,
        cast(plans.pricing_model as string) as pricing_model,
        cast(rating_pairs.proration_factor as decimal(38, 18)) as proration_factor,
        cast(rating_pairs.rated_quantity as decimal(38, 9)) as rated_quantity,
        -- the line of the rating
        cast(rating_lines.rating_line_kind as string) as rating_line_kind,
        cast(rating_lines.tier as integer) as tier,
        cast(rating_lines.tier_lower_bound as decimal(38, 12)) as tier_lower_bound,
        cast(rating_lines.tier_upper_bound as decimal(38, 12)) as tier_upper_bound,
        cast(rating_lines.units as decimal(38, 12)) as units,
        cast(rating_lines.unit_price as decimal(38, 12)) as unit_price,
        cast(rating_lines.flat_amount as decimal(38, 12)) as flat_amount,
        cast(rating_lines.amount as decimal(38, 12)) as amount,
        -- the record's amount the lines add up to
        cast(records.rated_amount as decimal(38, 9)) as record_rated_amount,
        cast(records.currency as string) as currency
    from rating_lines
    inner join records
        on rating_lines.external_id = records.external_id
    inner join rating_pairs
        on rating_lines.external_id = rating_pairs.external_id
    left join plans
        on rating_pairs.price_plan_id = plans.price_plan_id
)

select *
from final
