"""The ledger: in flight before the request, confirmed after, one push at a time."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from loader.core.ledger import Ledger, LedgerBusy, read_entries


def test_in_flight_then_confirmed(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        ledger.mark_in_flight("UR-A-20260501", "h1", date(2026, 5, 1))
        entry = ledger.entries()["UR-A-20260501"]
        assert (entry.outcome, entry.in_flight_hash, entry.confirmed_hash) == (
            "in_flight",
            "h1",
            None,
        )
        assert not entry.is_confirmed("h1")
        ledger.confirm("UR-A-20260501", "h1", "101", "created")
    entry = read_entries(tmp_path)["UR-A-20260501"]
    assert entry.is_confirmed("h1")
    assert not entry.is_confirmed("h2")
    assert (entry.internal_id, entry.outcome, entry.attempts) == ("101", "created", 1)
    assert entry.billing_period_start == "2026-05-01"


def test_an_unconfirmed_later_payload_makes_the_record_uncertain(tmp_path: Path) -> None:
    """Confirmed h1, then h2 in flight and killed: NetSuite may hold h2; h1 must be re-sent."""
    with Ledger(tmp_path) as ledger:
        ledger.mark_in_flight("UR-A-20260501", "h1", None)
        ledger.confirm("UR-A-20260501", "h1", "101", "created")
        ledger.mark_in_flight("UR-A-20260501", "h2", None)
    entry = read_entries(tmp_path)["UR-A-20260501"]
    assert not entry.is_confirmed("h1")
    assert entry.sent_hashes() == {"h1", "h2"}
    assert entry.attempts == 2


def test_rejection_clears_the_marker_exhausted_retries_keep_it(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        ledger.mark_in_flight("UR-A-20260501", "h1", None)
        ledger.mark_failed("UR-A-20260501", "HTTP 400 INVALID_KEY_OR_REF: bad item", rejected=True)
        ledger.mark_in_flight("UR-B-20260501", "h2", None)
        ledger.mark_failed("UR-B-20260501", "gave up", rejected=False)
    entries = read_entries(tmp_path)
    assert entries["UR-A-20260501"].in_flight_hash is None
    assert entries["UR-A-20260501"].last_error == "HTTP 400 INVALID_KEY_OR_REF: bad item"
    assert entries["UR-B-20260501"].in_flight_hash == "h2"
    assert {entry.outcome for entry in entries.values()} == {"failed"}


def test_one_push_at_a_time(tmp_path: Path) -> None:
    with Ledger(tmp_path), pytest.raises(LedgerBusy, match="another usage-loader run"):
        Ledger(tmp_path)
    with Ledger(tmp_path) as again:
        assert again.entries() == {}


def test_reading_a_missing_ledger_creates_nothing(tmp_path: Path) -> None:
    assert read_entries(tmp_path / "state") == {}
    assert not (tmp_path / "state").exists()
