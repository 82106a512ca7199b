"""What a contract book says about time: line terms after amendments, billing periods, and the
periods Billing Operations has already invoiced (SPEC 3.1, 3.2, 3.8)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from loader.sample_data.book import ContractBook


class LineTerm(BaseModel):
    """A subscription line in force from `start` through `end` (None: open), after amendments."""

    model_config = ConfigDict(frozen=True)

    subscription_line_id: str
    subscription_id: str
    billing_account_id: str
    charge_type: str
    metric: str | None
    timezone: str
    bill_cycle_day: int
    start: date
    end: date | None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class BilledPeriod(BaseModel):
    """A billing period of a subscription that NetSuite has invoiced at `billed_at`."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    start: date
    end: date
    billed_at: datetime


def _month_day(year: int, month: int, day: int) -> date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, day)


def period_containing(day: date, cycle_day: int) -> tuple[date, date]:
    """First and last local date of the monthly period starting on `cycle_day` that holds `day`."""
    month_offset = 0 if day.day >= cycle_day else -1
    start = _month_day(day.year, day.month + month_offset, cycle_day)
    end = _month_day(start.year, start.month + 1, cycle_day) - timedelta(days=1)
    return start, end


def local_midnight(day: date, timezone: str) -> datetime:
    """The instant local midnight starts `day` in `timezone`."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def line_terms(book: ContractBook) -> dict[str, LineTerm]:
    """Every subscription line with its term: a termination ends it the day before it takes
    effect, an extension sets its end, and the last of them in effective order decides."""
    accounts = {row["billing_account_id"]: row for row in book.records("billing_accounts")}
    subscriptions = {row["subscription_id"]: row for row in book.records("subscriptions")}
    ends: dict[str, tuple[tuple[str, str], date]] = {}
    for row in book.records("amendments"):
        if row["change_type"] == "termination":
            end = date.fromisoformat(row["effective_date"]) - timedelta(days=1)
        elif row["change_type"] == "extension":
            end = date.fromisoformat(row["new_end_date"])
        else:
            continue
        order = (row["effective_date"], row["entered_at"])
        line_id = row["subscription_line_id"]
        if line_id not in ends or ends[line_id][0] <= order:
            ends[line_id] = (order, end)
    terms = {}
    for row in book.records("subscription_lines"):
        subscription = subscriptions[row["subscription_id"]]
        account = accounts[subscription["billing_account_id"]]
        line_id = row["subscription_line_id"]
        end_text = row["end_date"] or subscription["end_date"]
        end = ends[line_id][1] if line_id in ends else None
        if end is None and end_text:
            end = date.fromisoformat(end_text)
        terms[line_id] = LineTerm(
            subscription_line_id=line_id,
            subscription_id=row["subscription_id"],
            billing_account_id=account["billing_account_id"],
            charge_type=row["charge_type"],
            metric=row["metric"] or None,
            timezone=account["timezone"],
            bill_cycle_day=int(account["bill_cycle_day"]),
            start=date.fromisoformat(row["start_date"]),
            end=end,
        )
    return terms


def billed_periods(book: ContractBook) -> dict[str, tuple[BilledPeriod, ...]]:
    """Invoiced periods by subscription, earliest first (the earliest `billed_at` counts)."""
    accounts = {row["billing_account_id"]: row for row in book.records("billing_accounts")}
    cycle_days = {
        row["subscription_id"]: int(accounts[row["billing_account_id"]]["bill_cycle_day"])
        for row in book.records("subscriptions")
    }
    found: dict[tuple[str, date], datetime] = {}
    for row in book.records("billing_runs"):
        key = (row["subscription_id"], date.fromisoformat(row["billing_period_start"]))
        billed_at = datetime.fromisoformat(row["billed_at"].replace("Z", "+00:00"))
        found[key] = min(found.get(key, billed_at), billed_at)
    periods: dict[str, list[BilledPeriod]] = {}
    for (subscription_id, start), billed_at in sorted(found.items()):
        _, end = period_containing(start, cycle_days[subscription_id])
        periods.setdefault(subscription_id, []).append(
            BilledPeriod(subscription_id=subscription_id, start=start, end=end, billed_at=billed_at)
        )
    return {key: tuple(value) for key, value in periods.items()}
