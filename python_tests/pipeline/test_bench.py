"""`make bench` (scripts/bench.py): its pure parts (the median, the event volumes, the profile's
settings, the targets and the page it writes), then one small real run of the floor
(scripts/bench_floor.sql) and a full build through the script's own functions, which proves the
floor computes what the build computes: the same usage per billing account × metric × day."""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import duckdb
import pytest

PROJECT = Path(__file__).resolve().parents[2]


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", PROJECT / "scripts" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


# --- the pure parts -------------------------------------------------------------------------


def test_median_is_the_middle_run_in_time_whatever_the_order() -> None:
    runs = [(171.0, "third"), (158.0, "second"), (162.0, "first")]
    assert bench.median_of(runs, lambda run: run[0]) == (162.0, "first")
    assert bench.median_of([4.0], lambda seconds: seconds) == 4.0


def test_event_volumes_come_from_bench_sizes_or_default_to_1m_10m_30m() -> None:
    assert bench.event_sizes({}) == [1_000_000, 10_000_000, 30_000_000]
    assert bench.event_sizes({"BENCH_SIZES": "100000"}) == [100_000]
    assert bench.event_sizes({"BENCH_SIZES": "1_000_000, 10000000"}) == [1_000_000, 10_000_000]
    with pytest.raises(SystemExit, match="at least 1000"):
        bench.event_sizes({"BENCH_SIZES": "500"})


def test_the_builds_and_the_floor_use_the_default_profile_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an override in the environment changes neither the floor's settings nor the build's
    monkeypatch.setenv("USAGE_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("USAGE_DUCKDB_THREADS", "8")
    settings = bench.profile_settings()
    assert settings["memory_limit"] == "3GB"
    assert settings["threads"] == "2"
    assert settings["preserve_insertion_order"] is False
    environ = bench.dbt_env(tmp_path, tmp_path / "raw", tmp_path / "seeds", tmp_path / "db")
    assert "USAGE_DUCKDB_MEMORY_LIMIT" not in environ
    assert "USAGE_DUCKDB_THREADS" not in environ
    copied = Path(environ["DBT_PROFILES_DIR"]) / "profiles.yml"
    assert copied.read_text(encoding="utf-8") == bench.PROFILE.read_text(encoding="utf-8")
    with duckdb.connect() as connection:
        bench.apply_settings(connection, settings)
        assert connection.sql("select current_setting('threads')").fetchall() == [(2,)]
        assert connection.sql("select current_setting('preserve_insertion_order')").fetchall() == [
            (False,)
        ]


def _pipeline(events: int, **figures: float) -> dict:
    """One event volume's results, as bench_pipeline returns them, with the given figures."""
    kinds = {"models": 1.0, "data tests": 1.0, "unit tests": 0.0, "nodes wall": 2.0}
    pipeline = {
        "events": events,
        "accounts": 2000,
        "raw_records": events + events // 100,
        "used_events": events,
        "usage_records": 10_000,
        "full_seconds": 100.0,
        "full_runs": [101.0, 100.0, 99.0],
        "full_peak_mib": 2000.0,
        "peak_mib": 2000.0,
        "floor_seconds": 30.0,
        "floor_peak_mib": 900.0,
        "incremental_seconds": 9.0,
        "incremental_runs": [9.0, 9.0, 9.0],
        "unchanged_seconds": 7.0,
        "unchanged_runs": [7.0, 7.0, 7.0],
        "slowest_nodes": [("int_usage_records_assigned", 40.0), ("stg_telemetry__events", 20.0)],
        "incremental_slowest_nodes": [("int_usage_records_assigned", 4.0)],
        "full_kinds": kinds,
        "incremental_kinds": kinds,
        "unchanged_kinds": kinds,
        "lines_checked": 2000,
        "lines_mismatched": 0,
        "raw_text_from": "staging's raw_record",
        "profiles": [
            {
                "model": "int_usage_records_assigned",
                "compute_seconds": 12.0,
                "operators": [("WINDOW", 8.0, 10_000_000)],
            },
            {"model": "stg_telemetry__events", "error": "Catalog Error: no such function"},
        ],
    }
    return {**pipeline, **figures}


LOADER = {
    "records": 10_000,
    "latency_ms": 50,
    "limit": 4,
    "created": 10_000,
    "push_seconds": 140.0,
    "requests_first": 10_000,
    "max_in_flight": 4,
    "throughput": 72.0,
    "ceiling": 80.0,
    "bare_client": 80.0,
    "second_push_seconds": 4.0,
    "requests_second": 10,
    "write_requests_second": 0,
    "verification_asked": 10_000,
    "verification_reads": 10,
    "verification_seconds": 1.0,
}


def _verdicts(pipelines: list[dict], loader: dict | None = LOADER) -> dict[str, object]:
    return {
        verdict["target"]: verdict["met"] for verdict in bench.evaluate_targets(pipelines, loader)
    }


def test_targets_hold_at_their_bounds_and_miss_just_past_them() -> None:
    at_bounds = [
        # 10M: full = 4× the floor, daily = 10% of full, nothing new 8 s, peak 3 GiB
        _pipeline(
            10_000_000,
            full_seconds=400.0,
            floor_seconds=100.0,
            incremental_seconds=40.0,
            unchanged_seconds=8.0,
            peak_mib=3 * 1024.0,
        ),
        # 30M: peak 4 GiB, full 3.3× the 10M full build
        _pipeline(30_000_000, full_seconds=1320.0, floor_seconds=400.0, peak_mib=4 * 1024.0),
    ]
    assert set(_verdicts(at_bounds).values()) == {True}
    past = [
        _pipeline(
            10_000_000,
            full_seconds=400.0,
            floor_seconds=99.9,
            incremental_seconds=40.1,
            unchanged_seconds=8.1,
            peak_mib=3 * 1024.0 + 1,
        ),
        _pipeline(30_000_000, full_seconds=1321.0, floor_seconds=400.0, peak_mib=4 * 1024.0 + 1),
    ]
    slow_loader = {**LOADER, "throughput": 71.9}  # 89.9% of the measured ceiling of 80
    assert set(_verdicts(past, slow_loader).values()) == {False}


def test_the_loader_is_judged_against_the_measured_ceiling_when_there_is_one() -> None:
    label = next(target.label for target in bench.TARGETS if target.at_least)
    # 70 records per second: 87.5% of the nominal 80, 93.3% of a measured 75
    measured = {**LOADER, "throughput": 70.0, "bare_client": 75.0}
    assert _verdicts([], measured)[label] is True
    assert _verdicts([], {**measured, "bare_client": None})[label] is False


def test_a_quick_run_judges_no_target_it_did_not_measure() -> None:
    verdicts = bench.evaluate_targets([_pipeline(100_000)], None)
    assert [verdict["met"] for verdict in verdicts] == [None] * len(bench.TARGETS)
    # 10M alone: everything but the 30M peak and the 30M ÷ 10M scaling
    judged = _verdicts([_pipeline(10_000_000)])
    assert [label for label, met in judged.items() if met is None] == [
        "peak memory at 30M events ≤ 4 GiB",
        "full build at 30M events ≤ 3.3× the full build at 10M",
    ]


def test_the_page_has_the_table_the_targets_and_each_size_s_profile() -> None:
    results = {
        "measured_at": "2026-12-06 01:00",
        "machine": "2 cores",
        "duckdb_settings": {"memory_limit": "3GB", "threads": "2"},
        "pipelines": [
            _pipeline(1_000_000),
            _pipeline(10_000_000, full_seconds=500.0, floor_seconds=100.0),
        ],
        "loader": LOADER,
    }
    page = bench.render_markdown(results)
    lines = page.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("| events |"))
    header, rows = lines[start], lines[start + 2 : lines.index("", start)]
    assert [row.split("|")[1].strip() for row in rows] == ["1,000,000", "10,000,000"]
    assert len(rows[1].split("|")) == len(header.split("|"))
    assert "| 500.0 s (101, 100, 99) |" in rows[1]
    assert "| 5.0× |" in rows[1]
    assert "- full scheduled build at 10M events ≤ 4× the floor: 5.00×, **MISSED**" in lines
    assert "- build with nothing new at 10M events ≤ 8 s: 7.0 s, **MET**" in lines
    assert "- peak memory at 30M events ≤ 4 GiB: not measured in this run" in lines
    assert "- loader ≥ 90% of the sandbox's concurrency ceiling: 90.0%, **MET**" in lines
    assert "memory_limit 3GB, threads 2" in page
    for size in ("1,000,000", "10,000,000"):
        assert f"### {size} events" in lines
    assert page.count("- EXPLAIN ANALYZE of int_usage_records_assigned: 12.0 s") == 2
    assert "- EXPLAIN ANALYZE of stg_telemetry__events: not run again (Catalog Error" in page
    # the hand-written notes are linked, never copied into the generated page
    assert "[benchmarks_notes.md](benchmarks_notes.md)" in page
    notes = (PROJECT / "docs" / "benchmarks_notes.md").read_text(encoding="utf-8")
    assert notes.splitlines()[0] not in lines


OUT_OF_MEMORY = (
    "failed (1): /x/.venv/bin/dbt build --exclude-resource-type unit_test --full-refresh\n"
    "03:10:57    Runtime Error in model stg_telemetry__events (models/staging/x.sql)\n"
    "  Out of Memory Error: could not allocate block of size 1.0 GiB (2.5 GiB/2.7 GiB used)\n"
    "03:10:57  Completed with 1 error, 0 partial successes, and 0 warnings:\n"
)


def test_a_volume_whose_build_failed_misses_its_targets_and_the_page_says_why() -> None:
    failed = {
        "events": 30_000_000,
        "accounts": 2000,
        "failed": OUT_OF_MEMORY,
        "failed_build": bench.failed_build(OUT_OF_MEMORY),
    }
    assert failed["failed_build"] == "full"
    assert bench.failed_build("failed (1): /x/.venv/bin/python -c runner floor.sql") == "floor"
    assert bench.failed_build(OUT_OF_MEMORY.replace(" --full-refresh", "")) == "daily"
    pipelines = [_pipeline(10_000_000), failed]
    verdicts = _verdicts(pipelines)
    assert verdicts["peak memory at 30M events ≤ 4 GiB"] is False
    assert verdicts["full build at 30M events ≤ 3.3× the full build at 10M"] is False
    # the targets at 10M are judged as ever
    assert verdicts["build with nothing new at 10M events ≤ 8 s"] is True
    page = bench.render_markdown(
        {"measured_at": "2026-12-06 03:00", "machine": "2 cores", "pipelines": pipelines}
    )
    summary = (
        "Runtime Error in model stg_telemetry__events (models/staging/x.sql); Out of Memory "
        "Error: could not allocate block of size 1.0 GiB (2.5 GiB/2.7 GiB used)"
    )
    assert bench.failure_summary(OUT_OF_MEMORY) == summary
    lines = page.splitlines()
    assert f"- the full build failed: {summary}" in lines
    assert (
        "- peak memory at 30M events ≤ 4 GiB: the build failed at 30,000,000 events, **MISSED**"
        in lines
    )
    row = next(line for line in lines if line.startswith("| 30,000,000 |"))
    header = next(line for line in lines if line.startswith("| events |"))
    assert len(row.split("|")) == len(header.split("|"))


def test_the_loader_section_is_replaced_and_the_rest_of_the_page_kept(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    results = {
        "measured_at": "2026-12-06 01:00",
        "machine": "2 cores",
        "pipelines": [_pipeline(1_000_000)],
        "loader": LOADER,
    }
    bench.write_markdown(results, page)
    before = page.read_text(encoding="utf-8")
    bench.write_loader_section({**LOADER, "push_seconds": 150.0}, page)
    after = page.read_text(encoding="utf-8")
    assert "| first (all created) | 150.0 |" in after
    assert after.replace("| 150.0 |", "| 140.0 |") == before


def test_the_loader_bench_mart_has_every_column_the_loader_requires() -> None:
    from loader.core.marts import REQUIRED_COLUMNS

    mart = bench.TINY_MART.format(records=3)
    for column in REQUIRED_COLUMNS:
        assert re.search(rf" as {column},?\n", mart), column


# --- one real run: the floor and a full build of the same raw files --------------------------

EVENTS = 20_000
ACCOUNTS = 50
# Records the build quarantines that DuckDB's typed readers read as usage (the floor reads them
# as a user's query would; SPEC 2.1 says they are bad), each a hand-written record of the sample
# data, by billing account × metric × day: (extra events, extra quantity) in the floor.
TYPED_READERS_ACCEPT = {
    # acme-prod (telemetry): "quantity":"12", a string, which read_json casts to 12 (the build:
    # malformed_record); "quantity":null, which reads as absent, so 1 (the build:
    # invalid_quantity)
    ("BA-001", "api_calls", date(2026, 2, 11)): (2, Decimal("13")),
    # acme-prod (telemetry): "occurred_at":"2026-03-05T10:00:00", no offset, which TIMESTAMPTZ
    # reads as UTC (the build: invalid_timestamp), quantity 5
    ("BA-001", "api_calls", date(2026, 3, 5)): (1, Decimal("5")),
    # initech (telemetry): "properties":"initech-u001", a string where an object belongs; the
    # floor does not read properties (the build: malformed_record), quantity 5
    ("BA-004", "active_users", date(2026, 2, 11)): (1, Decimal("5")),
}

# The build's usage per account × metric × day, as the floor computes it: every current version
# of an event that was mapped (used, or quarantined only because no line holds its day or its late
# usage had nowhere to go: the floor knows no lines), from the public lineage mart.
BUILD_DAILY_USAGE = """
    select
        billing_account_id,
        metric,
        usage_local_date as local_day,
        count(*) as events,
        sum(billing_quantity) as quantity
    from build.main.fct_usage_event_lineage
    where event_outcome = 'used' or quarantine_reason in ('no_active_line', 'late_after_line_end')
    group by all
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample data of 20,000 events for 50 accounts, one full build and one floor query, each
    once, through the script's functions."""
    workdir = tmp_path_factory.mktemp("bench") / f"events-{EVENTS}"
    raw, seeds = workdir / "raw", workdir / "seeds"
    workdir.mkdir()
    bench.sample_data(raw, seeds, EVENTS, ACCOUNTS)
    bench.dbt_build(workdir, raw, seeds, full=True)
    floor = bench.floor_query(workdir, raw, seeds)
    assert floor.seconds > 0
    (workdir / "floor.stdout").write_text(floor.stdout, encoding="utf-8")
    return workdir


def _daily_usage(workdir: Path) -> tuple[dict, dict, int]:
    """The floor's and the build's daily usage by key, and how many records the build quarantined
    as no_active_line (days no line holds, which the floor counts too)."""
    with duckdb.connect(str(workdir / "floor.duckdb"), read_only=True) as connection:
        connection.execute(f"attach '{workdir / 'usage_billing.duckdb'}' as build (read_only)")
        floor = {
            (account, metric, day): (events, quantity)
            for account, metric, day, events, quantity in connection.sql(
                "select billing_account_id, metric, local_day, events, quantity "
                "from floor_daily_usage"
            ).fetchall()
        }
        build = {
            (account, metric, day): (events, quantity)
            for account, metric, day, events, quantity in connection.sql(
                BUILD_DAILY_USAGE
            ).fetchall()
        }
        unheld = connection.sql(
            "select count(*) from build.main.fct_usage_quarantine "
            "where quarantine_reason = 'no_active_line'"
        ).fetchall()[0][0]
    return floor, build, unheld


def test_the_floor_sums_what_the_build_bills_per_account_metric_and_day(small_run: Path) -> None:
    floor, build, unheld = _daily_usage(small_run)
    # the comparison covers the data, days no line holds included
    assert len(build) > 1000
    assert unheld > 0
    assert floor.keys() == build.keys()
    differing = {
        key: (floor[key][0] - build[key][0], floor[key][1] - build[key][1])
        for key in floor
        if floor[key] != build[key]
    }
    assert differing == TYPED_READERS_ACCEPT
    # what the floor's run printed: its rows and events, nothing else
    events = sum(count for count, _ in floor.values())
    printed = (small_run / "floor.stdout").read_text(encoding="utf-8")
    assert printed == f"[({len(floor)}, {events})]\n"


def test_the_script_checks_the_audit_trail_and_profiles_the_slowest_models(
    small_run: Path,
) -> None:
    audit = bench.check_line_numbers(small_run / "usage_billing.duckdb", small_run / "raw", 200)
    # staging keeps the text of invalid records only: the check reads the others back
    assert audit == {"checked": 400, "mismatched": 0, "text_from": bench.RAW_TEXT_VIEW}
    slowest = bench.slowest_nodes(small_run / "target", count=bench.PROFILED_MODELS, kind="model")
    assert len(slowest) == bench.PROFILED_MODELS
    profiles = bench.profile_models(
        small_run / "usage_billing.duckdb", small_run / "target", [name for name, _ in slowest]
    )
    assert [profile["model"] for profile in profiles] == [name for name, _ in slowest]
    for profile in profiles:
        assert "error" not in profile, profile
        assert profile["operators"]
