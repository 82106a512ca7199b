-- Usage and prepaid lines recognize revenue on consumption; recurring lines ratably.
select
    subscription_line_id,
    charge_type,
    rev_rec_rule
from {{ ref('subscription_lines') }}
where (charge_type in ('usage', 'prepaid') and rev_rec_rule is distinct from 'consumption')
    or (charge_type = 'recurring' and rev_rec_rule is distinct from 'ratable')
