"""Generates the demo's raw usage files: ordinary usage at volume plus the hand-written cases.

With a generated contract book (`settings.accounts`), the generated accounts' feeds join the
demo's, their faults at scale join the hand-written ones, and the book (with the approvals its
usage decides) is written to `settings.seeds_out`.
"""

from __future__ import annotations

from functools import partial

import duckdb

from loader.sample_data.approvals import approval_rows
from loader.sample_data.book import DEMO_SEEDS_DIR, read_book, write_book
from loader.sample_data.bulk import (
    FeedLookups,
    generate_metering,
    load_feed_plan,
    render_salesforce,
    render_stripe,
    render_telemetry,
    salesforce_query,
    stripe_query,
    telemetry_query,
)
from loader.sample_data.contracts import billed_periods
from loader.sample_data.fault_plan import fault_counts, fault_feeds
from loader.sample_data.faults import (
    FAULT_ORIGIN,
    load_fault_plan,
    stage_metering_faults,
    stage_salesforce_faults,
    stage_stripe_faults,
    stage_telemetry_faults,
    with_faults,
)
from loader.sample_data.feeds import allocate_events, usage_feeds
from loader.sample_data.files import (
    TEXT_SOURCES,
    clear_raw_folders,
    sort_text_source,
    stage_handwritten,
    tagged_kinds,
    write_metering,
    write_raw_lines,
    write_text_source,
)
from loader.sample_data.models import (
    BookSummary,
    GenerationSettings,
    GenerationSummary,
    UsageFeed,
    WrittenFile,
)
from loader.sample_data.scale_book import ScaledBook, scaled_book
from loader.sample_data.scenarios import handwritten_records, late_corrections


def generate_sample_data(settings: GenerationSettings) -> GenerationSummary:
    """Write every raw folder of SPEC 2.1 under `settings.out_dir`, deterministic per seed.

    Raw files a previous run left in the five raw folders are removed first, so the folder
    always holds exactly one generation.
    """
    if settings.accounts is None or settings.seeds_out is None:
        summary, _ = _write_raw(settings, usage_feeds(), None)
        return summary
    scaled = scaled_book(read_book(settings.demo_seeds or DEMO_SEEDS_DIR), settings.accounts)
    summary, approvals = _write_raw(settings, scaled.feeds, scaled)
    book = scaled.book.extended({"usage_approvals": approvals})
    write_book(book, settings.seeds_out)
    return summary.model_copy(
        update={
            "book": BookSummary(
                seeds_dir=settings.seeds_out,
                accounts=scaled.accounts,
                rows={name: book.count(name) for name in book.tables},
            )
        }
    )


def _write_raw(
    settings: GenerationSettings, feeds: tuple[UsageFeed, ...], scaled: ScaledBook | None
) -> tuple[GenerationSummary, list[dict[str, str]]]:
    """Write the raw files; with a scaled book also its faults, and return its approvals."""
    lookups = FeedLookups(feeds)
    seed = settings.seed
    bulk = {
        "telemetry": telemetry_query(seed),
        "stripe": stripe_query(seed),
        "salesforce": salesforce_query(seed),
        "watermarks": None,
    }
    renders = {
        "telemetry": partial(render_telemetry, seed, lookups),
        "stripe": partial(render_stripe, seed, lookups),
        "salesforce": partial(render_salesforce, seed, lookups),
        "watermarks": None,
    }
    approvals: list[dict[str, str]] = []
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set preserve_insertion_order = true")
        load_feed_plan(con, feeds, allocate_events(feeds, settings.events))
        generate_metering(con, seed, lookups, late_corrections())
        handwritten = handwritten_records()
        stage_handwritten(con, handwritten)
        if scaled is not None:
            bulk = _stage_faults(con, settings, scaled, lookups, bulk)
        removed = clear_raw_folders(settings.out_dir)
        files: list[WrittenFile] = []
        tagged: list[tuple[int, str, int]] = []
        for source in TEXT_SOURCES:
            sort_text_source(con, source, bulk[source])
            files += write_text_source(con, settings.out_dir, source, renders[source])
            tagged += tagged_kinds(con, f"{source}_sorted")
            if source == "stripe" and scaled is not None:
                approvals = approval_rows(con, "stripe_sorted", scaled.approval_feeds)
            con.execute(f"drop table {source}_sorted")
        write_raw_lines(settings.out_dir, handwritten)
        files += write_metering(con, settings.out_dir)
        tagged += tagged_kinds(con, "metering_bulk")
    finally:
        con.close()
    summary = GenerationSummary(
        out_dir=settings.out_dir,
        seed=seed,
        events_requested=settings.events,
        files=sorted(files, key=lambda item: item.relative_path),
        removed_files=removed,
        bulk_faults=_by_kind(tagged, origin=0),
        handwritten=_by_kind(tagged, origin=1),
        faults_at_scale=_by_kind(tagged, origin=FAULT_ORIGIN),
    )
    return summary, approvals


def _stage_faults(
    con: duckdb.DuckDBPyConnection,
    settings: GenerationSettings,
    scaled: ScaledBook,
    lookups: FeedLookups,
    bulk: dict[str, str | None],
) -> dict[str, str | None]:
    """Stage the generated accounts' faults; returns the bulk queries that include them."""
    seed = settings.seed
    faulty = fault_feeds(
        scaled.feeds, scaled.generated_feed_ids, scaled.terms(), billed_periods(scaled.book)
    )
    load_fault_plan(con, seed, faulty, fault_counts(settings.events, faulty))
    stage_metering_faults(con, seed, lookups)
    stage_telemetry_faults(con, seed, lookups)
    stage_salesforce_faults(con, seed, lookups)
    stage_stripe_faults(con, seed, lookups)
    return {
        source: None if query is None else with_faults(source, query)
        for source, query in bulk.items()
    }


def _by_kind(tagged: list[tuple[int, str, int]], origin: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row_origin, kind, count in tagged:
        if row_origin == origin:
            totals[kind] = totals.get(kind, 0) + count
    return dict(sorted(totals.items()))
