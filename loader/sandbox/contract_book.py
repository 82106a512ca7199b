"""The contract book as NetSuite's SuiteBilling tables: what the sandbox serves over SuiteQL.

The sandbox stands for NetSuite, so it needs NetSuite's rows. It builds them from a contract-book
folder (the six CSVs NetSuite holds, SPEC 2.2): the reverse of the product's mapping
(`loader/contracts/netsuite_book.sql`), written here in Python because the sandbox is a separate
program. Internal ids are numbers given in the book's row order; each record's External ID is its
book id. Custom fields carry what NetSuite has no field for (docs/decisions.md).

Control endpoints change NetSuite's rows as a user would: remove a change order (and the price
interval it started), or edit one column of one record. Both are kept and applied again whenever
the rows are rebuilt; `reset` forgets them.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

DEFAULT_BOOK_DIR = Path(__file__).resolve().parents[2] / "seeds" / "contract_book"
ENV_CONTRACT_BOOK = "USAGE_SANDBOX_CONTRACT_BOOK"

BOOK_FILES = (
    "billing_accounts",
    "subscriptions",
    "subscription_lines",
    "price_plans",
    "price_plan_tiers",
    "amendments",
)

# Every table the sandbox serves, its columns, and which hold dates or a timestamp (shown in the
# account's date format unless TO_CHAR formats them, as SuiteQL shows them).
TABLES: dict[str, tuple[str, ...]] = {
    "currency": ("id", "name", "symbol", "currencyprecision"),
    "customer": ("id", "entityid", "companyname", "currency"),
    "item": ("id", "externalid", "itemid", "itemtype", "custitem_usage_metric"),
    "billingaccount": (
        "id",
        "externalid",
        "name",
        "customer",
        "currency",
        "startdate",
        "custrecord_usage_timezone",
        "custrecord_usage_bill_cycle_day",
    ),
    "subscription": (
        "id",
        "externalid",
        "name",
        "customer",
        "billingaccount",
        "subscriptionplan",
        "currency",
        "startdate",
        "enddate",
        "billingsubscriptionstatus",
        "custrecord_usage_proration_method",
    ),
    "subscriptionline": (
        "id",
        "externalid",
        "subscription",
        "linenumber",
        "item",
        "subscriptionlinetype",
        "subscriptionlinestatus",
        "startdate",
        "enddate",
        "custrecord_usage_rev_rec_rule",
        "custrecord_usage_prepaid_quantity",
        "custrecord_usage_prepaid_amount",
    ),
    "subscriptionpriceinterval": (
        "id",
        "subscription",
        "linenumber",
        "item",
        "priceplan",
        "chargetype",
        "status",
        "startdate",
        "enddate",
    ),
    "priceplan": (
        "id",
        "externalid",
        "currency",
        "priceplantype",
        "custrecord_usage_package_size",
        "custrecord_usage_prorate_tiers",
    ),
    "pricetiers": (
        "id",
        "priceplan",
        "lineid",
        "fromval",
        "pricingoption",
        "value",
        "minamount",
        "maxamount",
    ),
    "subscriptionchangeorder": (
        "id",
        "externalid",
        "action",
        "subscription",
        "effectivedate",
        "approvalstatus",
        "subscriptionchangeorderstatus",
        "terminateatstartofday",
        "renewalenddate",
        "datecreated",
    ),
    "changeorderline": (
        "subscriptionchangeorder",
        "subscriptionline",
        "sequence",
        "item",
        "priceplan",
        "newpriceplan",
    ),
}
DATE_COLUMNS = frozenset({"startdate", "enddate", "effectivedate", "renewalenddate"})
TIMESTAMP_COLUMNS = frozenset({"datecreated"})

_RATE = "-101"
_FIXED = "-102"
_LINE_TYPES = {"usage": "3", "prepaid": "3", "recurring": "2"}
_PLAN_TYPES = {"per_unit": "2", "graduated": "2", "flat": "2", "package": "2", "volume": "4"}
_ACTIONS = {"price_change": "MODIFY_PRICING", "termination": "TERMINATE", "extension": "RENEW"}
# ISO 4217 minor units other than 2 (SPEC 3.5's list, and the usual zero- and three-decimal ones).
_PRECISION = {
    **dict.fromkeys(("JPY", "KRW", "CLP", "ISK", "VND", "XAF", "XOF", "UGX", "PYG"), "0"),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"), "3"),
}

Row = dict[str, str | None]


class ContractBookError(ValueError):
    """A contract-book folder the sandbox cannot turn into NetSuite's rows."""


class EditError(ValueError):
    """An edit or removal that names no record or column the sandbox holds."""


@dataclass(frozen=True)
class Edit:
    """One column of one record set as a NetSuite user would (None: emptied)."""

    table: str
    record: str
    column: str
    value: str | None


def read_book(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The six NetSuite-held files of a contract-book folder."""
    book = {}
    for name in BOOK_FILES:
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise ContractBookError(f"{path} is missing: {folder} holds no contract book")
        with path.open(newline="", encoding="utf-8") as handle:
            book[name] = list(csv.DictReader(handle))
    return book


def _nonzero(text: str | None) -> bool:
    try:
        return bool(text) and Decimal(str(text)) != 0
    except InvalidOperation:
        return True


def _blank(text: str | None) -> str | None:
    return text if text not in (None, "") else None


def _day_before(text: str) -> str:
    return (date.fromisoformat(text) - timedelta(days=1)).isoformat()


def _utc_timestamp(text: str) -> str | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class _Ids:
    """Internal ids in order of first appearance, keyed by book id."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def __call__(self, key: str) -> str:
        if key not in self.ids:
            self.ids[key] = str(len(self.ids) + 1)
        return self.ids[key]

    def get(self, key: str | None) -> str | None:
        return self.ids.get(key) if key else None


def netsuite_rows(
    book: dict[str, list[dict[str, str]]], removed_change_orders: frozenset[str] = frozenset()
) -> dict[str, list[Row]]:
    """NetSuite's rows of every served table, built from the book (the reverse mapping)."""
    rows: dict[str, list[Row]] = {name: [] for name in TABLES}
    currencies, items, accounts, subscriptions = _Ids(), _Ids(), _Ids(), _Ids()
    lines, plans = _Ids(), _Ids()
    customers: dict[str, Row] = {}

    def currency(code: str) -> str:
        if code not in currencies.ids:
            rows["currency"].append(
                {
                    "id": currencies(code),
                    "name": code,
                    "symbol": code,
                    "currencyprecision": _PRECISION.get(code, "2"),
                }
            )
        return currencies.ids[code]

    item_rows: dict[str, Row] = {}

    def item(key: str, metric: str | None, item_type: str) -> str:
        if key not in items.ids:
            item_rows[key] = {
                "id": items(key),
                "externalid": key,
                "itemid": key,
                "itemtype": item_type,
                "custitem_usage_metric": metric,
            }
            rows["item"].append(item_rows[key])
        elif metric:
            known = item_rows[key]["custitem_usage_metric"]
            if known is None:
                item_rows[key]["custitem_usage_metric"] = metric
            elif known != metric:
                raise ContractBookError(
                    f"item {key} is metered as {known} and as {metric}: NetSuite holds one "
                    "metric per item (custitem_usage_metric)"
                )
        return items.ids[key]

    for account in book["billing_accounts"]:
        key = account["billing_account_id"]
        customer = account["netsuite_customer_id"]
        customers.setdefault(
            customer,
            {
                "id": customer,
                "entityid": customer,
                "companyname": account["account_name"],
                "currency": currency(account["currency"]),
            },
        )
        rows["billingaccount"].append(
            {
                "id": accounts(key),
                "externalid": key,
                "name": account["account_name"],
                "customer": customer,
                "currency": currency(account["currency"]),
                "startdate": None,
                "custrecord_usage_timezone": _blank(account["timezone"]),
                "custrecord_usage_bill_cycle_day": _blank(account["bill_cycle_day"]),
            }
        )
    rows["customer"] = list(customers.values())
    account_rows = {row["externalid"]: row for row in rows["billingaccount"]}

    for plan in book["price_plans"]:
        key = plan["price_plan_id"]
        model = plan["pricing_model"]
        if model not in _PLAN_TYPES:
            raise ContractBookError(f"price plan {key}: pricing model {model!r} is unknown")
        rows["priceplan"].append(
            {
                "id": plans(key),
                "externalid": key,
                "currency": currency(plan["currency"]),
                "priceplantype": _PLAN_TYPES[model],
                "custrecord_usage_package_size": _blank(plan["package_size"]),
                "custrecord_usage_prorate_tiers": "T" if plan["prorate_tiers"] == "true" else "F",
                "_minimum": _blank(plan["minimum_amount"]),
            }
        )
    plan_rows = {row["externalid"]: row for row in rows["priceplan"]}
    fromval: dict[str, str] = {}
    for tier in book["price_plan_tiers"]:
        key = tier["price_plan_id"]
        plan_row = plan_rows.get(key)
        if plan_row is None:
            raise ContractBookError(f"price_plan_tiers: plan {key} is not in price_plans")
        start = fromval.get(key, "0")
        first = tier["tier"] == "1"
        options = []
        if _nonzero(tier["unit_price"]) or not _nonzero(tier["flat_amount"]):
            options.append((_RATE, tier["unit_price"] or "0"))
        if _nonzero(tier["flat_amount"]):
            options.append((_FIXED, tier["flat_amount"]))
        for option, value in options:
            rows["pricetiers"].append(
                {
                    "id": str(len(rows["pricetiers"]) + 1),
                    "priceplan": plan_row["id"],
                    "lineid": tier["tier"],
                    "fromval": start,
                    "pricingoption": option,
                    "value": value,
                    "minamount": plan_row["_minimum"] if first else None,
                    "maxamount": None,
                }
            )
        fromval[key] = tier["up_to"] or start
    for plan_row in rows["priceplan"]:
        del plan_row["_minimum"]

    for subscription in book["subscriptions"]:
        key = subscription["subscription_id"]
        account = account_rows.get(subscription["billing_account_id"])
        if account is None:
            raise ContractBookError(
                f"subscription {key}: billing account {subscription['billing_account_id']} "
                "is not in billing_accounts"
            )
        plan = subscription["subscription_plan_id"]
        rows["subscription"].append(
            {
                "id": subscriptions(key),
                "externalid": key,
                "name": key,
                "customer": account["customer"],
                "billingaccount": account["id"],
                "subscriptionplan": item(plan, None, "SubscriptionPlan") if plan else None,
                "currency": account["currency"],
                "startdate": subscription["start_date"],
                "enddate": _blank(subscription["end_date"]),
                "billingsubscriptionstatus": "ACTIVE",
                "custrecord_usage_proration_method": _blank(subscription["proration_method"]),
            }
        )
        if account["startdate"] is None or subscription["start_date"] < account["startdate"]:
            account["startdate"] = subscription["start_date"]
    subscription_rows = {row["externalid"]: row for row in rows["subscription"]}

    amendments = [
        (number, amendment)
        for number, amendment in enumerate(book["amendments"], start=1)
        if amendment["amendment_id"] not in removed_change_orders
    ]
    price_changes: dict[str, list[dict[str, str]]] = {}
    for _, amendment in amendments:
        if amendment["change_type"] == "price_change":
            price_changes.setdefault(amendment["subscription_line_id"], []).append(amendment)

    previous_plan: dict[str, str] = {}
    for line in book["subscription_lines"]:
        key = line["subscription_line_id"]
        subscription = subscription_rows.get(line["subscription_id"])
        if subscription is None:
            raise ContractBookError(
                f"subscription line {key}: subscription {line['subscription_id']} is not in "
                "subscriptions"
            )
        charge_type = line["charge_type"]
        if charge_type not in _LINE_TYPES:
            raise ContractBookError(f"subscription line {key}: charge type {charge_type!r}")
        metric = _blank(line["metric"]) if charge_type != "recurring" else None
        item_id = item(line["item_id"], metric, "Service")
        end = _blank(line["end_date"]) or subscription["enddate"]
        rows["subscriptionline"].append(
            {
                "id": lines(key),
                "externalid": key,
                "subscription": subscription["id"],
                "linenumber": line["line_number"],
                "item": item_id,
                "subscriptionlinetype": _LINE_TYPES[charge_type],
                "subscriptionlinestatus": "ACTIVE",
                "startdate": line["start_date"],
                "enddate": end,
                "custrecord_usage_rev_rec_rule": _blank(line["rev_rec_rule"]),
                "custrecord_usage_prepaid_quantity": _blank(line["prepaid_quantity"]),
                "custrecord_usage_prepaid_amount": _blank(line["prepaid_amount"]),
            }
        )
        # The plan in force over time: one interval from the line's start, and one from each
        # price change (the later entered wins on the same date).
        intervals: list[list[str]] = [[line["start_date"], line["price_plan_id"]]]
        changes = sorted(
            price_changes.get(key, []), key=lambda a: (a["effective_date"], a["entered_at"])
        )
        for amendment in changes:
            previous_plan[amendment["amendment_id"]] = intervals[-1][1]
            if amendment["effective_date"] <= intervals[-1][0]:
                intervals[-1][1] = amendment["new_price_plan_id"]
            else:
                intervals.append([amendment["effective_date"], amendment["new_price_plan_id"]])
        for index, (start, plan) in enumerate(intervals):
            following = intervals[index + 1][0] if index + 1 < len(intervals) else None
            rows["subscriptionpriceinterval"].append(
                {
                    "id": str(len(rows["subscriptionpriceinterval"]) + 1),
                    "subscription": subscription["id"],
                    "linenumber": line["line_number"],
                    "item": item_id,
                    "priceplan": plans.get(plan) or plan,
                    "chargetype": _LINE_TYPES[charge_type],
                    "status": "ACTIVE",
                    "startdate": start,
                    "enddate": _day_before(following) if following else end,
                }
            )
    line_rows = {row["externalid"]: row for row in rows["subscriptionline"]}

    for number, amendment in amendments:
        key = amendment["amendment_id"]
        line = line_rows.get(amendment["subscription_line_id"])
        change = amendment["change_type"]
        if line is None or change not in _ACTIONS:
            raise ContractBookError(
                f"amendment {key}: line {amendment['subscription_line_id']} or change type "
                f"{change!r} the sandbox cannot hold"
            )
        # A termination is written as NetSuite's default: effective at the end of the day
        # before the book's effective date (the line's last day).
        terminate = change == "termination"
        rows["subscriptionchangeorder"].append(
            {
                "id": str(number),
                "externalid": key,
                "action": _ACTIONS[change],
                "subscription": line["subscription"],
                "effectivedate": _day_before(amendment["effective_date"])
                if terminate
                else amendment["effective_date"],
                "approvalstatus": "APPROVED",
                "subscriptionchangeorderstatus": "ACTIVE",
                "terminateatstartofday": "F" if terminate else None,
                "renewalenddate": _blank(amendment["new_end_date"]),
                "datecreated": _utc_timestamp(amendment["entered_at"]),
            }
        )
        new_plan = _blank(amendment["new_price_plan_id"])
        old_plan = previous_plan.get(key)
        rows["changeorderline"].append(
            {
                "subscriptionchangeorder": str(number),
                "subscriptionline": line["id"],
                "sequence": "1",
                "item": line["item"],
                "priceplan": plans.get(old_plan) if old_plan else None,
                "newpriceplan": (plans.get(new_plan) or new_plan) if new_plan else None,
            }
        )
    return rows


def apply_edits(rows: dict[str, list[Row]], edits: list[Edit]) -> None:
    """Set each edited column of the record named by internal id or External ID."""
    for edit in edits:
        target = _record(rows, edit.table, edit.record)
        target[edit.column] = edit.value


def _record(rows: dict[str, list[Row]], table: str, record: str) -> Row:
    if table not in rows:
        raise EditError(f"no table {table}; the sandbox serves {', '.join(TABLES)}")
    for row in rows[table]:
        if row.get("externalid") == record or row.get("id") == record:
            return row
    raise EditError(f"no {table} record with internal id or External ID {record}")


@dataclass
class ContractBookState:
    """The book the sandbox serves and the changes made to it since it was loaded."""

    folder: Path | None
    load: Callable[[dict[str, list[Row]]], None]
    removed: set[str] = field(default_factory=set)
    edits: list[Edit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _book(self) -> dict[str, list[dict[str, str]]]:
        if self.folder is None:
            return {name: [] for name in BOOK_FILES}
        return read_book(self.folder)

    def rebuild(self) -> dict[str, int]:
        with self.lock:
            rows = netsuite_rows(self._book(), frozenset(self.removed))
            apply_edits(rows, self.edits)
            self.load(rows)
            return {name: len(table) for name, table in rows.items()}

    def reset(self) -> dict[str, int]:
        self.removed.clear()
        self.edits.clear()
        return self.rebuild()

    def remove_change_order(self, external_id: str) -> dict[str, int]:
        amendment_ids = {row["amendment_id"] for row in self._book()["amendments"]}
        if external_id not in amendment_ids or external_id in self.removed:
            raise EditError(f"no change order with External ID {external_id}")
        self.removed.add(external_id)
        return self.rebuild()

    def edit(self, edit: Edit) -> dict[str, int]:
        if edit.table not in TABLES or edit.column not in TABLES[edit.table]:
            raise EditError(f"no column {edit.column} in {edit.table}")
        rows = netsuite_rows(self._book(), frozenset(self.removed))
        apply_edits(rows, self.edits)
        _record(rows, edit.table, edit.record)
        self.edits.append(edit)
        return self.rebuild()
