"""The `usage-loader` command line: the one place that wires the core's commands (`plan`, `push`,
`export-csv`, `reconcile`, whose work lives in `loader/core`; `contracts pull`, in
`loader/contracts`) and the tools (`sandbox`,
`sample-data`, `report`, `summary`, imported only when named). It parses options, maps failures
to exit codes, writes the run report and prints; it decides nothing itself."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

from loader.core.config import ConfigError, MartLocation, locate_mart, secret_values_from_env
from loader.core.console import is_terminal, make_console
from loader.core.export import DATE_FORMATS, DEFAULT_DATE_FORMAT, MAX_RECORDS_PER_FILE, run_export
from loader.core.gates import GateRefused
from loader.core.ledger import LedgerBusy
from loader.core.marts import MartUnavailable
from loader.core.netsuite import AccessRefused, NetSuiteError, RetryPolicy
from loader.core.options import mart_options
from loader.core.plan import run_plan
from loader.core.push import PushOptions, run_push
from loader.core.reconcile import run_reconcile
from loader.core.run_report import (
    ExitCode,
    RecordOutcome,
    RunReport,
    print_findings,
    print_footer,
    print_outcomes,
    print_records,
    write_run_report,
)

Body = Callable[[MartLocation, Path], None]
Render = Callable[[Console, RunReport], None]


class _Commands(click.Group):
    """The core's commands are defined below; the tools (the NetSuite sandbox, the sample-data
    generator, the finance report and the pipeline summary) are programs of their own, imported
    when they are named or listed, so that `push` starts up without any of them."""

    lazy = {
        "report": "loader.finance_report.command:report",
        "sample-data": "loader.sample_data.cli:sample_data",
        "sandbox": "loader.sandbox.cli:sandbox",
        "summary": "loader.finance_report.summary:summary",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, name = self.lazy[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="usage-loader")
def main() -> None:
    """Usage billing for NetSuite SuiteBilling: load the usage-record mart exactly once."""


_DATE = click.DateTime(formats=["%Y-%m-%d"])


def scope_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Which records are in scope: one billing period, and whether open periods count."""
    command = click.option(
        "--include-open-periods",
        is_flag=True,
        help="Treat records of periods not yet closed as sendable.",
    )(command)
    return click.option(
        "--period",
        type=_DATE,
        metavar="YYYY-MM-DD",
        help="Only the billing period starting on this date (YYYY-MM-DD).",
    )(command)


def network_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--give-up-after",
        type=click.FloatRange(min=1.0),
        default=60.0,
        show_default=True,
        help="Seconds without any answer from NetSuite mid-run before the run stops.",
    )(command)
    command = click.option(
        "--max-attempts",
        type=click.IntRange(min=1),
        default=8,
        show_default=True,
        help="Attempts per request (429, 5xx, timeouts, dropped connections).",
    )(command)
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=60.0,
        show_default=True,
        help="Seconds to wait for each answer of NetSuite.",
    )(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print the run report as JSON on stdout."
    )(command)


def _keep_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Record every option of the run in its run report (none of them is a secret)."""

    @wraps(command)
    def wrapper(**options: Any) -> Any:
        return command(options=options, **options)

    return wrapper


@main.command()
@mart_options
@scope_options
@json_option
@_keep_options
def plan(options: dict[str, Any], period: datetime | None, **_: Any) -> None:
    """Show what push would do, record by record (create, update, unchanged, held and why);
    send nothing."""

    def body(location: MartLocation, state_dir: Path) -> None:
        run_plan(
            location,
            state_dir,
            run_report,
            period=_day(period),
            include_open_periods=options["include_open_periods"],
        )

    run_report = RunReport(command="plan", options=options)
    _execute(run_report, options, body, render=_render_plan)


@main.command()
@mart_options
@scope_options
@click.option("--dry-run", is_flag=True, help="Check the gates and show the plan; send nothing.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Requests in flight at most (NetSuite's limit is per account, shared).",
)
@click.option(
    "--async",
    "use_async",
    is_flag=True,
    help="Send asynchronous requests with idempotency keys and poll the jobs.",
)
@network_options
@json_option
@_keep_options
def push(options: dict[str, Any], period: datetime | None, **_: Any) -> None:
    """Check the gates, then upsert the mart's records into NetSuite by External ID."""
    push_options = PushOptions(
        period=_day(period),
        include_open_periods=options["include_open_periods"],
        dry_run=options["dry_run"],
        concurrency=options["concurrency"],
        use_async=options["use_async"],
        policy=_policy(options),
    )

    def body(location: MartLocation, state_dir: Path) -> None:
        progress = _ConsoleProgress() if _shows_progress(options["as_json"]) else None
        run_push(location, state_dir, push_options, run_report, env=os.environ, progress=progress)

    run_report = RunReport(command="push", options=options)
    _execute(run_report, options, body, render=_render_push)


@main.command("export-csv")
@mart_options
@scope_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The CSV files' base name: usage.csv writes usage-0001.csv, usage-0002.csv, ...",
)
@click.option(
    "--max-records",
    type=click.IntRange(1, MAX_RECORDS_PER_FILE),
    default=MAX_RECORDS_PER_FILE,
    show_default=True,
    help="Records per file at most (the CSV Import Assistant takes 25,000 in one job).",
)
@click.option(
    "--date-format",
    type=click.Choice(DATE_FORMATS),
    default=DEFAULT_DATE_FORMAT,
    show_default=True,
    help="Usage Date format: the account's date preference, as CSV import expects it.",
)
@json_option
@_keep_options
def export_csv(options: dict[str, Any], period: datetime | None, **_: Any) -> None:
    """Write the records push would send as a NetSuite CSV import file."""

    def body(location: MartLocation, state_dir: Path) -> None:
        run_export(
            location,
            state_dir,
            run_report,
            out=options["out"],
            date_format=options["date_format"],
            period=_day(period),
            include_open_periods=options["include_open_periods"],
            max_records=options["max_records"],
        )

    run_report = RunReport(command="export-csv", options=options)
    _execute(run_report, options, body, render=_render_outcomes)


@main.command()
@mart_options
@scope_options
@click.option(
    "--as-of",
    type=_DATE,
    metavar="YYYY-MM-DD",
    help="Periods ending before this date count as ended [default: today, UTC].",
)
@network_options
@json_option
@_keep_options
def reconcile(
    options: dict[str, Any], period: datetime | None, as_of: datetime | None, **_: Any
) -> None:
    """Compare NetSuite's Usage Records with the mart: missing, extra, quantity differs,
    duplicates, and records still pending after their period ended."""

    def body(location: MartLocation, state_dir: Path) -> None:
        run_reconcile(
            location,
            run_report,
            env=os.environ,
            as_of=_day(as_of) or datetime.now(UTC).date(),
            period=_day(period),
            include_open_periods=options["include_open_periods"],
            policy=_policy(options),
        )

    run_report = RunReport(command="reconcile", options=options)
    _execute(run_report, options, body, render=_render_reconcile)


@main.group()
def contracts() -> None:
    """The contract book as NetSuite holds it (SPEC 7)."""


@contracts.command("pull")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Contract-book folder to write (e.g. seeds/contract_book): its six NetSuite-held CSVs "
    "are replaced; the hand-kept files are never touched.",
)
@network_options
def contracts_pull(out: Path, **options: Any) -> None:
    """Read the contract book from NetSuite with SuiteQL and write billing_accounts,
    subscriptions, subscription_lines, price_plans, price_plan_tiers and amendments.

    Exit 0 done, 4 configuration or authentication error, or NetSuite holds what the book cannot
    express (nothing is written), 1 NetSuite failed mid-way (nothing is written)."""
    from loader.contracts.pull import CannotExpress, PullTargetError, pull_contract_book

    err = make_console(stderr=True, soft_wrap=True)
    try:
        result = pull_contract_book(out, env=os.environ, policy=_policy(options))
    except CannotExpress as error:
        err.print(f"contracts pull: {error}", markup=False)
        for problem in error.problems:
            record = problem["netsuite_id"] or ""
            if problem.get("external_id"):
                record += f" ({problem['external_id']})"
            value = problem.get("netsuite_value")
            err.print(
                f"  {problem['netsuite_table']} {record}: {problem['netsuite_column']}"
                + (f" = {value!r}" if value is not None and value != "" else "")
                + f": {problem['problem']}",
                markup=False,
            )
        sys.exit(ExitCode.CONFIG_ERROR)
    except (ConfigError, AccessRefused, PullTargetError) as error:
        err.print(f"contracts pull: {error}", markup=False)
        sys.exit(ExitCode.CONFIG_ERROR)
    except NetSuiteError as error:
        err.print(f"contracts pull: NetSuite: {error}; nothing was written", markup=False)
        sys.exit(ExitCode.RECORDS_FAILED)
    console = make_console(soft_wrap=True)
    console.print(
        f"Contract book pulled into {result.out} ({result.queries} queries)", markup=False
    )
    for change in result.files:
        if change.new_file:
            summary = "new file"
        elif change.unchanged:
            summary = "unchanged"
        else:
            summary = (
                f"{len(change.added)} added, {len(change.removed)} removed, "
                f"{len(change.changed)} changed"
            )
        console.print(f"  {change.name}.csv: {change.rows} rows, {summary}", markup=False)
        for label, keys in (
            ("added", change.added),
            ("removed", change.removed),
            ("changed", change.changed),
        ):
            if keys and not change.new_file:
                shown = ", ".join(keys[:10]) + (
                    f" and {len(keys) - 10} more" if len(keys) > 10 else ""
                )
                console.print(f"    {label}: {shown}", markup=False)
    sys.exit(ExitCode.DONE)


def _execute(run_report: RunReport, options: dict[str, Any], body: Body, *, render: Render) -> None:
    """Run one command: map failures to exit codes, write the run report, print, exit."""
    project_dir = Path(options["project_dir"]).expanduser().resolve()
    run_report.project_dir = str(project_dir)
    report_dir = project_dir / "target" / "loader"
    try:
        location = locate_mart(
            project_dir,
            profiles_dir=options["profiles_dir"],
            target=options["target"],
            db=options["db"],
        )
        report_dir = location.report_dir
        state_dir = options["state_dir"] or location.project_dir / ".usage-loader"
        body(location, Path(state_dir).expanduser().resolve())
    except ConfigError as error:
        run_report.finish(ExitCode.CONFIG_ERROR, "config_error", f"configuration: {error}")
    except AccessRefused as error:
        run_report.count_outcomes()
        run_report.finish(ExitCode.CONFIG_ERROR, error.status, str(error))
    except (GateRefused, LedgerBusy, MartUnavailable) as error:
        run_report.finish(ExitCode.GATE_REFUSED, "refused", f"refused: {error}")
    except NetSuiteError as error:
        run_report.finish(ExitCode.RECORDS_FAILED, "netsuite_error", f"NetSuite: {error}")
    run_report = run_report.redacted(_secret_values())
    if project_dir.is_dir():
        try:
            write_run_report(run_report, report_dir)
        except OSError as error:
            click.echo(f"warning: cannot write the run report: {error}", err=True)
    exit_code = int(run_report.exit_code if run_report.exit_code is not None else ExitCode.DONE)
    if options["as_json"]:
        click.echo(run_report.to_json(), nl=False)
    elif exit_code in (ExitCode.GATE_REFUSED, ExitCode.CONFIG_ERROR):
        print_footer(make_console(stderr=True, soft_wrap=True), run_report)
    else:
        render(make_console(), run_report)
    sys.exit(exit_code)


def _render_plan(console: Console, run_report: RunReport) -> None:
    print_records(console, run_report, "usage-loader plan")
    print_footer(console, run_report)


def _render_push(console: Console, run_report: RunReport) -> None:
    if run_report.options.get("dry_run"):
        print_records(console, run_report, "usage-loader push --dry-run", show_outcome=True)
        print_footer(console, run_report)
    else:
        print_outcomes(console, run_report)


def _render_outcomes(console: Console, run_report: RunReport) -> None:
    print_outcomes(console, run_report)


def _render_reconcile(console: Console, run_report: RunReport) -> None:
    print_findings(console, run_report)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _policy(options: dict[str, Any]) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=options["max_attempts"],
        timeout=options["timeout"],
        outage_seconds=options["give_up_after"],
    )


def _secret_values() -> list[str]:
    return secret_values_from_env(os.environ)


def _shows_progress(as_json: bool) -> bool:
    return not as_json and is_terminal(stderr=True)


class _ConsoleProgress:
    """A progress bar on stderr for long pushes, on a terminal only."""

    def __init__(self) -> None:
        self._bar = RichProgress(
            TextColumn("sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=make_console(stderr=True),
            transient=True,
        )
        self._task: Any = None

    def start(self, total: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task("send", total=total)

    def advance(self, outcome: RecordOutcome) -> None:
        self._bar.advance(self._task)

    def stop(self) -> None:
        self._bar.stop()
