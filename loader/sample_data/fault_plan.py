"""Which records of the generated accounts are faulty, and where late and stray usage may fall.

The demo's twenty accounts keep their hand-written faults; the generated accounts get the same
mix at scale, at a fixed rate per million ordinary records. Every fault is a record of its own (a
new event, entry or window); a conflicting duplicate, a late Salesforce edit or deletion and a
late metering correction come with the record they change (`faults.py`).

Late usage falls in the latest billed period of the feed's subscription and is received after
its `billed_at`; stray usage (`outside_active_line`) falls in 15 November - 10 December 2025,
before every line of the book starts, even once a half-month segment snaps its start back.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from loader.sample_data.contracts import BilledPeriod, LineTerm, local_midnight
from loader.sample_data.feeds import LAST_USAGE_DATE
from loader.sample_data.models import SourceSystem, UsageFeed

OUTSIDE_FIRST_DATE = date(2025, 11, 15)
OUTSIDE_LAST_DATE = date(2025, 12, 10)
LATE_RECEIPT_DAYS = 20

# Faulty records per million ordinary records, by source and kind.
FAULT_RATES: dict[SourceSystem, dict[str, int]] = {
    "telemetry": {
        "conflicting_duplicate": 100,
        "malformed_line": 40,
        "wrong_type": 30,
        "missing_field": 40,
        "unknown_customer": 40,
        "unknown_metric": 40,
        "invalid_quantity": 40,
        "invalid_timestamp": 30,
        "outside_active_line": 40,
        "late_usage": 200,
    },
    "stripe": {
        "malformed_line": 30,
        "missing_field": 30,
        "unknown_customer": 30,
        "unknown_metric": 30,
        "invalid_quantity": 40,
        "invalid_timestamp": 30,
        "outside_active_line": 30,
        "late_usage": 150,
    },
    "salesforce": {
        "malformed_line": 20,
        "wrong_type": 20,
        "missing_field": 20,
        "unknown_customer": 20,
        "unknown_metric": 20,
        "invalid_quantity": 30,
        "invalid_timestamp": 20,
        "outside_active_line": 20,
        "late_usage": 60,
        "late_edit": 60,
        "late_deletion": 30,
    },
    "metering": {
        "missing_field": 20,
        "unknown_customer": 20,
        "unknown_metric": 20,
        "invalid_quantity": 30,
        "outside_active_line": 20,
        "late_correction": 40,
    },
}
# Kinds drawn from the feeds that have a billed period, and from those with a recent window
# (records delivered days late into periods not billed); the others from every faulty feed.
LATE_KINDS = frozenset({"late_usage", "late_edit", "late_deletion", "late_correction"})
DELAYED_KIND = "delayed_delivery"


def pool_of(kind: str) -> str:
    """The pool of faulty feeds a kind is drawn from: `late`, `recent` or `any`."""
    if kind in LATE_KINDS:
        return "late"
    return "recent" if kind == DELAYED_KIND else "any"


class FaultFeed(BaseModel):
    """A generated feed that receives faults, with its windows as UTC epochs.

    `late_*` is the part of the latest billed period inside the feed, None when the
    subscription has no billed period the feed reaches; `recent_*` is where delayed deliveries
    occur, if any; `received_*` is when late and delayed records are received.
    """

    model_config = ConfigDict(frozen=True)

    feed_id: int
    source_system: SourceSystem
    outside_lo: int
    outside_hi: int
    late_lo: int | None = None
    late_hi: int | None = None
    received_lo: int | None = None
    received_hi: int | None = None
    recent_lo: int | None = None
    recent_hi: int | None = None

    def pools(self) -> tuple[str, ...]:
        return (
            "any",
            *(("late",) if self.late_lo is not None else ()),
            *(("recent",) if self.recent_lo is not None else ()),
        )


class FaultCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    source_system: SourceSystem
    fault_kind: str
    count: int


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def fault_feed(feed: UsageFeed, term: LineTerm, billed: tuple[BilledPeriod, ...]) -> FaultFeed:
    """The windows of one faulty feed."""
    zone = feed.timezone
    windows: dict[str, int | date | None] = {}
    for period in reversed(billed):
        first = max(period.start, feed.first_date, term.start)
        last = min(period.end, feed.last_date)
        received_hi = min(
            period.billed_at + timedelta(days=LATE_RECEIPT_DAYS),
            local_midnight(LAST_USAGE_DATE, "UTC"),
        )
        if first > last or received_hi <= period.billed_at + timedelta(hours=1):
            continue
        windows = {
            "late_lo": _epoch(local_midnight(first, zone)),
            "late_hi": _epoch(local_midnight(last + timedelta(days=1), zone)),
            "received_lo": _epoch(period.billed_at + timedelta(hours=1)),
            "received_hi": _epoch(received_hi),
        }
        break
    return FaultFeed(
        feed_id=feed.feed_id,
        source_system=feed.source_system,
        outside_lo=_epoch(local_midnight(OUTSIDE_FIRST_DATE, zone)),
        outside_hi=_epoch(local_midnight(OUTSIDE_LAST_DATE + timedelta(days=1), zone)),
        **windows,
    )


def fault_feeds(
    feeds: tuple[UsageFeed, ...],
    eligible: frozenset[int],
    terms: dict[str, LineTerm],
    billed: dict[str, tuple[BilledPeriod, ...]],
) -> list[FaultFeed]:
    """Every eligible feed with its windows, in feed order."""
    result = []
    for feed in feeds:
        if feed.feed_id not in eligible:
            continue
        term = terms[feed.subscription_line_id]
        result.append(fault_feed(feed, term, billed.get(term.subscription_id, ())))
    return result


def fault_counts(events: int, feeds: list[FaultFeed]) -> list[FaultCount]:
    """How many faulty records of each kind `events` ordinary records carry; a kind whose feeds
    are missing (no feed of the source, or none with a billed period) gets none."""
    pools = {(feed.source_system, pool) for feed in feeds for pool in feed.pools()}
    counts = []
    for source, rates in FAULT_RATES.items():
        for kind, rate in rates.items():
            if (source, pool_of(kind)) in pools:
                count = max(1, round(events * rate / 1_000_000))
                counts.append(FaultCount(source_system=source, fault_kind=kind, count=count))
    return counts
