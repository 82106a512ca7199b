"""The ledger: in flight before the request, confirmed after, one push at a time."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import date
from pathlib import Path

import pytest

from loader.core.ledger import Ledger, LedgerBusy, LedgerScope, read_entries


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


def test_entries_are_scoped_by_account_and_base_url(tmp_path: Path) -> None:
    first = LedgerScope.of("1234567-sb1", "https://1234567-sb1.suitetalk.api.netsuite.com/")
    assert first == LedgerScope.of("1234567_SB1", "https://1234567-SB1.suitetalk.api.netsuite.com")
    other_url = LedgerScope.of("1234567_SB1", "http://127.0.0.1:8765")
    other_account = LedgerScope.of("7654321", "https://1234567-sb1.suitetalk.api.netsuite.com")
    with Ledger(tmp_path, first) as ledger:
        ledger.mark_in_flight("UR-A-20260501", "h1", None)
        ledger.confirm("UR-A-20260501", "h1", "101", "created")
    for scope in (other_url, other_account):
        with Ledger(tmp_path, scope) as ledger:
            assert ledger.entries() == {}
            ledger.mark_in_flight("UR-A-20260501", "h2", None)
    assert read_entries(tmp_path, first)["UR-A-20260501"].is_confirmed("h1")
    assert read_entries(tmp_path, other_url)["UR-A-20260501"].in_flight_hash == "h2"
    assert read_entries(tmp_path)["UR-A-20260501"].in_flight_hash == "h2"


def test_a_ledger_written_before_scopes_is_migrated_and_adopted(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "ledger.sqlite3")
    connection.executescript(
        """
        create table usage_record (
            external_id text primary key, confirmed_hash text, internal_id text,
            outcome text not null, attempts integer not null default 0, in_flight_hash text,
            in_flight_since text, billing_period_start text, last_error text,
            updated_at text not null
        );
        insert into usage_record values
            ('UR-A-20260501', 'h1', '101', 'created', 1, null, null, '2026-05-01', null, 't1'),
            ('UR-B-20260501', 'h2', null, 'in_flight', 1, 'h3', 't2', '2026-05-01', null, 't2');
        """
    )
    connection.close()
    assert read_entries(tmp_path)["UR-A-20260501"].is_confirmed("h1")
    scope = LedgerScope.of("1234567_SB1", "http://127.0.0.1:8765")
    with Ledger(tmp_path, scope) as ledger:
        entries = ledger.entries()
    assert entries["UR-A-20260501"].is_confirmed("h1")
    assert entries["UR-A-20260501"].internal_id == "101"
    assert entries["UR-B-20260501"].sent_hashes() == {"h2", "h3"}
    assert read_entries(tmp_path, scope) == entries
    other = LedgerScope.of("7654321", "http://127.0.0.1:8765")
    assert read_entries(tmp_path, other) == {}


def test_the_idempotency_key_is_new_per_send_and_kept_for_its_retries(tmp_path: Path) -> None:
    scope = LedgerScope.of("1234567_SB1", "http://127.0.0.1:8765")
    with Ledger(tmp_path, scope) as ledger:
        first_a = ledger.mark_in_flight("UR-A-20260501", "hash-a", None)
        retry_a = ledger.mark_in_flight("UR-A-20260501", "hash-a", None)
        assert retry_a == first_a
        ledger.confirm("UR-A-20260501", "hash-a", "101", "created")
        key_b = ledger.mark_in_flight("UR-A-20260501", "hash-b", None)
        ledger.confirm("UR-A-20260501", "hash-b", "101", "updated")
        again_a = ledger.mark_in_flight("UR-A-20260501", "hash-a", None)
    assert len({first_a, key_b, again_a}) == 3
    assert str(uuid.UUID(again_a)) == again_a
