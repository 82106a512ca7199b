"""The run report of the loader's commands (`plan`, `push`, `export-csv`, `reconcile`): the
options, the dbt invocation and mart read, per-record outcomes, counts and timings of one run,
written as JSON under `target/loader/` for every run and printed as tables by `loader/cli.py`.
Secrets never reach it. (Not the finance report: that is `loader/finance_report`.)"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

REDACTED = "[redacted]"


class ExitCode(IntEnum):
    DONE = 0
    RECORDS_FAILED = 1
    USAGE_ERROR = 2
    GATE_REFUSED = 3
    CONFIG_ERROR = 4


class RecordOutcome(BaseModel):
    """What happened to one record in this run."""

    external_id: str
    billing_period_start: date | None = None
    usage_date: date | None = None
    quantity: str | None = None
    action: str
    outcome: str
    reasons: list[str] = Field(default_factory=list)
    internal_id: str | None = None
    attempts: int = 0
    error: str | None = None
    seconds: float | None = None


class RunReport(BaseModel):
    """One run of one command, filled in as the run goes."""

    run_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    command: str
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    exit_code: int | None = None
    status: str = "running"
    message: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    project_dir: str | None = None
    mart: str | None = None
    dbt_invocation_id: str | None = None
    netsuite_base_url: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    records: list[RecordOutcome] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    report_path: str | None = None

    def count_outcomes(self) -> None:
        self.counts = dict(sorted(Counter(record.outcome for record in self.records).items()))

    def finish(self, exit_code: ExitCode, status: str, message: str | None = None) -> None:
        self.finished_at = datetime.now(UTC)
        self.exit_code = int(exit_code)
        self.status = status
        if message is not None:
            self.message = message
        self.timings["total_seconds"] = (self.finished_at - self.started_at).total_seconds()
        self.timings = {name: round(seconds, 3) for name, seconds in self.timings.items()}

    def redacted(self, secrets: list[str]) -> RunReport:
        """A copy in which no secret value appears anywhere."""
        return RunReport.model_validate_json(redact(self.model_dump_json(), secrets))

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def write_run_report(report: RunReport, report_dir: Path) -> Path:
    """Write the report atomically as `<command>-<UTC time>-<run id>.json`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    stamp = report.started_at.strftime("%Y%m%dT%H%M%S%fZ")
    path = report_dir / f"{report.command}-{stamp}-{report.run_id[:8]}.json"
    report.report_path = str(path)
    handle, temporary = tempfile.mkstemp(dir=report_dir, prefix=".report-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(report.to_json())
    os.replace(temporary, path)
    return path


def print_records(
    console: Console, report: RunReport, title: str, *, show_outcome: bool = False
) -> None:
    """One line per record: what the run does (or would do) and why."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", min_width=60)
    widest = max((len(record.external_id) for record in report.records), default=11)
    table.add_column("External ID", no_wrap=True, min_width=widest)
    table.add_column("Period", no_wrap=True)
    table.add_column("Usage date", no_wrap=True)
    table.add_column("Quantity", justify="right", overflow="fold")
    table.add_column("Action", no_wrap=True)
    if show_outcome:
        table.add_column("Outcome", no_wrap=True)
    table.add_column("Why", overflow="fold")
    for record in report.records:
        cells = [
            record.external_id,
            _text(record.billing_period_start),
            _text(record.usage_date),
            record.quantity or "",
            record.action,
        ]
        cells += [record.outcome] if show_outcome else []
        cells += ["; ".join([*record.reasons, *([record.error] if record.error else [])])]
        table.add_row(*(Text(cell) for cell in cells))
    console.print(table)


def print_outcomes(console: Console, report: RunReport) -> None:
    """Counts by outcome, the records that need attention, and where the report is."""
    table = Table(
        title=f"usage-loader {report.command}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        min_width=40,
    )
    table.add_column("Outcome")
    table.add_column("Records", justify="right")
    for outcome, count in report.counts.items():
        table.add_row(Text(outcome), str(count))
    table.add_row("total", str(len(report.records)), style="bold")
    console.print(table)
    attention = [record for record in report.records if record.outcome in ("failed", "invalid")]
    for record in attention:
        why = "; ".join([*record.reasons, *([record.error] if record.error else [])])
        console.print(Text.assemble((record.outcome, "red"), f" {record.external_id}: {why}"))
    held = [record for record in report.records if record.outcome == "held"]
    if held:
        reasons = Counter(reason for record in held for reason in record.reasons)
        listed = ", ".join(f"{reason} ({count})" for reason, count in sorted(reasons.items()))
        console.print(Text(f"held until released: {listed}"))
    print_footer(console, report)


def print_footer(console: Console, report: RunReport) -> None:
    if report.message:
        style = "green" if report.exit_code == ExitCode.DONE else "red"
        console.print(Text(report.message, style=style))
    if report.report_path:
        console.print(Text(f"report: {report.report_path}"))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def print_findings(console: Console, report: RunReport) -> None:
    """Reconcile: every difference found, then the counts by kind."""
    findings = report.details.get("findings") or []
    if findings:
        table = Table(title="NetSuite vs the mart", box=box.SIMPLE_HEAD, title_justify="left")
        for column in ("Kind", "External ID", "Internal IDs", "Line", "Usage date", "Mart"):
            table.add_column(column)
        table.add_column("NetSuite")
        table.add_column("Detail", overflow="fold")
        for finding in findings:
            cells = (
                finding.get("kind"),
                finding.get("external_id"),
                ", ".join(finding.get("internal_ids") or []),
                finding.get("subscription_line_id"),
                finding.get("usage_date"),
                finding.get("mart_quantity"),
                finding.get("netsuite_quantity"),
                finding.get("detail"),
            )
            table.add_row(*(Text(_text(cell)) for cell in cells))
        console.print(table)
    counts = Table(
        title="usage-loader reconcile", box=box.SIMPLE_HEAD, title_justify="left", min_width=40
    )
    counts.add_column("Difference")
    counts.add_column("Records", justify="right")
    for kind, count in report.counts.items():
        counts.add_row(Text(kind), str(count))
    console.print(counts)
    print_footer(console, report)
