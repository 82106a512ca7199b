"""One more day of received records for an existing raw folder (`--append-day`).

The day is written as new files only, one per source named after the day (the monthly files and
everything else already delivered stay untouched), for the same contract book:
- the ordinary usage that occurred on that local date, drawn like the bulk (`bulk.py`) with a
  seed of its own, so its records never collide with earlier ones;
- late usage: new records for the latest billed period of a subscription, and delayed
  deliveries into the ten days before the day, all received on the day;
- redeliveries of records already written (`redeliveries.py`);
- the sources' watermarks as of the day's start (Salesforce a month behind, as it lags).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import duckdb

from loader.sample_data.book import DEMO_SEEDS_DIR, SEED_TABLES, ContractBook, read_book
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
from loader.sample_data.contracts import LineTerm, billed_periods, line_terms, local_midnight
from loader.sample_data.fault_plan import DELAYED_KIND, FaultCount, FaultFeed, fault_feed
from loader.sample_data.faults import (
    load_fault_plan,
    stage_salesforce_faults,
    stage_stripe_faults,
    stage_telemetry_faults,
    with_faults,
)
from loader.sample_data.feeds import allocate_events, usage_feeds
from loader.sample_data.files import (
    TEXT_SOURCES,
    create_line_table,
    sort_text_source,
    stage_watermarks,
    write_metering,
    write_text_source,
)
from loader.sample_data.models import (
    AppendSettings,
    AppendSummary,
    UsageFeed,
    WrittenFile,
)
from loader.sample_data.redeliveries import stage_redeliveries
from loader.sample_data.scale_book import scaled_book
from loader.sample_data.watermarks import WATERMARK_HEADER

DELAY_DAYS = 10
SALESFORCE_LAG_DAYS = 31


class AppendRefused(ValueError):
    """The day cannot be appended without touching what is there."""


def day_files(day: date) -> dict[str, str]:
    """The new file of each raw folder for `day`."""
    return {
        "telemetry": f"events-{day}.jsonl",
        "stripe": f"meter_events_{day}.csv",
        "salesforce": f"Usage_Entry__c_{day}.csv",
        "metering": f"usage_windows_{day}.parquet",
        "watermarks": f"watermarks_{day}.csv",
    }


def day_seed(seed: int, day: date) -> int:
    """The seed of one appended day: its draws and record ids are its own."""
    return seed * 100_000 + (day - date(2000, 1, 1)).days


class _DayBook:
    """The book the day belongs to, with its feeds and who may receive late records."""

    def __init__(self, settings: AppendSettings) -> None:
        demo = read_book(settings.demo_seeds or DEMO_SEEDS_DIR)
        if settings.accounts is None or settings.seeds_out is None:
            self.book = demo
            self.feeds = usage_feeds()
            self.excluded: frozenset[int] = frozenset()
            return
        scaled = scaled_book(demo, settings.accounts)
        _check_same_book(read_book(settings.seeds_out), scaled.book, settings)
        self.book = scaled.book
        self.feeds = scaled.feeds
        self.excluded = frozenset(feed.feed_id for feed in scaled.approval_feeds)


def _check_same_book(found: ContractBook, expected: ContractBook, settings: AppendSettings) -> None:
    """The seeds folder must hold the book of `accounts` (approvals depend on the events)."""
    for name in SEED_TABLES:
        if name != "usage_approvals" and found.tables[name] != expected.tables[name]:
            raise AppendRefused(
                f"{settings.seeds_out} does not hold the generated book of {settings.accounts} "
                f"accounts ({name}.csv differs): append with the --accounts it was made with"
            )


def _day_feeds(
    feeds: tuple[UsageFeed, ...], terms: dict[str, LineTerm], day: date
) -> tuple[UsageFeed, ...]:
    """The feeds whose line is in force on `day`, narrowed to that day."""
    return tuple(
        feed.model_copy(update={"first_date": day, "last_date": day})
        for feed in feeds
        if terms[feed.subscription_line_id].covers(day)
    )


def _late_feeds(day_book: _DayBook, terms: dict[str, LineTerm], day: date) -> list[FaultFeed]:
    """Feeds that receive late records on `day`: into their latest period billed before the
    day, and delayed deliveries into the days before it."""
    billed = billed_periods(day_book.book)
    start = local_midnight(day, "UTC")
    received = {
        "received_lo": int(start.timestamp()),
        "received_hi": int((start + timedelta(days=1)).timestamp()),
    }
    result = []
    for feed in day_book.feeds:
        if feed.feed_id in day_book.excluded:
            continue
        term = terms[feed.subscription_line_id]
        periods = tuple(
            period for period in billed.get(term.subscription_id, ()) if period.billed_at < start
        )
        windows = fault_feed(feed, term, periods)
        first = max(day - timedelta(days=DELAY_DAYS), term.start)
        last = day - timedelta(days=1) if term.end is None else min(day - timedelta(1), term.end)
        recent = {}
        if first <= last:
            recent = {
                "recent_lo": int(local_midnight(first, feed.timezone).timestamp()),
                "recent_hi": int(
                    local_midnight(last + timedelta(days=1), feed.timezone).timestamp()
                ),
            }
        result.append(windows.model_copy(update={**received, **recent}))
    return result


def _late_counts(events: int, feeds: list[FaultFeed]) -> list[FaultCount]:
    pools = {(feed.source_system, pool) for feed in feeds for pool in feed.pools()}
    counts = []
    for source in ("telemetry", "stripe", "salesforce"):
        for kind, pool, share in (("late_usage", "late", 200), (DELAYED_KIND, "recent", 100)):
            if (source, pool) in pools:
                counts.append(
                    FaultCount(source_system=source, fault_kind=kind, count=max(1, events // share))
                )
    return counts


def _watermark_lines(day: date) -> list[str]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    lag = start - timedelta(days=SALESFORCE_LAG_DAYS)

    def stamp(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    rows = [  # in the order they are reported
        ("salesforce", lag, start + timedelta(hours=2)),
        ("metering", start, start + timedelta(hours=4, minutes=20)),
        ("telemetry", start, start + timedelta(hours=6, minutes=30)),
        ("stripe", start, start + timedelta(hours=12, minutes=10)),
    ]
    return [WATERMARK_HEADER, *(f"{s},{stamp(through)},{stamp(at)}" for s, through, at in rows)]


def write_day(settings: AppendSettings) -> AppendSummary:
    """Write the new files of `settings.day` into `settings.out_dir`; refuse, writing nothing,
    when the folder is missing or a file of that day is already there."""
    out_dir, day = settings.out_dir, settings.day
    if not out_dir.is_dir():
        raise AppendRefused(f"{out_dir} does not exist: write the sample data first")
    names = day_files(day)
    taken = [
        f"{folder}/{name}" for folder, name in names.items() if (out_dir / folder / name).exists()
    ]
    if taken:
        raise AppendRefused(f"{', '.join(taken)} already exist: {day} was appended before")
    day_book = _DayBook(settings)
    terms = line_terms(day_book.book)
    feeds = _day_feeds(day_book.feeds, terms, day)
    if not feeds:
        raise AppendRefused(f"no subscription line of the book is in force on {day}")
    active = {feed.feed_id for feed in feeds}
    late = [feed for feed in _late_feeds(day_book, terms, day) if feed.feed_id in active]
    seed = day_seed(settings.seed, day)
    lookups = FeedLookups(day_book.feeds)
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set preserve_insertion_order = true")
        files = _write(con, settings, seed, lookups, feeds, late, names)
        kinds = _kinds(con)
    finally:
        con.close()
    return AppendSummary(out_dir=out_dir, day=day, files=files, kinds=kinds)


def _write(
    con: duckdb.DuckDBPyConnection,
    settings: AppendSettings,
    seed: int,
    lookups: FeedLookups,
    feeds: tuple[UsageFeed, ...],
    late: list[FaultFeed],
    names: dict[str, str],
) -> list[WrittenFile]:
    load_feed_plan(con, feeds, allocate_events(feeds, settings.events))
    generate_metering(con, seed, lookups, ())
    create_line_table(con)
    stage_watermarks(con, names["watermarks"], _watermark_lines(settings.day))
    load_fault_plan(con, seed, late, _late_counts(settings.events, late))
    stage_telemetry_faults(con, seed, lookups)
    stage_salesforce_faults(con, seed, lookups)
    stage_stripe_faults(con, seed, lookups)
    stage_redeliveries(con, settings.out_dir, settings.day, seed, settings.events, names)
    bulk = {
        "telemetry": with_faults("telemetry", telemetry_query(seed)),
        # re-exports of the day's events would be created days later: not part of the day
        "stripe": with_faults(
            "stripe",
            f"select * from ({stripe_query(seed)}) where fault_kind is distinct from 'reexport'",
        ),
        "salesforce": with_faults("salesforce", salesforce_query(seed)),
        "watermarks": None,
    }
    renders = {
        "telemetry": partial(render_telemetry, seed, lookups),
        "stripe": partial(render_stripe, seed, lookups),
        "salesforce": partial(render_salesforce, seed, lookups),
        "watermarks": None,
    }
    con.execute(f"update metering_bulk set file_name = '{names['metering']}'")
    con.execute(
        "update handwritten_lines set file_name = case source_system "
        + " ".join(f"when '{source}' then '{names[source]}'" for source in TEXT_SOURCES)
        + " end"
    )
    written: list[WrittenFile] = []
    for source in TEXT_SOURCES:
        query = bulk[source]
        if query is not None:
            query = f"select * replace ('{names[source]}' as file_name) from ({query})"
        sort_text_source(con, source, query)
        written += write_text_source(con, settings.out_dir, source, renders[source])
        con.execute(
            f"create table {source}_kinds as "
            f"select '{source}' as source_system, origin, fault_kind from {source}_sorted"
        )
        con.execute(f"drop table {source}_sorted")
    written += write_metering(con, settings.out_dir)
    return sorted(written, key=lambda item: item.relative_path)


def _kinds(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Records of the day by kind: ordinary usage is `usage`, watermark rows `watermark`
    (CSV headers are not records)."""
    parts = [f"select * from {source}_kinds" for source in TEXT_SOURCES]
    parts.append("select 'metering', origin, fault_kind from metering_bulk")
    rows = con.execute(
        f"""
        select
            case
                when source_system = 'watermarks' then 'watermark'
                else coalesce(fault_kind, 'usage')
            end,
            count(*)
        from ({" union all ".join(parts)})
        where origin >= 0
        group by all
        order by all
        """
    ).fetchall()
    return dict(rows)
