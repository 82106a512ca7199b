"""The pipeline summary `make demo` prints after `dbt build`: records and totals per period,
quarantined records by reason, the source reconciliation, and periods closed or waiting.

It reads the marts through the finance report's reader (`loader.finance_report.marts`), so the
two show the same numbers: usage and invoice totals per period, held records counted once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from loader.core.config import ConfigError, MartLocation, locate_mart
from loader.core.console import make_console
from loader.core.marts import MartUnavailable
from loader.core.money import UnknownCurrency
from loader.finance_report.freshness import EXIT_STALE, HEADLINE, Freshness, check_freshness
from loader.finance_report.marts import MartReader, PeriodStatus
from loader.finance_report.money import add, money


def _table(title: str, columns: list[str], rows: list[tuple], caption: str | None = None) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        caption=caption,
        caption_justify="left",
    )
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    return table


def _amounts(amounts: Iterable[tuple[Decimal | None, str]]) -> str:
    """`EUR 40.00, USD 1,542.20`: exact sums per currency, as the finance report shows them."""
    grouped: dict[str, list[Decimal]] = defaultdict(list)
    for amount, currency in amounts:
        grouped[currency].append(amount or Decimal(0))
    return ", ".join(
        f"{currency} {money(add(grouped[currency]), currency)}" for currency in sorted(grouped)
    )


def print_stale_banner(console: Console, freshness: Freshness) -> None:
    """Why the figures may be stale and what to do, as the push's gate says it: a red panel on a
    terminal, lines marked `!!` in a pipe or a log (where a panel is as wide as its longest
    line)."""
    lines = [HEADLINE, freshness.reason or "", freshness.fix]
    if not console.is_terminal:
        for line in lines:
            console.print(f"!! {line}")
        return
    console.print(
        Panel(
            Text.assemble((lines[0], "bold"), "\n", lines[1], "\n", (lines[2], "bold")),
            border_style="bold red",
            style="red",
        )
    )


def print_summary(location: MartLocation, console: Console) -> Freshness:
    """Print the summary of the marts at `location`, read through the finance report's reader,
    under a banner (and again after it) when dbt's latest results do not vouch for them; returns
    that verdict."""
    with MartReader(location) as reader:
        freshness = check_freshness(location, reader.invocation_ids())
        statuses = reader.period_statuses()
        period_records = reader.period_records()
        balances = reader.source_balances()
        quarantine = sorted(reader.quarantine_reasons(), key=lambda row: row.quarantine_reason)
        credits = reader.credit_memo_candidates()
    by_period: dict[date, list[PeriodStatus]] = defaultdict(list)
    for status in statuses:
        by_period[status.billing_period_start].append(status)
    if freshness.is_stale:
        print_stale_banner(console, freshness)
    console.print(
        _table(
            "Usage records per billing period",
            [
                "period start",
                "records",
                "adjustments",
                "closed",
                "held",
                "usage",
                "invoice total (usage + recurring fees)",
            ],
            [
                (
                    row.billing_period_start,
                    row.records,
                    row.adjustments,
                    row.closed,
                    row.held,
                    _amounts(
                        (status.usage_amount, status.currency)
                        for status in by_period[row.billing_period_start]
                    ),
                    _amounts(
                        (status.invoice_total, status.currency)
                        for status in by_period[row.billing_period_start]
                    ),
                )
                for row in period_records
            ],
            caption=(
                "held: records of an open period or awaiting an approval, each record once; "
                "usage: the Usage Records' rated amounts; invoice total: usage plus the "
                "recurring lines' flat fees, the total the finance report shows"
            ),
        )
    )
    console.print(
        _table(
            "Raw records per source (read = used + duplicate + withdrawn + quarantined)",
            [
                "source",
                "read",
                "used",
                "duplicate",
                "conflicts",
                "withdrawn",
                "quarantined",
                "balanced",
            ],
            [
                (
                    row.source_system,
                    row.records_read,
                    row.records_used,
                    row.records_duplicate,
                    row.records_conflicting,
                    row.records_withdrawn,
                    row.records_quarantined,
                    row.is_balanced,
                )
                for row in balances
            ],
        )
    )
    console.print(
        _table(
            "Quarantined records by reason",
            ["reason", "records", "sources"],
            [(row.quarantine_reason, row.records, row.sources) for row in quarantine],
        )
    )
    waiting: dict[tuple[date, str], int] = defaultdict(int)
    for status in statuses:
        if not status.is_period_closed:
            waiting[(status.billing_period_start, status.missing_sources or "")] += 1
    console.print(
        _table(
            "Periods waiting for usage (open), by the sources still missing",
            ["period start", "accounts", "waiting on"],
            [(start, count, sources) for (start, sources), count in sorted(waiting.items())],
        )
    )
    console.print(_close_line(statuses, len(credits)))
    if freshness.is_stale:
        print_stale_banner(console, freshness)
    return freshness


def _close_line(statuses: list[PeriodStatus], credits: int) -> str:
    """Account periods by state, each counted once: an open period that also awaits an approval
    is held once, and said to await both."""
    awaiting = [
        status
        for status in statuses
        if status.requires_approval and not status.has_current_approval
    ]
    open_periods = sum(1 for status in statuses if not status.is_period_closed)
    open_and_awaiting = sum(1 for status in awaiting if not status.is_period_closed)
    ready = sum(1 for status in statuses if status.is_ready_to_load)
    held = len(statuses) - ready
    return (
        f"Account periods: {len(statuses)}; closed: {len(statuses) - open_periods}; "
        f"ready to load: {ready}; held: {held} ({open_periods} open, of which "
        f"{open_and_awaiting} also wait for an approval; {len(awaiting) - open_and_awaiting} "
        "closed, waiting for an approval); "
        f"credit-memo candidates: {credits}"
    )


@click.command("summary")
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default="the current directory",
    help="The dbt project.",
)
@click.option(
    "--profiles-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="DBT_PROFILES_DIR",
    help="Folder of profiles.yml.",
)
@click.option("--target", default=None, help="dbt target [default: the profile's].")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The DuckDB file of the marts, instead of the profile's.",
)
def summary(
    project_dir: Path, profiles_dir: Path | None, target: str | None, db: Path | None
) -> None:
    """Summarise the marts of the last dbt build: records, totals, quarantine, period close.

    When dbt's latest results do not vouch for the marts (the last `dbt build` failed, did not
    build and test fct_usage_records, or is not the build that wrote them), a banner says so
    and the command exits 3."""
    try:
        location = locate_mart(project_dir, profiles_dir=profiles_dir, target=target, db=db)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    if not location.db_path.is_file():
        raise click.ClickException(f"no DuckDB file at {location.db_path}: run `dbt build` first")
    try:
        freshness = print_summary(location, make_console())
    except (ConfigError, MartUnavailable, UnknownCurrency) as error:
        raise click.ClickException(str(error)) from error
    if freshness.is_stale:
        raise SystemExit(EXIT_STALE)
