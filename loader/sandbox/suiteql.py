"""SuiteQL over the sandbox's tables: one read-only SELECT, paged as NetSuite pages it.

The statement runs in SQLite under an authorizer that allows reading the `usage` view and the
contract book's NetSuite tables (`loader/sandbox/contract_book.py`) and nothing else, so it cannot
write, attach, read other tables or change settings. As NetSuite
does, column names come back lowercase, every value as a string, and empty values left out; dates
in the account's date format unless `TO_CHAR(usagedate, 'YYYY-MM-DD')` formats them; one query
returns at most 100,000 rows, the rest silently left out.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from loader.sandbox import jsonio
from loader.sandbox.contract_book import TABLES as BOOK_TABLES
from loader.sandbox.faults import FaultInjector
from loader.sandbox.records import parse_document
from loader.sandbox.replies import NetSuiteError, Reply, json_reply
from loader.sandbox.store import BOOK_TABLE_PREFIX, QueryTimeoutError, SandboxStore

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
DEFAULT_LIMIT = 1000
MAX_LIMIT = 1000

_LEADING_COMMENTS = re.compile(r"^(\s+|--[^\n]*(\n|$)|/\*.*?\*/)*", re.DOTALL)
# Each view SuiteQL may read, and the table behind it.
_QUERYABLE = {
    "usage": "usage_record",
    **{name: f"{BOOK_TABLE_PREFIX}{name}" for name in BOOK_TABLES},
}
_BEHIND_VIEWS = frozenset(_QUERYABLE.values())


def _authorize(
    action: int, arg1: str | None, arg2: str | None, database: str | None, source: str | None
) -> int:
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_READ and database in ("main", None):
        table = (arg1 or "").lower()
        if table in _QUERYABLE:
            return sqlite3.SQLITE_OK
        # Columns of a table through its view; `count(*)` on a view reads the table with no
        # column at all.
        through_view = (source or "").lower() in _QUERYABLE or arg2 == ""
        if table in _BEHIND_VIEWS and through_view:
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _invalid_query(detail: str) -> NetSuiteError:
    return NetSuiteError.of(
        400,
        "INVALID_PARAMETER",
        f"Invalid search query. Detailed unprocessed description follows. {detail}",
        "q",
    )


def _invalid_parameter(name: str, detail: str) -> NetSuiteError:
    return NetSuiteError.of(400, "INVALID_PARAMETER", detail, name)


def _integer_parameter(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values:
        return default
    text = values[-1].strip()
    if not text.isdigit():
        raise _invalid_parameter(name, f"The value of query parameter '{name}' is not an integer.")
    return int(text)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bytes):
        return None
    if isinstance(value, float):
        number = Decimal(repr(value))
        return jsonio.decimal_text(number) if number.is_finite() else repr(value)
    return str(value)


class SuiteQLService:
    """Answers `POST query/v1/suiteql?limit=N&offset=M` with body `{"q": "SELECT ..."}`."""

    def __init__(
        self, store: SandboxStore, faults: FaultInjector, *, deadline_seconds: float = 10.0
    ) -> None:
        self._store = store
        self._faults = faults
        self._deadline_seconds = deadline_seconds

    def query(self, body: bytes, query_string: str, prefer: str, base_url: str) -> Reply:
        if "transient" not in prefer.lower():
            raise NetSuiteError.of(
                400,
                "INVALID_HEADER",
                "SuiteQL requests need the header 'Prefer: transient'.",
                "Prefer",
            )
        failure = self._faults.next_suiteql_status()
        if failure is not None:
            raise NetSuiteError.of(
                failure, "UNEXPECTED_ERROR", "An unexpected error occurred (injected fault)."
            )
        params = parse_qs(query_string, keep_blank_values=True)
        limit = _integer_parameter(params, "limit", DEFAULT_LIMIT)
        offset = _integer_parameter(params, "offset", 0)
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid_parameter("limit", f"The limit must be between 1 and {MAX_LIMIT}.")
        if offset % limit:
            raise _invalid_parameter("offset", "The offset must be a multiple of the limit.")
        statement = self._statement(parse_document(body))
        columns, rows = self._run(statement)
        page = rows[offset : offset + limit]
        items = []
        for row in page:
            item: dict[str, Any] = {"links": []}
            for column, value in zip(columns, row, strict=True):
                text = _text(value)
                if text is not None:
                    item[column] = text
            items.append(item)
        total = len(rows)
        has_more = offset + len(page) < total
        return json_reply(
            200,
            {
                "links": self._links(base_url, limit, offset, total, has_more),
                "count": len(page),
                "hasMore": has_more,
                "items": items,
                "offset": offset,
                "totalResults": total,
            },
        )

    @staticmethod
    def _statement(document: dict[str, Any]) -> str:
        query = document.get("q")
        if not isinstance(query, str) or not query.strip():
            raise _invalid_query("The body needs a SuiteQL statement in 'q'.")
        statement = query.strip().rstrip(";").strip()
        leading = _LEADING_COMMENTS.sub("", statement, count=1)
        if not leading[:6].lower() == "select" or (leading[6:7] and leading[6].isalnum()):
            raise _invalid_query("Only a single SELECT statement is allowed.")
        return statement

    def _run(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The rows of one query, at most `suiteql_max_results` (100,000 by default): as NetSuite
        does, the rest is left out without a word; keyset paging (`WHERE id > last`) reads on."""
        cap = self._faults.suiteql_max_results()
        try:
            result = self._store.run_read_only(
                statement, _authorize, self._deadline_seconds, cap, self._faults.date_format()
            )
        except QueryTimeoutError:
            raise _invalid_query("The query ran too long.") from None
        except sqlite3.ProgrammingError:
            raise _invalid_query("Only a single SELECT statement is allowed.") from None
        except sqlite3.DatabaseError as error:
            raise _invalid_query(str(error)) from None
        return [column.lower() for column in result.columns], result.rows[:cap]

    @staticmethod
    def _links(
        base_url: str, limit: int, offset: int, total: int, has_more: bool
    ) -> list[dict[str, str]]:
        def href(at: int) -> str:
            return f"{base_url}{SUITEQL_PATH}?limit={limit}&offset={at}"

        last = max(0, (total - 1) // limit * limit)
        links = [{"rel": "first", "href": href(0)}]
        if offset > 0:
            links.append({"rel": "previous", "href": href(max(0, offset - limit))})
        if has_more:
            links.append({"rel": "next", "href": href(offset + limit)})
        links.append({"rel": "last", "href": href(last)})
        links.append({"rel": "self", "href": href(offset)})
        return links
