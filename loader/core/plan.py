"""What a push would do, record by record: the gates passed, then create, update, unchanged,
held (and why) or invalid (and why). `plan`, `push` and `export-csv` all start with `plan_run`;
`run_plan` is the `plan` command itself (called by `loader/cli.py`)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from loader.core.amendments import is_gated, unconfirmed
from loader.core.config import OAUTH2_VARS, TBA_VARS, MartLocation, credentials_from_env
from loader.core.gates import (
    DbtBuild,
    HoldReason,
    check_billed_history,
    check_dbt_build,
    check_invocation,
    hold_reasons,
    read_dbt_build,
)
from loader.core.ledger import LedgerEntry, read_entries
from loader.core.marts import MartSnapshot, UsageRecord, read_mart
from loader.core.netsuite import NetSuiteClient
from loader.core.payload import UsagePayload, build_payload, decimal_text, record_problems
from loader.core.run_report import ExitCode, RecordOutcome, RunReport


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    HELD = "held"
    INVALID = "invalid"


SENDING = frozenset({Action.CREATE, Action.UPDATE})


class PlannedRecord(BaseModel):
    """One record of the mart and what the run does with it."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    billing_period_start: date | None
    usage_date: date | None
    quantity: Decimal | None
    is_billed: bool
    action: Action
    reasons: tuple[str, ...] = ()
    payload: UsagePayload | None = None
    payload_hash: str | None = None
    record: UsageRecord


class Plan(BaseModel):
    """Every record in scope, in External ID order."""

    model_config = ConfigDict(frozen=True)

    records: tuple[PlannedRecord, ...]

    def counts(self) -> dict[str, int]:
        counted = Counter(record.action.value for record in self.records)
        return {action.value: counted.get(action.value, 0) for action in Action}

    def to_send(self) -> list[PlannedRecord]:
        return [record for record in self.records if record.action in SENDING]

    def describe(self) -> str:
        """The counts in one line: `3 to create, 0 to update, ...`."""
        counts = self.counts()
        return (
            f"{counts['create']} to create, {counts['update']} to update, "
            f"{counts['unchanged']} unchanged, {counts['held']} held, {counts['invalid']} invalid"
        )


class GatedMart(BaseModel):
    """The mart after the dbt gates passed, with the build that vouches for it."""

    model_config = ConfigDict(frozen=True)

    build: DbtBuild
    snapshot: MartSnapshot
    timings: dict[str, float]


def read_gated_mart(location: MartLocation) -> GatedMart:
    """Check dbt's results, read the mart, check that this build is the tested one."""
    started = time.perf_counter()
    build = read_dbt_build(location.target_dir, location.project_name)
    check_dbt_build(build)
    gated = time.perf_counter()
    snapshot = read_mart(location)
    check_invocation(build, snapshot.invocation_ids)
    done = time.perf_counter()
    return GatedMart(
        build=build,
        snapshot=snapshot,
        timings={"dbt_gate_seconds": gated - started, "read_mart_seconds": done - gated},
    )


def plan_run(
    location: MartLocation,
    run_report: RunReport,
    ledger_entries: Callable[[], Mapping[str, LedgerEntry]],
    *,
    period: date | None,
    include_open_periods: bool,
) -> Plan:
    """How `plan`, `push` and `export-csv` start: read the gated mart, note in the run report
    which dbt invocation built which mart and how long that took, then plan every record.

    `ledger_entries` is called only once the gates passed, so a refused run never opens (nor
    locks, nor creates) the ledger.
    """
    gated = read_gated_mart(location)
    run_report.dbt_invocation_id = gated.build.invocation_id
    run_report.mart = gated.snapshot.relation
    run_report.timings.update(gated.timings)
    planned_at = time.perf_counter()
    plan = build_plan(
        gated.snapshot.records,
        ledger_entries(),
        period=period,
        include_open_periods=include_open_periods,
    )
    run_report.timings["plan_seconds"] = time.perf_counter() - planned_at
    return plan


def run_plan(
    location: MartLocation,
    state_dir: Path,
    run_report: RunReport,
    *,
    period: date | None,
    include_open_periods: bool,
    env: Mapping[str, str] | None = None,
) -> Plan:
    """`plan`: the gates and the decision for every record; nothing is sent. With NetSuite's
    credentials set it asks NetSuite, reading only, whether the price changes of the records to
    send are committed (the amendment gate of `push`), so it shows those holds too."""
    plan = plan_run(
        location,
        run_report,
        lambda: read_entries(state_dir),
        period=period,
        include_open_periods=include_open_periods,
    )
    plan, note = _check_amendments_if_configured(
        plan, run_report, os.environ if env is None else env
    )
    run_report.records = [plan_outcome(item) for item in plan.records]
    run_report.count_outcomes()
    invalid = run_report.counts.get("invalid", 0)
    message = plan.describe() + note
    run_report.finish(
        ExitCode.RECORDS_FAILED if invalid else ExitCode.DONE,
        "records_invalid" if invalid else "planned",
        message,
    )
    return plan


def _check_amendments_if_configured(
    plan: Plan, run_report: RunReport, env: Mapping[str, str]
) -> tuple[Plan, str]:
    """The amendment gate's reads when NetSuite is configured; else a note that push checks."""
    gated = amendment_gated(plan)
    if not gated:
        run_report.details["amendment_check"] = {"records_checked": 0, "held": 0}
        return plan, ""
    if not any(env.get(name, "").strip() for name in (*TBA_VARS, *OAUTH2_VARS)):
        run_report.details["amendment_check"] = {"runs_at": "push", "records_to_check": gated}
        return plan, (
            f". {gated} record(s) to send belong to segments a price change started; NetSuite's "
            "credentials are not set, so push checks them: it sends them only once NetSuite "
            f"holds the change order (else held: {HoldReason.AMENDMENT_NOT_IN_NETSUITE.value})"
        )
    credentials = credentials_from_env(env)
    run_report.netsuite_base_url = credentials.base_url
    with NetSuiteClient(credentials) as client:
        return hold_unconfirmed_amendments(client, plan, run_report), ""


def hold_unconfirmed_amendments(
    client: NetSuiteClient,
    plan: Plan,
    run_report: RunReport,
    *,
    skip: frozenset[str] = frozenset(),
) -> Plan:
    """Hold every record to send (but those in `skip`) whose segment a price change started while
    NetSuite's line does not hold the segment's plan from that date (SPEC 7). `push` and `plan`
    both ask NetSuite so; a read that fails raises: nothing is sent on the old assumption."""
    gated = [
        item
        for item in plan.records
        if item.action in SENDING and item.external_id not in skip and is_gated(item.record)
    ]
    unconfirmed_ids, details = unconfirmed(client, [item.record for item in gated])
    held = {
        item.external_id: item.model_copy(
            update={"action": Action.HELD, "reasons": (HoldReason.AMENDMENT_NOT_IN_NETSUITE.value,)}
        )
        for item in gated
        if item.external_id in unconfirmed_ids
    }
    details["amendments_not_in_netsuite"] = sorted(
        {item.record.segment_amendment_id or "" for item in held.values()}
    )
    run_report.details["amendment_check"] = details
    records = tuple(held.get(item.external_id, item) for item in plan.records)
    return plan.model_copy(update={"records": records})


def amendment_gated(plan: Plan) -> int:
    """How many records to send the amendment check of `push` asks NetSuite about."""
    return sum(1 for item in plan.to_send() if item.record.segment_amendment_id)


def build_plan(
    records: Sequence[UsageRecord],
    ledger: Mapping[str, LedgerEntry],
    *,
    period: date | None = None,
    include_open_periods: bool = False,
) -> Plan:
    """Decide every record in scope; refuse (exit 3) when a billed record changed."""
    payloads = {
        record.external_id: build_payload(record)
        for record in records
        if not record_problems(record)
    }
    check_billed_history(
        {
            record.external_id: payloads[record.external_id].content_hash()
            for record in records
            if record.is_billed and record.external_id in payloads
        },
        ledger,
    )
    in_scope = [
        record for record in records if period is None or record.billing_period_start == period
    ]
    planned = [
        _decide(
            record,
            payloads.get(record.external_id),
            ledger.get(record.external_id),
            include_open_periods=include_open_periods,
        )
        for record in in_scope
    ]
    return Plan(records=tuple(sorted(planned, key=lambda item: item.external_id)))


def _decide(
    record: UsageRecord,
    payload: UsagePayload | None,
    entry: LedgerEntry | None,
    *,
    include_open_periods: bool,
) -> PlannedRecord:
    common = {
        "external_id": record.external_id,
        "billing_period_start": record.billing_period_start,
        "usage_date": record.usage_date,
        "quantity": record.quantity,
        "is_billed": bool(record.is_billed),
        "record": record,
    }
    if payload is None:
        return PlannedRecord(
            **common, action=Action.INVALID, reasons=tuple(record_problems(record))
        )
    payload_hash = payload.content_hash()
    if entry is not None and entry.is_confirmed(payload_hash):
        return PlannedRecord(
            **common, action=Action.UNCHANGED, payload=payload, payload_hash=payload_hash
        )
    reasons = hold_reasons(record, include_open_periods=include_open_periods)
    if reasons:
        return PlannedRecord(
            **common,
            action=Action.HELD,
            reasons=tuple(reason.value for reason in reasons),
            payload=payload,
            payload_hash=payload_hash,
        )
    action = Action.UPDATE if entry is not None and entry.confirmed_hash else Action.CREATE
    return PlannedRecord(**common, action=action, payload=payload, payload_hash=payload_hash)


def is_sendable(record: UsageRecord, *, include_open_periods: bool) -> bool:
    """Valid and not held: a record NetSuite should hold after this run, sent or unchanged."""
    return not record_problems(record) and not hold_reasons(
        record, include_open_periods=include_open_periods
    )


def plan_outcome(item: PlannedRecord, outcome: str | None = None) -> RecordOutcome:
    """The run report's line of a record before (or without) sending it."""
    default = {
        Action.UNCHANGED: "unchanged",
        Action.HELD: "held",
        Action.INVALID: "invalid",
        Action.CREATE: "create",
        Action.UPDATE: "update",
    }[item.action]
    return RecordOutcome(
        external_id=item.external_id,
        billing_period_start=item.billing_period_start,
        usage_date=item.usage_date,
        quantity=None if item.quantity is None else decimal_text(item.quantity),
        action=item.action.value,
        outcome=outcome or default,
        reasons=list(item.reasons),
    )
