-- One row per subscription line: its term after terminations and extensions, with its account.
-- Its enumerated values (charge type, revenue rule, proration method, change types) are ones the
-- rules know, or the build stops here: every later branch on them has a case for each.
with

lines as (
    select * from {{ ref('stg_contract_book__subscription_lines') }}
),

subscriptions as (
    select * from {{ ref('stg_contract_book__subscriptions') }}
),

accounts as (
    select * from {{ ref('stg_contract_book__billing_accounts') }}
),

-- a change type no rule knows stops here instead of being passed over
amendments as (
    select
        amendment_id,
        subscription_line_id,
        {{ known_contract_value('amendments.change_type', 'change_type') }} as change_type,
        effective_date,
        new_end_date,
        entered_at
    from {{ ref('stg_contract_book__amendments') }}
),

-- the last termination or extension in effective order (ties: entered last) sets the end
term_changes as (
    select
        subscription_line_id,
        case change_type
            when 'termination' then cast({{ dbt.dateadd('day', -1, 'effective_date') }} as date)
            when 'extension' then new_end_date
        end as amended_end_date,
        row_number() over (
            partition by subscription_line_id
            order by effective_date desc, entered_at desc, amendment_id desc
        ) as change_rank
    from amendments
    where change_type in ('termination', 'extension')
),

last_term_change as (
    select * from term_changes
    where change_rank = 1
),

final as (
    select
        -- line
        lines.subscription_line_id,
        lines.subscription_id,
        lines.line_number as subscription_line_number,
        lines.item_id,
        {{ known_contract_value('subscription_lines.charge_type', 'lines.charge_type') }} as charge_type,
        lines.metric,
        lines.price_plan_id as initial_price_plan_id,
        {{ known_contract_value('subscription_lines.rev_rec_rule', 'lines.rev_rec_rule') }} as rev_rec_rule,
        lines.prepaid_quantity,
        lines.prepaid_amount,
        -- subscription and account
        subscriptions.subscription_plan_id,
        {{ known_contract_value('subscriptions.proration_method', 'subscriptions.proration_method') }} as proration_method,
        subscriptions.billing_account_id,
        accounts.netsuite_customer_id,
        accounts.currency,
        accounts.timezone,
        accounts.bill_cycle_day,
        -- term
        lines.start_date as line_start_date,
        coalesce(lines.end_date, subscriptions.end_date) as contracted_end_date,
        case
            when last_term_change.subscription_line_id is not null then last_term_change.amended_end_date
            else coalesce(lines.end_date, subscriptions.end_date)
        end as line_end_date
    from lines
    inner join subscriptions
        on lines.subscription_id = subscriptions.subscription_id
    inner join accounts
        on subscriptions.billing_account_id = accounts.billing_account_id
    left join last_term_change
        on lines.subscription_line_id = last_term_change.subscription_line_id
)

select * from final
