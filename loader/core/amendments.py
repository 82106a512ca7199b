"""The amendment gate (SPEC 7): a record of a segment that a price change started is sent only once
NetSuite's subscription line holds the segment's plan from that date, that is once the change
order is committed in NetSuite. Otherwise NetSuite would rate the usage on the line's old plan.

`push` asks NetSuite, in one set of SuiteQL reads, for the price intervals
(`subscriptionpriceinterval`) of the lines concerned, a thousand lines per query, each query read
in keyset pages. Lines and plans are named by their book ids, as `contracts pull` names them
(`netsuite_book_key` of `loader/contracts/netsuite_book.sql`: the External ID, else the internal
id). A read that fails stops the push before anything is sent; a table the role cannot read stops
it with exit 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict

from loader.contracts.pull import render_macro
from loader.core.marts import UsageRecord
from loader.core.netsuite import (
    NetSuiteClient,
    NetSuiteError,
    PermissionDenied,
    RecordRejected,
    keyset_rows,
    numeric_key,
)

BATCH = 1000
TABLE = "subscriptionpriceinterval"
PERMISSIONS = (
    "Lists > Subscriptions (View) and Lists > Price Plans (View), with Reports > SuiteAnalytics "
    "Workbook"
)
ISO_DATE = "'YYYY-MM-DD'"


class AmendmentCheckRefused(PermissionDenied):
    """NetSuite does not let the role read the price intervals at all (exit 4)."""


class AmendmentCheckFailed(NetSuiteError):
    """The price intervals could not be read: nothing is sent on the old assumption."""


class PriceInterval(BaseModel):
    """One interval of a line's plan in NetSuite, in book ids; `end` is its last day, included."""

    model_config = ConfigDict(frozen=True)

    internal_id: int
    line_id: str
    plan_id: str | None
    start: date
    end: date | None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class AmendmentCheck(BaseModel):
    """The intervals NetSuite holds for the lines asked about, and what the reading took."""

    model_config = ConfigDict(frozen=True)

    intervals: dict[str, tuple[PriceInterval, ...]]
    lines_asked: int
    reads: int

    def plan_on(self, line_id: str, day: date) -> str | None:
        return plan_on(self.intervals.get(line_id, ()), day)


def is_gated(record: UsageRecord) -> bool:
    """A record of a segment that a price change started."""
    return bool(record.segment_amendment_id)


def check_date(record: UsageRecord) -> date | None:
    """The day NetSuite's line must hold the record's plan: the segment's start, or the price
    change's own date when a half_month segment starts earlier (snapped back to its half)."""
    starts = [day for day in (record.segment_start, record.segment_amendment_date) if day]
    return max(starts) if starts else None


def plan_on(intervals: Iterable[PriceInterval], day: date) -> str | None:
    """The plan in force on `day`: the interval covering it; of several (two price changes on one
    date), the latest starting, then the later entered (the higher internal id)."""
    covering = [interval for interval in intervals if interval.covers(day)]
    if not covering:
        return None
    return max(covering, key=lambda interval: (interval.start, interval.internal_id)).plan_id


def holds_segment_plan(check: AmendmentCheck, record: UsageRecord) -> bool:
    """NetSuite's line holds the record's plan from the segment's date."""
    day = check_date(record)
    if day is None or not record.subscription_line_id or not record.price_plan_id:
        return False
    return check.plan_on(record.subscription_line_id, day) == record.price_plan_id


def unconfirmed(
    client: NetSuiteClient, gated: Sequence[UsageRecord]
) -> tuple[frozenset[str], dict[str, object]]:
    """The External IDs of `gated` records whose line NetSuite does not hold on the segment's plan
    from its date, and what the check did (records checked, lines asked, reads, held): the check
    `push`, `plan` and `reconcile` make alike. A read that fails raises."""
    details: dict[str, object] = {"records_checked": len(gated), "lines_asked": 0, "reads": 0}
    if not gated:
        details["held"] = 0
        return frozenset(), details
    check = read_intervals(client, [record.subscription_line_id or "" for record in gated])
    held = frozenset(
        record.external_id for record in gated if not holds_segment_plan(check, record)
    )
    details.update({"lines_asked": check.lines_asked, "reads": check.reads, "held": len(held)})
    return held, details


def interval_query(line_ids: Sequence[str], after: tuple[int, ...] | None) -> str:
    """The price intervals of up to `BATCH` lines (book ids), keyset-ordered by internal id."""
    line_key = render_macro("netsuite_book_key", "sl").strip()
    plan_key = render_macro("netsuite_book_key", "pp").strip()
    quoted = ", ".join("'" + line_id.replace("'", "''") + "'" for line_id in line_ids)
    where = f"{line_key} IN ({quoted})"
    if after is not None:
        where += f" AND spi.id > {int(after[0])}"
    return (
        f"SELECT spi.id AS id, {line_key} AS line_id, {plan_key} AS plan_id, "
        f"TO_CHAR(spi.startdate, {ISO_DATE}) AS startdate, "
        f"TO_CHAR(spi.enddate, {ISO_DATE}) AS enddate "
        f"FROM {TABLE} spi "
        "INNER JOIN subscriptionline sl "
        "ON sl.subscription = spi.subscription AND sl.linenumber = spi.linenumber "
        "LEFT JOIN priceplan pp ON pp.id = spi.priceplan "
        f"WHERE {where} ORDER BY spi.id ASC"
    )


def read_intervals(client: NetSuiteClient, line_ids: Iterable[str]) -> AmendmentCheck:
    """Ask NetSuite for the price intervals of `line_ids`, a thousand lines per query."""
    wanted = sorted(set(line_ids))
    intervals: dict[str, list[PriceInterval]] = {}
    reads_before = client.suiteql_pages
    try:
        for batch in _batches(wanted, BATCH):
            rows, _ = keyset_rows(
                client,
                lambda after, batch=batch: interval_query(batch, after),
                numeric_key("id"),
                what=f"{TABLE} rows",
            )
            for row in rows:
                interval = _interval(row)
                intervals.setdefault(interval.line_id, []).append(interval)
    except PermissionDenied as error:
        raise AmendmentCheckRefused(
            f"the amendment check cannot read NetSuite's table {TABLE} ({error}). The role needs "
            f"{PERMISSIONS}; nothing was sent"
        ) from error
    except RecordRejected as error:
        if error.status in (400, 403):
            raise AmendmentCheckRefused(
                f"NetSuite does not answer SuiteQL over {TABLE} ({error}): the table is unknown "
                f"to the account or hidden from the role. The role needs {PERMISSIONS}, and "
                "SuiteBilling must be enabled; nothing was sent"
            ) from error
        raise AmendmentCheckFailed(_failed(error)) from error
    except NetSuiteError as error:
        if isinstance(error, (AmendmentCheckRefused, AmendmentCheckFailed)):
            raise
        raise AmendmentCheckFailed(_failed(error)) from error
    return AmendmentCheck(
        intervals={line: tuple(found) for line, found in intervals.items()},
        lines_asked=len(wanted),
        reads=client.suiteql_pages - reads_before,
    )


def _failed(error: Exception) -> str:
    return (
        f"the amendment check could not read NetSuite's price intervals ({TABLE}): {error}. "
        "Nothing was sent: records of amended segments are never sent without it; run again"
    )


def _interval(row: Mapping[str, object]) -> PriceInterval:
    lowered = {str(name).lower(): value for name, value in row.items()}
    try:
        end = lowered.get("enddate")
        return PriceInterval(
            internal_id=int(str(lowered["id"])),
            line_id=str(lowered["line_id"]),
            plan_id=None if lowered.get("plan_id") is None else str(lowered["plan_id"]),
            start=date.fromisoformat(str(lowered["startdate"])),
            end=None if end in (None, "") else date.fromisoformat(str(end)),
        )
    except (KeyError, ValueError) as error:
        raise AmendmentCheckFailed(
            f"NetSuite answered a {TABLE} row this check cannot read ({error}): {dict(lowered)}"
        ) from error


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
