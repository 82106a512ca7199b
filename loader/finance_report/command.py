"""`usage-loader report`: the finance report of the marts, as one static HTML page."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from loader.core.config import ConfigError, locate_mart
from loader.core.marts import MartUnavailable
from loader.core.money import UnknownCurrency
from loader.core.options import mart_options
from loader.finance_report.content import UnknownPeriod, build_report
from loader.finance_report.freshness import EXIT_STALE, HEADLINE, check_freshness
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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print what was written and whether the figures are stale as JSON on stdout.",
)
def report(
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    db: Path | None,
    state_dir: Path | None,
    period: datetime | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Write the finance report: close checklist, held records, invoice previews with charts,
    quarantine, reconciliation, credit-memo candidates and revenue, as one HTML page that opens
    offline.

    When dbt's latest results do not vouch for the marts (the last `dbt build` failed, did not
    build and test fct_usage_records, or is not the build that wrote them), the page is written
    under a banner that says so, and the command exits 3."""
    try:
        location = locate_mart(project_dir, profiles_dir=profiles_dir, target=target, db=db)
        ledger_dir = (state_dir or location.project_dir / ".usage-loader").expanduser().resolve()
        with MartReader(location) as reader:
            freshness = check_freshness(location, reader.invocation_ids())
            content = build_report(
                reader,
                ledger_dir,
                period.date() if period else None,
                freshness,
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
    exit_code = EXIT_STALE if freshness.is_stale else 0
    if as_json:
        status = {
            "html": str(path),
            "period_start": content.period_start.isoformat(),
            "invoices": len(content.invoices),
            "held_records": len(content.held),
            **freshness.as_json(),
            "exit_code": exit_code,
        }
        click.echo(json.dumps(status, indent=2))
    else:
        click.echo(
            f"wrote {path}: billing period starting {content.period_start.isoformat()}, "
            f"{len(content.invoices)} invoices, {len(content.held)} records held"
        )
    if freshness.is_stale:
        click.echo(f"{HEADLINE}. {freshness.reason}\n{freshness.fix}", err=True)
    raise SystemExit(exit_code)
