"""The integrity checks of a contract book (the seed CSVs): every reference resolves and every
line is consistent with its plan and account. Each query selects the offending rows."""

# The key of each seed table: no two rows share it.
SEED_KEYS = {
    "billing_accounts": "billing_account_id",
    "subscriptions": "subscription_id",
    "subscription_lines": "subscription_line_id",
    "price_plans": "price_plan_id",
    "price_plan_tiers": "price_plan_id, tier",
    "amendments": "amendment_id",
    "metrics": "metric",
    "metric_mappings": "source_system, source_metric",
    "customer_mappings": "source_system, source_customer_key",
    "holidays": "holiday_date",
    "billing_runs": "subscription_id, billing_period_start",
    "usage_approvals": "billing_account_id, billing_period_start",
}

SEED_INTEGRITY_CHECKS = {
    "subscription account": """
        select subscription_id from subscriptions
        anti join billing_accounts using (billing_account_id)""",
    "line subscription": """
        select subscription_line_id from subscription_lines
        anti join subscriptions using (subscription_id)""",
    "line plan": """
        select subscription_line_id from subscription_lines
        anti join price_plans using (price_plan_id)""",
    "plan tiers": """
        select price_plan_id from price_plans
        anti join price_plan_tiers using (price_plan_id)""",
    "tier plan": """
        select price_plan_id from price_plan_tiers
        anti join price_plans using (price_plan_id)""",
    "line metric": """
        select subscription_line_id from subscription_lines
        where metric is not null and metric not in (select metric from metrics)""",
    "amendment line": """
        select amendment_id from amendments
        anti join subscription_lines using (subscription_line_id)""",
    "amendment plan": """
        select amendment_id from amendments
        where new_price_plan_id is not null
          and new_price_plan_id not in (select price_plan_id from price_plans)""",
    "mapping metric": """
        select source_metric from metric_mappings anti join metrics using (metric)""",
    "mapping account": """
        select source_customer_key from customer_mappings
        anti join billing_accounts using (billing_account_id)""",
    "billing run subscription": """
        select subscription_id from billing_runs
        anti join subscriptions using (subscription_id)""",
    "approval account": """
        select billing_account_id from usage_approvals
        anti join billing_accounts using (billing_account_id)""",
    "plan currency": """
        select l.subscription_line_id
        from subscription_lines as l
        join subscriptions as s using (subscription_id)
        join billing_accounts as a using (billing_account_id)
        join price_plans as p on p.price_plan_id = l.price_plan_id
        where p.currency <> a.currency""",
    "amended plan currency": """
        select m.amendment_id
        from amendments as m
        join subscription_lines as l using (subscription_line_id)
        join subscriptions as s using (subscription_id)
        join billing_accounts as a using (billing_account_id)
        join price_plans as p on p.price_plan_id = m.new_price_plan_id
        where p.currency <> a.currency""",
    "approval currency": """
        select u.billing_account_id
        from usage_approvals as u
        join billing_accounts as a using (billing_account_id)
        where u.currency <> a.currency""",
    "charge type and revenue rule": """
        select subscription_line_id
        from subscription_lines as l
        join price_plans as p using (price_plan_id)
        where (charge_type = 'recurring') <> (metric is null)
           or (charge_type = 'recurring') <> (rev_rec_rule = 'ratable')
           or (charge_type = 'recurring') <> (p.pricing_model = 'flat')
           or (charge_type = 'prepaid') <> (prepaid_quantity is not null)""",
    "amended metric plan": """
        select m.amendment_id
        from amendments as m
        join subscription_lines as l using (subscription_line_id)
        join price_plans as p on p.price_plan_id = m.new_price_plan_id
        where p.pricing_model = 'flat'""",
}
