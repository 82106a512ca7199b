"""Generates the demo's raw usage files: ordinary usage at volume plus the hand-written cases."""

from __future__ import annotations

from functools import partial

import duckdb

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
from loader.sample_data.feeds import allocate_events, usage_feeds
from loader.sample_data.files import (
    TEXT_SOURCES,
    clear_raw_folders,
    sort_text_source,
    stage_handwritten,
    tagged_kinds,
    write_metering,
    write_text_source,
)
from loader.sample_data.models import GenerationSettings, GenerationSummary, WrittenFile
from loader.sample_data.scenarios import handwritten_records, late_corrections


def generate_sample_data(settings: GenerationSettings) -> GenerationSummary:
    """Write every raw folder of SPEC 2.1 under `settings.out_dir`, deterministic per seed.

    Raw files a previous run left in the five raw folders are removed first, so the folder
    always holds exactly one generation.
    """
    feeds = usage_feeds()
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
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set preserve_insertion_order = true")
        load_feed_plan(con, feeds, allocate_events(feeds, settings.events))
        generate_metering(con, seed, lookups, late_corrections())
        stage_handwritten(con, handwritten_records())
        removed = clear_raw_folders(settings.out_dir)
        files: list[WrittenFile] = []
        tagged: list[tuple[int, str, int]] = []
        for source in TEXT_SOURCES:
            sort_text_source(con, source, bulk[source])
            files += write_text_source(con, settings.out_dir, source, renders[source])
            tagged += tagged_kinds(con, f"{source}_sorted")
            con.execute(f"drop table {source}_sorted")
        files += write_metering(con, settings.out_dir)
        tagged += tagged_kinds(con, "metering_bulk")
    finally:
        con.close()
    return GenerationSummary(
        out_dir=settings.out_dir,
        seed=seed,
        events_requested=settings.events,
        files=sorted(files, key=lambda item: item.relative_path),
        removed_files=removed,
        bulk_faults=_by_kind(tagged, origin=0),
        handwritten=_by_kind(tagged, origin=1),
    )


def _by_kind(tagged: list[tuple[int, str, int]], origin: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row_origin, kind, count in tagged:
        if row_origin == origin:
            totals[kind] = totals.get(kind, 0) + count
    return dict(sorted(totals.items()))
