"""The `export-csv` command's work (called by `loader/cli.py`): the records a push would leave
in NetSuite, as a NetSuite CSV import file (Usage records)."""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from loader.core.config import MartLocation
from loader.core.ledger import read_entries
from loader.core.marts import UsageRecord
from loader.core.payload import decimal_text
from loader.core.plan import Action, plan_outcome, plan_run
from loader.core.run_report import ExitCode, RunReport

CSV_COLUMNS = (
    "External ID",
    "Subscription",
    "Subscription Line",
    "Subscription Plan",
    "Item",
    "Quantity",
    "Usage Date",
)
DEFAULT_DATE_FORMAT = "MM/DD/YYYY"
DATE_FORMATS = (
    "MM/DD/YYYY",
    "DD/MM/YYYY",
    "M/D/YYYY",
    "D/M/YYYY",
    "DD.MM.YYYY",
    "D.M.YYYY",
    "YYYY/MM/DD",
    "YYYY-MM-DD",
    "DD-Mon-YYYY",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TOKEN = re.compile(r"YYYY|Mon|MM|DD|M|D|[/.\- ]")


def format_date(value: date, pattern: str) -> str:
    """A date in one of NetSuite's date formats (its preference names: `MM/DD/YYYY`, ...)."""
    tokens = _TOKEN.findall(pattern)
    if "".join(tokens) != pattern:
        raise ValueError(f"unknown date format {pattern!r}")
    parts = {
        "YYYY": f"{value.year:04d}",
        "MM": f"{value.month:02d}",
        "DD": f"{value.day:02d}",
        "M": str(value.month),
        "D": str(value.day),
        "Mon": _MONTHS[value.month - 1],
    }
    return "".join(parts.get(token, token) for token in tokens)


def csv_problems(record: UsageRecord) -> list[str]:
    """What the CSV needs beyond the REST payload: the subscription line's number."""
    return (
        [] if record.subscription_line_number is not None else ["subscription_line_number is null"]
    )


def csv_row(record: UsageRecord, date_format: str) -> list[str]:
    if record.usage_date is None or record.quantity is None:
        raise ValueError(f"record {record.external_id} has no usage date or quantity")
    return [
        record.external_id,
        record.subscription_id or "",
        str(record.subscription_line_number),
        record.subscription_plan_id or "",
        record.item_id or "",
        decimal_text(record.quantity),
        format_date(record.usage_date, date_format),
    ]


def write_csv(records: Iterable[UsageRecord], out: Path, *, date_format: str) -> int:
    """Write the import file atomically; returns the number of records written."""
    out = out.expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    written = 0
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream, lineterminator="\r\n")
            writer.writerow(CSV_COLUMNS)
            for record in records:
                writer.writerow(csv_row(record, date_format))
                written += 1
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written


def run_export(
    location: MartLocation,
    state_dir: Path,
    run_report: RunReport,
    *,
    out: Path,
    date_format: str,
    period: date | None,
    include_open_periods: bool,
) -> None:
    """`export-csv`: the gates, then every record a push would leave in NetSuite, as CSV."""
    plan = plan_run(
        location,
        run_report,
        lambda: read_entries(state_dir),
        period=period,
        include_open_periods=include_open_periods,
    )
    exported: list[UsageRecord] = []
    for item in plan.records:
        outcome = plan_outcome(item)
        if item.action in (Action.CREATE, Action.UPDATE, Action.UNCHANGED):
            problems = csv_problems(item.record)
            if problems:
                outcome.outcome, outcome.reasons = "invalid", problems
            else:
                outcome.outcome = "exported"
                exported.append(item.record)
        run_report.records.append(outcome)
    rows = write_csv(exported, out, date_format=date_format)
    run_report.details = {"out": str(out.expanduser().resolve()), "date_format": date_format}
    run_report.count_outcomes()
    invalid = run_report.counts.get("invalid", 0)
    message = f"{rows} records written to {out}"
    if invalid:
        run_report.finish(
            ExitCode.RECORDS_FAILED, "records_invalid", f"{message}; {invalid} invalid"
        )
    else:
        run_report.finish(ExitCode.DONE, "done", message)
