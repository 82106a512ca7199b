"""The finance report as a person sees it: built from the sample data's marts, written by the
real command, opened from disk in headless Chromium (Debian's `/usr/bin/chromium`), and read back
from the rendered page. Every number on it must equal the marts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from loader.core.ledger import Ledger
from loader.finance_report import labels
from loader.finance_report.money import money, quantity
from python_tests.support.pipeline_build import PROJECT_DIR, BuiltPipeline
from python_tests.support.sandbox_server import SandboxServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = PROJECT_DIR / "target" / "report"
SECTION_HEADINGS = [
    "Billing periods at a glance",
    "Close checklist: period starting {period}",
    "Records held back, and why",
    "Invoice previews",
    "Quarantined source records",
    "Source reconciliation",
    "Credit-memo candidates",
    "Revenue: {month}",
]
PLACES = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3}
A4_CONTENT_WIDTH_PX = 703  # 210 mm less 2 × 12 mm margins, at 96 px per inch


def expected_money(amount: Decimal, currency: str) -> str:
    """The marts' amount as finance reads it, formatted independently of the report's code."""
    return f"{amount:,.{PLACES.get(currency, 2)}f}"


@dataclass
class OpenedPage:
    """A page opened in Chromium, with what the browser logged while loading it."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text().strip()

    def texts(self, selector: str) -> list[str]:
        return [text.strip() for text in self.page.locator(selector).all_inner_texts()]


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile and no network of its own."""
    assert CHROMIUM.is_file(), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    )
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def rows(connection: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, list(params))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def run_report(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The report command as a real process (`python -m loader.finance_report`, the same
    command `usage-loader report` runs)."""
    return subprocess.run(
        [sys.executable, "-m", "loader.finance_report", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env or clean_env(),
        check=False,
    )


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("NETSUITE_", "DBT_", "USAGE_"))
    }
    env.update(extra or {})
    return env


def built_env(pipeline: BuiltPipeline) -> dict[str, str]:
    """The environment of a command reading the pipeline's marts with its dbt results."""
    return clean_env({"DBT_TARGET_PATH": str(pipeline.target_dir)})


def write_report(pipeline: BuiltPipeline, out: Path, *extra: str | Path) -> Path:
    project = out.parent / "project"
    project.mkdir(parents=True, exist_ok=True)
    completed = run_report(
        "--project-dir",
        project,
        "--db",
        pipeline.db_path,
        "--out",
        out,
        *extra,
        env=built_env(pipeline),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert out.is_file()
    return out


def open_page(browser: BrowserContext, path: Path) -> OpenedPage:
    page = browser.new_page()
    opened = OpenedPage(page=page)
    page.on(
        "console",
        lambda message: (
            opened.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: opened.console_errors.append(str(error)))
    page.on("request", lambda request: opened.requests.append(request.url))
    page.goto(path.as_uri(), wait_until="load")
    return opened


def save_screenshot(opened: OpenedPage, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / name
    opened.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def latest_closed_period(marts: duckdb.DuckDBPyConnection) -> date:
    found = rows(
        marts,
        "select max(billing_period_start) as period from rpt_period_close_status "
        "where is_period_closed",
    )
    return found[0]["period"]


def default_period(marts: duckdb.DuckDBPyConnection) -> date:
    """The period the page shows without --period: of the latest calendar month in which an
    account has closed, the period start with the most accounts closed (the later on a tie)."""
    found = rows(
        marts,
        """
        with closed as (
            select billing_period_start, count(*) filter (where is_period_closed) as accounts
            from rpt_period_close_status group by 1 having accounts > 0
        )
        select billing_period_start as period from closed
        where date_trunc('month', billing_period_start) = (
            select max(date_trunc('month', billing_period_start)) from closed
        )
        order by accounts desc, billing_period_start desc limit 1
        """,
    )
    return found[0]["period"]


def assert_opened_cleanly(opened: OpenedPage, path: Path) -> None:
    assert opened.console_errors == []
    assert opened.requests == [path.as_uri()], "the page must load nothing but itself"


def test_default_period_renders_headings_totals_and_charts_as_the_marts_hold_them(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    page_path = write_report(pipeline, tmp_path / "report" / "index.html")
    period = default_period(marts)
    opened = open_page(browser, page_path)
    assert_opened_cleanly(opened, page_path)

    assert opened.text("h1") == "Usage billing: finance report"
    month = period.replace(day=1).strftime("%B %Y")
    expected = [heading.format(period=period, month=month) for heading in SECTION_HEADINGS]
    assert opened.texts("main h2") == expected

    invoices = rows(
        marts,
        """
        select billing_account_id, currency, any_value(invoice_total) as invoice_total
        from fct_invoice_preview where billing_period_start = ? group by 1, 2 order by 1
        """,
        period,
    )
    assert invoices
    for invoice in invoices:
        shown = opened.text(f"#invoice-{invoice['billing_account_id']} .invoice-total")
        assert shown == (
            f"{expected_money(invoice['invoice_total'], invoice['currency'])} {invoice['currency']}"
        )
    statuses = rows(
        marts,
        "select billing_account_id, invoice_total, currency from rpt_period_close_status "
        "where billing_period_start = ?",
        period,
    )
    for status in statuses:
        row = opened.text(f"#close-{status['billing_account_id']}")
        assert expected_money(status["invoice_total"], status["currency"]) in row

    lines = rows(
        marts,
        """
        select distinct billing_account_id, subscription_line_id from fct_usage_records
        where billing_period_start = ? and not is_adjustment
            and charge_type in ('usage', 'prepaid')
        """,
        period,
    )
    charts = opened.page.locator("figure.chart svg")
    assert charts.count() == len(lines)
    for line in lines:
        chart = opened.page.locator(
            f"#invoice-{line['billing_account_id']} #chart-{line['subscription_line_id']} svg"
        )
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        assert chart.locator("path").count() > 20, "the bars and the lines are drawn"
    save_screenshot(opened, "finance-report.png")


def test_held_records_quarantine_reconciliation_and_revenue_equal_the_marts(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    period = marts.execute(
        "select billing_period_start from rpt_period_close_status "
        "group by 1 having bool_or(not is_period_closed) and bool_or(has_stale_approval) "
        "order by 1 desc limit 1"
    ).fetchall()[0][0]
    page_path = write_report(
        pipeline, tmp_path / "report" / "index.html", "--period", period.isoformat()
    )
    opened = open_page(browser, page_path)
    assert_opened_cleanly(opened, page_path)

    held = rows(
        marts,
        """
        select records.external_id, records.is_period_closed, records.requires_approval,
            records.is_approved, status.missing_sources, status.invoice_total, records.currency,
            (select max_by(approved_amount, approved_at) from usage_approvals as approvals
             where approvals.billing_account_id = records.billing_account_id
                and approvals.billing_period_start = records.billing_period_start
            ) as approved_amount
        from fct_usage_records as records
        join rpt_period_close_status as status using (billing_account_id, billing_period_start)
        where records.billing_period_start = ?
            and (not records.is_period_closed
                or (records.requires_approval and not records.is_approved))
        """,
        period,
    )
    shown = {
        row.get_attribute("data-external-id"): row.inner_text()
        for row in opened.page.locator("#held-table tbody tr").all()
    }
    assert set(shown) == {record["external_id"] for record in held}
    for record in held:
        text = shown[record["external_id"]]
        if not record["is_period_closed"]:
            assert "period open, waiting on" in text
            for source in record["missing_sources"].split(","):
                assert labels.source(source.strip()) in text
        if record["requires_approval"] and not record["is_approved"]:
            if record["approved_amount"] is None:
                assert "needs approval" in text
            else:
                currency = record["currency"]
                assert (
                    f"approval is stale (approved "
                    f"{expected_money(record['approved_amount'], currency)}, invoice is "
                    f"{expected_money(record['invoice_total'], currency)})"
                ) in text

    quarantine = rows(
        marts,
        "select quarantine_reason, count(*) as records from fct_usage_quarantine group by 1",
    )
    table = opened.page.locator("#quarantine-table tbody tr")
    assert table.count() == len(quarantine)
    for reason in quarantine:
        title, _ = labels.quarantine_reason(reason["quarantine_reason"])
        heading = opened.text(f"#quarantine-{reason['quarantine_reason']}")
        count = reason["records"]
        assert heading == f"{title}: {count:,} record{'' if count == 1 else 's'}"

    for source in rows(marts, "select * from rpt_source_reconciliation"):
        row = opened.page.locator("#reconciliation-table tbody tr").filter(
            has_text=labels.source(source["source_system"])
        )
        cells = row.locator("td").all_inner_texts()
        assert cells[1:7] == [
            f"{source[name]:,}"
            for name in (
                "records_read",
                "records_used",
                "records_duplicate",
                "records_conflicting",
                "records_withdrawn",
                "records_quarantined",
            )
        ]

    credits = rows(marts, "select * from rpt_credit_memo_candidates")
    credit_rows = opened.page.locator("#credit-memo-table tbody tr")
    assert credit_rows.count() == len(credits)
    for credit in credits:
        row = credit_rows.filter(has_text=credit["original_external_id"])
        to_credit = row.locator("td").last.inner_text()
        assert (
            to_credit
            == f"{expected_money(credit['credit_amount'], credit['currency'])} "
            + (credit["currency"])
        )

    month = period.replace(day=1)
    totals = rows(
        marts,
        "select currency, sum(total_recognized) as total from rpt_revenue_rollforward "
        "where revenue_month = ? group by 1 order by 1",
        month,
    )
    card = opened.text("#revenue .cards")
    for total in totals:
        assert f"{expected_money(total['total'], total['currency'])} {total['currency']}" in card
    schedule = opened.page.locator("#revenue-table tbody tr")
    lines = rows(marts, "select * from fct_revenue_schedule where revenue_month = ?", month)
    assert schedule.count() == len(lines)


def test_every_usage_line_traces_to_its_source_events_with_the_sql_shown(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    period = default_period(marts)
    page_path = write_report(pipeline, tmp_path / "report" / "index.html")
    opened = open_page(browser, page_path)
    records = rows(
        marts,
        "select external_id, rated_amount, currency from fct_usage_records "
        "where billing_period_start = ?",
        period,
    )
    assert records
    for record in records:
        detail = opened.page.locator(f'[id="rating-{record["external_id"]}"]')
        total = detail.locator("tfoot td.total").text_content()
        assert total == expected_money(record["rated_amount"], record["currency"])
        shown_count = int(detail.locator(".trace strong").text_content().replace(",", ""))
        expected = marts.execute(
            "select count(*) from fct_usage_event_lineage where external_id = ?",
            [record["external_id"]],
        ).fetchall()[0][0]
        assert shown_count == expected
        sql = detail.locator("pre.sql").text_content()
        assert f"where external_id = '{record['external_id']}'" in sql
        assert len(marts.execute(sql).fetchall()) == expected
        tiers = rows(
            marts,
            "select amount from fct_rated_usage_tiers where external_id = ? "
            "order by rated_usage_tier_id",
            record["external_id"],
        )
        tier_amounts = detail.locator("tbody tr td:last-child").all_text_contents()
        assert len(tier_amounts) == len(tiers)
        assert (
            sum(Decimal(amount.replace(",", "")) for amount in tier_amounts)
            == (record["rated_amount"])
        )


def test_records_pushed_to_netsuite_show_as_loaded_from_the_ledger(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    state_dir = project / ".usage-loader"
    project.mkdir()
    with SandboxServer(state_file=tmp_path / "netsuite.sqlite3") as netsuite:
        pushed = subprocess.run(
            [
                Path(sys.executable).parent / "usage-loader",
                "push",
                "--project-dir",
                PROJECT_DIR,
                "--db",
                pipeline.db_path,
                "--state-dir",
                state_dir,
                "--json",
            ],
            env=clean_env({**netsuite.loader_env, "DBT_TARGET_PATH": str(pipeline.target_dir)}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert pushed.returncode == 0, pushed.stdout[-3000:] + pushed.stderr
        in_netsuite = {str(row.external_id): str(row.id) for row in netsuite.records()}
    assert json.loads(pushed.stdout)["counts"].get("created", 0) == len(in_netsuite) > 0

    out = tmp_path / "page" / "index.html"
    completed = run_report(
        "--project-dir", project, "--db", pipeline.db_path, "--out", out, env=built_env(pipeline)
    )
    assert completed.returncode == 0, completed.stderr
    opened = open_page(browser, out)
    assert_opened_cleanly(opened, out)
    period = default_period(marts)
    records = rows(
        marts,
        "select external_id from fct_usage_records where billing_period_start = ?",
        period,
    )
    loaded = 0
    for record in records:
        eid = record["external_id"]
        state = opened.text(f'tr[data-external-id="{eid}"] td.load-state')
        if eid in in_netsuite:
            loaded += 1
            assert state == f"loaded (NetSuite id {in_netsuite[eid]})"
        else:
            assert state == "not loaded yet"
    assert loaded > 0, "the period shown has records that were pushed"
    assert str(state_dir / "ledger.sqlite3") in opened.text("header .meta")


def test_a_record_held_because_netsuite_lacks_its_price_change_shows_why(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    period = date(2026, 3, 1)
    started_by = {
        row["external_id"]
        for row in rows(
            marts,
            "select external_id from fct_usage_records "
            "where billing_period_start = ? and segment_amendment_id = 'AMD-0001'",
            period,
        )
    }
    assert started_by, "the period shown has a record of a segment AMD-0001 started"
    # push and report read dbt's artifacts and write their run reports in the build's target
    env = clean_env({"DBT_TARGET_PATH": str(pipeline.target_dir)})
    with SandboxServer(state_file=tmp_path / "netsuite.sqlite3") as netsuite:
        netsuite.remove_change_order("AMD-0001")
        pushed = subprocess.run(
            [
                Path(sys.executable).parent / "usage-loader",
                "push",
                "--project-dir",
                PROJECT_DIR,
                "--db",
                pipeline.db_path,
                "--state-dir",
                tmp_path / "state",
                "--json",
            ],
            env={**env, **netsuite.loader_env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert pushed.returncode == 0, pushed.stdout[-3000:] + pushed.stderr
    out = tmp_path / "page" / "index.html"
    completed = run_report(
        "--project-dir",
        PROJECT_DIR,
        "--db",
        pipeline.db_path,
        "--state-dir",
        tmp_path / "state",
        "--period",
        period.isoformat(),
        "--out",
        out,
        env=env,
    )
    assert completed.returncode == 0, completed.stderr
    opened = open_page(browser, out)
    assert_opened_cleanly(opened, out)
    for external_id in started_by:
        text = opened.text(f'#held-table tbody tr[data-external-id="{external_id}"]')
        assert "price change AMD-0001 is not in NetSuite yet" in text
    shown = {
        row.get_attribute("data-external-id"): row.inner_text()
        for row in opened.page.locator("#held-table tbody tr").all()
    }
    assert {
        external_id for external_id, text in shown.items() if "is not in NetSuite yet" in text
    } == started_by


def test_a_record_changed_after_its_load_shows_that_the_next_push_updates_it(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    period = default_period(marts)
    external_id = marts.execute(
        "select min(external_id) from fct_usage_records where billing_period_start = ?",
        [period],
    ).fetchall()[0][0]
    state_dir = tmp_path / "state"
    with Ledger(state_dir) as ledger:
        ledger.mark_in_flight(external_id, "a-payload-of-an-earlier-build", period)
        ledger.confirm(external_id, "a-payload-of-an-earlier-build", "981", "created")
    page_path = write_report(pipeline, tmp_path / "report" / "index.html", "--state-dir", state_dir)
    opened = open_page(browser, page_path)
    state = opened.text(f'tr[data-external-id="{external_id}"] td.load-state')
    assert state == "loaded (NetSuite id 981), changed since: the next push updates it"


def test_tables_sort_by_a_clicked_column_both_ways(
    pipeline: BuiltPipeline, browser: BrowserContext, tmp_path: Path
) -> None:
    page_path = write_report(pipeline, tmp_path / "report" / "index.html")
    opened = open_page(browser, page_path)
    heading = opened.page.locator("#quarantine-table thead th", has_text="Records")

    def counts() -> list[int]:
        cells = opened.page.locator("#quarantine-table tbody td:last-child").all_text_contents()
        return [int(cell.replace(",", "")) for cell in cells]

    heading.click()
    assert heading.get_attribute("aria-sort") == "ascending"
    assert counts() == sorted(counts())
    heading.click()
    assert heading.get_attribute("aria-sort") == "descending"
    assert counts() == sorted(counts(), reverse=True)
    source = opened.page.locator("#reconciliation-table thead th", has_text="Source")
    source.focus()
    opened.page.keyboard.press("Enter")
    names = opened.page.locator("#reconciliation-table tbody td:first-child").all_text_contents()
    assert names == sorted(names, key=str.lower)
    assert opened.console_errors == []


def test_print_layout_opens_every_detail_and_fits_a4(
    pipeline: BuiltPipeline, browser: BrowserContext, tmp_path: Path
) -> None:
    page_path = write_report(pipeline, tmp_path / "report" / "index.html")
    opened = open_page(browser, page_path)
    page = opened.page
    page.set_viewport_size({"width": A4_CONTENT_WIDTH_PX, "height": 1000})
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("details:not([open])").count() == 0
    assert page.locator("nav.toc").is_hidden()
    too_wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('table, figure, pre'))
            .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1)
            .map((element) => element.id || element.className || element.tagName)"""
    )
    assert too_wide == []
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    assert opened.console_errors == []


def test_an_unknown_period_is_a_usage_error_that_names_the_periods(
    pipeline: BuiltPipeline, marts: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    completed = run_report(
        "--project-dir", tmp_path, "--db", pipeline.db_path, "--period", "2019-01-01"
    )
    assert completed.returncode == 2
    assert "no billing period starts on 2019-01-01" in completed.stderr
    assert latest_closed_period(marts).isoformat() in completed.stderr
    assert not (tmp_path / "target").exists()


def test_a_missing_database_is_a_configuration_error(tmp_path: Path) -> None:
    completed = run_report("--project-dir", tmp_path, "--db", tmp_path / "absent.duckdb")
    assert completed.returncode == 4
    assert "does not exist" in completed.stderr


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("1400.000000000", "USD", "1,400.00"),
        ("6279.000000000", "JPY", "6,279"),
        ("12.5", "KWD", "12.500"),
        ("0E-9", "EUR", "0.00"),
        ("245.454545455000", "USD", "245.454545455"),
        ("-7.384", "USD", "-7.384"),
        ("1234567890123456789012345.12", "USD", "1,234,567,890,123,456,789,012,345.12"),
    ],
)
def test_money_shows_the_minor_unit_and_never_rounds(
    amount: str, currency: str, shown: str
) -> None:
    assert money(Decimal(amount), currency) == shown


def test_quantities_keep_every_significant_digit() -> None:
    assert quantity(Decimal("19352.000000000")) == "19,352"
    assert quantity(Decimal("451.283011931")) == "451.283011931"
    assert re.fullmatch(r"[\d,]+", quantity(Decimal("6868181")))


BAR_FILL = "rgb(76, 120, 168)"  # charts.BAR
BILLED_STROKE = "rgb(178, 121, 162)"  # charts.BILLED
LABELS_OVER_BARS = """(svg) => {
    const bars = [...svg.querySelectorAll('path')]
        .filter((path) => getComputedStyle(path).fill === 'BAR_FILL')
        .map((path) => path.getBoundingClientRect())
        .filter((box) => box.height >= 0.5 && box.width > 0);
    const hits = [];
    for (const text of svg.querySelectorAll('text')) {
        const box = text.getBoundingClientRect();
        if (bars.some((bar) => box.left < bar.right - 0.5 && box.right > bar.left + 0.5
                && box.top < bar.bottom - 0.5 && box.bottom > bar.top + 0.5)) {
            hits.push(text.textContent);
        }
    }
    return {bars: bars.length, hits: hits};
}""".replace("BAR_FILL", BAR_FILL)
AXES_CONTENT = """(svg) => [...svg.querySelectorAll('g[id^="axes_"]')].map((axes) => ({
    bars: [...axes.querySelectorAll('path')]
        .filter((path) => getComputedStyle(path).fill === 'BAR_FILL').length,
    billed: [...axes.querySelectorAll('path')]
        .filter((path) => getComputedStyle(path).stroke === 'BILLED_STROKE').length,
    text: [...axes.querySelectorAll('text')].map((text) => text.textContent).join(' '),
}))""".replace("BAR_FILL", BAR_FILL).replace("BILLED_STROKE", BILLED_STROKE)


def chart_periods(marts: duckdb.DuckDBPyConnection) -> list[date]:
    """The default period and, per aggregation, the latest period with a line billed on it and
    the latest with a plan change: every kind of chart the page draws."""
    found = rows(
        marts,
        """
        with lines as (
            select records.billing_period_start, records.subscription_line_id,
                metrics.aggregation, count(*) as segments
            from fct_usage_records as records
            inner join metrics using (metric)
            where not records.is_adjustment and records.charge_type in ('usage', 'prepaid')
            group by all
        )
        select max(billing_period_start) as period from lines group by aggregation
        union
        select max(billing_period_start) from lines where segments > 1 group by aggregation
        """,
    )
    return sorted({default_period(marts), *(row["period"] for row in found)})


def test_no_chart_label_is_drawn_over_a_bar(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    checked = 0
    for period in chart_periods(marts):
        page_path = write_report(
            pipeline, tmp_path / period.isoformat() / "index.html", "--period", period.isoformat()
        )
        opened = open_page(browser, page_path)
        for chart in opened.page.locator("figure.chart svg").all():
            found = chart.evaluate(LABELS_OVER_BARS)
            assert found["bars"] > 0
            assert found["hits"] == [], f"{period}: labels over bars: {found['hits']}"
            checked += 1
    assert checked > 5


def test_a_unique_count_draws_its_billed_users_on_an_axis_apart_from_the_events(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    lines = rows(
        marts,
        """
        select records.billing_period_start, records.billing_account_id,
            records.subscription_line_id, metrics.unit
        from fct_usage_records as records
        inner join metrics using (metric)
        where metrics.aggregation = 'unique_count' and not records.is_adjustment
        qualify records.billing_period_start = max(records.billing_period_start) over ()
        """,
    )
    assert lines, "the sample data bills a unique count"
    period = lines[0]["billing_period_start"]
    page_path = write_report(
        pipeline, tmp_path / "report" / "index.html", "--period", period.isoformat()
    )
    opened = open_page(browser, page_path)
    for line in lines:
        chart = opened.page.locator(
            f"#invoice-{line['billing_account_id']} #chart-{line['subscription_line_id']} svg"
        )
        axes = chart.evaluate(AXES_CONTENT)
        with_bars = [axis for axis in axes if axis["bars"]]
        with_billed = [axis for axis in axes if axis["billed"]]
        assert len(with_bars) == 1 and len(with_billed) == 1
        assert with_bars[0] is not with_billed[0]
        assert with_bars[0]["billed"] == 0 and with_billed[0]["bars"] == 0
        assert "events per day" in with_bars[0]["text"]
        assert f"{line['unit']}s billed" in with_billed[0]["text"]


def test_the_revenue_rollforward_fits_a_laptop_screen_and_an_a4_page(
    pipeline: BuiltPipeline, browser: BrowserContext, tmp_path: Path
) -> None:
    page_path = write_report(pipeline, tmp_path / "report" / "index.html")
    opened = open_page(browser, page_path)
    page = opened.page
    overflow = """() => {
        const table = document.querySelector('#rollforward-table');
        const frame = table.parentElement;
        return {
            scroll: frame.scrollWidth - frame.clientWidth,
            right: table.getBoundingClientRect().right - window.innerWidth,
        };
    }"""
    for width, media in ((1280, "screen"), (1024, "screen"), (A4_CONTENT_WIDTH_PX, "print")):
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(media=media)
        found = page.evaluate(overflow)
        assert found["scroll"] <= 0, f"{width} px {media}: the roll-forward scrolls sideways"
        assert found["right"] <= 0, f"{width} px {media}: the roll-forward is cut off"
    assert page.locator("#rollforward-table tbody tr").count() > 10


def test_the_default_period_has_the_most_accounts_closed_in_the_latest_closing_month(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    period = default_period(marts)
    assert period != latest_closed_period(marts), "the sample data tells the two rules apart"
    page_path = write_report(pipeline, tmp_path / "report" / "index.html")
    opened = open_page(browser, page_path)
    selected = opened.text("#period-table tr.selected td:first-child")
    assert selected.startswith(period.isoformat())
    assert "the period with the most of them closed" in opened.text(".lede")


def test_a_record_held_for_two_reasons_is_counted_once_and_lists_both(
    pipeline: BuiltPipeline,
    marts: duckdb.DuckDBPyConnection,
    browser: BrowserContext,
    tmp_path: Path,
) -> None:
    both = rows(
        marts,
        """
        select billing_period_start, billing_account_id, external_id from fct_usage_records
        where not is_period_closed and requires_approval and not is_approved
        order by billing_period_start desc, external_id
        """,
    )
    assert both, "the sample data holds a record of an open period that also needs approval"
    period = both[0]["billing_period_start"]
    held = rows(
        marts,
        """
        select count(*) as records from fct_usage_records where billing_period_start = ?
            and (not is_period_closed or (requires_approval and not is_approved))
        """,
        period,
    )[0]["records"]
    accounts = rows(
        marts,
        """
        select count(*) as accounts,
            count(*) filter (where not is_period_closed) as open,
            count(*) filter (where is_ready_to_load) as ready
        from rpt_period_close_status where billing_period_start = ?
        """,
        period,
    )[0]
    page_path = write_report(
        pipeline, tmp_path / "report" / "index.html", "--period", period.isoformat()
    )
    opened = open_page(browser, page_path)

    for record in (row for row in both if row["billing_period_start"] == period):
        held_rows = opened.page.locator(
            f'#held-table tr[data-external-id="{record["external_id"]}"]'
        )
        assert held_rows.count() == 1
        reasons = held_rows.locator("td").last.inner_text()
        assert "period open, waiting on" in reasons
        assert "needs approval" in reasons or "approval is stale" in reasons
        state = opened.text(f"#close-{record['billing_account_id']} td:last-child")
        assert "waiting on" in state and "approval" in state
    assert opened.page.locator("#held-table tbody tr").count() == held
    cards = opened.texts("#close .cards li")
    assert f"{held}\nrecords held" in cards
    row = opened.page.locator("#period-table tr.selected")
    assert row.locator("td").nth(5).inner_text() == f"{held:,}"
    status = row.locator("td").last.inner_text()
    open_count = int(re.search(r"(\d+) open", status).group(1))
    approval = re.search(r"; (\d+) need approval", status)
    assert open_count == accounts["open"]
    assert open_count + (int(approval.group(1)) if approval else 0) == (
        accounts["accounts"] - accounts["ready"]
    ), "an account held for two reasons is counted once"
    assert "also need approval" in status


def test_an_unknown_currency_is_a_configuration_error_not_two_places(
    pipeline: BuiltPipeline, tmp_path: Path
) -> None:
    db_path = tmp_path / "marts.duckdb"
    db_path.write_bytes(pipeline.db_path.read_bytes())
    with duckdb.connect(str(db_path)) as connection:
        for table in ("fct_usage_records", "fct_invoice_preview", "rpt_period_close_status"):
            connection.execute(f"update {table} set currency = 'ABX'")
    completed = run_report(
        "--project-dir", tmp_path, "--db", db_path, "--out", tmp_path / "report.html"
    )
    assert completed.returncode == 4
    assert "'ABX' is not an ISO 4217 currency" in completed.stderr
    assert "currencies.csv" in completed.stderr
    assert not (tmp_path / "report.html").exists()
