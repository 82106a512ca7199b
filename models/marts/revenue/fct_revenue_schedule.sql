-- One row per subscription line × calendar month (account's time zone) × revenue component, with
-- the prior-period adjustments of late usage in rows of their own: the revenue recognized (ASC 606,
-- SPEC 3.10) and the Usage Records or charges it comes from.
with

allocations as (
    select *
    from {{ ref('int_revenue_amounts_allocated') }}
),

lines as (
    select *
    from {{ ref('int_subscription_lines_amended') }}
),

grouped as (
    select
        subscription_line_id,
        revenue_month,
        component,
        is_prior_period_adjustment,
        min(currency) as currency,
        cast(sum(recognized_amount) as decimal(38, 9)) as recognized_amount,
        count(*) as allocation_count
    from allocations
    group by 1, 2, 3, 4
),

external_ids as (
    select distinct
        subscription_line_id,
        revenue_month,
        component,
        is_prior_period_adjustment,
        external_id
    from allocations
    where external_id is not null
),

external_id_lists as (
    select
        subscription_line_id,
        revenue_month,
        component,
        is_prior_period_adjustment,
        {{ dbt.listagg('external_id', "', '", 'order by external_id') }} as external_ids
    from external_ids
    group by 1, 2, 3, 4
),

segment_ids as (
    select distinct
        subscription_line_id,
        revenue_month,
        component,
        is_prior_period_adjustment,
        period_segment_id
    from allocations
    where period_segment_id is not null
),

segment_id_lists as (
    select
        subscription_line_id,
        revenue_month,
        component,
        is_prior_period_adjustment,
        {{ dbt.listagg('period_segment_id', "', '", 'order by period_segment_id') }} as period_segment_ids
    from segment_ids
    group by 1, 2, 3, 4
),

final as (
    select
        -- keys
        cast(
            grouped.subscription_line_id || '|' || {{ date_yyyymmdd('grouped.revenue_month') }} || '|' || grouped.component
            || case when grouped.is_prior_period_adjustment then '|prior_period_adjustment' else '' end
            as string
        ) as revenue_schedule_id,
        cast(lines.billing_account_id as string) as billing_account_id,
        cast(lines.subscription_id as string) as subscription_id,
        cast(grouped.subscription_line_id as string) as subscription_line_id,
        cast(lines.item_id as string) as item_id,
        cast(lines.charge_type as string) as charge_type,
        cast(lines.rev_rec_rule as string) as rev_rec_rule,
        -- when and what
        cast(grouped.revenue_month as date) as revenue_month,
        cast(grouped.component as string) as component,
        cast(grouped.is_prior_period_adjustment as boolean) as is_prior_period_adjustment,
        -- amount
        cast(grouped.recognized_amount as decimal(38, 9)) as recognized_amount,
        cast(grouped.currency as string) as currency,
        -- where it comes from
        cast(external_id_lists.external_ids as string) as external_ids,
        cast(segment_id_lists.period_segment_ids as string) as period_segment_ids,
        cast(grouped.allocation_count as bigint) as allocation_count
    from grouped
    inner join lines
        on grouped.subscription_line_id = lines.subscription_line_id
    left join external_id_lists
        on grouped.subscription_line_id = external_id_lists.subscription_line_id
            and grouped.revenue_month = external_id_lists.revenue_month
            and grouped.component = external_id_lists.component
            and grouped.is_prior_period_adjustment = external_id_lists.is_prior_period_adjustment
    left join segment_id_lists
        on grouped.subscription_line_id = segment_id_lists.subscription_line_id
            and grouped.revenue_month = segment_id_lists.revenue_month
            and grouped.component = segment_id_lists.component
            and grouped.is_prior_period_adjustment = segment_id_lists.is_prior_period_adjustment
    where not grouped.is_prior_period_adjustment
        or grouped.recognized_amount <> 0
)

select *
from final
