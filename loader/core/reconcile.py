"""Compares the Usage Records NetSuite holds (read page by page with SuiteQL) with the mart.

NetSuite's records are read in keyset pages: one query `WHERE id > last ORDER BY id` after
another, each read in pages of 1000, until a query returns nothing, so NetSuite's ceiling of
100,000 rows for one query (beyond which it leaves rows out without a word) is never reached
unnoticed. Dates are read as text (`TO_CHAR(usagedate, 'YYYY-MM-DD')`): the account's date format
is never guessed. Quantities are compared as decimals. Held and invalid records are listed as
information, not as differences: the run exits 0 when NetSuite holds exactly the sendable records.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from loader.core.amendments import is_gated, unconfirmed
from loader.core.config import MartLocation, credentials_from_env
from loader.core.gates import HoldReason, hold_reasons, judge_dbt_build
from loader.core.marts import UsageRecord, read_mart
from loader.core.netsuite import (
    NetSuiteClient,
    RetryPolicy,
    UnexpectedAnswer,
    keyset_rows,
    numeric_key,
)
from loader.core.payload import decimal_text, record_problems
from loader.core.plan import is_sendable
from loader.core.run_report import ExitCode, RunReport

VOIDED = "VOIDED"


def usage_query(after_id: int) -> str:
    """One keyset page of NetSuite's usage records: those after internal id `after_id`."""
    return (
        "SELECT id, externalid, usagesubscriptionline, "
        "TO_CHAR(usagedate, 'YYYY-MM-DD') AS usagedate, usagequantity, status "
        f"FROM usage WHERE id > {int(after_id)} ORDER BY id"
    )


def read_netsuite_usage(
    client: NetSuiteClient, *, page_size: int = 1000
) -> tuple[list[NetSuiteUsage], int]:
    """Every usage record NetSuite holds, and the number of queries it took."""
    rows, queries = keyset_rows(
        client,
        lambda last: usage_query(last[0] if last else 0),
        numeric_key("id"),
        what="usage ids",
        page_size=page_size,
    )
    return [parse_usage_row(row) for row in rows], queries


class Kind(StrEnum):
    MISSING = "missing"
    EXTRA = "extra"
    QUANTITY_DIFFERS = "quantity_differs"
    VOIDED = "voided"
    DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
    DUPLICATE_LINE_DATE = "duplicate_line_date"
    PENDING_AFTER_PERIOD_END = "pending_after_period_end"


class NetSuiteUsage(BaseModel):
    """One Usage Record as SuiteQL returns it."""

    model_config = ConfigDict(frozen=True)

    id: str
    externalid: str | None = None
    usagesubscriptionline: str | None = None
    usagedate: date | None = None
    usagequantity: Decimal | None = None
    status: str | None = None

    @property
    def is_voided(self) -> bool:
        return (self.status or "").upper() == VOIDED


class Finding(BaseModel):
    """One difference between NetSuite and the mart."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    external_id: str | None = None
    internal_ids: list[str] = Field(default_factory=list)
    subscription_line_id: str | None = None
    usage_date: date | None = None
    mart_quantity: str | None = None
    netsuite_quantity: str | None = None
    detail: str


def parse_usage_row(row: Mapping[str, Any]) -> NetSuiteUsage:
    """SuiteQL answers with strings; the date as `TO_CHAR(usagedate, 'YYYY-MM-DD')` wrote it."""
    lowered = {str(key).lower(): value for key, value in row.items()}
    return NetSuiteUsage(
        id=str(lowered.get("id")),
        externalid=_text(lowered.get("externalid")),
        usagesubscriptionline=_reference(lowered.get("usagesubscriptionline")),
        usagedate=_date(lowered.get("usagedate")),
        usagequantity=_decimal(lowered.get("usagequantity")),
        status=_text(lowered.get("status")),
    )


class HeldRecord(BaseModel):
    """A record of the mart that is not sendable (held or invalid): information, not a
    difference."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    state: str
    reasons: list[str]
    in_netsuite: bool
    period_ended: bool


def not_sendable(
    mart: Sequence[UsageRecord],
    netsuite: Sequence[NetSuiteUsage],
    *,
    as_of: date,
    include_open_periods: bool = False,
    period: date | None = None,
    amendment_held: frozenset[str] = frozenset(),
) -> list[HeldRecord]:
    """The records of the mart that are held or invalid, and whether NetSuite holds them.
    `amendment_held`: the External IDs whose price change NetSuite does not hold."""
    held_ids = {row.externalid.upper() for row in netsuite if row.externalid}
    listed = []
    for record in mart:
        if period is not None and record.billing_period_start != period:
            continue
        problems = record_problems(record)
        reasons = [
            str(reason)
            for reason in hold_reasons(record, include_open_periods=include_open_periods)
        ]
        if record.external_id in amendment_held:
            reasons.append(HoldReason.AMENDMENT_NOT_IN_NETSUITE.value)
        if not problems and not reasons:
            continue
        ended = record.billing_period_end is not None and record.billing_period_end < as_of
        listed.append(
            HeldRecord(
                external_id=record.external_id,
                state="invalid" if problems else "held",
                reasons=problems or reasons,
                in_netsuite=record.external_id.upper() in held_ids,
                period_ended=ended,
            )
        )
    return listed


def compare(
    mart: Sequence[UsageRecord],
    netsuite: Sequence[NetSuiteUsage],
    *,
    as_of: date,
    include_open_periods: bool = False,
    period: date | None = None,
    amendment_held: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Every difference, by kind: what an auditor checks before an invoice run."""
    all_ids = {record.external_id.upper() for record in mart}
    sendable = [
        record
        for record in mart
        if is_sendable(record, include_open_periods=include_open_periods)
        and record.external_id not in amendment_held
    ]
    sendable_ids = {record.external_id.upper() for record in sendable}
    scope = [record for record in mart if period is None or record.billing_period_start == period]
    rows = _rows_in_scope(netsuite, scope, period)
    by_external_id: dict[str, list[NetSuiteUsage]] = defaultdict(list)
    for row in rows:
        if row.externalid:
            by_external_id[row.externalid.upper()].append(row)
    findings: list[Finding] = []
    for record in scope:
        if record.external_id.upper() not in sendable_ids:
            continue
        found = by_external_id.get(record.external_id.upper(), [])
        live = [row for row in found if not row.is_voided]
        for row in found:
            if row.is_voided:
                findings.append(
                    _record_finding(
                        Kind.VOIDED,
                        record,
                        "NetSuite holds this record as VOIDED: it is never billed and "
                        "cannot be edited",
                        row,
                    )
                )
        if not live:
            if not found:
                findings.append(
                    _record_finding(
                        Kind.MISSING, record, "sendable record of the mart is not in NetSuite"
                    )
                )
            ended = record.billing_period_end is not None and record.billing_period_end < as_of
            if ended:
                findings.append(
                    _record_finding(
                        Kind.PENDING_AFTER_PERIOD_END,
                        record,
                        f"period ended {record.billing_period_end}, not billable in "
                        "NetSuite (sendable)",
                    )
                )
            continue
        for row in live:
            if record.quantity is None or row.usagequantity != record.quantity:
                findings.append(
                    _record_finding(
                        Kind.QUANTITY_DIFFERS,
                        record,
                        f"NetSuite holds {_quantity(row.usagequantity)}, "
                        f"the mart {_quantity(record.quantity)}",
                        row,
                    )
                )
    for row in rows:
        if row.externalid and row.externalid.upper() in all_ids - sendable_ids:
            findings.append(
                _netsuite_finding(Kind.EXTRA, row, "in NetSuite, but held or invalid in the mart")
            )
    for row in rows:
        if not row.externalid or row.externalid.upper() not in all_ids:
            findings.append(
                _netsuite_finding(
                    Kind.EXTRA,
                    row,
                    "in NetSuite, not in the mart"
                    + ("" if row.externalid else " (no External ID)"),
                )
            )
    for _, group in sorted(by_external_id.items()):
        if len(group) > 1:
            findings.append(
                Finding(
                    kind=Kind.DUPLICATE_EXTERNAL_ID,
                    external_id=group[0].externalid,
                    internal_ids=[row.id for row in group],
                    detail=f"{len(group)} NetSuite records share this External ID",
                )
            )
    findings.extend(_line_date_duplicates(rows))
    return findings


def _record_finding(
    kind: Kind, record: UsageRecord, detail: str, row: NetSuiteUsage | None = None
) -> Finding:
    """A difference found from a record of the mart, with NetSuite's row when there is one."""
    return Finding(
        kind=kind,
        external_id=record.external_id,
        internal_ids=[] if row is None else [row.id],
        subscription_line_id=record.subscription_line_id,
        usage_date=record.usage_date,
        mart_quantity=_quantity(record.quantity),
        netsuite_quantity=None if row is None else _quantity(row.usagequantity),
        detail=detail,
    )


def _netsuite_finding(kind: Kind, row: NetSuiteUsage, detail: str) -> Finding:
    """A difference found from a row NetSuite holds."""
    return Finding(
        kind=kind,
        external_id=row.externalid,
        internal_ids=[row.id],
        subscription_line_id=row.usagesubscriptionline,
        usage_date=row.usagedate,
        netsuite_quantity=_quantity(row.usagequantity),
        detail=detail,
    )


def run_reconcile(
    location: MartLocation,
    run_report: RunReport,
    *,
    env: Mapping[str, str],
    as_of: date,
    period: date | None,
    include_open_periods: bool,
    policy: RetryPolicy,
) -> None:
    """`reconcile`: read both sides, compare, and report every difference."""
    credentials = credentials_from_env(env)
    run_report.netsuite_base_url = credentials.base_url
    started = time.perf_counter()
    snapshot = read_mart(location)
    run_report.mart = snapshot.relation
    run_report.timings["read_mart_seconds"] = time.perf_counter() - started
    run_report.details["dbt_gate"] = _gate_state(location, snapshot.invocation_ids)
    queried = time.perf_counter()
    with NetSuiteClient(credentials, concurrency=1, policy=policy) as client:
        rows, queries = read_netsuite_usage(client)
        amendment_held = _amendment_holds(
            client,
            [
                record
                for record in snapshot.records
                if (period is None or record.billing_period_start == period)
                and is_gated(record)
                and is_sendable(record, include_open_periods=include_open_periods)
            ],
            run_report,
        )
        pages = client.suiteql_pages
    run_report.timings["suiteql_seconds"] = time.perf_counter() - queried
    findings = compare(
        snapshot.records,
        rows,
        as_of=as_of,
        include_open_periods=include_open_periods,
        period=period,
        amendment_held=amendment_held,
    )
    counts = {kind.value: 0 for kind in Kind}
    for finding in findings:
        counts[finding.kind.value] += 1
    run_report.counts = counts
    held = not_sendable(
        snapshot.records,
        rows,
        as_of=as_of,
        include_open_periods=include_open_periods,
        period=period,
        amendment_held=amendment_held,
    )
    run_report.details.update(
        {
            "as_of": as_of.isoformat(),
            "netsuite_records": len(rows),
            "mart_records": len(snapshot.records),
            "suiteql_queries": queries,
            "suiteql_pages": pages,
            "findings": [finding.model_dump(mode="json") for finding in findings],
            "not_sendable": [record.model_dump(mode="json") for record in held],
        }
    )
    if findings:
        summary = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
        run_report.finish(ExitCode.RECORDS_FAILED, "differences", f"NetSuite differs: {summary}")
    else:
        run_report.finish(
            ExitCode.DONE, "reconciled", f"NetSuite matches the mart ({len(rows)} records)"
        )


def _amendment_holds(
    client: NetSuiteClient, gated: Sequence[UsageRecord], run_report: RunReport
) -> frozenset[str]:
    """The records push would hold because NetSuite's line lacks their price change (SPEC 7):
    held, so listed and not counted as differences; one NetSuite holds anyway is `extra`."""
    held, run_report.details["amendment_check"] = unconfirmed(client, gated)
    return held


def _gate_state(location: MartLocation, invocation_ids: set[str]) -> str:
    verdict = judge_dbt_build(location.target_dir, location.project_name, invocation_ids)
    return "passed" if verdict.is_current else f"not passed: {verdict.refusal}"


def _rows_in_scope(
    rows: Sequence[NetSuiteUsage], scope: Sequence[UsageRecord], period: date | None
) -> list[NetSuiteUsage]:
    """With `--period`, the NetSuite records of that period: its External IDs or its dates."""
    if period is None:
        return list(rows)
    ids = {record.external_id for record in scope}
    ends = [record.billing_period_end for record in scope if record.billing_period_end]
    last = max(ends, default=period)
    return [
        row
        for row in rows
        if (row.externalid in ids)
        or (row.usagedate is not None and period <= row.usagedate <= last)
    ]


def _line_date_duplicates(rows: Iterable[NetSuiteUsage]) -> list[Finding]:
    """Records of one subscription line and usage date, one of them without External ID."""
    groups: dict[tuple[str, date], list[NetSuiteUsage]] = defaultdict(list)
    for row in rows:
        if row.usagesubscriptionline and row.usagedate:
            groups[(row.usagesubscriptionline, row.usagedate)].append(row)
    findings = []
    for (line, used), group in sorted(groups.items()):
        if len(group) > 1 and any(not row.externalid for row in group):
            findings.append(
                Finding(
                    kind=Kind.DUPLICATE_LINE_DATE,
                    internal_ids=[row.id for row in group],
                    subscription_line_id=line,
                    usage_date=used,
                    detail=f"{len(group)} NetSuite records for line {line} on {used}, "
                    "at least one without External ID",
                )
            )
    return findings


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _reference(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return _text(value)


def _date(value: Any) -> date | None:
    """`YYYY-MM-DD` as `TO_CHAR` wrote it; any other form is refused, never guessed."""
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise UnexpectedAnswer(
            f"usage date {text!r} in SuiteQL answer is not YYYY-MM-DD (read with TO_CHAR)"
        ) from None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise UnexpectedAnswer(f"unrecognized quantity {value!r} in SuiteQL answer") from error


def _quantity(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)
