"""A generated contract book of thousands of accounts, derived from the demo book.

The book holds the demo's twenty accounts unchanged (so every hand-written scenario keeps its
meaning) and then accounts 21..M. Account n copies the structure of demo account
`((n - 21) mod 20) + 1`, its template: its subscriptions, lines, amendments, billing runs,
approvals and customer keys (one source system per metric, as the template has). Its variant
`(n - 21) div 20` varies the rest: variant 0 repeats the template's time zone, bill cycle day,
proration method and price plans; later variants cycle time zones, bill cycle days and proration
methods of the demo book by account number, and price plans within the template line's family
(the demo plans of the same currency, charge type and metric, from its lines and amendments).
Price plans, tiers, metrics, metric mappings and holidays are the demo's.

Billing runs move to the clone's bill cycle day and, as Billing Operations invoices in order,
cover every period from the subscription's first through the last one the template billed; odd
variants of templates without billing runs have their January periods billed.

Accounts cloned from the approved-invoice account keep its settings (UTC, bill cycle day 1,
calendar days, per-unit plan) and get Stripe usage of their own, so that the approval of their
March invoice can be computed exactly from the generated events (`approvals.py`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from loader.sample_data.book import BookError, ContractBook
from loader.sample_data.contracts import LineTerm, line_terms, local_midnight, period_containing
from loader.sample_data.feeds import FIRST_USAGE_DATE, LAST_USAGE_DATE, usage_feeds
from loader.sample_data.models import MAX_ACCOUNTS, UsageFeed
from loader.sample_data.scenarios.stripe import APPROVED_ACCOUNT, VANDELAY

# Usage of the approved-invoice account's clones (the template's own usage is hand-written):
# about 3.7 million calls a month at 0.0035, above the approval threshold.
_APPROVED_USAGE = UsageFeed(
    feed_id=1,
    source_system="stripe",
    customer_key=VANDELAY,
    source_metric="api_request",
    billing_account_id=APPROVED_ACCOUNT,
    subscription_line_id="SL-1010-1",
    timezone="UTC",
    first_date=FIRST_USAGE_DATE,
    last_date=LAST_USAGE_DATE,
    weight=4,
    shape="batch",
    daily_quantity=120_000,
)
# Clones in odd variants of a template without billing runs have their first period billed as
# the demo's first billed subscription had (so that every source sees late usage).
_FIRST_PERIOD_BILLED = {"billing_period_start": "2026-01-01", "billed_at": "2026-02-04T09:00:00Z"}
# Event volume of a clone relative to its template, by variant.
_VOLUME_FACTORS = (1.0, 0.5, 1.5, 0.75)


class ApprovalFeed(BaseModel):
    """A clone of the approved-invoice account: its period's total is approved exactly."""

    model_config = ConfigDict(frozen=True)

    feed_id: int
    billing_account_id: str
    currency: str
    period_start: date
    lo_epoch: int
    hi_epoch: int
    unit_price: Decimal
    flat_amount: Decimal
    multiplier: Decimal
    approved_by: str
    approved_at: str


class ScaledBook(BaseModel):
    """The generated book with the usage feeds of every account (the demo's come first)."""

    model_config = ConfigDict(frozen=True)

    accounts: int = Field(ge=1)
    book: ContractBook
    feeds: tuple[UsageFeed, ...]
    generated_feed_ids: frozenset[int]
    approval_feeds: tuple[ApprovalFeed, ...]

    def terms(self) -> dict[str, LineTerm]:
        return line_terms(self.book)


class _Variant(BaseModel):
    """What account n takes from its template and how it differs."""

    model_config = ConfigDict(frozen=True)

    number: int
    template: dict[str, str]
    plan_shift: int
    timezone: str
    bill_cycle_day: int
    proration_method: str | None
    factor: float


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def clone_key(source_system: str, key: str, number: int) -> str:
    """The customer key of account `number` in a source, shaped like the template's key."""
    if source_system == "stripe" and key.startswith("cus_"):
        return f"cus_G{number:05d}{key[4:12]}"
    if source_system == "salesforce" and len(key) == 18:
        return f"{key[:5]}{number:05d}{key[10:]}"
    if source_system == "metering":
        return f"{key}_{number:05d}"
    return f"{key}-{number:05d}"


class _Templates:
    """The demo book indexed for cloning."""

    def __init__(self, demo: ContractBook) -> None:
        self.accounts = demo.records("billing_accounts")
        self.subscriptions = defaultdict(list)
        for row in demo.records("subscriptions"):
            self.subscriptions[row["billing_account_id"]].append(row)
        self.lines = defaultdict(list)
        for row in demo.records("subscription_lines"):
            self.lines[row["subscription_id"]].append(row)
        self.amendments = defaultdict(list)
        for row in demo.records("amendments"):
            self.amendments[row["subscription_line_id"]].append(row)
        self.runs = defaultdict(list)
        for row in demo.records("billing_runs"):
            self.runs[row["subscription_id"]].append(row)
        self.approvals = defaultdict(list)
        for row in demo.records("usage_approvals"):
            self.approvals[row["billing_account_id"]].append(row)
        self.mappings = defaultdict(list)
        for row in demo.records("customer_mappings"):
            self.mappings[row["billing_account_id"]].append(row)
        self.feeds = defaultdict(list)
        for feed in usage_feeds():
            self.feeds[feed.subscription_line_id].append(feed)
        self.plans = {row["price_plan_id"]: row for row in demo.records("price_plans")}
        self.tiers = {
            (row["price_plan_id"], row["tier"]): row for row in demo.records("price_plan_tiers")
        }
        self.multipliers = {
            (row["source_system"], row["source_metric"]): row["multiplier"]
            for row in demo.records("metric_mappings")
        }
        self.families = self._plan_families(demo)
        self.timezones = _distinct([row["timezone"] for row in self.accounts])
        self.cycle_days = sorted({int(row["bill_cycle_day"]) for row in self.accounts})
        self.methods = _distinct([row["proration_method"] for row in demo.records("subscriptions")])
        self.amendment_count = demo.count("amendments")
        self.netsuite_base = int(self.accounts[0]["netsuite_customer_id"]) - 1

    def _plan_families(self, demo: ContractBook) -> dict[tuple[str, str, str], list[str]]:
        currency = {
            sub["subscription_id"]: account["currency"]
            for account in self.accounts
            for sub in self.subscriptions[account["billing_account_id"]]
        }
        line_family = {}
        families: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for line in demo.records("subscription_lines"):
            family = (currency[line["subscription_id"]], line["charge_type"], line["metric"])
            line_family[line["subscription_line_id"]] = family
            families[family].append(line["price_plan_id"])
        for amendment in demo.records("amendments"):
            if amendment["new_price_plan_id"]:
                family = line_family[amendment["subscription_line_id"]]
                families[family].append(amendment["new_price_plan_id"])
        return {key: _distinct(plans) for key, plans in families.items()}

    def family(self, currency: str, line: dict[str, str]) -> list[str]:
        return self.families[(currency, line["charge_type"], line["metric"])]


def _variant(templates: _Templates, number: int) -> _Variant:
    first = len(templates.accounts) + 1
    index, position = (number - first) // len(templates.accounts), number - first
    template = templates.accounts[position % len(templates.accounts)]
    if index == 0 or template["billing_account_id"] == APPROVED_ACCOUNT:
        return _Variant(
            number=number,
            template=template,
            plan_shift=0,
            timezone=template["timezone"],
            bill_cycle_day=int(template["bill_cycle_day"]),
            proration_method=None,
            factor=1.0,
        )
    zones, days, methods = templates.timezones, templates.cycle_days, templates.methods
    return _Variant(
        number=number,
        template=template,
        plan_shift=index,
        timezone=zones[number % len(zones)],
        bill_cycle_day=days[(number // len(zones)) % len(days)],
        proration_method=methods[(number // (len(zones) * len(days))) % len(methods)],
        factor=_VOLUME_FACTORS[index % len(_VOLUME_FACTORS)],
    )


def _pick(family: list[str], anchor: str, shift: int, avoid: str | None = None) -> str:
    """The plan `shift` steps after `anchor` in its family, skipping `avoid`."""
    choices = [plan for plan in family if plan != avoid] or family
    start = choices.index(anchor) if anchor in choices else 0
    return choices[(start + shift) % len(choices)]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _BookWriter:
    """Collects the rows of the generated accounts."""

    def __init__(self, templates: _Templates) -> None:
        self.templates = templates
        self.rows: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.line_templates: dict[str, tuple[dict[str, str], _Variant, str]] = {}
        self.approved: list[tuple[str, dict[str, str], _Variant]] = []
        self.keys: set[tuple[str, str]] = set()
        self.amendment_number = templates.amendment_count

    def add_account(self, variant: _Variant) -> None:
        templates, number = self.templates, variant.number
        template_id = variant.template["billing_account_id"]
        account_id = f"BA-{number:03d}"
        self.rows["billing_accounts"].append(
            {
                **variant.template,
                "billing_account_id": account_id,
                "netsuite_customer_id": str(templates.netsuite_base + number),
                "account_name": f"{variant.template['account_name']} ({number})",
                "timezone": variant.timezone,
                "bill_cycle_day": str(variant.bill_cycle_day),
            }
        )
        for mapping in templates.mappings[template_id]:
            key = clone_key(mapping["source_system"], mapping["source_customer_key"], number)
            if (mapping["source_system"], key) in self.keys:
                raise ValueError(f"customer key {key} generated twice")
            self.keys.add((mapping["source_system"], key))
            self.rows["customer_mappings"].append(
                {**mapping, "source_customer_key": key, "billing_account_id": account_id}
            )
        for position, subscription in enumerate(templates.subscriptions[template_id]):
            suffix = "" if position == 0 else f"-{position + 1}"
            self._add_subscription(variant, account_id, subscription, f"{1000 + number}{suffix}")
        for approval in templates.approvals[template_id]:
            if template_id == APPROVED_ACCOUNT:
                self.approved.append((account_id, approval, variant))
                continue
            anchor = date.fromisoformat(approval["billing_period_start"]) + timedelta(days=9)
            start, _ = period_containing(anchor, variant.bill_cycle_day)
            self.rows["usage_approvals"].append(
                {
                    **approval,
                    "billing_account_id": account_id,
                    "billing_period_start": start.isoformat(),
                    "currency": variant.template["currency"],
                }
            )

    def _add_subscription(
        self, variant: _Variant, account_id: str, subscription: dict[str, str], number: str
    ) -> None:
        subscription_id = f"SUB-{number}"
        self.rows["subscriptions"].append(
            {
                **subscription,
                "subscription_id": subscription_id,
                "billing_account_id": account_id,
                "proration_method": variant.proration_method or subscription["proration_method"],
            }
        )
        currency = variant.template["currency"]
        for line in self.templates.lines[subscription["subscription_id"]]:
            line_id = f"SL-{number}-{line['line_number']}"
            family = self.templates.family(currency, line)
            plan = _pick(family, line["price_plan_id"], variant.plan_shift)
            self.rows["subscription_lines"].append(
                {
                    **line,
                    "subscription_line_id": line_id,
                    "subscription_id": subscription_id,
                    "price_plan_id": plan,
                }
            )
            self.line_templates[line_id] = (line, variant, plan)
            for amendment in self.templates.amendments[line["subscription_line_id"]]:
                new_plan = amendment["new_price_plan_id"]
                if new_plan and variant.plan_shift:
                    new_plan = _pick(family, new_plan, variant.plan_shift, avoid=plan)
                self.amendment_number += 1
                self.rows["amendments"].append(
                    {
                        **amendment,
                        "amendment_id": f"AMD-{self.amendment_number:04d}",
                        "subscription_line_id": line_id,
                        "new_price_plan_id": new_plan,
                    }
                )
        runs = self.templates.runs[subscription["subscription_id"]]
        if not runs and variant.plan_shift % 2 == 1:
            runs = [_FIRST_PERIOD_BILLED]
        if runs:
            start = date.fromisoformat(subscription["start_date"])
            for billed in _billed(runs, start, variant.bill_cycle_day):
                self.rows["billing_runs"].append({"subscription_id": subscription_id, **billed})


def _billed(runs: list[dict[str, str]], start: date, cycle_day: int) -> list[dict[str, str]]:
    """The template's billed periods moved to the clone's bill cycle day.

    Billing Operations invoices periods in order, so every period from the subscription's
    first through the last one the template billed (moved to the clone's cycle) is billed, each
    as long after its end as the template's first run was.
    """
    first = min(runs, key=lambda run: run["billing_period_start"])
    first_start = date.fromisoformat(first["billing_period_start"])
    _, first_end = period_containing(first_start, first_start.day)
    billed_at = datetime.fromisoformat(first["billed_at"].replace("Z", "+00:00"))
    delay = billed_at - datetime.combine(first_end + timedelta(days=1), time(0), tzinfo=UTC)
    last_start = max(date.fromisoformat(run["billing_period_start"]) for run in runs)
    _, last_end = period_containing(last_start + timedelta(days=14), cycle_day)
    billed = []
    period_start, period_end = period_containing(start, cycle_day)
    while period_end <= last_end:
        moment = datetime.combine(period_end + timedelta(days=1), time(0), tzinfo=UTC) + delay
        billed.append(
            {"billing_period_start": period_start.isoformat(), "billed_at": _stamp(moment)}
        )
        period_start, period_end = period_containing(period_end + timedelta(days=1), cycle_day)
    return billed


def _feeds(
    writer: _BookWriter, terms: dict[str, LineTerm], first_id: int
) -> tuple[list[UsageFeed], dict[str, tuple[int, str]]]:
    """Usage feeds of the generated lines, inside each line's term, and for each clone of the
    approved-invoice account its feed and price plan."""
    feeds: list[UsageFeed] = []
    approved: dict[str, tuple[int, str]] = {}
    for line_id, (line, variant, plan) in writer.line_templates.items():
        term = terms[line_id]
        first = max(term.start, FIRST_USAGE_DATE)
        last = min(term.end or LAST_USAGE_DATE, LAST_USAGE_DATE)
        if first > last:
            continue
        is_approved = variant.template["billing_account_id"] == APPROVED_ACCOUNT
        templates = writer.templates.feeds[line["subscription_line_id"]]
        if not templates and is_approved and line["charge_type"] == "usage":
            templates = [_APPROVED_USAGE]
        for template in templates:
            feed_id = first_id + len(feeds)
            factor = variant.factor
            feeds.append(
                template.model_copy(
                    update={
                        "feed_id": feed_id,
                        "customer_key": clone_key(
                            template.source_system, template.customer_key, variant.number
                        ),
                        "billing_account_id": term.billing_account_id,
                        "subscription_line_id": line_id,
                        "timezone": term.timezone,
                        "first_date": first,
                        "last_date": last,
                        "daily_quantity": max(1, round(template.daily_quantity * factor))
                        if template.daily_quantity
                        else 0,
                        "gauge_from": template.gauge_from * factor,
                        "gauge_to": template.gauge_to * factor,
                    }
                )
            )
            if is_approved:
                approved[term.billing_account_id] = (feed_id, plan)
    return feeds, approved


def _approval_feeds(
    writer: _BookWriter, approved: dict[str, tuple[int, str]]
) -> list[ApprovalFeed]:
    """Approvals to compute: the approved template's, for each clone with usage of its own."""
    templates = writer.templates
    result = []
    for account_id, approval, variant in writer.approved:
        if account_id not in approved:
            continue
        feed_id, plan_id = approved[account_id]
        plan = templates.plans[plan_id]
        if plan["pricing_model"] != "per_unit" or plan["prorate_tiers"] != "false":
            raise ValueError(f"{plan_id}: approvals are computed for per_unit plans only")
        tier = templates.tiers[(plan_id, "1")]
        start = date.fromisoformat(approval["billing_period_start"])
        _, end = period_containing(start, variant.bill_cycle_day)
        result.append(
            ApprovalFeed(
                feed_id=feed_id,
                billing_account_id=account_id,
                currency=variant.template["currency"],
                period_start=start,
                lo_epoch=int(local_midnight(start, variant.timezone).timestamp()),
                hi_epoch=int(local_midnight(end + timedelta(days=1), variant.timezone).timestamp()),
                unit_price=Decimal(tier["unit_price"]),
                flat_amount=Decimal(tier["flat_amount"] or "0"),
                multiplier=Decimal(
                    templates.multipliers[
                        (_APPROVED_USAGE.source_system, _APPROVED_USAGE.source_metric)
                    ]
                ),
                approved_by=approval["approved_by"],
                approved_at=approval["approved_at"],
            )
        )
    return result


def scaled_book(demo: ContractBook, accounts: int) -> ScaledBook:
    """The demo book extended to `accounts` billing accounts, with the usage feeds of each."""
    templates = _Templates(demo)
    if not len(templates.accounts) <= accounts <= MAX_ACCOUNTS:
        raise BookError(
            f"a generated book holds {len(templates.accounts)} (the demo book's accounts) "
            f"to {MAX_ACCOUNTS:,} accounts, not {accounts:,}"
        )
    writer = _BookWriter(templates)
    for number in range(len(templates.accounts) + 1, accounts + 1):
        writer.add_account(_variant(templates, number))
    book = demo.extended(dict(writer.rows))
    terms = line_terms(book)
    demo_feeds = usage_feeds()
    generated, approved = _feeds(writer, terms, first_id=len(demo_feeds) + 1)
    return ScaledBook(
        accounts=accounts,
        book=book,
        feeds=(*demo_feeds, *generated),
        generated_feed_ids=frozenset(feed.feed_id for feed in generated),
        approval_feeds=tuple(_approval_feeds(writer, approved)),
    )
