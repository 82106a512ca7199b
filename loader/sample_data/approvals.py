"""Approvals of the generated book that match their invoice exactly (SPEC 3.5, 3.9).

A clone of the approved-invoice account has one per-unit usage line without tier proration,
one full period in UTC and only ordinary Stripe usage, so its invoice total is
`round(Σ value × multiplier × unit_price + flat, minor unit)`, summed here over the Stripe rows
that count (the first export of each ordinary event, not its re-exports, not the faults).
"""

from __future__ import annotations

from decimal import Decimal

import duckdb

from loader.core.money import round_to_minor_unit
from loader.sample_data.scale_book import ApprovalFeed


def approval_rows(
    con: duckdb.DuckDBPyConnection, stripe_rows: str, feeds: tuple[ApprovalFeed, ...]
) -> list[dict[str, str]]:
    """`usage_approvals` rows for `feeds`, from the table `stripe_rows` (sorted Stripe rows);
    a period without usage gets none."""
    if not feeds:
        return []
    con.execute("create temp table approval_windows (feed_id integer, lo bigint, hi bigint)")
    con.executemany(
        "insert into approval_windows values (?, ?, ?)",
        [(feed.feed_id, feed.lo_epoch, feed.hi_epoch) for feed in feeds],
    )
    totals = dict(
        con.execute(
            f"""
            select w.feed_id, sum(r.value)::varchar
            from {stripe_rows} as r
            inner join approval_windows as w on w.feed_id = r.feed_id
            where
                r.origin = 0 and r.fault_kind is null
                and r.occurred_epoch >= w.lo and r.occurred_epoch < w.hi
            group by all
            """
        ).fetchall()
    )
    con.execute("drop table approval_windows")
    rows = []
    for feed in feeds:
        if feed.feed_id not in totals:
            continue
        quantity = Decimal(totals[feed.feed_id]) * feed.multiplier
        amount = round_to_minor_unit(quantity * feed.unit_price + feed.flat_amount, feed.currency)
        rows.append(
            {
                "billing_account_id": feed.billing_account_id,
                "billing_period_start": feed.period_start.isoformat(),
                "approved_amount": f"{amount:f}",
                "currency": feed.currency,
                "approved_by": feed.approved_by,
                "approved_at": feed.approved_at,
            }
        )
    return rows
