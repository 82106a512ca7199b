{#-
    The contract book (SPEC 2.2) from NetSuite's SuiteBilling tables: the one mapping, written once.

    `usage-loader contracts pull` renders these macros with plain Jinja over the tables it read
    with SuiteQL (loaded into DuckDB); dbt can call the same macros over `source()`s of the same
    tables (this folder is in `macro-paths`). So they use plain Jinja only (no dbt context) and
    portable SQL, and take the NetSuite relations as arguments. Every NetSuite value is text, as
    SuiteQL answers it (blank means null); dates are `YYYY-MM-DD`, `datecreated` is
    `YYYY-MM-DDTHH24:MI:SS+HH:MM`.

    The mapping, column by column, with what is documented and what is inferred:
    docs/netsuite-contract-book.md, "The mapping the product uses". Inferred names (INF there):
    `item.custitem_usage_metric`, `billingaccount.custrecord_usage_timezone`,
    `billingaccount.custrecord_usage_bill_cycle_day`, `subscription.custrecord_usage_proration_method`,
    `subscriptionline.custrecord_usage_rev_rec_rule`, `subscriptionline.custrecord_usage_prepaid_quantity`,
    `subscriptionline.custrecord_usage_prepaid_amount`, `priceplan.custrecord_usage_package_size`,
    `priceplan.custrecord_usage_prorate_tiers` (custom fields the account defines, docs/decisions.md);
    `currency.currencyprecision`, `subscriptionchangeorder.subscriptionchangeorderstatus` and
    `subscriptionchangeorder.terminateatstartofday` (NetSuite fields whose SuiteQL names are not
    documented).

    What the product cannot express maps to null here, and `netsuite_book_problems` lists it (table,
    internal id, column, value): the pull stops on any such row, never writing a book that would
    rate by another rule.
-#}


{#- A record's id in the book: its External ID when it has one, else its internal id. -#}
{% macro netsuite_book_key(alias) -%}
    coalesce({{ alias }}.externalid, {{ alias }}.id)
{%- endmacro %}


{#- A reference in the book: the referenced record's External ID, else the internal id held. -#}
{% macro netsuite_book_ref(target_alias, reference) -%}
    coalesce({{ target_alias }}.externalid, {{ reference }})
{%- endmacro %}


{#- Zero as the book writes an amount of this currency: `0` or `0.00` (its precision). -#}
{% macro netsuite_book_zero(currency_alias) -%}
    case
        when coalesce({{ currency_alias }}.currencyprecision, '2') = '0' then '0'
        else '0.' || repeat('0', cast(coalesce({{ currency_alias }}.currencyprecision, '2') as integer))
    end
{%- endmacro %}


{% macro netsuite_book_billing_accounts(billingaccount, currency) %}
select
    {{ netsuite_book_key('ba') }} as billing_account_id,
    ba.customer as netsuite_customer_id,
    ba.name as account_name,
    cur.symbol as currency,
    ba.custrecord_usage_timezone as timezone,
    ba.custrecord_usage_bill_cycle_day as bill_cycle_day
from {{ billingaccount }} as ba
left join {{ currency }} as cur on ba.currency = cur.id
order by cast(ba.id as bigint)
{% endmacro %}


{% macro netsuite_book_subscriptions(subscription, billingaccount, item) %}
select
    {{ netsuite_book_key('s') }} as subscription_id,
    {{ netsuite_book_ref('ba', 's.billingaccount') }} as billing_account_id,
    {{ netsuite_book_ref('plan', 's.subscriptionplan') }} as subscription_plan_id,
    s.startdate as start_date,
    s.enddate as end_date,
    s.custrecord_usage_proration_method as proration_method
from {{ subscription }} as s
left join {{ billingaccount }} as ba on s.billingaccount = ba.id
left join {{ item }} as plan on s.subscriptionplan = plan.id
order by cast(s.id as bigint)
{% endmacro %}


{#- The plan a line was sold with: its earliest price interval (ties: the lowest internal id). -#}
{% macro netsuite_book_first_intervals(subscriptionpriceinterval) %}
select
    ranked.subscription,
    ranked.linenumber,
    ranked.priceplan
from (
    select
        spi.subscription,
        spi.linenumber,
        spi.priceplan,
        row_number() over (
            partition by spi.subscription, spi.linenumber
            order by spi.startdate, cast(spi.id as bigint)
        ) as interval_rank
    from {{ subscriptionpriceinterval }} as spi
) as ranked
where ranked.interval_rank = 1
{% endmacro %}


{#- subscriptionlinetype: 3 Usage (prepaid when it carries a prepaid pool), 2 Recurring. -#}
{% macro netsuite_book_charge_type(line_alias) -%}
    case
        when {{ line_alias }}.subscriptionlinetype = '3'
            and (
                {{ line_alias }}.custrecord_usage_prepaid_quantity is not null
                or {{ line_alias }}.custrecord_usage_prepaid_amount is not null
            )
            then 'prepaid'
        when {{ line_alias }}.subscriptionlinetype = '3' then 'usage'
        when {{ line_alias }}.subscriptionlinetype = '2' then 'recurring'
    end
{%- endmacro %}


{% macro netsuite_book_subscription_lines(
    subscriptionline, subscription, item, subscriptionpriceinterval, priceplan
) %}
select
    {{ netsuite_book_key('sl') }} as subscription_line_id,
    {{ netsuite_book_ref('s', 'sl.subscription') }} as subscription_id,
    sl.linenumber as line_number,
    {{ netsuite_book_ref('it', 'sl.item') }} as item_id,
    {{ netsuite_book_charge_type('sl') }} as charge_type,
    case when sl.subscriptionlinetype = '3' then it.custitem_usage_metric end as metric,
    {{ netsuite_book_ref('pp', 'first_interval.priceplan') }} as price_plan_id,
    sl.startdate as start_date,
    case when sl.enddate = s.enddate then null else sl.enddate end as end_date,
    coalesce(
        sl.custrecord_usage_rev_rec_rule,
        case
            when sl.subscriptionlinetype = '3' then 'consumption'
            when sl.subscriptionlinetype = '2' then 'ratable'
        end
    ) as rev_rec_rule,
    sl.custrecord_usage_prepaid_quantity as prepaid_quantity,
    sl.custrecord_usage_prepaid_amount as prepaid_amount
from {{ subscriptionline }} as sl
left join {{ subscription }} as s on sl.subscription = s.id
left join {{ item }} as it on sl.item = it.id
left join ({{ netsuite_book_first_intervals(subscriptionpriceinterval) }}) as first_interval
    on sl.subscription = first_interval.subscription and sl.linenumber = first_interval.linenumber
left join {{ priceplan }} as pp on first_interval.priceplan = pp.id
order by cast(sl.id as bigint)
{% endmacro %}


{#-
    A price plan's tiers: one book tier per distinct `fromval` (ascending), its unit price from the
    Rate row (`pricingoption` -101) and its flat amount from the Fixed Amount row (-102) at that
    `fromval`; `up_to` is the next tier's `fromval`.
-#}
{% macro netsuite_book_ranked_tiers(pricetiers) %}
select
    merged.priceplan,
    merged.fromval,
    merged.rate,
    merged.fixed,
    merged.minamount,
    merged.maxamount,
    merged.rows_per_option,
    row_number() over (
        partition by merged.priceplan order by cast(merged.fromval as decimal(38, 9))
    ) as tier,
    lead(merged.fromval) over (
        partition by merged.priceplan order by cast(merged.fromval as decimal(38, 9))
    ) as up_to,
    count(*) over (partition by merged.priceplan) as tiers
from (
    select
        pt.priceplan,
        pt.fromval,
        max(case when pt.pricingoption = '-101' then pt.value end) as rate,
        max(case when pt.pricingoption = '-102' then pt.value end) as fixed,
        max(pt.minamount) as minamount,
        max(pt.maxamount) as maxamount,
        greatest(
            sum(case when pt.pricingoption = '-101' then 1 else 0 end),
            sum(case when pt.pricingoption = '-102' then 1 else 0 end)
        ) as rows_per_option
    from {{ pricetiers }} as pt
    group by pt.priceplan, pt.fromval
) as merged
{% endmacro %}


{#-
    priceplantype 2 (Tiered, CUMULATIVE_TIER): package when the plan has a package size, else
    graduated with several tiers, flat with one Fixed Amount tier, per_unit with one Rate tier;
    priceplantype 4: volume. Any other type is null (netsuite_book_problems lists it).
-#}
{% macro netsuite_book_price_plans(priceplan, pricetiers, currency) %}
select
    {{ netsuite_book_key('pp') }} as price_plan_id,
    cur.symbol as currency,
    case
        when pp.priceplantype = '4' and pp.custrecord_usage_package_size is null then 'volume'
        when pp.priceplantype = '2' and pp.custrecord_usage_package_size is not null then 'package'
        when pp.priceplantype = '2' and first_tier.tiers > 1 then 'graduated'
        when pp.priceplantype = '2' and first_tier.tiers = 1 and first_tier.rate is null then 'flat'
        when pp.priceplantype = '2' and first_tier.tiers = 1 then 'per_unit'
    end as pricing_model,
    pp.custrecord_usage_package_size as package_size,
    first_tier.minamount as minimum_amount,
    case when pp.custrecord_usage_prorate_tiers = 'T' then 'true' else 'false' end as prorate_tiers
from {{ priceplan }} as pp
left join {{ currency }} as cur on pp.currency = cur.id
left join ({{ netsuite_book_ranked_tiers(pricetiers) }}) as first_tier
    on pp.id = first_tier.priceplan and first_tier.tier = 1
order by cast(pp.id as bigint)
{% endmacro %}


{% macro netsuite_book_price_plan_tiers(priceplan, pricetiers, currency) %}
select
    {{ netsuite_book_key('pp') }} as price_plan_id,
    cast(t.tier as string) as tier,
    t.up_to,
    coalesce(t.rate, {{ netsuite_book_zero('cur') }}) as unit_price,
    coalesce(t.fixed, {{ netsuite_book_zero('cur') }}) as flat_amount
from ({{ netsuite_book_ranked_tiers(pricetiers) }}) as t
inner join {{ priceplan }} as pp on t.priceplan = pp.id
left join {{ currency }} as cur on pp.currency = cur.id
order by cast(pp.id as bigint), t.tier
{% endmacro %}


{#-
    The change-order lines that are amendments: approved, not voided orders; MODIFY_PRICING lines
    that change the plan, TERMINATE and RENEW lines, and lines of any action the product does not
    know (their change_type is null). ACTIVATE starts a line: no amendment.
-#}
{% macro netsuite_book_change_lines(subscriptionchangeorder, changeorderline) %}
select
    co.id as changeorder_id,
    {{ netsuite_book_key('co') }} as changeorder_key,
    co.action,
    co.effectivedate,
    co.terminateatstartofday,
    co.renewalenddate,
    co.datecreated,
    col.subscriptionline,
    col.newpriceplan
from {{ subscriptionchangeorder }} as co
inner join {{ changeorderline }} as col on co.id = col.subscriptionchangeorder
where
    co.approvalstatus = 'APPROVED'
    and coalesce(co.subscriptionchangeorderstatus, '') <> 'VOIDED'
    and coalesce(co.action, '') <> 'ACTIVATE'
    and not (
        co.action = 'MODIFY_PRICING'
        and (col.newpriceplan is null or col.newpriceplan = coalesce(col.priceplan, ''))
    )
{% endmacro %}


{#-
    A change order of one line is one amendment under the order's id; an order of several lines
    gives one amendment per line, `<order id>-<line id>`. A termination effective at the end of
    its day (NetSuite's default) ends the line that day: the book's effective date is the next day.
-#}
{% macro netsuite_book_amendments(subscriptionchangeorder, changeorderline, subscriptionline, priceplan) %}
select
    c.changeorder_key || case
        when count(*) over (partition by c.changeorder_id) > 1
            then '-' || {{ netsuite_book_ref('sl', 'c.subscriptionline') }}
        else ''
    end as amendment_id,
    {{ netsuite_book_ref('sl', 'c.subscriptionline') }} as subscription_line_id,
    case c.action
        when 'MODIFY_PRICING' then 'price_change'
        when 'TERMINATE' then 'termination'
        when 'RENEW' then 'extension'
    end as change_type,
    case
        when c.action = 'TERMINATE' and coalesce(c.terminateatstartofday, 'F') <> 'T'
            then cast(cast(cast(c.effectivedate as date) + interval '1' day as date) as string)
        else c.effectivedate
    end as effective_date,
    case
        when c.action = 'MODIFY_PRICING' then {{ netsuite_book_ref('pp', 'c.newpriceplan') }}
    end as new_price_plan_id,
    case when c.action = 'RENEW' then c.renewalenddate end as new_end_date,
    case
        when c.datecreated like '%+00:00' then substr(c.datecreated, 1, 19) || 'Z'
        else c.datecreated
    end as entered_at
from ({{ netsuite_book_change_lines(subscriptionchangeorder, changeorderline) }}) as c
left join {{ subscriptionline }} as sl on c.subscriptionline = sl.id
left join {{ priceplan }} as pp on c.newpriceplan = pp.id
order by cast(c.changeorder_id as bigint), cast(c.subscriptionline as bigint)
{% endmacro %}


{#-
    What NetSuite holds that the product cannot express, one row per record and column:
    netsuite_table, netsuite_id (internal id), external_id, netsuite_column, netsuite_value, problem.
    `relations` maps each NetSuite table name to its relation.
-#}
{% macro netsuite_book_problems(relations) %}
{%- set r = relations -%}
select
    'priceplan' as netsuite_table,
    pp.id as netsuite_id,
    pp.externalid as external_id,
    'priceplantype' as netsuite_column,
    pp.priceplantype as netsuite_value,
    'a pricing model the product cannot express (it knows 2 Tiered and 4 Volume)' as problem
from {{ r.priceplan }} as pp
where coalesce(pp.priceplantype, '') not in ('2', '4')
union all
select
    'priceplan',
    pp.id,
    pp.externalid,
    'custrecord_usage_package_size',
    pp.custrecord_usage_package_size,
    'a package size on a Volume plan: the product has no volume package model'
from {{ r.priceplan }} as pp
where pp.priceplantype = '4' and pp.custrecord_usage_package_size is not null
union all
select
    'priceplan',
    pp.id,
    pp.externalid,
    'pricetiers',
    null,
    'a price plan without tiers'
from {{ r.priceplan }} as pp
where not exists (select 1 from {{ r.pricetiers }} as pt where pt.priceplan = pp.id)
union all
select
    'priceplan',
    pp.id,
    pp.externalid,
    'currency',
    pp.currency,
    'a currency that is not in the currency table'
from {{ r.priceplan }} as pp
left join {{ r.currency }} as cur on pp.currency = cur.id
where cur.symbol is null
union all
select
    'pricetiers',
    pt.id,
    null,
    'pricingoption',
    pt.pricingoption,
    'a pricing option the product cannot express (it knows -101 Rate and -102 Fixed Amount)'
from {{ r.pricetiers }} as pt
where coalesce(pt.pricingoption, '') not in ('-101', '-102')
union all
select
    'pricetiers',
    t.priceplan,
    null,
    'fromval',
    t.fromval,
    'tiers that are not 1..n: two tiers of one pricing option above the same quantity'
from ({{ netsuite_book_ranked_tiers(r.pricetiers) }}) as t
where t.rows_per_option > 1
union all
select
    'pricetiers',
    t.priceplan,
    null,
    'fromval',
    t.fromval,
    'tiers that are not 1..n: the first tier does not start above 0'
from ({{ netsuite_book_ranked_tiers(r.pricetiers) }}) as t
where t.tier = 1 and cast(t.fromval as decimal(38, 9)) <> 0
union all
select
    'pricetiers',
    t.priceplan,
    null,
    'maxamount',
    t.maxamount,
    'a maximum amount (a cap): the product has no cap'
from ({{ netsuite_book_ranked_tiers(r.pricetiers) }}) as t
where t.maxamount is not null
union all
select
    'pricetiers',
    t.priceplan,
    null,
    'minamount',
    t.minamount,
    'a minimum amount on a tier past the first: the product has one minimum per plan'
from ({{ netsuite_book_ranked_tiers(r.pricetiers) }}) as t
where t.tier > 1 and t.minamount is not null
union all
select
    'subscriptionline',
    sl.id,
    sl.externalid,
    'subscriptionlinetype',
    sl.subscriptionlinetype,
    'a charge type the product cannot express (it knows 2 Recurring and 3 Usage)'
from {{ r.subscriptionline }} as sl
where coalesce(sl.subscriptionlinetype, '') not in ('2', '3')
union all
select
    'subscriptionline',
    sl.id,
    sl.externalid,
    'item.custitem_usage_metric',
    sl.item,
    'a usage line whose item names no metric'
from {{ r.subscriptionline }} as sl
left join {{ r.item }} as it on sl.item = it.id
where sl.subscriptionlinetype = '3' and it.custitem_usage_metric is null
union all
select
    'subscriptionline',
    sl.id,
    sl.externalid,
    'custrecord_usage_prepaid_quantity',
    coalesce(sl.custrecord_usage_prepaid_quantity, sl.custrecord_usage_prepaid_amount),
    'a prepaid pool on a line that is not a usage line'
from {{ r.subscriptionline }} as sl
where
    sl.subscriptionlinetype = '2'
    and (
        sl.custrecord_usage_prepaid_quantity is not null
        or sl.custrecord_usage_prepaid_amount is not null
    )
union all
select
    'subscriptionline',
    sl.id,
    sl.externalid,
    'subscriptionpriceinterval',
    null,
    'a line without a price interval, so without a price plan'
from {{ r.subscriptionline }} as sl
where not exists (
    select 1
    from {{ r.subscriptionpriceinterval }} as spi
    where spi.subscription = sl.subscription and spi.linenumber = sl.linenumber
)
union all
select
    'billingaccount',
    ba.id,
    ba.externalid,
    'custrecord_usage_timezone',
    null,
    'a billing account without a time zone'
from {{ r.billingaccount }} as ba
where ba.custrecord_usage_timezone is null
union all
select
    'billingaccount',
    ba.id,
    ba.externalid,
    'custrecord_usage_bill_cycle_day',
    null,
    'a billing account without a bill cycle day'
from {{ r.billingaccount }} as ba
where ba.custrecord_usage_bill_cycle_day is null
union all
select
    'billingaccount',
    ba.id,
    ba.externalid,
    'currency',
    ba.currency,
    'a currency that is not in the currency table'
from {{ r.billingaccount }} as ba
left join {{ r.currency }} as cur on ba.currency = cur.id
where cur.symbol is null
union all
select
    'subscription',
    s.id,
    s.externalid,
    'custrecord_usage_proration_method',
    s.custrecord_usage_proration_method,
    'a proration method the product cannot express'
    || ' (it knows calendar_days, business_days, half_month and none)'
from {{ r.subscription }} as s
where
    coalesce(s.custrecord_usage_proration_method, '')
    not in ('calendar_days', 'business_days', 'half_month', 'none')
union all
select
    'subscriptionchangeorder',
    c.changeorder_id,
    c.changeorder_key,
    'action',
    c.action,
    'a change-order action the product cannot express'
    || ' (it knows ACTIVATE, MODIFY_PRICING, TERMINATE and RENEW)'
from ({{ netsuite_book_change_lines(r.subscriptionchangeorder, r.changeorderline) }}) as c
where coalesce(c.action, '') not in ('MODIFY_PRICING', 'TERMINATE', 'RENEW')
{% endmacro %}
