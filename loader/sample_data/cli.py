"""`usage-loader sample-data`: parses options, generates, prints a short summary."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from loader.sample_data.append import AppendRefused, write_day
from loader.sample_data.book import BookError
from loader.sample_data.generate import generate_sample_data
from loader.sample_data.models import (
    MAX_ACCOUNTS,
    AppendSettings,
    AppendSummary,
    GenerationSettings,
    GenerationSummary,
)

DEMO_ACCOUNTS = 20


@click.command("sample-data")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/raw"),
    envvar="USAGE_RAW_DIR",
    show_default=True,
    help="Raw folder to write (telemetry/, stripe/, salesforce/, metering/, watermarks/).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**31 - 1),
    default=7,
    show_default=True,
    help="Seed of the pseudo-random draws: the same seed writes the same bytes.",
)
@click.option(
    "--events",
    type=click.IntRange(min=1000),
    default=20_000,
    show_default=True,
    help="Ordinary usage records to generate, spread over all sources "
    "(with --append-day: the ordinary records of that day).",
)
@click.option(
    "--accounts",
    type=click.IntRange(DEMO_ACCOUNTS, MAX_ACCOUNTS),
    help="Generate a contract book of this many billing accounts (the demo's 20 and more "
    "derived from them) into --seeds-out. Without it the demo book in seeds/ applies.",
)
@click.option(
    "--seeds-out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the generated book's seed CSVs (dbt reads it when USAGE_SEEDS_DIR "
    "names it). With --append-day: the folder that holds the book.",
)
@click.option(
    "--append-day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Add one day of received records to an existing raw folder, in new files only: "
    "that day's usage, late usage for earlier periods and redeliveries of records "
    "already written.",
)
def sample_data(
    out_dir: Path,
    seed: int,
    events: int,
    accounts: int | None,
    seeds_out: Path | None,
    append_day: datetime | None,
) -> None:
    """Write deterministic sample raw usage files for the demo contract book in seeds/,
    or for a generated book of --accounts billing accounts.

    Raw files already in the five raw folders are replaced (except with --append-day, which
    never touches an existing file).
    """
    if (accounts is None) != (seeds_out is None):
        raise click.UsageError("--accounts and --seeds-out go together.")
    try:
        if append_day is not None:
            day = AppendSettings(
                out_dir=out_dir,
                day=append_day.date(),
                seed=seed,
                events=events,
                accounts=accounts,
                seeds_out=seeds_out,
            )
            _print_append(write_day(day))
            return
        summary = generate_sample_data(
            GenerationSettings(
                out_dir=out_dir, seed=seed, events=events, accounts=accounts, seeds_out=seeds_out
            )
        )
    except (AppendRefused, BookError) as error:
        raise click.UsageError(str(error)) from error
    _print_summary(summary)


def _print_summary(summary: GenerationSummary) -> None:
    click.echo(
        f"Wrote {len(summary.files)} files to {summary.out_dir} "
        f"(seed {summary.seed}, {summary.events_requested:,} ordinary records requested"
        + (f", {summary.removed_files} old files replaced)" if summary.removed_files else ")")
    )
    by_source = summary.records_by_source()
    for source in sorted(by_source):
        files = [item for item in summary.files if item.source_system == source]
        click.echo(f"  {source:<11} {len(files):>2} files {by_source[source]:>12,} records")
    sections = [
        ("Bulk faults (extra copies)", summary.bulk_faults),
        ("Hand-written records by kind", summary.handwritten),
    ]
    if summary.faults_at_scale:
        sections.append(("Faults at scale by kind", summary.faults_at_scale))
    for title, kinds in sections:
        click.echo(f"{title}:")
        for kind, count in sorted(kinds.items()):
            click.echo(f"  {kind:<24} {count:>8,}")
    if summary.book is not None:
        book = summary.book
        click.echo(f"Contract book of {book.accounts:,} accounts in {book.seeds_dir}:")
        for name, rows in book.rows.items():
            click.echo(f"  {name:<24} {rows:>8,} rows")


def _print_append(summary: AppendSummary) -> None:
    click.echo(f"Appended {summary.day} to {summary.out_dir}: {len(summary.files)} new files")
    for written in summary.files:
        click.echo(f"  {written.relative_path:<48} {written.records:>10,} records")
    click.echo("Records by kind:")
    for kind, count in sorted(summary.kinds.items()):
        click.echo(f"  {kind:<24} {count:>8,}")
