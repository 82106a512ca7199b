"""`usage-loader sample-data`: parses options, generates, prints a short summary."""

from __future__ import annotations

from pathlib import Path

import click

from loader.sample_data.generate import generate_sample_data
from loader.sample_data.models import GenerationSettings, GenerationSummary


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
    help="Ordinary usage records to generate, spread over all sources.",
)
def sample_data(out_dir: Path, seed: int, events: int) -> None:
    """Write deterministic sample raw usage files for the demo contract book in seeds/.

    Raw files already in the five raw folders are replaced.
    """
    summary = generate_sample_data(GenerationSettings(out_dir=out_dir, seed=seed, events=events))
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
    for title, kinds in (
        ("Bulk faults (extra copies)", summary.bulk_faults),
        ("Hand-written records by kind", summary.handwritten),
    ):
        click.echo(f"{title}:")
        for kind, count in sorted(kinds.items()):
            click.echo(f"  {kind:<24} {count:>8,}")
