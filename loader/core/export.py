"""The records a push would send, as NetSuite CSV import files (Usage records).

The CSV Import Assistant takes at most 25,000 records in one job, so the records are written
to numbered files of at most that many (`usage-0001.csv`, `usage-0002.csv`, ... for `--out
usage.csv`), each one import job, with the import map beside them: which NetSuite field each
column maps to and the reference type (internal id) each reference column needs.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
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
MAX_RECORDS_PER_FILE = 25_000
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


def numbered_path(out: Path, number: int) -> Path:
    """The `number`th file of an export to `out`: `usage.csv` gives `usage-0001.csv`."""
    return out.with_name(f"{out.stem}-{number:04d}{out.suffix or '.csv'}")


def import_map_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}-import-map.txt")


def write_csv_files(
    records: Sequence[UsageRecord], out: Path, *, date_format: str, max_records: int
) -> list[Path]:
    """Write the records in numbered files of at most `max_records`, each atomically, and
    remove numbered files of an earlier export to `out` beyond the last one written (importing
    a stale file would put old quantities back)."""
    out = out.expanduser()
    chunks = [records[start : start + max_records] for start in range(0, len(records), max_records)]
    paths = []
    for number, chunk in enumerate(chunks or [[]], start=1):
        path = numbered_path(out, number)
        write_csv(chunk, path, date_format=date_format)
        paths.append(path)
    pattern = re.compile(re.escape(out.stem) + r"-(\d{4})" + re.escape(out.suffix or ".csv"))
    for stale in out.parent.glob(f"{out.stem}-*"):
        match = pattern.fullmatch(stale.name)
        if match and int(match.group(1)) > len(paths):
            stale.unlink()
    return paths


def import_map(paths: Sequence[Path], records: int, *, date_format: str, max_records: int) -> str:
    """How to import the files with NetSuite's CSV Import Assistant, column by column."""
    names = ", ".join(path.name for path in paths)
    return "\n".join(
        [
            "NetSuite CSV import of Usage records (SuiteBilling)",
            f"Files: {names} ({records} records; at most {max_records} a file, one import job "
            "each: the CSV Import Assistant's limit for one job is 25,000 records).",
            "Setup > Import/Export > Import CSV Records, record type Usage; character encoding "
            "Unicode (UTF-8); one file per job, no linked files.",
            "Import options: Add or Update, records matched by External ID (a second import of "
            "the same file updates, never duplicates).",
            "Field mapping (reference type: the choice behind the field's pencil icon):",
            "  External ID        -> External ID",
            "  Subscription       -> Subscription        reference type: Internal ID",
            "  Subscription Line  -> Subscription Line   the line number within the subscription",
            "  Subscription Plan  -> Subscription Plan   reference type: Internal ID",
            "  Item               -> Item                reference type: Internal ID",
            "  Quantity           -> Usage Quantity      exact decimal, no thousands separator",
            f"  Usage Date         -> Usage Date          {date_format}, the account's date "
            "preference (Home > Set Preferences)",
            "",
        ]
    )


def run_export(
    location: MartLocation,
    state_dir: Path,
    run_report: RunReport,
    *,
    out: Path,
    date_format: str,
    period: date | None,
    include_open_periods: bool,
    max_records: int = MAX_RECORDS_PER_FILE,
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
    paths = write_csv_files(exported, out, date_format=date_format, max_records=max_records)
    note = import_map(paths, len(exported), date_format=date_format, max_records=max_records)
    note_path = import_map_path(out.expanduser())
    note_path.write_text(note, encoding="utf-8")
    run_report.details = {
        "out": str(out.expanduser().resolve()),
        "files": [str(path.resolve()) for path in paths],
        "import_map": str(note_path.resolve()),
        "import_map_text": note,
        "date_format": date_format,
        "max_records_per_file": max_records,
    }
    run_report.count_outcomes()
    invalid = run_report.counts.get("invalid", 0)
    message = (
        f"{len(exported)} records written to {len(paths)} file(s): "
        f"{', '.join(path.name for path in paths)} in {out.expanduser().resolve().parent}; "
        f"import map (reference type Internal ID for Subscription, Subscription Plan and Item): "
        f"{note_path.name}"
    )
    if invalid:
        run_report.finish(
            ExitCode.RECORDS_FAILED, "records_invalid", f"{message}; {invalid} invalid"
        )
    else:
        run_report.finish(ExitCode.DONE, "done", message)
