"""The ledger: what NetSuite has confirmed, per External ID, in a SQLite file of its own. `push`
locks and writes it; `plan`, `export-csv` and the finance report only read it.

A record is marked in flight (with the hash of the payload about to be sent) before its request
and confirmed after NetSuite answered. A run killed between the two leaves the marker behind; the
next run sends that record again, which is safe because the upsert by External ID is idempotent.

Entries are kept per NetSuite account and base URL (a scope): a push to another account, or to
the same account at another URL (a refreshed sandbox, a proxy), does not see the first one's
entries. A ledger written before scopes existed is migrated in place; its entries belong to no
scope until the first push opens the ledger, which adopts them (and verifies them against
NetSuite before trusting any, as every push does).

A marker is on disk before `mark_in_flight` returns. A confirmation is written with the ledger's
next write (the next marker, usually) or by `flush`, and at the latest when the ledger closes: one
commit per record instead of two. A run killed before a confirmation was written leaves that
record's marker behind, which is the case above.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ConfigDict

LEDGER_FILE = "ledger.sqlite3"
LOCK_FILE = "ledger.lock"

UNSCOPED = ""

_SCHEMA = """
create table if not exists usage_record (
    account_id text not null,
    base_url text not null,
    external_id text not null,
    confirmed_hash text,
    internal_id text,
    outcome text not null,
    attempts integer not null default 0,
    in_flight_hash text,
    in_flight_since text,
    in_flight_key text,
    billing_period_start text,
    last_error text,
    updated_at text not null,
    primary key (account_id, base_url, external_id)
)
"""
_COLUMNS = (
    "external_id, confirmed_hash, internal_id, outcome, attempts, in_flight_hash, "
    "in_flight_since, in_flight_key, billing_period_start, last_error, updated_at"
)
_UNSCOPED_COLUMNS = (
    "external_id, confirmed_hash, internal_id, outcome, attempts, in_flight_hash, "
    "in_flight_since, billing_period_start, last_error, updated_at"
)


class LedgerScope(BaseModel):
    """One NetSuite account at one base URL: the entries of a ledger belong to one scope."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    base_url: str

    @classmethod
    def of(cls, account_id: str, base_url: str) -> LedgerScope:
        """NetSuite's form of the account id (`123-sb1` is `123_SB1`), the URL without `/`."""
        return cls(
            account_id=account_id.strip().upper().replace("-", "_"),
            base_url=base_url.strip().rstrip("/").lower(),
        )


class LedgerBusy(Exception):
    """Another push holds the ledger: two runs never send at once."""


class LedgerEntry(BaseModel):
    """What the ledger knows of one External ID."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    confirmed_hash: str | None
    internal_id: str | None
    outcome: str
    attempts: int
    in_flight_hash: str | None
    in_flight_since: str | None
    in_flight_key: str | None = None
    billing_period_start: str | None
    last_error: str | None
    updated_at: str

    def is_confirmed(self, payload_hash: str) -> bool:
        """NetSuite holds exactly this payload: confirmed, and no other payload maybe sent since."""
        return self.confirmed_hash == payload_hash and self.in_flight_hash in (None, payload_hash)

    def sent_hashes(self) -> set[str]:
        """Every payload that may have reached NetSuite for this External ID."""
        return {value for value in (self.confirmed_hash, self.in_flight_hash) if value}


def read_entries(state_dir: Path, scope: LedgerScope | None = None) -> dict[str, LedgerEntry]:
    """Read the ledger without locking it or creating it (for `plan` and `reconcile`).

    Without a scope: the entries of the scope written last (a ledger usually has one)."""
    path = state_dir / LEDGER_FILE
    if not path.is_file():
        return {}
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if _is_unscoped(connection):
            return _select(connection, f"select {_UNSCOPED_COLUMNS} from usage_record", ())
        if scope is None:
            latest = connection.execute(
                "select account_id, base_url from usage_record order by updated_at desc limit 1"
            ).fetchone()
            if latest is None:
                return {}
            scope = LedgerScope(account_id=latest[0], base_url=latest[1])
        return _select_scope(connection, scope)
    finally:
        connection.close()


class Ledger:
    """The ledger opened for a push: locked against other runs, safe to use from worker threads."""

    def __init__(self, state_dir: Path, scope: LedgerScope | None = None) -> None:
        """Without a scope, entries are written unscoped: the next push adopts them."""
        self.scope = scope or LedgerScope(account_id=UNSCOPED, base_url=UNSCOPED)
        state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file: IO[str] = (state_dir / LOCK_FILE).open("a", encoding="utf-8")
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            self._lock_file.close()
            raise LedgerBusy(
                f"another usage-loader run holds the ledger in {state_dir}: "
                "wait for it to finish and run again"
            ) from error
        self._guard = threading.Lock()
        # Confirmations not yet written: (hash, internal id, outcome, when, scope, external id).
        self._unwritten: list[tuple[str, str | None, str, str, str, str, str]] = []
        self._connection = sqlite3.connect(
            state_dir / LEDGER_FILE, check_same_thread=False, isolation_level=None
        )
        self._connection.execute("pragma journal_mode=wal")
        # WAL with synchronous=normal survives a killed loader; after a power loss the last
        # confirmations may be gone, and those records are simply upserted again (by External ID).
        self._connection.execute("pragma synchronous=normal")
        _migrate(self._connection)
        self._adopt_unscoped()
        os.chmod(state_dir / LEDGER_FILE, 0o600)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._guard:
            try:
                self._write_confirmations()
            finally:
                self._connection.close()
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
                self._lock_file.close()

    def entries(self) -> dict[str, LedgerEntry]:
        with self._guard:
            self._write_confirmations()
            return _select_scope(self._connection, self.scope)

    def flush(self) -> None:
        """Write the confirmations not yet written."""
        with self._guard:
            self._write_confirmations()

    def mark_in_flight(
        self, external_id: str, payload_hash: str, billing_period_start: date | None
    ) -> str:
        """Written (and on disk) before the request leaves, with the confirmations before it.

        Returns the idempotency key of this send: the key of the same payload still in flight
        (a retry of that very send, e.g. after a killed run), else a new UUID: a record that goes
        from payload A to B and back to A sends A again under a new key."""
        now = _now()
        period = billing_period_start.isoformat() if billing_period_start else None
        scope = (self.scope.account_id, self.scope.base_url)
        with self._guard, self._transaction() as db:
            known = db.execute(
                "select in_flight_hash, in_flight_key from usage_record "
                "where account_id = ? and base_url = ? and external_id = ?",
                (*scope, external_id),
            ).fetchone()
            if known is not None and known[0] == payload_hash and known[1]:
                key = str(known[1])
            else:
                key = str(uuid.uuid4())
            db.execute(
                """
                insert into usage_record (
                    account_id, base_url, external_id, outcome, attempts, in_flight_hash,
                    in_flight_since, in_flight_key, billing_period_start, updated_at
                ) values (?, ?, ?, 'in_flight', 1, ?, ?, ?, ?, ?)
                on conflict (account_id, base_url, external_id) do update set
                    outcome = 'in_flight',
                    attempts = attempts + 1,
                    in_flight_hash = excluded.in_flight_hash,
                    in_flight_since = excluded.in_flight_since,
                    in_flight_key = excluded.in_flight_key,
                    billing_period_start = excluded.billing_period_start,
                    updated_at = excluded.updated_at
                """,
                (*scope, external_id, payload_hash, now, key, period, now),
            )
        return key

    def confirm(
        self, external_id: str, payload_hash: str, internal_id: str | None, outcome: str
    ) -> None:
        """NetSuite answered success for this payload: it is the one it holds.

        Written with the next write, by `flush` or when the ledger closes (see the module)."""
        with self._guard:
            self._unwritten.append(
                (
                    payload_hash,
                    internal_id,
                    outcome,
                    _now(),
                    self.scope.account_id,
                    self.scope.base_url,
                    external_id,
                )
            )

    def mark_failed(self, external_id: str, error: str, *, rejected: bool) -> None:
        """A failed send. A rejection (4xx) changed nothing in NetSuite, so the in-flight
        marker goes; after exhausted retries the request may have landed, so it stays."""
        with self._guard, self._transaction() as db:
            db.execute(
                """
                update usage_record set
                    outcome = 'failed', last_error = ?, updated_at = ?,
                    in_flight_hash = case when ? then null else in_flight_hash end,
                    in_flight_since = case when ? then null else in_flight_since end,
                    in_flight_key = case when ? then null else in_flight_key end
                where account_id = ? and base_url = ? and external_id = ?
                """,
                (
                    error,
                    _now(),
                    rejected,
                    rejected,
                    rejected,
                    self.scope.account_id,
                    self.scope.base_url,
                    external_id,
                ),
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One commit: the confirmations not yet written, then the caller's statements.

        The caller holds the guard."""
        db = self._connection
        db.execute("begin")
        try:
            if self._unwritten:
                db.executemany(
                    """
                    update usage_record set
                        confirmed_hash = ?, internal_id = coalesce(?, internal_id), outcome = ?,
                        in_flight_hash = null, in_flight_since = null, in_flight_key = null,
                        last_error = null, updated_at = ?
                    where account_id = ? and base_url = ? and external_id = ?
                    """,
                    self._unwritten,
                )
            yield db
            db.execute("commit")
        except BaseException:
            if db.in_transaction:
                db.execute("rollback")
            raise
        self._unwritten.clear()

    def _write_confirmations(self) -> None:
        """The caller holds the guard."""
        if self._unwritten:
            with self._transaction():
                pass

    def _adopt_unscoped(self) -> None:
        """Entries written before scopes existed become this scope's (see the module)."""
        scope = (self.scope.account_id, self.scope.base_url)
        if scope == (UNSCOPED, UNSCOPED):
            return
        with self._guard, self._transaction() as db:
            db.execute(
                f"""
                insert or ignore into usage_record (account_id, base_url, {_COLUMNS})
                select ?, ?, {_COLUMNS} from usage_record
                where account_id = ? and base_url = ?
                """,
                (*scope, UNSCOPED, UNSCOPED),
            )
            db.execute(
                "delete from usage_record where account_id = ? and base_url = ?",
                (UNSCOPED, UNSCOPED),
            )


def _is_unscoped(connection: sqlite3.Connection) -> bool:
    """A ledger written before entries were scoped (no `account_id` column)."""
    columns = {row[1] for row in connection.execute("pragma table_info(usage_record)")}
    return bool(columns) and "account_id" not in columns


def _migrate(connection: sqlite3.Connection) -> None:
    """Create the table, or move an unscoped ledger's entries into it, in one transaction."""
    connection.execute("begin immediate")
    try:
        if _is_unscoped(connection):
            connection.execute("alter table usage_record rename to usage_record_unscoped")
            connection.execute(_SCHEMA)
            connection.execute(
                f"""
                insert into usage_record (account_id, base_url, {_UNSCOPED_COLUMNS})
                select ?, ?, {_UNSCOPED_COLUMNS} from usage_record_unscoped
                """,
                (UNSCOPED, UNSCOPED),
            )
            connection.execute("drop table usage_record_unscoped")
        else:
            connection.execute(_SCHEMA)
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise


def _select_scope(connection: sqlite3.Connection, scope: LedgerScope) -> dict[str, LedgerEntry]:
    exists = connection.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'usage_record'"
    ).fetchone()
    if not exists:
        return {}
    return _select(
        connection,
        f"select {_COLUMNS} from usage_record where account_id = ? and base_url = ?",
        (scope.account_id, scope.base_url),
    )


def _select(
    connection: sqlite3.Connection, query: str, parameters: tuple[str, ...]
) -> dict[str, LedgerEntry]:
    cursor = connection.execute(query, parameters)
    names = [column[0] for column in cursor.description]
    entries = (LedgerEntry(**dict(zip(names, row, strict=True))) for row in cursor.fetchall())
    return {entry.external_id: entry for entry in entries}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
