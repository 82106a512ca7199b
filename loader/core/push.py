"""The `push` command's work (called by `loader/cli.py`): gates and plan (`plan.plan_run`), then
the upserts, at most `concurrency` at a time, each recorded in the ledger before its request and
after NetSuite's answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from loader.core.config import MartLocation, credentials_from_env
from loader.core.ledger import Ledger, LedgerEntry, LedgerScope, read_entries
from loader.core.netsuite import (
    AccessRefused,
    Cancelled,
    NetSuiteClient,
    NetSuiteError,
    NetSuiteUnavailable,
    RecordRejected,
    RetryPolicy,
)
from loader.core.plan import (
    SENDING,
    Action,
    Plan,
    PlannedRecord,
    hold_unconfirmed_amendments,
    plan_outcome,
    plan_run,
)
from loader.core.run_report import ExitCode, RecordOutcome, RunReport
from loader.core.verify import VOIDED, verify_held

NOT_ATTEMPTED = "not_attempted"
NOT_IN_NETSUITE = "ledger_entry_not_in_netsuite"


class PushOptions(BaseModel):
    """What the operator asked of this push."""

    model_config = ConfigDict(frozen=True)

    period: date | None = None
    include_open_periods: bool = False
    dry_run: bool = False
    concurrency: int = Field(default=4, ge=1)
    use_async: bool = False
    policy: RetryPolicy = Field(default_factory=RetryPolicy)


class Progress(Protocol):
    """Where a long push shows how far it got."""

    def start(self, total: int) -> None: ...

    def advance(self, outcome: RecordOutcome) -> None: ...

    def stop(self) -> None: ...


class SilentProgress:
    def start(self, total: int) -> None:
        return None

    def advance(self, outcome: RecordOutcome) -> None:
        return None

    def stop(self) -> None:
        return None


def run_push(
    location: MartLocation,
    state_dir: Path,
    options: PushOptions,
    run_report: RunReport,
    *,
    env: Mapping[str, str],
    progress: Progress | None = None,
) -> None:
    """`push`: refuse or send; the run report holds every record's outcome and the exit code."""
    progress = progress or SilentProgress()
    credentials = credentials_from_env(env)
    run_report.netsuite_base_url = credentials.base_url
    scope = LedgerScope.of(credentials.account_id, credentials.base_url)
    if options.dry_run:
        plan = plan_run(
            location,
            run_report,
            lambda: read_entries(state_dir, scope),
            period=options.period,
            include_open_periods=options.include_open_periods,
        )
        run_report.records = [
            plan_outcome(item, "not_sent" if item.action in SENDING else None)
            for item in plan.records
        ]
        _finish(run_report, "dry run: nothing sent. " + plan.describe())
        return
    with ExitStack() as held:
        # Locked once the gates passed, from the plan to the last confirmation.
        locked: list[Ledger] = []

        def lock_ledger() -> dict[str, LedgerEntry]:
            locked.append(held.enter_context(Ledger(state_dir, scope)))
            return locked[0].entries()

        plan = plan_run(
            location,
            run_report,
            lock_ledger,
            period=options.period,
            include_open_periods=options.include_open_periods,
        )
        ledger = locked[0]
        client = held.enter_context(
            NetSuiteClient(credentials, concurrency=options.concurrency, policy=options.policy)
        )
        verifying_at = time.perf_counter()
        plan, voided = _verify_against_netsuite(client, plan, run_report)
        run_report.timings["verify_seconds"] = time.perf_counter() - verifying_at
        checking_at = time.perf_counter()
        plan = hold_unconfirmed_amendments(client, plan, run_report, skip=frozenset(voided))
        run_report.timings["amendment_check_seconds"] = time.perf_counter() - checking_at
        outcomes = {
            item.external_id: plan_outcome(item)
            for item in plan.records
            if item.action not in SENDING
        }
        outcomes.update(voided)
        to_send = [item for item in plan.to_send() if item.external_id not in voided]
        sending_at = time.perf_counter()
        sent: dict[str, RecordOutcome] = {}
        stop: NetSuiteError | None = None
        if to_send:
            progress.start(len(to_send))
            try:
                sent, stop = _send_all(client, ledger, to_send, options, progress)
            finally:
                progress.stop()
        run_report.timings["send_seconds"] = time.perf_counter() - sending_at
    outcomes.update(sent)
    run_report.records = [outcomes[item.external_id] for item in plan.records]
    if isinstance(stop, AccessRefused):
        raise stop
    if stop is not None:
        run_report.count_outcomes()
        not_attempted = run_report.counts.get(NOT_ATTEMPTED, 0)
        run_report.details["stopped"] = str(stop)
        run_report.finish(
            ExitCode.RECORDS_FAILED,
            "netsuite_unavailable",
            f"{stop}; {not_attempted} record(s) not attempted. " + _push_message(run_report),
        )
        return
    _finish(run_report)


def _verify_against_netsuite(
    client: NetSuiteClient, plan: Plan, run_report: RunReport
) -> tuple[Plan, dict[str, RecordOutcome]]:
    """Ask NetSuite about every record the ledger says it holds (unchanged or to update).

    Those it does not hold are sent again (created); those it holds as VOIDED are reported and
    not sent. Records to create are not asked about: NetSuite's upsert matches them anyway."""
    trusted = [item for item in plan.records if item.action in (Action.UNCHANGED, Action.UPDATE)]
    if not trusted:
        run_report.details["verification"] = {"asked": 0, "reads": 0, "not_in_netsuite": 0}
        return plan, {}
    verification = verify_held(client, [item.external_id for item in trusted])
    voided: dict[str, RecordOutcome] = {}
    resend: dict[str, PlannedRecord] = {}
    for item in trusted:
        held = verification.find(item.external_id)
        if held is None:
            resend[item.external_id] = item.model_copy(
                update={"action": Action.CREATE, "reasons": (*item.reasons, NOT_IN_NETSUITE)}
            )
        elif held.status == VOIDED:
            outcome = plan_outcome(item, "voided")
            outcome.internal_id = held.internal_id
            outcome.error = (
                f"NetSuite holds this record as VOIDED (internal id {held.internal_id}): it is "
                "never billed and cannot be edited; not sent"
            )
            voided[item.external_id] = outcome
    run_report.details["verification"] = {
        "asked": verification.asked,
        "reads": verification.reads,
        "not_in_netsuite": len(resend),
        "voided": len(voided),
    }
    records = tuple(resend.get(item.external_id, item) for item in plan.records)
    return plan.model_copy(update={"records": records}), voided


def _send_all(
    client: NetSuiteClient,
    ledger: Ledger,
    items: list[PlannedRecord],
    options: PushOptions,
    progress: Progress,
) -> tuple[dict[str, RecordOutcome], NetSuiteError | None]:
    """Send every record with `concurrency` workers; each worker has one request in flight.

    The first record goes alone, so that wrong credentials cost one request, not `concurrency`.
    Each worker takes the next record itself as soon as its request is answered. What stops the
    run (401, 403, NetSuite unreachable or silent for a whole outage) is returned; the records
    not tried are `not_attempted`.
    """
    outcomes: dict[str, RecordOutcome] = {}
    stop: NetSuiteError | None = None
    queue = iter(items)
    guard = threading.Lock()
    stopped = threading.Event()

    def take() -> PlannedRecord | None:
        with guard:
            return None if stopped.is_set() else next(queue, None)

    def send(item: PlannedRecord) -> None:
        nonlocal stop
        try:
            outcome = _send_one(client, ledger, item, options.use_async)
        except (AccessRefused, NetSuiteUnavailable) as error:
            stopped.set()
            outcome = plan_outcome(item, "failed")
            outcome.error = str(error)
            with guard:
                stop = stop or error
        with guard:
            outcomes[item.external_id] = outcome
            progress.advance(outcome)

    def work() -> None:
        try:
            while (item := take()) is not None:
                send(item)
        except BaseException:
            stopped.set()
            raise

    first = take()
    if first is not None:
        send(first)
    if not stopped.is_set():
        with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            workers = [pool.submit(work) for _ in range(options.concurrency)]
            for worker in workers:
                worker.result()
    reason = f"stopped: {stop}" if stop is not None else "stopped"
    for item in queue:
        outcomes[item.external_id] = _not_attempted(item, reason)
    for item in items:
        outcome = outcomes.get(item.external_id)
        if outcome is not None and outcome.outcome == NOT_ATTEMPTED:
            outcome.error = reason
    ledger.flush()
    return outcomes, stop


def _not_attempted(item: PlannedRecord, reason: str) -> RecordOutcome:
    outcome = plan_outcome(item, NOT_ATTEMPTED)
    outcome.error = reason
    return outcome


def _send_one(
    client: NetSuiteClient, ledger: Ledger, item: PlannedRecord, use_async: bool
) -> RecordOutcome:
    payload, payload_hash = item.payload, item.payload_hash
    if payload is None or payload_hash is None:
        raise ValueError(f"{item.external_id} has no payload to send")
    started = time.perf_counter()
    outcome = plan_outcome(item)
    key = ledger.mark_in_flight(item.external_id, payload_hash, item.billing_period_start)
    body = payload.to_json()
    try:
        if use_async:
            result = client.upsert_usage_async(item.external_id, body, key)
        else:
            result = client.upsert_usage(item.external_id, body)
    except RecordRejected as error:
        ledger.mark_failed(item.external_id, str(error), rejected=True)
        outcome.outcome, outcome.error = "failed", str(error)
    except Cancelled:
        outcome.outcome = NOT_ATTEMPTED
    except AccessRefused as error:
        ledger.mark_failed(item.external_id, str(error), rejected=False)
        raise
    except NetSuiteUnavailable as error:
        ledger.mark_failed(item.external_id, str(error), rejected=False)
        raise
    except NetSuiteError as error:
        ledger.mark_failed(item.external_id, str(error), rejected=False)
        outcome.outcome, outcome.error = "failed", str(error)
    else:
        done = "created" if item.action is Action.CREATE else "updated"
        ledger.confirm(item.external_id, payload_hash, result.internal_id, done)
        outcome.outcome, outcome.internal_id, outcome.attempts = (
            done,
            result.internal_id,
            (result.attempts),
        )
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _finish(run_report: RunReport, message: str | None = None) -> None:
    run_report.count_outcomes()
    message = message or _push_message(run_report)
    failed = run_report.counts.get("failed", 0) + run_report.counts.get("invalid", 0)
    if failed:
        run_report.finish(ExitCode.RECORDS_FAILED, "records_failed", message)
    else:
        run_report.finish(ExitCode.DONE, "done", message)


def _push_message(run_report: RunReport) -> str:
    counts = run_report.counts
    parts = [
        f"{counts.get(name, 0)} {name}"
        for name in (
            "created",
            "updated",
            "unchanged",
            "held",
            "voided",
            "failed",
            "invalid",
            NOT_ATTEMPTED,
        )
    ]
    return ", ".join(parts)
