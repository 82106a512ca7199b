"""`usage-loader contracts pull`: the contract book read from NetSuite (SPEC 7).

The pull reads NetSuite's SuiteBilling tables with SuiteQL (plain SELECTs of the columns the
mapping needs, in keyset pages as `reconcile` reads usage records), loads the rows into an
in-memory DuckDB, runs the mapping there (`netsuite_book.sql`, Jinja macros that dbt can call over
the same tables as sources) and writes the six contract-book CSVs NetSuite holds. What the
product cannot express stops the pull before anything is written (`CannotExpress`, exit 4).

Files are written into a temporary folder beside the target and moved in place only at the end,
so a pull that fails half-way leaves the folder as it was. The hand-kept files (metrics, mappings,
holidays, billing runs, approvals) are never written.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import jinja2

from loader.core.config import credentials_from_env
from loader.core.netsuite import NetSuiteClient, RetryPolicy, keyset_rows, numeric_key

MACROS_FILE = Path(__file__).with_name("netsuite_book.sql")
ISO_DATE = "'YYYY-MM-DD'"
ISO_TIMESTAMP = "'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'"


@dataclass(frozen=True)
class NetSuiteTable:
    """One SuiteQL table the mapping reads: the columns, which are dates or timestamps (read as
    text with `TO_CHAR`: an account's date format is never guessed) and its keyset key."""

    name: str
    columns: tuple[str, ...]
    dates: tuple[str, ...] = ()
    timestamps: tuple[str, ...] = ()
    key: tuple[str, ...] = ("id",)

    def query(self, after: tuple[int, ...] | None) -> str:
        selected = []
        for column in self.columns:
            if column in self.dates:
                selected.append(f"TO_CHAR({column}, {ISO_DATE}) AS {column}")
            elif column in self.timestamps:
                selected.append(f"TO_CHAR({column}, {ISO_TIMESTAMP}) AS {column}")
            else:
                selected.append(column)
        where = ""
        if after is not None:
            where = " WHERE " + _keyset_condition(self.key, after)
        order = ", ".join(f"{column} ASC" for column in self.key)
        return f"SELECT {', '.join(selected)} FROM {self.name}{where} ORDER BY {order}"


def _keyset_condition(key: Sequence[str], after: Sequence[int]) -> str:
    """`(a > 1) OR (a = 1 AND b > 2)`: the rows after `after` in key order (integer literals
    only: the REST SuiteQL body has no bind parameters)."""
    terms = []
    for index, column in enumerate(key):
        equal = [f"{key[i]} = {int(after[i])}" for i in range(index)]
        terms.append("(" + " AND ".join([*equal, f"{column} > {int(after[index])}"]) + ")")
    return " OR ".join(terms)


# The NetSuite tables and columns the mapping reads (docs/netsuite-contract-book.md). Custom
# fields (`custitem_*`, `custrecord_*`) are the account's own, with the ids of docs/decisions.md.
NETSUITE_TABLES: tuple[NetSuiteTable, ...] = (
    NetSuiteTable("currency", ("id", "symbol", "currencyprecision")),
    NetSuiteTable("item", ("id", "externalid", "itemid", "custitem_usage_metric")),
    NetSuiteTable(
        "billingaccount",
        (
            "id",
            "externalid",
            "name",
            "customer",
            "currency",
            "custrecord_usage_timezone",
            "custrecord_usage_bill_cycle_day",
        ),
    ),
    NetSuiteTable(
        "subscription",
        (
            "id",
            "externalid",
            "billingaccount",
            "subscriptionplan",
            "startdate",
            "enddate",
            "custrecord_usage_proration_method",
        ),
        dates=("startdate", "enddate"),
    ),
    NetSuiteTable(
        "subscriptionline",
        (
            "id",
            "externalid",
            "subscription",
            "linenumber",
            "item",
            "subscriptionlinetype",
            "startdate",
            "enddate",
            "custrecord_usage_rev_rec_rule",
            "custrecord_usage_prepaid_quantity",
            "custrecord_usage_prepaid_amount",
        ),
        dates=("startdate", "enddate"),
    ),
    NetSuiteTable(
        "subscriptionpriceinterval",
        ("id", "subscription", "linenumber", "priceplan", "startdate", "enddate"),
        dates=("startdate", "enddate"),
    ),
    NetSuiteTable(
        "priceplan",
        (
            "id",
            "externalid",
            "currency",
            "priceplantype",
            "custrecord_usage_package_size",
            "custrecord_usage_prorate_tiers",
        ),
    ),
    NetSuiteTable(
        "pricetiers",
        ("id", "priceplan", "fromval", "pricingoption", "value", "minamount", "maxamount"),
    ),
    NetSuiteTable(
        "subscriptionchangeorder",
        (
            "id",
            "externalid",
            "action",
            "subscription",
            "effectivedate",
            "approvalstatus",
            "subscriptionchangeorderstatus",
            "terminateatstartofday",
            "renewalenddate",
            "datecreated",
        ),
        dates=("effectivedate", "renewalenddate"),
        timestamps=("datecreated",),
    ),
    NetSuiteTable(
        "changeorderline",
        ("subscriptionchangeorder", "subscriptionline", "priceplan", "newpriceplan"),
        key=("subscriptionchangeorder", "subscriptionline"),
    ),
)


@dataclass(frozen=True)
class BookFile:
    """One contract-book CSV the pull writes: its macro, the NetSuite tables the macro takes (in
    its argument order) and the columns that key a row (for the summary of changes)."""

    name: str
    macro: str
    tables: tuple[str, ...]
    key: tuple[str, ...]


BOOK_FILES: tuple[BookFile, ...] = (
    BookFile(
        "billing_accounts",
        "netsuite_book_billing_accounts",
        ("billingaccount", "currency"),
        ("billing_account_id",),
    ),
    BookFile(
        "subscriptions",
        "netsuite_book_subscriptions",
        ("subscription", "billingaccount", "item"),
        ("subscription_id",),
    ),
    BookFile(
        "subscription_lines",
        "netsuite_book_subscription_lines",
        ("subscriptionline", "subscription", "item", "subscriptionpriceinterval", "priceplan"),
        ("subscription_line_id",),
    ),
    BookFile(
        "price_plans",
        "netsuite_book_price_plans",
        ("priceplan", "pricetiers", "currency"),
        ("price_plan_id",),
    ),
    BookFile(
        "price_plan_tiers",
        "netsuite_book_price_plan_tiers",
        ("priceplan", "pricetiers", "currency"),
        ("price_plan_id", "tier"),
    ),
    BookFile(
        "amendments",
        "netsuite_book_amendments",
        ("subscriptionchangeorder", "changeorderline", "subscriptionline", "priceplan"),
        ("amendment_id",),
    ),
)

# The files of the contract book kept by hand, never written by a pull (SPEC 2.2).
HAND_KEPT_FILES: tuple[str, ...] = (
    "metrics",
    "metric_mappings",
    "customer_mappings",
    "holidays",
    "billing_runs",
    "usage_approvals",
)


class CannotExpress(Exception):
    """NetSuite holds what the contract book cannot express: nothing is written (exit 4)."""

    def __init__(self, problems: list[dict[str, str | None]]) -> None:
        self.problems = problems
        super().__init__(
            f"NetSuite holds {len(problems)} record(s) the contract book cannot express; "
            "nothing was written"
        )


class PullTargetError(Exception):
    """The folder to write cannot be written (exit 4)."""


@dataclass
class Table:
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass
class FileChange:
    """What a pull changed in one file, its rows keyed by the file's id columns."""

    name: str
    rows: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    new_file: bool = False

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed or self.new_file)


@dataclass
class PullResult:
    out: Path
    files: list[FileChange]
    netsuite_rows: dict[str, int]
    queries: int


def render_macro(macro: str, *args: Any) -> str:
    """A macro of `netsuite_book.sql`, rendered with plain Jinja."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    module = environment.from_string(MACROS_FILE.read_text(encoding="utf-8")).module
    return str(getattr(module, macro)(*args))


def read_netsuite_tables(
    client: NetSuiteClient, *, page_size: int = 1000
) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """Every row of the tables the mapping reads, and the number of queries it took."""
    tables: dict[str, list[dict[str, Any]]] = {}
    queries = 0
    for table in NETSUITE_TABLES:
        rows, count = keyset_rows(
            client,
            table.query,
            numeric_key(*table.key),
            what=f"{table.name} rows",
            page_size=page_size,
        )
        tables[table.name] = rows
        queries += count
    return tables, queries


def map_book(netsuite: Mapping[str, list[dict[str, Any]]], workdir: Path) -> dict[str, Table]:
    """Run the mapping over NetSuite's rows in an in-memory DuckDB; the six book tables.

    Raises `CannotExpress` listing every record the book cannot express."""
    con = duckdb.connect(":memory:")
    try:
        for table in NETSUITE_TABLES:
            _load(con, table, netsuite.get(table.name, []), workdir)
        relations = {table.name: table.name for table in NETSUITE_TABLES}
        problems = _rows(con, render_macro("netsuite_book_problems", relations))
        if problems.rows:
            unique = list(dict.fromkeys(problems.rows))
            raise CannotExpress([dict(zip(problems.header, row, strict=True)) for row in unique])
        return {
            book.name: _rows(con, render_macro(book.macro, *book.tables)) for book in BOOK_FILES
        }
    finally:
        con.close()


def _load(
    con: duckdb.DuckDBPyConnection,
    table: NetSuiteTable,
    rows: list[dict[str, Any]],
    workdir: Path,
) -> None:
    """The rows as a table of text columns (a value SuiteQL left out is null)."""
    path = workdir / f"{table.name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.columns)
        for row in rows:
            lowered = {str(name).lower(): value for name, value in row.items()}
            writer.writerow(
                ["" if lowered.get(c) is None else str(lowered[c]) for c in table.columns]
            )
    columns = ", ".join(f"'{column}': 'VARCHAR'" for column in table.columns)
    con.execute(
        f"create table {table.name} as select * from read_csv(?, header = true, "
        f"columns = {{{columns}}}, quote = '\"', escape = '\"', auto_detect = false)",
        [str(path)],
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> Table:
    cursor = con.execute(sql)
    header = tuple(column[0] for column in cursor.description or ())
    return Table(
        header, [tuple("" if v is None else str(v) for v in row) for row in cursor.fetchall()]
    )


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return buffer.getvalue()


def _keyed(table: Table, key: Sequence[str]) -> dict[str, tuple[str, ...]]:
    positions = [table.header.index(column) for column in key]
    return {"/".join(row[i] for i in positions): row for row in table.rows}


def _read_csv(path: Path) -> Table | None:
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle)) or [[]]
    return Table(tuple(header), [tuple(row) for row in rows])


def compare(book: BookFile, old: Table | None, new: Table) -> FileChange:
    """Rows added, removed and changed against the file the pull replaces, by the file's key."""
    change = FileChange(book.name, rows=len(new.rows), new_file=old is None)
    if old is None:
        change.added = list(_keyed(new, book.key))
        return change
    if old.header != new.header or not all(column in old.header for column in book.key):
        before: dict[str, tuple[str, ...]] = {}
        change.new_file = True
    else:
        before = _keyed(old, book.key)
    after = _keyed(new, book.key)
    change.added = [key for key in after if key not in before]
    change.removed = [key for key in before if key not in after]
    change.changed = [key for key in after if key in before and before[key] != after[key]]
    return change


def write_book(tables: Mapping[str, Table], out: Path) -> list[FileChange]:
    """Write the six files into a temporary folder beside `out`, then move them in place."""
    out = out.resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.pull-", dir=out.parent))
    except OSError as error:
        raise PullTargetError(f"cannot write the contract book into {out}: {error}") from error
    try:
        changes = []
        for book in BOOK_FILES:
            text = to_csv(tables[book.name])
            (staging / f"{book.name}.csv").write_text(text, encoding="utf-8")
            changes.append(compare(book, _read_csv(out / f"{book.name}.csv"), tables[book.name]))
        for book in BOOK_FILES:
            os.replace(staging / f"{book.name}.csv", out / f"{book.name}.csv")
        return changes
    except OSError as error:
        raise PullTargetError(f"cannot write the contract book into {out}: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def pull_contract_book(
    out: Path,
    *,
    env: Mapping[str, str],
    policy: RetryPolicy | None = None,
    page_size: int = 1000,
    client_factory: Callable[..., NetSuiteClient] = NetSuiteClient,
) -> PullResult:
    """Read the contract book from NetSuite and write its six NetSuite-held files into `out`."""
    credentials = credentials_from_env(env)
    with client_factory(credentials, concurrency=1, policy=policy) as client:
        netsuite, queries = read_netsuite_tables(client, page_size=page_size)
    with tempfile.TemporaryDirectory(prefix="usage-loader-contracts-") as workdir:
        tables = map_book(netsuite, Path(workdir))
    files = write_book(tables, out)
    return PullResult(
        out=out.resolve(),
        files=files,
        netsuite_rows={name: len(rows) for name, rows in netsuite.items()},
        queries=queries,
    )
