-- One row per billing account × billing period: the invoice total (rated usage records plus
-- recurring flat fees), whether it needs an approval and whether a current approval exists.
with

records as (
    select * from {{ ref('int_usage_records_prepared') }}
),

segments as (
    select * from {{ ref('int_period_segments_rated') }}
),

approvals as (
    select * from {{ ref('stg_contract_book__usage_approvals') }}
),

amounts as (
    select
        billing_account_id,
        billing_period_start,
        currency,
        rated_amount as amount
    from records
    union all
    select
        billing_account_id,
        billing_period_start,
        currency,
        rated_amount as amount
    from segments
    where charge_type = 'recurring'
),

totals as (
    select
        billing_account_id,
        billing_period_start,
        min(currency) as currency,
        cast(sum(amount) as decimal(38, 9)) as invoice_total
    from amounts
    group by 1, 2
),

approval_state as (
    select
        totals.billing_account_id,
        totals.billing_period_start,
        count(approvals.billing_account_id) as approvals_on_file,
        sum(case when approvals.approved_amount = totals.invoice_total then 1 else 0 end) as current_approvals,
        max(approvals.approved_amount) as approved_amount_on_file
    from totals
    left join approvals
        on totals.billing_account_id = approvals.billing_account_id
            and totals.billing_period_start = approvals.billing_period_start
    group by 1, 2
),

final as (
    select
        totals.*,
        totals.invoice_total >= {{ var('approval_threshold_amount', 10000) }} as requires_approval,
        approval_state.current_approvals > 0 as has_current_approval,
        approval_state.approvals_on_file > 0 and approval_state.current_approvals = 0 as has_stale_approval,
        approval_state.approved_amount_on_file
    from totals
    inner join approval_state
        on totals.billing_account_id = approval_state.billing_account_id
            and totals.billing_period_start = approval_state.billing_period_start
)

select * from final
