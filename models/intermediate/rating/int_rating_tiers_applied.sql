-- One row per rating request × tier of its price plan: the tier's bounds and flat amount scaled by
-- the proration factor, whether the quantity reaches it, its units and its amount. The rating is
-- computed here once; int_rating_requests_rated adds up the tiers of each request.
with

requests as (
    select * from {{ ref('int_rating_requests') }}
),

plans as (
    select * from {{ ref('stg_contract_book__price_plans') }}
),

tiers as (
    select * from {{ ref('stg_contract_book__price_plan_tiers') }}
),

{{ rated_tiers_ctes() }},

final as (
    select * from rated_tiers
)

select * from final
