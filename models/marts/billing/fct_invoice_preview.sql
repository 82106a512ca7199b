-- One row per invoice line NetSuite should show for usage billing: a billing account × billing
-- period × charge (a usage record or a recurring fee segment), with the invoice total of its
-- account and period (SPEC 3.9: rated usage plus recurring fees).
with

records as (
    select * from {{ ref('fct_usage_records') }}
),

segments as (
    select * from {{ ref('int_period_segments_rated') }}
),

lines as (
    select * from {{ ref('int_subscription_lines_amended') }}
),

invoice_lines as (
    select
        external_id as invoice_line_id,
        billing_account_id,
        billing_period_start,
        billing_period_end,
        subscription_id,
        subscription_line_id,
        item_id,
        charge_type,
        case when is_adjustment then 'late_usage_adjustment' else 'usage' end as line_kind,
        metric,
        segment_start,
        segment_end,
        price_plan_id,
        proration_factor,
        quantity,
        rated_amount as amount,
        currency
    from records

    union all

    select
        segments.period_segment_id as invoice_line_id,
        segments.billing_account_id,
        segments.billing_period_start,
        segments.billing_period_end,
        segments.subscription_id,
        segments.subscription_line_id,
        lines.item_id,
        lines.charge_type,
        'recurring_fee' as line_kind,
        cast(null as string) as metric,
        segments.segment_start,
        segments.segment_end,
        segments.price_plan_id,
        segments.proration_factor,
        cast(null as decimal(38, 9)) as quantity,
        segments.rated_amount as amount,
        segments.currency
    from segments
    inner join lines
        on segments.subscription_line_id = lines.subscription_line_id
    where lines.charge_type = 'recurring'
),

final as (
    select
        invoice_lines.*,
        cast(sum(invoice_lines.amount) over (
            partition by invoice_lines.billing_account_id, invoice_lines.billing_period_start
        ) as decimal(38, 9)) as invoice_total
    from invoice_lines
)

select * from final
