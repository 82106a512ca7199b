"""`usage-loader report`: the finance report of the marts, as one static HTML page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from loader.core.config import ConfigError, locate_mart
from loader.core.marts import MartUnavailable
from loader.core.money import UnknownCurrency
from loader.core.options import mart_options
from loader.finance_report.content import UnknownPeriod, build_report
from loader.finance_report.marts import MartReader
from loader.finance_report.render import render_html, write_html

EXIT_REFUSED = 3
EXIT_CONFIG = 4


@click.command("report")
@mart_options
@click.option(
    "--period",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="The billing period (its start date) to show in detail [default: of the latest month "
    "in which accounts have closed, the period with the most of them closed].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write [default: report/index.html in the dbt target folder].",
)
def report(
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    db: Path | None,
    state_dir: Path | None,
    period: datetime | None,
    out: Path | None,
) -> None:
    """Write the finance report: close checklist, held records, invoice previews with charts,
    quarantine, reconciliation, credit-memo candidates and revenue, as one HTML page that opens
    offline."""
    try:
        location = locate_mart(project_dir, profiles_dir=profiles_dir, target=target, db=db)
        ledger_dir = (state_dir or location.project_dir / ".usage-loader").expanduser().resolve()
        with MartReader(location) as reader:
            content = build_report(
                reader,
                ledger_dir,
                period.date() if period else None,
                report_dir=location.report_dir,
            )
        html = render_html(content)
    except UnknownPeriod as error:
        raise click.BadParameter(str(error), param_hint="'--period'") from error
    except (ConfigError, UnknownCurrency) as error:
        click.echo(f"configuration: {error}", err=True)
        raise SystemExit(EXIT_CONFIG) from error
    except MartUnavailable as error:
        click.echo(f"refused: {error}", err=True)
        raise SystemExit(EXIT_REFUSED) from error
    path = write_html(html, out or location.target_dir / "report" / "index.html")
    click.echo(
        f"wrote {path}: billing period starting {content.period_start.isoformat()}, "
        f"{len(content.invoices)} invoices, {len(content.held)} records held"
    )
