"""The sandbox's state in SQLite: usage records, asynchronous jobs, idempotency keys, nonces.

Every write is one transaction committed before the sandbox answers. The file is in WAL mode with
`synchronous=NORMAL`: a returned commit is in the operating system's hands, so it survives the
process being killed; only a power loss could take the last ones, which a local test double need
not survive, and no request waits on an fsync. Quantities are stored as exact decimal text; the
`usage` view exposes the record table under the lowercase column names SuiteQL uses.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from loader.sandbox.jsonio import decimal_text
from loader.sandbox.models import Job, JobProgress, UsageFields, UsageRow
from loader.sandbox.replies import StoredReply

NONCE_RETENTION_SECONDS = 900
BOOK_TABLE_PREFIX = "book_"
VOIDED = "VOIDED"

_SCHEMA = """
create table if not exists usage_record (
    id integer primary key autoincrement,
    external_id text unique collate nocase,
    customer_id text not null,
    usage_subscription_id text not null,
    usage_subscription_line_id text not null,
    subscription_plan_id text,
    item_id text not null,
    usage_date text not null,
    usage_quantity text not null,
    memo text,
    status text not null default 'ACTIVE',
    created_at text not null,
    last_modified_at text not null
);
drop view if exists usage;
create view usage as
select
    id,
    external_id as externalid,
    customer_id as customer,
    usage_subscription_id as usagesubscription,
    usage_subscription_line_id as usagesubscriptionline,
    subscription_plan_id as subscriptionplan,
    item_id as item,
    account_date(usage_date) as usagedate,
    cast(usage_quantity as numeric) as usagequantity,
    memo,
    status
from usage_record;
create table if not exists async_job (
    id integer primary key autoincrement,
    method text not null,
    external_id text,
    body blob not null,
    base_url text not null,
    created_at real not null,
    run_at real not null,
    progress text not null default 'pending',
    result_status integer,
    result_location text,
    result_content_type text,
    result_body blob,
    completed_at real
);
create index if not exists async_job_pending on async_job (progress, id);
create table if not exists idempotency_key (
    idempotency_key text primary key,
    job_id integer not null
);
create table if not exists oauth_nonce (
    consumer_key text not null,
    token_id text not null,
    nonce text not null,
    timestamp integer not null,
    primary key (consumer_key, token_id, nonce)
);
create index if not exists oauth_nonce_age on oauth_nonce (timestamp);
"""

_USAGE_COLUMNS = (
    "id, external_id, customer_id, usage_subscription_id, usage_subscription_line_id, "
    "subscription_plan_id, item_id, usage_date, usage_quantity, memo, status"
)
_JOB_COLUMNS = (
    "id, method, external_id, body, base_url, created_at, run_at, progress, "
    "result_status, result_location, result_content_type, result_body"
)

Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]


@dataclass(frozen=True)
class JobCompletion:
    """Finish an asynchronous job in the same transaction as the write it ran."""

    job_id: int
    location: Callable[[int], str]


class DuplicateExternalIdError(Exception):
    """A create named an external id another record already holds."""


class VoidedRecordError(Exception):
    """An update addressed a VOIDED usage record, which cannot be edited."""


class QueryTimeoutError(Exception):
    """A read-only query ran past its deadline."""


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _usage_row(row: tuple[Any, ...]) -> UsageRow:
    return UsageRow(
        id=row[0],
        external_id=row[1],
        customer=row[2],
        usage_subscription=row[3],
        usage_subscription_line=row[4],
        subscription_plan=row[5],
        item=row[6],
        usage_date=date.fromisoformat(row[7]),
        usage_quantity=Decimal(row[8]),
        memo=row[9],
        status=row[10],
    )


def _job(row: tuple[Any, ...]) -> Job:
    result = None
    if row[8] is not None:
        result = StoredReply(
            status=row[8], location=row[9], content_type=row[10], body=bytes(row[11] or b"")
        )
    return Job(
        id=row[0],
        method=row[1],
        external_id=row[2],
        body=bytes(row[3]),
        base_url=row[4],
        created_at=row[5],
        run_at=row[6],
        progress=row[7],
        result=result,
    )


class SandboxStore:
    """All reads and writes of the state file; safe to share between request threads."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.RLock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        target = str(path) if path is not None else ":memory:"
        self._connection = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        if path is not None:
            self._connection.execute("pragma journal_mode = wal")
        self._connection.execute("pragma synchronous = normal")
        self.date_format = "M/D/YYYY"
        self._connection.create_function(
            "account_date", 1, lambda iso: format_date(iso, self.date_format)
        )
        self._connection.create_function(
            "account_datetime", 1, lambda iso: format_datetime(iso, self.date_format)
        )
        self._connection.create_function(
            "to_char", 2, lambda value, pattern: to_char(value, pattern, self.date_format)
        )
        columns = {row[1] for row in self._connection.execute("pragma table_info(usage_record)")}
        if columns and "status" not in columns:
            self._connection.execute(
                "alter table usage_record add column status text not null default 'ACTIVE'"
            )
        self._connection.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("begin immediate")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("rollback")
                raise
            self._connection.execute("commit")

    # usage records

    def upsert_usage(
        self, fields: UsageFields, job: JobCompletion | None = None
    ) -> tuple[int, bool]:
        """Create the record of `fields.external_id` or update it in place: (id, created)."""
        if fields.external_id is None:
            raise ValueError("an upsert needs an external id")
        with self._transaction() as db:
            found = db.execute(
                "select id, status from usage_record where external_id = ?",
                (fields.external_id,),
            ).fetchone()
            if found is None:
                internal_id = self._insert(db, fields)
                self._complete(db, job, internal_id)
                return internal_id, True
            if found[1] == VOIDED:
                raise VoidedRecordError(int(found[0]))
            assignments = [
                "customer_id = ?",
                "usage_subscription_id = ?",
                "usage_subscription_line_id = ?",
                "item_id = ?",
                "usage_date = ?",
                "usage_quantity = ?",
                "last_modified_at = ?",
            ]
            values: list[Any] = [
                fields.customer,
                fields.usage_subscription,
                fields.usage_subscription_line,
                fields.item,
                fields.usage_date.isoformat(),
                decimal_text(fields.usage_quantity),
                _now_text(),
            ]
            if "subscriptionPlan" in fields.provided:
                assignments.append("subscription_plan_id = ?")
                values.append(fields.subscription_plan)
            if "memo" in fields.provided:
                assignments.append("memo = ?")
                values.append(fields.memo)
            db.execute(
                f"update usage_record set {', '.join(assignments)} where id = ?",
                (*values, found[0]),
            )
            self._complete(db, job, int(found[0]))
            return int(found[0]), False

    def create_usage(self, fields: UsageFields, job: JobCompletion | None = None) -> int:
        with self._transaction() as db:
            if fields.external_id is not None:
                taken = db.execute(
                    "select 1 from usage_record where external_id = ?", (fields.external_id,)
                ).fetchone()
                if taken is not None:
                    raise DuplicateExternalIdError(fields.external_id)
            internal_id = self._insert(db, fields)
            self._complete(db, job, internal_id)
            return internal_id

    def _complete(
        self, db: sqlite3.Connection, job: JobCompletion | None, internal_id: int
    ) -> None:
        if job is not None:
            result = StoredReply(status=204, location=job.location(internal_id))
            self._finish(db, job.job_id, "succeeded", result)

    @staticmethod
    def _insert(db: sqlite3.Connection, fields: UsageFields) -> int:
        stamp = _now_text()
        cursor = db.execute(
            "insert into usage_record (external_id, customer_id, usage_subscription_id, "
            "usage_subscription_line_id, subscription_plan_id, item_id, usage_date, "
            "usage_quantity, memo, created_at, last_modified_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fields.external_id,
                fields.customer,
                fields.usage_subscription,
                fields.usage_subscription_line,
                fields.subscription_plan,
                fields.item,
                fields.usage_date.isoformat(),
                decimal_text(fields.usage_quantity),
                fields.memo,
                stamp,
                stamp,
            ),
        )
        if cursor.lastrowid is None:
            raise RuntimeError("insert returned no row id")
        return cursor.lastrowid

    def get_usage(self, internal_id: int) -> UsageRow | None:
        with self._lock:
            row = self._connection.execute(
                f"select {_USAGE_COLUMNS} from usage_record where id = ?", (internal_id,)
            ).fetchone()
        return _usage_row(row) if row else None

    def get_usage_by_external_id(self, external_id: str) -> UsageRow | None:
        with self._lock:
            row = self._connection.execute(
                f"select {_USAGE_COLUMNS} from usage_record where external_id = ?",
                (external_id,),
            ).fetchone()
        return _usage_row(row) if row else None

    def delete_usage(self, internal_id: int) -> bool:
        with self._transaction() as db:
            return db.execute("delete from usage_record where id = ?", (internal_id,)).rowcount > 0

    def void_usage(self, external_id: str) -> bool:
        """Void a record, as a NetSuite user does in the UI: it stays, is never billed."""
        with self._transaction() as db:
            cursor = db.execute(
                "update usage_record set status = ?, last_modified_at = ? where external_id = ?",
                (VOIDED, _now_text(), external_id),
            )
            return cursor.rowcount > 0

    def count_usage(self) -> int:
        with self._lock:
            return int(self._connection.execute("select count(*) from usage_record").fetchone()[0])

    def all_usage(self) -> list[UsageRow]:
        with self._lock:
            rows = self._connection.execute(
                f"select {_USAGE_COLUMNS} from usage_record order by id"
            ).fetchall()
        return [_usage_row(row) for row in rows]

    # OAuth nonces

    def claim_nonce(self, consumer_key: str, token_id: str, nonce: str, timestamp: int) -> bool:
        """Record a nonce; False when this consumer and token already used it."""
        with self._transaction() as db:
            db.execute(
                "delete from oauth_nonce where timestamp < ?",
                (int(time.time()) - NONCE_RETENTION_SECONDS,),
            )
            cursor = db.execute(
                "insert or ignore into oauth_nonce (consumer_key, token_id, nonce, timestamp) "
                "values (?, ?, ?, ?)",
                (consumer_key, token_id, nonce, timestamp),
            )
            return cursor.rowcount == 1

    # asynchronous jobs

    def submit_job(
        self,
        *,
        method: str,
        external_id: str | None,
        body: bytes,
        base_url: str,
        run_at: float,
        idempotency_key: str | None,
    ) -> tuple[int, bool]:
        """Queue a job: (job id, True), or (earlier job id, False) for a known idempotency key."""
        with self._transaction() as db:
            if idempotency_key is not None:
                known = db.execute(
                    "select job_id from idempotency_key where idempotency_key = ?",
                    (idempotency_key,),
                ).fetchone()
                if known is not None:
                    return int(known[0]), False
            cursor = db.execute(
                "insert into async_job (method, external_id, body, base_url, created_at, run_at) "
                "values (?, ?, ?, ?, ?, ?)",
                (method, external_id, body, base_url, time.time(), run_at),
            )
            job_id = cursor.lastrowid
            if job_id is None:
                raise RuntimeError("insert returned no row id")
            if idempotency_key is not None:
                db.execute(
                    "insert into idempotency_key (idempotency_key, job_id) values (?, ?)",
                    (idempotency_key, job_id),
                )
            return job_id, True

    def get_job(self, job_id: int) -> Job | None:
        with self._lock:
            row = self._connection.execute(
                f"select {_JOB_COLUMNS} from async_job where id = ?", (job_id,)
            ).fetchone()
        return _job(row) if row else None

    def next_pending_job(self) -> Job | None:
        with self._lock:
            row = self._connection.execute(
                f"select {_JOB_COLUMNS} from async_job where progress = 'pending' "
                "order by id limit 1"
            ).fetchone()
        return _job(row) if row else None

    def finish_job(self, job_id: int, progress: JobProgress, result: StoredReply) -> None:
        with self._transaction() as db:
            self._finish(db, job_id, progress, result)

    @staticmethod
    def _finish(
        db: sqlite3.Connection, job_id: int, progress: JobProgress, result: StoredReply
    ) -> None:
        db.execute(
            "update async_job set progress = ?, result_status = ?, result_location = ?, "
            "result_content_type = ?, result_body = ?, completed_at = ? "
            "where id = ? and progress = 'pending'",
            (
                progress,
                result.status,
                result.location,
                result.content_type,
                result.body,
                time.time(),
                job_id,
            ),
        )

    # SuiteQL

    def run_read_only(
        self,
        sql: str,
        authorizer: Authorizer,
        deadline_seconds: float,
        max_rows: int,
        date_format: str = "M/D/YYYY",
    ) -> QueryResult:
        """Run one statement that the authorizer limits to reads; stop it at the deadline."""
        deadline = time.monotonic() + deadline_seconds
        timed_out = False

        def watchdog() -> int:
            nonlocal timed_out
            timed_out = time.monotonic() > deadline
            return 1 if timed_out else 0

        with self._lock:
            self.date_format = date_format
            db = self._connection
            db.execute("pragma query_only = on")
            db.set_authorizer(authorizer)
            db.set_progress_handler(watchdog, 10_000)
            try:
                cursor = db.execute(sql)
                columns = tuple(column[0] for column in cursor.description or ())
                rows = cursor.fetchmany(max_rows + 1)
            except sqlite3.OperationalError as error:
                if timed_out:
                    raise QueryTimeoutError(sql) from error
                raise
            finally:
                db.set_progress_handler(None, 0)
                db.set_authorizer(None)
                db.execute("pragma query_only = off")
        return QueryResult(columns=columns, rows=rows)

    # the contract book's NetSuite tables

    def load_contract_book(
        self,
        tables: Mapping[str, Sequence[str]],
        rows: Mapping[str, Sequence[Mapping[str, str | None]]],
        dates: frozenset[str],
        timestamps: frozenset[str],
    ) -> None:
        """Replace the served NetSuite tables: `book_<name>` holds the text values, the view
        `<name>` shows them as SuiteQL does (dates in the account's format)."""
        with self._transaction() as db:
            for name, columns in tables.items():
                db.execute(f"drop view if exists {name}")
                db.execute(f"drop table if exists {BOOK_TABLE_PREFIX}{name}")
                db.execute(
                    f"create table {BOOK_TABLE_PREFIX}{name} "
                    f"({', '.join(f'{column} {_affinity(column)}' for column in columns)})"
                )
                shown = []
                for column in columns:
                    if column in dates:
                        shown.append(f"account_date({column}) as {column}")
                    elif column in timestamps:
                        shown.append(f"account_datetime({column}) as {column}")
                    else:
                        shown.append(column)
                db.execute(
                    f"create view {name} as select {', '.join(shown)} "
                    f"from {BOOK_TABLE_PREFIX}{name}"
                )
                db.executemany(
                    f"insert into {BOOK_TABLE_PREFIX}{name} values "
                    f"({', '.join('?' for _ in columns)})",
                    [tuple(row.get(column) for column in columns) for row in rows.get(name, ())],
                )

    # control

    def reset(self) -> None:
        """Forget every record, job and idempotency key (used nonces stay used)."""
        with self._transaction() as db:
            db.execute("delete from usage_record")
            db.execute("delete from async_job")
            db.execute("delete from idempotency_key")


_DATE_TOKENS = re.compile(r"YYYY|MM|DD|M|D")
_FORMATS = {
    "M/D/YYYY": "%m/%d/%Y",
    "D/M/YYYY": "%d/%m/%Y",
    "DD.MM.YYYY": "%d.%m.%Y",
    "YYYY-MM-DD": "%Y-%m-%d",
}


def format_date(value: Any, pattern: str) -> str | None:
    """A date (ISO text) as the pattern writes it: `M/D/YYYY` is `5/31/2026`."""
    if value is None:
        return None
    day = date.fromisoformat(str(value)[:10])
    parts = {
        "YYYY": f"{day.year:04d}",
        "MM": f"{day.month:02d}",
        "DD": f"{day.day:02d}",
        "M": str(day.month),
        "D": str(day.day),
    }
    return _DATE_TOKENS.sub(lambda match: parts[match.group(0)], pattern)


# Internal ids and the references keyset pages go by are numbers, so that `id > 99` and
# `ORDER BY id` compare them as NetSuite does.
_NUMERIC_COLUMNS = frozenset({"id", "subscriptionchangeorder", "subscriptionline"})


def _affinity(column: str) -> str:
    return "integer" if column in _NUMERIC_COLUMNS else "text"


def format_datetime(value: Any, pattern: str) -> str | None:
    """A timestamp (ISO text, UTC) as NetSuite shows one: the date in the account's format, then
    the time of day, `2/10/2026 4:20:00 pm`."""
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    hour = moment.hour % 12 or 12
    half = "am" if moment.hour < 12 else "pm"
    shown_date = format_date(moment.date().isoformat(), pattern)
    return f"{shown_date} {hour}:{moment.minute:02d}:{moment.second:02d} {half}"


def _parse_datetime(value: str, account_format: str) -> datetime | None:
    parts = value.rsplit(" ", 2)
    if len(parts) != 3 or parts[2] not in ("am", "pm"):
        return None
    try:
        day = datetime.strptime(parts[0], _FORMATS[account_format]).date()
        clock = datetime.strptime(f"{parts[1]} {parts[2].upper()}", "%I:%M:%S %p").time()
    except ValueError:
        return None
    return datetime.combine(day, clock, tzinfo=UTC)


_DATETIME_TOKENS = re.compile(r'"[^"]*"|YYYY|HH24|MI|SS|TZH|TZM|MM|DD')


def _format_moment(moment: datetime, pattern: str) -> str:
    parts = {
        "YYYY": f"{moment.year:04d}",
        "MM": f"{moment.month:02d}",
        "DD": f"{moment.day:02d}",
        "HH24": f"{moment.hour:02d}",
        "MI": f"{moment.minute:02d}",
        "SS": f"{moment.second:02d}",
        "TZH": "+00",
        "TZM": "00",
    }

    def token(match: re.Match[str]) -> str:
        text = match.group(0)
        return text[1:-1] if text.startswith('"') else parts[text]

    return _DATETIME_TOKENS.sub(token, pattern)


def to_char(value: Any, pattern: Any, account_format: str) -> str | None:
    """SuiteQL's (Oracle's) `TO_CHAR` of a date or timestamp shown in the account's format, or
    of a number. The sandbox's time zone is UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        return str(value)
    moment = _parse_datetime(value, account_format)
    if moment is not None:
        return _format_moment(moment, str(pattern).upper())
    for strptime_pattern in (_FORMATS[account_format], _FORMATS["YYYY-MM-DD"]):
        try:
            parsed = datetime.strptime(value, strptime_pattern).date()
        except ValueError:
            continue
        return format_date(parsed.isoformat(), str(pattern).upper())
    return value


def read_usage_rows(path: Path) -> list[UsageRow]:
    """Every usage row of a state file, read without writing to it."""
    if not path.exists():
        return []
    uri = path.resolve().as_uri() + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=30.0)
    try:
        rows = connection.execute(
            f"select {_USAGE_COLUMNS} from usage_record order by id"
        ).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise
    finally:
        connection.close()
    return [_usage_row(row) for row in rows]
