"""`usage-loader summary`, read from the sample data's marts through the finance report's reader:
its totals are the report's, and a record or an account period held for two reasons counts once."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console

from loader.core.config import locate_mart
from loader.finance_report.summary import print_summary
from python_tests.support.pipeline_build import BuiltPipeline

PLACES = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3}
PERIOD_COLUMNS = [
    "period start",
    "records",
    "adjustments",
    "closed",
    "held",
    "usage",
    "invoice total (usage + recurring fees)",
]


def expected_money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.{PLACES.get(currency, 2)}f}"


def rows(connection: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def clean_env() -> dict[str, str]:
    """The environment without the machine's dbt, NetSuite or loader settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("NETSUITE_", "DBT_", "USAGE_"))
    }


def summary_text(pipeline: BuiltPipeline, tmp_path: Path) -> str:
    location = locate_mart(
        tmp_path, db=pipeline.db_path, env={"DBT_TARGET_PATH": str(pipeline.target_dir)}
    )
    buffer = io.StringIO()
    print_summary(location, Console(file=buffer, width=400, color_system=None))
    return buffer.getvalue()


def table_rows(text: str, title: str) -> list[list[str]]:
    """The body rows of the rich table titled `title`, cell by cell."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip() == title)
    body = []
    for line in lines[start + 1 :]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            body.append([cell.strip() for cell in line.strip("│ ").split("│")])
    return body


def amounts(text: str) -> dict[str, str]:
    """`EUR 40.00, USD 1,542.20` → {EUR: 40.00, USD: 1,542.20}."""
    return dict(part.split(" ", 1) for part in text.split(", ")) if text else {}


def test_period_totals_show_usage_and_the_invoice_total_the_report_shows(
    pipeline: BuiltPipeline, marts: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    text = summary_text(pipeline, tmp_path)
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == PERIOD_COLUMNS
    body = table_rows(text, "Usage records per billing period")
    counts = {
        row["period"]: row
        for row in rows(
            marts,
            """
            select billing_period_start as period, count(*) as records,
                count(*) filter (where
                    not is_period_closed or (requires_approval and not is_approved)
                ) as held
            from fct_usage_records group by 1
            """,
        )
    }
    usage: dict[date, dict[str, str]] = {}
    for row in rows(
        marts,
        "select billing_period_start as period, currency, sum(rated_amount) as amount "
        "from fct_usage_records group by 1, 2",
    ):
        usage.setdefault(row["period"], {})[row["currency"]] = expected_money(
            row["amount"], row["currency"]
        )
    invoiced: dict[date, dict[str, str]] = {}
    for row in rows(
        marts,
        "select billing_period_start as period, currency, sum(invoice_total) as amount "
        "from rpt_period_close_status group by 1, 2",
    ):
        invoiced.setdefault(row["period"], {})[row["currency"]] = expected_money(
            row["amount"], row["currency"]
        )
    assert [date.fromisoformat(row[0]) for row in body] == sorted(counts)
    recurring_seen = False
    for cells in body:
        period = date.fromisoformat(cells[0])
        assert int(cells[1]) == counts[period]["records"]
        assert int(cells[4]) == counts[period]["held"]
        assert amounts(cells[5]) == usage[period]
        assert amounts(cells[6]) == invoiced[period]
        recurring_seen |= amounts(cells[5]) != amounts(cells[6])
    assert recurring_seen, "the sample data has recurring fees, so the two totals differ"
    assert "invoice total: usage plus the recurring lines' flat fees" in " ".join(text.split())


def test_the_summary_and_the_report_show_the_same_invoice_totals(
    pipeline: BuiltPipeline, tmp_path: Path
) -> None:
    text = summary_text(pipeline, tmp_path)
    body = table_rows(text, "Usage records per billing period")
    summary = {cells[0]: amounts(cells[6]) for cells in body}
    out = tmp_path / "report.html"
    completed = subprocess.run(
        [sys.executable, "-m", "loader.finance_report"]
        + ["--project-dir", str(tmp_path), "--db", str(pipeline.db_path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean_env(), "DBT_TARGET_PATH": str(pipeline.target_dir)},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    html = out.read_text(encoding="utf-8")
    start = html.index('id="period-table"')
    table = html[start : html.index("</table>", start)]
    report = {}
    for period, cell in re.findall(
        r'<td data-value="(\d{4}-\d{2}-\d{2})">.*?<td class="num"><span class="amount">(.*?)</td>',
        table,
        flags=re.S,
    ):
        report[period] = {
            currency: amount
            for amount, currency in re.findall(
                r'<span class="amount">?([\d,.-]+) <span class="ccy">(\w+)</span>',
                '<span class="amount">' + cell,
            )
        }
    assert report and report == summary


def test_account_periods_held_for_two_reasons_count_once(
    pipeline: BuiltPipeline, marts: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    last = summary_text(pipeline, tmp_path).strip().splitlines()[-1]
    found = re.fullmatch(
        r"Account periods: (\d+); closed: (\d+); ready to load: (\d+); held: (\d+) "
        r"\((\d+) open, of which (\d+) also wait for an approval; (\d+) closed, waiting for an "
        r"approval\); credit-memo candidates: (\d+)",
        last,
    )
    assert found, last
    total, closed, ready, held, open_, both, closed_waiting, credits = map(int, found.groups())
    expected = rows(
        marts,
        """
        select count(*) as total,
            count(*) filter (where is_period_closed) as closed,
            count(*) filter (where is_ready_to_load) as ready,
            count(*) filter (where not is_period_closed
                and requires_approval and not has_current_approval) as both
        from rpt_period_close_status
        """,
    )[0]
    assert (total, closed, ready, both) == (
        expected["total"],
        expected["closed"],
        expected["ready"],
        expected["both"],
    )
    assert both > 0, "the sample data has an open period that also waits for an approval"
    assert held == total - ready == open_ + closed_waiting
    assert open_ == total - closed
    credit_count = rows(marts, "select count(*) as n from rpt_credit_memo_candidates")[0]["n"]
    assert credits == credit_count


def test_the_summary_reads_the_marts_the_report_reads(tmp_path: Path) -> None:
    db_path = tmp_path / "partial.duckdb"
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("create table main.fct_usage_records (external_id varchar)")
    completed = subprocess.run(
        [Path(sys.executable).parent / "usage-loader", "summary"]
        + ["--project-dir", str(tmp_path), "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
        check=False,
    )
    assert completed.returncode == 1
    assert "lacks" in completed.stderr and "rpt_period_close_sources" in completed.stderr
    assert "run dbt build" in completed.stderr
