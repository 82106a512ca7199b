"""Whether each Usage Record is in NetSuite yet, as the loader's ledger remembers it.

The ledger (`ledger.sqlite3` in the loader's state directory) keeps, per External ID, the hash of
the payload NetSuite last confirmed. A record is *loaded* when that hash is the hash of the payload
the mart would send now; loaded with another hash means the mart changed since and the next push
updates it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from loader.core.ledger import LEDGER_FILE, LedgerEntry, read_entries
from loader.core.marts import UsageRecord
from loader.core.payload import build_payload, record_problems


class Tone(StrEnum):
    GOOD = "good"
    WARN = "warn"
    BAD = "bad"
    QUIET = "quiet"


class LoadState(BaseModel):
    """What the page says about one record's load into NetSuite."""

    model_config = ConfigDict(frozen=True)

    label: str
    tone: Tone
    is_loaded: bool = False


class LedgerView(BaseModel):
    """The ledger as the report found it."""

    model_config = ConfigDict(frozen=True)

    path: Path
    exists: bool
    confirmed: int


AMENDMENT_NOT_IN_NETSUITE = "amendment_not_in_netsuite"


def amendment_holds(report_dir: Path, invocation_ids: set[str]) -> set[str]:
    """The External IDs the latest push held because NetSuite lacked their price change: the
    check runs at push, against NetSuite, so the report reads it from that push's run report
    (`target/loader/push-*.json`), when that push read this very build of the mart."""
    for path in sorted(report_dir.glob("push-*.json"), reverse=True):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(report, dict) or "amendment_check" not in (report.get("details") or {}):
            continue
        if report.get("dbt_invocation_id") not in invocation_ids:
            return set()
        return {
            str(record.get("external_id"))
            for record in report.get("records") or []
            if record.get("outcome") == "held"
            and AMENDMENT_NOT_IN_NETSUITE in (record.get("reasons") or [])
        }
    return set()


NOT_LOADED = LoadState(label="not loaded yet", tone=Tone.QUIET)


def read_ledger(state_dir: Path) -> tuple[LedgerView, dict[str, LedgerEntry]]:
    """Read the ledger without locking or creating it; no ledger means nothing was loaded."""
    entries = read_entries(state_dir)
    confirmed = sum(1 for entry in entries.values() if entry.confirmed_hash)
    path = state_dir / LEDGER_FILE
    return LedgerView(path=path, exists=path.is_file(), confirmed=confirmed), entries


def load_states(
    records: Iterable[UsageRecord], entries: dict[str, LedgerEntry]
) -> dict[str, LoadState]:
    """The load state of every record, by External ID."""
    return {
        record.external_id: load_state(record, entries.get(record.external_id))
        for record in records
    }


def load_state(record: UsageRecord, entry: LedgerEntry | None) -> LoadState:
    problems = record_problems(record)
    if problems:
        return LoadState(label="cannot be sent: " + "; ".join(problems), tone=Tone.BAD)
    current = build_payload(record).content_hash()
    if entry is None:
        return NOT_LOADED
    netsuite_id = f" (NetSuite id {entry.internal_id})" if entry.internal_id else ""
    if entry.is_confirmed(current):
        return LoadState(label=f"loaded{netsuite_id}", tone=Tone.GOOD, is_loaded=True)
    if entry.outcome == "failed":
        detail = f": {entry.last_error}" if entry.last_error else ""
        return LoadState(label=f"last send failed{detail}", tone=Tone.BAD)
    if entry.in_flight_hash:
        return LoadState(label="sent, not confirmed yet: the next push confirms it", tone=Tone.WARN)
    if entry.confirmed_hash:
        return LoadState(
            label=f"loaded{netsuite_id}, changed since: the next push updates it", tone=Tone.WARN
        )
    return NOT_LOADED
