-- One row per usage record: a subscription line × billing period × plan segment (or a late-usage
-- adjustment of a billed segment), exactly the NetSuite SuiteBilling Usage Records that should exist.
with

records as (
    select * from {{ ref('int_usage_records_prepared') }}
),

invoice_totals as (
    select * from {{ ref('int_invoice_totals_approved') }}
),

final as (
    select
        -- identity
        cast(records.external_id as string) as external_id,
        -- NetSuite references
        cast(records.netsuite_customer_id as string) as netsuite_customer_id,
        cast(records.billing_account_id as string) as billing_account_id,
        cast(records.subscription_id as string) as subscription_id,
        cast(records.subscription_line_id as string) as subscription_line_id,
        cast(records.subscription_line_number as integer) as subscription_line_number,
        cast(records.subscription_plan_id as string) as subscription_plan_id,
        cast(records.item_id as string) as item_id,
        cast(records.charge_type as string) as charge_type,
        cast(records.metric as string) as metric,
        -- period and segment
        cast(records.billing_period_start as date) as billing_period_start,
        cast(records.billing_period_end as date) as billing_period_end,
        cast(records.segment_start as date) as segment_start,
        cast(records.segment_end as date) as segment_end,
        cast(records.usage_date as date) as usage_date,
        -- quantity and amount
        cast(records.quantity as decimal(38, 9)) as quantity,
        cast(records.price_plan_id as string) as price_plan_id,
        cast(records.segment_amendment_id as string) as segment_amendment_id,
        cast(records.segment_amendment_date as date) as segment_amendment_date,
        cast(records.proration_factor as decimal(38, 18)) as proration_factor,
        cast(records.rated_amount as decimal(38, 9)) as rated_amount,
        cast(records.currency as string) as currency,
        cast(records.event_count as bigint) as event_count,
        -- state
        cast(records.is_period_closed as boolean) as is_period_closed,
        cast(records.is_billed as boolean) as is_billed,
        cast(records.is_adjustment as boolean) as is_adjustment,
        cast(records.adjusts_period_start as date) as adjusts_period_start,
        cast(coalesce(invoice_totals.requires_approval, false) as boolean) as requires_approval,
        cast(coalesce(invoice_totals.has_current_approval, false) as boolean) as is_approved,
        cast(
            case
                when records.is_adjustment
                    then 'Late usage of ' || records.metric || ' for the period from '
                        || cast(records.adjusts_period_start as string)
                else records.metric || ' ' || cast(records.segment_start as string)
                    || ' to ' || cast(records.segment_end as string)
                    || ' on plan ' || records.price_plan_id
            end
            as string
        ) as memo,
        cast('{{ invocation_id }}' as string) as dbt_invocation_id
    from records
    left join invoice_totals
        on records.billing_account_id = invoice_totals.billing_account_id
            and records.billing_period_start = invoice_totals.billing_period_start
)

select * from final
