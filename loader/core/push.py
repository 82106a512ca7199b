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
from loader.core.ledger import Ledger, LedgerEntry, read_entries
from loader.core.netsuite import (
    AuthenticationFailed,
    Cancelled,
    NetSuiteClient,
    NetSuiteError,
    RecordRejected,
    RetryPolicy,
)
from loader.core.plan import SENDING, Action, PlannedRecord, plan_outcome, plan_run
from loader.core.run_report import ExitCode, RecordOutcome, RunReport


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
    if options.dry_run:
        plan = plan_run(
            location,
            run_report,
            lambda: read_entries(state_dir),
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
            locked.append(held.enter_context(Ledger(state_dir)))
            return locked[0].entries()

        plan = plan_run(
            location,
            run_report,
            lock_ledger,
            period=options.period,
            include_open_periods=options.include_open_periods,
        )
        ledger = locked[0]
        outcomes = {
            item.external_id: plan_outcome(item)
            for item in plan.records
            if item.action not in SENDING
        }
        to_send = plan.to_send()
        sending_at = time.perf_counter()
        sent: dict[str, RecordOutcome] = {}
        auth_error: AuthenticationFailed | None = None
        if to_send:
            with NetSuiteClient(
                credentials, concurrency=options.concurrency, policy=options.policy
            ) as client:
                progress.start(len(to_send))
                try:
                    sent, auth_error = _send_all(client, ledger, to_send, options, progress)
                finally:
                    progress.stop()
        run_report.timings["send_seconds"] = time.perf_counter() - sending_at
    outcomes.update(sent)
    run_report.records = [outcomes[item.external_id] for item in plan.records]
    if auth_error is not None:
        raise auth_error
    _finish(run_report)


def _send_all(
    client: NetSuiteClient,
    ledger: Ledger,
    items: list[PlannedRecord],
    options: PushOptions,
    progress: Progress,
) -> tuple[dict[str, RecordOutcome], AuthenticationFailed | None]:
    """Send every record with `concurrency` workers; each worker has one request in flight.

    The first record goes alone, so that wrong credentials cost one request, not `concurrency`.
    Each worker takes the next record itself as soon as its request is answered.
    """
    outcomes: dict[str, RecordOutcome] = {}
    auth_error: AuthenticationFailed | None = None
    queue = iter(items)
    guard = threading.Lock()
    stopped = threading.Event()

    def take() -> PlannedRecord | None:
        with guard:
            return None if stopped.is_set() else next(queue, None)

    def send(item: PlannedRecord) -> None:
        nonlocal auth_error
        try:
            outcome = _send_one(client, ledger, item, options.use_async)
        except AuthenticationFailed as error:
            stopped.set()
            outcome = _not_sent(item)
            with guard:
                auth_error = auth_error or error
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
    for item in queue:
        outcomes[item.external_id] = _not_sent(item)
    ledger.flush()
    return outcomes, auth_error


def _not_sent(item: PlannedRecord) -> RecordOutcome:
    outcome = plan_outcome(item, "not_sent")
    outcome.error = "stopped: NetSuite refused the credentials"
    return outcome


def _send_one(
    client: NetSuiteClient, ledger: Ledger, item: PlannedRecord, use_async: bool
) -> RecordOutcome:
    payload, payload_hash = item.payload, item.payload_hash
    if payload is None or payload_hash is None:
        raise ValueError(f"{item.external_id} has no payload to send")
    started = time.perf_counter()
    outcome = plan_outcome(item)
    ledger.mark_in_flight(item.external_id, payload_hash, item.billing_period_start)
    body = payload.to_json()
    try:
        if use_async:
            result = client.upsert_usage_async(item.external_id, body, payload.idempotency_key())
        else:
            result = client.upsert_usage(item.external_id, body)
    except RecordRejected as error:
        ledger.mark_failed(item.external_id, str(error), rejected=True)
        outcome.outcome, outcome.error = "failed", str(error)
    except Cancelled:
        outcome.outcome = "not_sent"
        outcome.error = "stopped: NetSuite refused the credentials"
    except AuthenticationFailed:
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
        for name in ("created", "updated", "unchanged", "held", "failed", "invalid")
    ]
    return ", ".join(parts)
