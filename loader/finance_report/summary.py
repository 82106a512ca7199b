"""The pipeline summary `make demo` prints after `dbt build`: records and totals per period,
quarantined records by reason, the source reconciliation, and periods closed or waiting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click
import duckdb
from rich.console import Console
from rich.table import Table

from loader.core.config import ConfigError, MartLocation, locate_mart
from loader.core.console import make_console


def _table(title: str, columns: list[str], rows: list[tuple]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    return table


_MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3}


def _money(amount: Decimal, currency: str) -> str:
    places = _MINOR_UNITS.get(currency, 2)
    return f"{amount.quantize(Decimal(1).scaleb(-places)):,}"


def print_summary(location: MartLocation, console: Console) -> None:
    """Print the summary of the marts at `location`."""
    schema = location.schema_name or "main"
    with duckdb.connect(str(location.db_path), read_only=True) as connection:

        def rows(sql: str) -> list[tuple]:
            return connection.sql(sql.replace("{schema}", schema)).fetchall()

        totals: dict[object, list[str]] = {}
        for period, currency, total in rows(
            """
            select billing_period_start, currency, sum(rated_amount)
            from {schema}.fct_usage_records group by 1, 2 order by 1, 2
            """
        ):
            totals.setdefault(period, []).append(f"{currency} {_money(total, currency)}")
        console.print(
            _table(
                "Usage records per billing period",
                ["period start", "records", "adjustments", "closed", "held: open", "total"],
                [
                    (*row, ", ".join(totals.get(row[0], [])))
                    for row in rows(
                        """
                        select billing_period_start, count(*), sum(is_adjustment::int),
                            sum(is_period_closed::int), sum((not is_period_closed)::int)
                        from {schema}.fct_usage_records
                        group by 1 order by 1
                        """
                    )
                ],
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
                rows(
                    """
                    select source_system, records_read, records_used, records_duplicate,
                        records_conflicting, records_withdrawn, records_quarantined, is_balanced
                    from {schema}.rpt_source_reconciliation order by 1
                    """
                ),
            )
        )
        console.print(
            _table(
                "Quarantined records by reason",
                ["reason", "records", "sources"],
                rows(
                    """
                    select quarantine_reason, count(*),
                        string_agg(distinct source_system, ', ' order by source_system)
                    from {schema}.fct_usage_quarantine group by 1 order by 1
                    """
                ),
            )
        )
        console.print(
            _table(
                "Periods waiting for usage (open), by the sources still missing",
                ["period start", "accounts", "waiting on"],
                rows(
                    """
                    select billing_period_start, count(*), missing_sources
                    from {schema}.rpt_period_close_status
                    where not is_period_closed
                    group by 1, 3 order by 1, 3
                    """
                ),
            )
        )
        closed, ready, approvals = rows(
            """
            select sum(is_period_closed::int), sum(is_ready_to_load::int),
                sum((requires_approval and not has_current_approval)::int)
            from {schema}.rpt_period_close_status
            """
        )[0]
        credits = rows(
            "select count(*), coalesce(sum(credit_amount), 0) "
            "from {schema}.rpt_credit_memo_candidates"
        )[0]
        console.print(
            f"Account periods closed: {closed or 0}; ready to load: {ready or 0}; "
            f"waiting for an approval: {approvals or 0}; "
            f"credit-memo candidates: {credits[0]}"
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
    """Summarise the marts of the last dbt build: records, totals, quarantine, period close."""
    try:
        location = locate_mart(project_dir, profiles_dir=profiles_dir, target=target, db=db)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    if not location.db_path.is_file():
        raise click.ClickException(f"no DuckDB file at {location.db_path}: run `dbt build` first")
    try:
        print_summary(location, make_console())
    except duckdb.CatalogException as error:
        raise click.ClickException(
            f"the marts are not built in {location.db_path} ({error}): run `dbt build` first"
        ) from error
