"""`make bench`: the pipeline and the loader measured side by side on this machine.

For each event volume (1M, 10M and 30M by default; BENCH_SIZES=1000000,10000000 or --events
choose others) it generates sample data with a contract book of thousands of accounts, then
measures in one run: the full `dbt build` (wall time, peak resident memory), the floor (one
hand-written DuckDB query, scripts/bench_floor.sql: the same raw files read with DuckDB's typed
readers, deduplicated per source and summed to account × metric × local day), a daily build
after one more day of raw files, the same build again with nothing new, and NetSuite requests
per million events against per-event pushing. Builds run as the scheduled run builds (no unit
tests) with the default profile (profiles.example.yml), each three times; the median counts. The
floor runs three times too, with the profile's DuckDB settings. For the loader it pushes 10,000
records to the local sandbox (50 ms latency, concurrency limit 4), then pushes again with
nothing changed: that push only reads (it asks NetSuite with SuiteQL which of the records the
ledger trusts it holds), so it measures what the verification reads cost.
The targets (TARGETS) are judged from ratios measured in the same run. Results go to
docs/benchmarks.md; the explanations written by hand stay in docs/benchmarks_notes.md.

    .venv/bin/python scripts/bench.py [--events 1000000 10000000] [--accounts 2000] [--keep DIR]
    .venv/bin/python scripts/bench.py --render-only   # the markdown again from the last results
    .venv/bin/python scripts/bench.py --loader-only   # the loader alone; its section rewritten
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import yaml

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AS_OF = "2026-04-20"
APPEND_DAY = "2026-04-19"
# The event volumes measured unless BENCH_SIZES (comma-separated) or --events says otherwise.
DEFAULT_SIZES = (1_000_000, 10_000_000, 30_000_000)
# The builds use the profile a deployment starts from, with its defaults: nothing in the
# environment may override them (USAGE_DUCKDB_MEMORY_LIMIT, USAGE_DUCKDB_THREADS).
PROFILE = PROJECT / "profiles.example.yml"
PROFILE_OVERRIDES = ("USAGE_DUCKDB_MEMORY_LIMIT", "USAGE_DUCKDB_THREADS")
# the last run's measurements, to write the markdown again without measuring again
RESULTS = PROJECT / "target" / "bench" / "results.json"
NOTES = PROJECT / "docs" / "benchmarks_notes.md"
# Every build is measured as the scheduled run (README, "Scheduling") runs it: unit tests read
# fixtures, not the warehouse's rows, and run in `make test` whenever the SQL changes.
SCHEDULED_BUILD = ["--exclude-resource-type", "unit_test"]
# Each build and the floor are measured this many times and the median is reported: on a shared
# two-core machine one run of the same build varies by up to a fifth.
REPEATS = 3
# The models whose query plans are profiled (EXPLAIN ANALYZE) per size: the slowest of the full
# build, whatever they are named.
PROFILED_MODELS = 3
GIB = 1024  # MiB

T = TypeVar("T")


class BuildFailed(Exception):
    """A measured command failed: its command and the end of its output."""


@dataclass
class Measured:
    seconds: float
    peak_rss_mib: float
    stdout: str


def measure(command: list[str | Path], env: dict[str, str] | None = None) -> Measured:
    """Run a command as the only child of a fresh interpreter; return wall time and the peak
    resident memory of that child alone (the interpreter's RUSAGE_CHILDREN after it waited)."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "out, err, command = sys.argv[1], sys.argv[2], sys.argv[3:]\n"
        "start = time.perf_counter()\n"
        "with open(out, 'w') as stdout, open(err, 'w') as stderr:\n"
        "    code = subprocess.run(command, stdout=stdout, stderr=stderr).returncode\n"
        "elapsed = time.perf_counter() - start\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(elapsed, peak, code)\n"
    )
    with tempfile.TemporaryDirectory() as scratch:
        out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
        completed = subprocess.run(
            [sys.executable, "-c", wrapper, out, err, *map(str, command)],
            capture_output=True,
            text=True,
            env=env,
            cwd=PROJECT,
            check=True,
        )
        elapsed, peak, code = completed.stdout.split()
        stdout = out.read_text(encoding="utf-8")
        if int(code) != 0:
            raise BuildFailed(
                f"failed ({code}): {' '.join(map(str, command))}\n{stdout[-4000:]}\n"
                f"{err.read_text(encoding='utf-8')[-4000:]}"
            )
    return Measured(float(elapsed), int(peak) / 1024, stdout)


def event_sizes(environ: Mapping[str, str] | None = None) -> list[int]:
    """The event volumes to measure: BENCH_SIZES (comma-separated, `_` allowed) or DEFAULT_SIZES."""
    text = (os.environ if environ is None else environ).get("BENCH_SIZES", "").strip()
    if not text:
        return list(DEFAULT_SIZES)
    sizes = [int(size.strip().replace("_", "")) for size in text.split(",") if size.strip()]
    if not sizes or min(sizes) < 1000:
        raise SystemExit(f"BENCH_SIZES={text!r}: give event counts of at least 1000, e.g. 1000000")
    return sizes


ENV_DEFAULT = re.compile(r"""\{\{\s*env_var\(\s*'[^']*'\s*,\s*'([^']*)'\s*\)\s*\}\}""")


def profile_settings(profile: Path = PROFILE) -> dict[str, object]:
    """The DuckDB settings of the profile's default output, each at its default (an
    `env_var('NAME', 'default')` read as its default): the settings the build runs with."""
    profiles = yaml.safe_load(profile.read_text(encoding="utf-8"))["usage_billing"]
    output = profiles["outputs"][profiles["target"]]
    settings: dict[str, object] = {}
    for name, value in output.get("settings", {}).items():
        if isinstance(value, str):
            value = ENV_DEFAULT.sub(lambda found: found.group(1), value)
        settings[name] = value
    return settings


def apply_settings(connection: duckdb.DuckDBPyConnection, settings: dict[str, object]) -> None:
    """SET each of the profile's settings on a DuckDB connection, as dbt-duckdb does."""
    for name, value in settings.items():
        literal = str(value).lower() if isinstance(value, bool) else f"'{value}'"
        connection.execute(f"set {name} = {literal}")


def with_plugin_functions(connection: duckdb.DuckDBPyConnection) -> None:
    """Register the raw-file functions the profile's plugin gives every dbt connection, so that
    a compiled model (or a view) that calls them runs on this connection too."""
    from loader.dbt_plugins.raw_files import Plugin

    Plugin("raw_files", {}).configure_connection(connection)


def dbt_env(workdir: Path, raw: Path, seeds: Path, db: Path) -> dict[str, str]:
    """dbt's environment: the raw files, the book and the DuckDB file of this size, and the
    default profile (a copy of profiles.example.yml in the work folder) with nothing overriding
    its settings."""
    profiles = workdir / "profile"
    profiles.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROFILE, profiles / "profiles.yml")
    environ = {k: v for k, v in os.environ.items() if k not in PROFILE_OVERRIDES}
    return {
        **environ,
        "USAGE_RAW_DIR": str(raw),
        # relative to the project: dbt writes compiled seed SQL under target/run/<seed path>,
        # which for an absolute seed path would be the seed file itself
        "USAGE_SEEDS_DIR": os.path.relpath(seeds, PROJECT),
        "USAGE_DUCKDB_PATH": str(db),
        "DBT_PROFILES_DIR": str(profiles),
    }


def dbt_build(workdir: Path, raw: Path, seeds: Path, *, full: bool) -> Measured:
    """`dbt build` as the scheduled run does it (SCHEDULED_BUILD), with --full-refresh or not."""
    return measure(
        [
            BIN / "dbt",
            "build",
            *SCHEDULED_BUILD,
            *(["--full-refresh"] if full else []),
            "--vars",
            f'{{as_of_date: "{AS_OF}"}}',
            "--target-path",
            workdir / "target",
            "--log-path",
            workdir / "logs",
        ],
        dbt_env(workdir, raw, seeds, workdir / "usage_billing.duckdb"),
    )


def floor_query(workdir: Path, raw: Path, seeds: Path) -> Measured:
    """scripts/bench_floor.sql over `raw` and `seeds`, in a fresh process and DuckDB file
    (workdir/floor.duckdb, table floor_daily_usage) with the build's DuckDB settings."""
    sql = (PROJECT / "scripts" / "bench_floor.sql").read_text(encoding="utf-8")
    sql = sql.replace("{raw}", str(raw)).replace("{seeds}", str(seeds))
    script = workdir / "floor.sql"
    script.write_text(sql, encoding="utf-8")
    database = workdir / "floor.duckdb"
    replace_database(database)
    runner = (
        "import sys\n"
        "import duckdb\n"
        "sys.path.insert(0, sys.argv[3])\n"
        "from bench import apply_settings, profile_settings\n"
        "with duckdb.connect(sys.argv[1]) as connection:\n"
        "    apply_settings(connection, profile_settings())\n"
        "    connection.execute('set enable_progress_bar = false')\n"
        "    connection.execute(open(sys.argv[2], encoding='utf-8').read())\n"
        "    found = 'select count(*), sum(events) from floor_daily_usage'\n"
        "    print(connection.sql(found).fetchall())\n"
    )
    return measure([sys.executable, "-c", runner, database, script, PROJECT / "scripts"])


def slowest_nodes(target: Path, count: int = 6, kind: str = "") -> list[tuple[str, float]]:
    """The nodes (of one kind, e.g. "model", when given) that took longest, with their seconds."""
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    results = [r for r in results if r["unique_id"].startswith(f"{kind}.")] if kind else results
    ranked = sorted(results, key=lambda result: result["execution_time"], reverse=True)
    return [(r["unique_id"].split(".", 2)[-1], r["execution_time"]) for r in ranked[:count]]


KINDS = {"model": "models", "test": "data tests", "unit_test": "unit tests"}


def time_by_kind(target: Path) -> dict[str, float]:
    """Seconds per kind of node, summed over dbt's threads, and dbt's own wall time of them all."""
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    spent = dict.fromkeys(KINDS.values(), 0.0)
    for result in results["results"]:
        kind = KINDS.get(result["unique_id"].split(".")[0])
        if kind:
            spent[kind] += result["execution_time"]
    return {**spent, "nodes wall": results["elapsed_time"]}


def plan_operators(plan: dict) -> list[tuple[float, str, int]]:
    """Every operator of a DuckDB JSON profile: (seconds, name and table, rows it produced)."""
    found = []
    pending = list(plan.get("operator", []))
    while pending:
        node = pending.pop()
        extra = node.get("extra_info") or {}
        label = node.get("name", "?")
        relation = extra.get("Table") or extra.get("Function")
        if relation:
            label += f" {str(relation).split('.')[-1]}"
        found.append((node.get("timing", 0.0), label, node.get("intermediate_rows", 0)))
        pending.extend(node.get("children", []))
    return found


def profile_models(
    db: Path, target: Path, names: list[str], operators: int = 3
) -> list[dict[str, object]]:
    """DuckDB's EXPLAIN ANALYZE of models as the full build compiled them: each model's query is run
    again over the built tables into an in-memory temporary table, with DuckDB's profiler on and
    the profile's settings, on a connection that has the raw-file plugin's functions as dbt's
    has. Its wall time is the computing alone (dbt's time for the model adds writing the table to
    the DuckDB file); the operators are the slowest in the query plan, their time summed over
    DuckDB's threads. A query that cannot be run again this way is reported with its error."""
    # the model's own compiled query, as run_results.json records it (a unit test of the model is
    # compiled to a file of the same name under target/compiled)
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    compiled = {
        r["unique_id"].split(".", 2)[-1]: r["compiled_code"]
        for r in results
        if r["unique_id"].startswith("model.") and r.get("compiled_code")
    }
    profiles: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "profile.json"
        for name in names:
            with duckdb.connect(config={"temp_directory": scratch}) as connection:
                apply_settings(connection, profile_settings())
                with_plugin_functions(connection)
                # the compiled SQL names the tables by the DuckDB file's stem, as dbt attached it
                connection.execute(f"attach '{db}' as {db.stem} (read_only)")
                connection.execute(f"use {db.stem}")
                connection.execute("set enable_progress_bar = false")
                connection.execute("pragma enable_profiling = 'json'")
                connection.execute(f"pragma profiling_output = '{output}'")
                started = time.perf_counter()
                try:
                    connection.execute(f"create temporary table profiled as {compiled[name]}")
                except duckdb.Error as error:
                    profiles.append({"model": name, "error": str(error).splitlines()[0]})
                    continue
                seconds = time.perf_counter() - started
                connection.execute("pragma disable_profiling")
            found = plan_operators(json.loads(output.read_text(encoding="utf-8")))
            found.sort(reverse=True)
            profiles.append(
                {
                    "model": name,
                    "compute_seconds": seconds,
                    "operators": [
                        (label, timing, rows) for timing, label, rows in found[:operators]
                    ],
                }
            )
    return profiles


# The line-based sources whose records the audit-trail check samples, by raw folder.
LINE_SOURCES = {"telemetry": "stg_telemetry__events", "stripe": "stg_stripe__meter_events"}
# The view that reads a record's raw text back by (source_system, file_name, record_number),
# where staging keeps the raw text of invalid records only.
RAW_TEXT_VIEW = "fct_raw_record_text"


def sampled_raw_text_query(table: str, source_system: str, sample: int, *, view: bool) -> str:
    """A sample of `table`'s records with their raw text: from RAW_TEXT_VIEW when the build has
    it (`view`), else the staging table's own raw_record."""
    sampled = (
        "select * from (select file_name, record_number, raw_record from "
        f"{table} where record_number is not null) "
        f"using sample reservoir({sample} rows) repeatable (7)"
    )
    if not view:
        return sampled
    return (
        f"with sampled as ({sampled}) "
        "select sampled.file_name, sampled.record_number, texts.raw_record "
        f"from sampled left join {RAW_TEXT_VIEW} as texts "
        f"on texts.source_system = '{source_system}' and texts.file_name = sampled.file_name "
        "and texts.record_number = sampled.record_number"
    )


def check_line_numbers(db: Path, raw: Path, per_source: int = 1000) -> dict[str, object]:
    """The audit trail at scale: for a sample of staged records of the line-based sources, the
    line at (file, record_number) in the raw file is the record's raw text, as the build gives
    it back (RAW_TEXT_VIEW when it exists, else staging's raw_record). Returns how many were
    checked, how many did not match (a missing text or line included) and where the text came
    from."""
    wanted: dict[Path, dict[int, str | None]] = {}
    with duckdb.connect(str(db), read_only=True) as connection:
        apply_settings(connection, {"TimeZone": "UTC"})
        with_plugin_functions(connection)
        view = (
            connection.execute(
                "select count(*) from information_schema.tables where table_name = ?",
                [RAW_TEXT_VIEW],
            ).fetchall()[0][0]
            > 0
        )
        for folder, table in LINE_SOURCES.items():
            query = sampled_raw_text_query(table, folder, per_source, view=view)
            for file_name, number, text in connection.sql(query).fetchall():
                wanted.setdefault(raw / folder / file_name, {})[number] = text
    checked = sum(len(lines) for lines in wanted.values())
    matched = 0
    for path, lines in wanted.items():
        opener = gzip.open if path.suffix == ".gz" else open
        # bytes that are not UTF-8 read as U+FFFD, as the staging models show them
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                if number in lines:
                    matched += line.rstrip("\r\n") == lines[number]
    return {
        "checked": checked,
        "mismatched": checked - matched,
        "text_from": RAW_TEXT_VIEW if view else "staging's raw_record",
    }


def repeated(run: Callable[[], T], before: Callable[[], None] | None = None) -> list[T]:
    """REPEATS runs of one measurement, `before` called ahead of each (outside the timing)."""
    runs = []
    for _ in range(REPEATS):
        if before is not None:
            before()
        runs.append(run())
    return runs


def median_of(runs: list[T], seconds: Callable[[T], float]) -> T:
    return sorted(runs, key=seconds)[len(runs) // 2]


def measured_builds(
    workdir: Path, raw: Path, seeds: Path, *, full: bool, before: Callable[[], None] | None = None
) -> dict:
    """REPEATS builds: the median run's seconds, slowest nodes and time by kind; every run's
    seconds; the largest peak memory of them all."""

    def build() -> tuple[Measured, list[tuple[str, float]], dict[str, float]]:
        measured = dbt_build(workdir, raw, seeds, full=full)
        return measured, slowest_nodes(workdir / "target"), time_by_kind(workdir / "target")

    runs = repeated(build, before)
    median, nodes, kinds = median_of(runs, lambda run: run[0].seconds)
    return {
        "seconds": median.seconds,
        "runs": [run.seconds for run, _, _ in runs],
        "peak_mib": max(run.peak_rss_mib for run, _, _ in runs),
        "slowest_nodes": nodes,
        "kinds": kinds,
    }


def database_files(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + ".wal")]


def replace_database(db: Path, source: Path | None = None) -> None:
    """Remove the DuckDB file `db` (and its WAL), then copy `source`'s in its place if given."""
    for path, copied in zip(database_files(db), database_files(source or db), strict=True):
        path.unlink(missing_ok=True)
        if source is not None and copied.exists():
            shutil.copy2(copied, path)


def sample_data(
    raw: Path, seeds: Path, events: int, accounts: int, append_day: str | None = None
) -> Measured:
    """`usage-loader sample-data`: `events` ordinary records for a generated book of `accounts`
    into `raw` and `seeds`, or with `append_day` one more day of records in new files."""
    return measure(
        [
            BIN / "usage-loader",
            "sample-data",
            "--out",
            raw,
            "--events",
            str(events),
            "--accounts",
            str(accounts),
            "--seeds-out",
            seeds,
            *(["--append-day", append_day] if append_day else []),
        ]
    )


# Disk one event takes in the work folder at most: its raw text (about 160 bytes), its rows in the
# DuckDB file and in the copy kept before the daily build (about 180 bytes each), DuckDB's spill.
DISK_BYTES_PER_EVENT = 700


def check_free_space(root: Path, events: int) -> None:
    """Stop before generating when the work folder's disk cannot hold this volume (30M events
    take about 5 GB of raw files and twice as much again in DuckDB files)."""
    needed = events * DISK_BYTES_PER_EVENT
    free = shutil.disk_usage(root).free
    if free < needed:
        raise SystemExit(
            f"{events:,} events need about {needed / 2**30:.0f} GiB free under {root}; "
            f"{free / 2**30:.0f} GiB are. Free some, or choose another --keep folder or "
            "BENCH_SIZES."
        )


def bench_pipeline(events: int, accounts: int, root: Path) -> dict:
    check_free_space(root, events)
    workdir = root / f"events-{events}"
    raw, seeds = workdir / "raw", workdir / "seeds"
    db = workdir / "usage_billing.duckdb"
    workdir.mkdir(parents=True, exist_ok=True)
    generated = sample_data(raw, seeds, events, accounts)
    # each full build starts from an empty DuckDB file, as a first build does
    full = measured_builds(workdir, raw, seeds, full=True, before=lambda: replace_database(db))
    slowest_models = slowest_nodes(workdir / "target", count=PROFILED_MODELS, kind="model")
    profiles = profile_models(db, workdir / "target", [name for name, _ in slowest_models])
    audit = check_line_numbers(db, raw)
    floor = median_of(repeated(lambda: floor_query(workdir, raw, seeds)), lambda run: run.seconds)
    with duckdb.connect(str(db), read_only=True) as connection:
        raw_records, used_events = connection.sql(
            "select sum(records_read), sum(records_used) from rpt_source_reconciliation "
            "where source_system <> 'watermarks'"
        ).fetchall()[0]
        usage_records = connection.sql("select count(*) from fct_usage_records").fetchall()[0][0]
    # one more day of raw files: that day's share of the volume (the data spans ~110 days)
    appended = sample_data(raw, seeds, max(1000, events // 110), accounts, APPEND_DAY)
    # the incremental day, each time from the warehouse as the full build left it
    kept = workdir / "before-the-day.duckdb"
    replace_database(kept, db)
    incremental = measured_builds(
        workdir, raw, seeds, full=False, before=lambda: replace_database(db, kept)
    )
    replace_database(kept)
    # the same build again with nothing new: what any daily run costs before its day's data
    unchanged = measured_builds(workdir, raw, seeds, full=False)
    return {
        "events": events,
        "accounts": accounts,
        "raw_records": int(raw_records),
        "used_events": int(used_events),
        "usage_records": int(usage_records),
        "generate_seconds": generated.seconds,
        "generate_peak_mib": generated.peak_rss_mib,
        "full_seconds": full["seconds"],
        "full_runs": full["runs"],
        "full_peak_mib": full["peak_mib"],
        "floor_seconds": floor.seconds,
        "floor_peak_mib": floor.peak_rss_mib,
        "append_seconds": appended.seconds,
        "incremental_seconds": incremental["seconds"],
        "incremental_runs": incremental["runs"],
        "incremental_peak_mib": incremental["peak_mib"],
        "unchanged_peak_mib": unchanged["peak_mib"],
        "peak_mib": max(full["peak_mib"], incremental["peak_mib"], unchanged["peak_mib"]),
        "slowest_nodes": full["slowest_nodes"],
        "slowest_models": slowest_models,
        "lines_checked": audit["checked"],
        "lines_mismatched": audit["mismatched"],
        "raw_text_from": audit["text_from"],
        "incremental_slowest_nodes": incremental["slowest_nodes"],
        "full_kinds": full["kinds"],
        "incremental_kinds": incremental["kinds"],
        "unchanged_seconds": unchanged["seconds"],
        "unchanged_runs": unchanged["runs"],
        "unchanged_kinds": unchanged["kinds"],
        "profiles": profiles,
    }


TINY_MART = """
{{{{ config(materialized='table') }}}}
select
    'UR-SL-' || lpad(cast(i as varchar), 5, '0') || '-20260301' as external_id,
    cast(4100 + i % 50 as varchar) as netsuite_customer_id,
    'BA-' || cast(i % 50 as varchar) as billing_account_id,
    'SUB-' || cast(i % 50 as varchar) as subscription_id,
    'SL-' || lpad(cast(i as varchar), 5, '0') as subscription_line_id,
    cast(1 as integer) as subscription_line_number,
    'PLAN-1' as subscription_plan_id,
    'ITEM-' || cast(i % 7 as varchar) as item_id,
    'usage' as charge_type,
    'api_calls' as metric,
    date '2026-03-01' as billing_period_start,
    date '2026-03-31' as billing_period_end,
    date '2026-03-01' as segment_start,
    date '2026-03-31' as segment_end,
    date '2026-03-31' as usage_date,
    cast(1000 + i as decimal(38, 9)) as quantity,
    'PP-1' as price_plan_id,
    -- no segment started by an amendment: the amendment gate reads NetSuite for none of them
    cast(null as varchar) as segment_amendment_id,
    cast(null as date) as segment_amendment_date,
    cast(1 as decimal(38, 18)) as proration_factor,
    cast((1000 + i) * 0.02 as decimal(38, 9)) as rated_amount,
    'USD' as currency,
    cast(10 as bigint) as event_count,
    true as is_period_closed,
    false as is_billed,
    false as is_adjustment,
    cast(null as date) as adjusts_period_start,
    false as requires_approval,
    false as is_approved,
    'api_calls 2026-03' as memo,
    '{{{{ invocation_id }}}}' as dbt_invocation_id
from range({records}) as t (i)
"""


def bench_loader(root: Path, records: int = 10_000, latency_ms: int = 50, limit: int = 4) -> dict:
    """Push `records` to the sandbox (latency, concurrency limit), then push again."""
    sys.path.insert(0, str(PROJECT))  # the sandbox's process harness lives with the tests
    from python_tests.support.sandbox_server import SandboxServer

    project = root / "loader-project"
    (project / "models").mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").write_text(
        "name: usage_billing\nversion: '0.1.0'\nconfig-version: 2\nprofile: usage_billing\n",
        encoding="utf-8",
    )
    (project / "profiles.yml").write_text(
        "usage_billing:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: target/usage_billing.duckdb\n      schema: main\n      threads: 2\n",
        encoding="utf-8",
    )
    (project / "models" / "fct_usage_records.sql").write_text(
        TINY_MART.format(records=records), encoding="utf-8"
    )
    (project / "models" / "schema.yml").write_text(
        "version: 2\nmodels:\n  - name: fct_usage_records\n    columns:\n"
        "      - name: external_id\n        data_tests: [unique, not_null]\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "USAGE_"))}
    subprocess.run(
        [BIN / "dbt", "build", "--project-dir", project, "--profiles-dir", project],
        check=True,
        capture_output=True,
        cwd=project,
        env=env,
    )
    with SandboxServer(
        state_file=root / "sandbox.sqlite", latency_ms=latency_ms, concurrency_limit=limit
    ) as sandbox:
        push_env = {**env, **sandbox.loader_env}
        command = [BIN / "usage-loader", "push", "--project-dir", project, "--json"]
        command += ["--concurrency", str(limit)]
        first = measure(command, push_env)
        after_first = sandbox.stats()
        second = measure(command, push_env)
        after_second = sandbox.stats()
    bare = bare_client_throughput(root, project, env, latency_ms=latency_ms, limit=limit)
    report = json.loads(first.stdout)
    created = report["counts"].get("created", 0)
    second_report = json.loads(second.stdout)
    verification = second_report.get("details", {}).get("verification", {})
    return {
        "records": records,
        "latency_ms": latency_ms,
        "limit": limit,
        "created": created,
        "push_seconds": first.seconds,
        "requests_first": after_first["requests"],
        "max_in_flight": after_first["max_in_flight"],
        "throughput": created / first.seconds,
        "ceiling": limit / (latency_ms / 1000),
        "bare_client": bare,
        "second_push_seconds": second.seconds,
        "requests_second": after_second["requests"] - after_first["requests"],
        "write_requests_second": after_second["write_requests"] - after_first["write_requests"],
        "verification_asked": verification.get("asked", 0),
        "verification_reads": verification.get("reads", 0),
        "verification_seconds": second_report.get("timings", {}).get("verify_seconds", 0.0),
    }


def bare_client_throughput(
    root: Path, project: Path, env: dict[str, str], *, latency_ms: int, limit: int
) -> float:
    """Records per second of the least a client can do: the same upserts, signed, `limit` threads.

    No ledger, plan, retries or report: what is left is the sandbox's own time per request
    (authentication, the latency, the write) inside its concurrency slots, so this is the
    ceiling the sandbox really allows, beside its nominal `limit / latency`."""
    from loader.core.config import locate_mart
    from loader.core.marts import read_mart
    from loader.core.payload import build_payload
    from python_tests.support.sandbox_server import SandboxServer

    mart = read_mart(locate_mart(project, profiles_dir=project, env=env))
    queue = [(record.external_id, build_payload(record).to_json()) for record in mart.records]
    headers = {"Content-Type": "application/json", "X-NetSuite-PropertyNameValidation": "Error"}
    lock, failures = threading.Lock(), []
    with SandboxServer(
        state_file=root / "sandbox-bare.sqlite", latency_ms=latency_ms, concurrency_limit=limit
    ) as sandbox:

        def work() -> None:
            with sandbox.client() as client:
                while True:
                    with lock:
                        if not queue:
                            return
                        external_id, body = queue.pop()
                    path = f"/services/rest/record/v1/usage/eid:{external_id}"
                    answer = client.request("PUT", path, content=body, headers=headers)
                    if answer.status_code != 204:
                        failures.append(answer.status_code)

        count = len(queue)
        started = time.perf_counter()
        workers = [threading.Thread(target=work) for _ in range(limit)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"the bare client got {len(failures)} answers other than 204")
    return count / seconds


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "?"
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory} RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}, load average before the run "
        f"{os.getloadavg()[0]:.2f}"
    )


def runs(pipeline: dict, build: str) -> str:
    """Every run's seconds of one build, in the order they ran: `(162, 158, 171)`."""
    return "(" + ", ".join(f"{seconds:.0f}" for seconds in pipeline[f"{build}_runs"]) + ")"


def loader_section(loader: dict) -> list[str]:
    """The markdown of the loader's figures, from "## Loader" to the line before the next title."""
    nominal, bare = loader["ceiling"], loader.get("bare_client")
    reads = loader.get("verification_reads", 0)
    share_of = (
        f"{loader['throughput'] / bare:.1%} of the measured ceiling, " if bare is not None else ""
    )
    lines = [
        "",
        "## Loader",
        "",
        f"{loader['records']:,} records pushed to the local sandbox with {loader['latency_ms']} ms "
        f"latency per request and a concurrency limit of {loader['limit']}: a nominal ceiling of "
        f"{nominal:.0f} requests per second (limit ÷ latency)"
        + (
            f", and a measured one of {bare:.1f}: the same upserts sent by a bare signed client "
            f"with {loader['limit']} threads (no ledger, plan or report), so what is left is the "
            "sandbox's own time per request inside its concurrency slots."
            if bare is not None
            else "."
        ),
        "",
        "| push | seconds | requests | write requests | records per second "
        "| share of the ceiling (measured, nominal) | most requests in flight |",
        "|---|---|---|---|---|---|---|",
        f"| first (all created) | {loader['push_seconds']:.1f} | {loader['requests_first']:,} "
        f"| {loader['requests_first']:,} | {loader['throughput']:.1f} "
        f"| {share_of}{loader['throughput'] / nominal:.1%} of the nominal "
        f"| {loader['max_in_flight']} |",
        f"| second (nothing changed) | {loader['second_push_seconds']:.1f} "
        f"| {loader['requests_second']} | {loader.get('write_requests_second', 0)} "
        "| – | – | – |",
        "",
    ]
    target = bare if bare is not None else nominal
    lines += [
        f"Target: at least 90% of the sandbox's ceiling"
        f"{' (measured)' if bare is not None else ''}: "
        f"{verdict_word(loader['throughput'] >= LOADER_SHARE * target)}; "
        f"no write request on an unchanged push: "
        f"{verdict_word(loader.get('write_requests_second', 0) == 0)}. The push time "
        "includes the loader's start-up, reading the mart and the gates.",
        "",
        'The verification reads: before trusting the ledger\'s "unchanged", the second push '
        f"asked NetSuite about {loader.get('verification_asked', 0):,} records in {reads} SuiteQL "
        f"requests (a page per thousand), which took "
        f"{loader.get('verification_seconds', 0):.2f} s "
        f"of its {loader['second_push_seconds']:.1f} s; the same {loader['records']:,} records "
        f"sent one request each take at least {loader['records'] / nominal:.0f} s at the ceiling.",
        "",
    ]
    return lines


def write_loader_section(loader: dict, out: Path) -> None:
    """Replace the loader's section of `out` (or append it), leaving the rest as it is."""
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    section = "\n".join(loader_section(loader)).strip("\n") + "\n"
    start = text.find("## Loader\n")
    if start < 0:
        out.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    following = text.find("\n## ", start + 1)
    rest = "" if following < 0 else "\n" + text[following + 1 :]
    out.write_text(text[:start] + section + rest, encoding="utf-8")


TARGET_EVENTS = 10_000_000
LARGEST_EVENTS = 30_000_000
# The loader keeps at least this share of the sandbox's ceiling (the measured one when known).
LOADER_SHARE = 0.9


def loader_share(loader: dict) -> float:
    """The loader's records per second as a share of the ceiling: the one a bare client measured
    against the same sandbox when known, else the nominal limit ÷ latency."""
    ceiling = loader.get("bare_client") or loader["ceiling"]
    return loader["throughput"] / ceiling


@dataclass(frozen=True)
class Target:
    """One performance target: what it bounds, at which event volume, and how it is measured
    from one run's results (None when that run did not measure it)."""

    label: str
    limit: float
    unit: str  # how a value prints: "×", "%", "s", "GiB"
    measured: Callable[[dict[int, dict], dict | None], float | None]
    at_least: bool = False
    # the event volumes it is measured at: a build that failed at one of them misses it
    sizes: tuple[int, ...] = ()

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


def at_size(
    events: int, value: Callable[[dict], float]
) -> Callable[[dict[int, dict], dict | None], float | None]:
    """A measure of the pipeline at `events` events, None when the run did not include it."""
    return lambda by_size, _loader: value(by_size[events]) if events in by_size else None


def peak_gib(pipeline: dict) -> float:
    """The largest resident memory of any build of one size (full, daily, nothing new), in GiB."""
    return pipeline.get("peak_mib", pipeline["full_peak_mib"]) / GIB


def scaling(by_size: dict[int, dict], _loader: dict | None) -> float | None:
    if TARGET_EVENTS not in by_size or LARGEST_EVENTS not in by_size:
        return None
    return by_size[LARGEST_EVENTS]["full_seconds"] / by_size[TARGET_EVENTS]["full_seconds"]


TARGETS = (
    Target(
        "full scheduled build at 10M events ≤ 4× the floor",
        4.0,
        "×",
        at_size(TARGET_EVENTS, lambda p: p["full_seconds"] / p["floor_seconds"]),
        sizes=(TARGET_EVENTS,),
    ),
    Target(
        "daily build with one day of new files at 10M events ≤ 10% of the full build",
        0.10,
        "%",
        at_size(TARGET_EVENTS, lambda p: p["incremental_seconds"] / p["full_seconds"]),
        sizes=(TARGET_EVENTS,),
    ),
    Target(
        "build with nothing new at 10M events ≤ 8 s",
        8.0,
        "s",
        at_size(TARGET_EVENTS, lambda p: p["unchanged_seconds"]),
        sizes=(TARGET_EVENTS,),
    ),
    Target(
        "peak memory at 10M events ≤ 3 GiB",
        3.0,
        "GiB",
        at_size(TARGET_EVENTS, peak_gib),
        sizes=(TARGET_EVENTS,),
    ),
    Target(
        "peak memory at 30M events ≤ 4 GiB",
        4.0,
        "GiB",
        at_size(LARGEST_EVENTS, peak_gib),
        sizes=(LARGEST_EVENTS,),
    ),
    Target(
        "full build at 30M events ≤ 3.3× the full build at 10M",
        3.3,
        "×",
        scaling,
        sizes=(TARGET_EVENTS, LARGEST_EVENTS),
    ),
    Target(
        "loader ≥ 90% of the sandbox's concurrency ceiling",
        LOADER_SHARE,
        "%",
        lambda _by_size, loader: loader_share(loader) if loader else None,
        at_least=True,
    ),
)


def formatted(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1%}"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:.2f} {unit}" if unit == "GiB" else f"{value:.1f} {unit}"


def verdict_word(met: bool) -> str:
    return "MET" if met else "MISSED"


def evaluate_targets(pipelines: list[dict], loader: dict | None) -> list[dict[str, object]]:
    """Each target judged from one run's results: its label, the value measured (as printed)
    and whether it is met (None: not measured in this run, e.g. a run without 10M events). A
    target at a volume whose build failed is missed."""
    by_size = {pipeline["events"]: pipeline for pipeline in pipelines if "failed" not in pipeline}
    failed = {pipeline["events"] for pipeline in pipelines if "failed" in pipeline}
    verdicts = []
    for target in TARGETS:
        failed_at = sorted(failed.intersection(target.sizes))
        if failed_at:
            verdicts.append(
                {
                    "target": target.label,
                    "value": f"the build failed at {failed_at[0]:,} events",
                    "met": False,
                }
            )
            continue
        value = target.measured(by_size, loader)
        verdicts.append(
            {
                "target": target.label,
                "value": None if value is None else formatted(value, target.unit),
                "met": None if value is None else target.met(value),
            }
        )
    return verdicts


def target_lines(verdicts: list[dict[str, object]]) -> list[str]:
    lines = []
    for verdict in verdicts:
        if verdict["met"] is None:
            lines.append(f"- {verdict['target']}: not measured in this run")
        else:
            word = verdict_word(bool(verdict["met"]))
            lines.append(f"- {verdict['target']}: {verdict['value']}, **{word}**")
    return lines


def settings_text(settings: dict[str, object]) -> str:
    return ", ".join(
        f"{name} {str(value).lower() if isinstance(value, bool) else value}"
        for name, value in settings.items()
    )


def pipeline_table(pipelines: list[dict]) -> list[str]:
    """One row per event volume: the builds' and the floor's medians and their ratios."""
    lines = [
        "| events | accounts | raw records | usage records | full `dbt build` "
        "| peak memory (full; any build) | floor query | full ÷ floor | daily build "
        "| daily ÷ full | nothing new (÷ full) | NetSuite requests per 1M events (vs per-event) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in pipelines:
        if "failed" in p:
            lines.append(
                f"| {p['events']:,} | {p['accounts']:,} | the {p['failed_build']} build failed "
                f"({failure_summary(p['failed'])}) |  |  |  |  |  |  |  |  |  |"
            )
            continue
        per_million = p["usage_records"] / p["used_events"] * 1_000_000
        lines.append(
            f"| {p['events']:,} | {p['accounts']:,} | {p['raw_records']:,} "
            f"| {p['usage_records']:,} | {p['full_seconds']:.1f} s {runs(p, 'full')} "
            f"| {p['full_peak_mib']:,.0f} MiB; {peak_gib(p) * GIB:,.0f} MiB "
            f"| {p['floor_seconds']:.1f} s ({p['floor_peak_mib']:,.0f} MiB) "
            f"| {p['full_seconds'] / p['floor_seconds']:.1f}× "
            f"| {p['incremental_seconds']:.1f} s {runs(p, 'incremental')} "
            f"| {p['incremental_seconds'] / p['full_seconds']:.0%} "
            f"| {p['unchanged_seconds']:.1f} s {runs(p, 'unchanged')} "
            f"({p['unchanged_seconds'] / p['full_seconds']:.0%}) "
            f"| {per_million:,.0f} (vs 1,000,000) |"
        )
    return lines


def profile_lines(p: dict) -> list[str]:
    """Where the time of one event volume goes: the audit-trail check, the slowest nodes, dbt's
    start-up against its nodes per build, and the query plans of the slowest models."""
    if "failed" in p:
        return [
            f"### {p['events']:,} events",
            "",
            f"- the {p['failed_build']} build failed: {failure_summary(p['failed'])}",
            "",
        ]
    lines = [
        f"### {p['events']:,} events",
        "",
        f"- audit trail: {p['lines_checked']:,} sampled Stripe and telemetry records, "
        f"{p['lines_mismatched']:,} whose (file, line number) is not their raw text (text from "
        f"{p.get('raw_text_from', 'staging')})",
        "- slowest nodes of the full build: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in p["slowest_nodes"]),
        "- slowest nodes of the daily build: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in p["incremental_slowest_nodes"]),
    ]
    for build, label in (("full", "full"), ("incremental", "daily"), ("unchanged", "nothing-new")):
        kinds, seconds = p[f"{build}_kinds"], p[f"{build}_seconds"]
        lines.append(
            f"- the {label} build's {seconds:.1f} s: nodes {kinds['nodes wall']:.1f} s "
            f"from first to last (models {kinds['models']:.1f} s, data tests "
            f"{kinds['data tests']:.1f} s, unit tests {kinds['unit tests']:.1f} s, summed over "
            f"dbt's threads), dbt's start-up and parsing {seconds - kinds['nodes wall']:.1f} s"
        )
    for profile in p["profiles"]:
        if "error" in profile:
            lines.append(
                f"- EXPLAIN ANALYZE of {profile['model']}: not run again ({profile['error']})"
            )
            continue
        lines.append(
            f"- EXPLAIN ANALYZE of {profile['model']}: {profile['compute_seconds']:.1f} s "
            "computing into memory; slowest operators (summed over threads) "
            + ", ".join(
                f"{label} {timing:.1f} s ({rows:,} rows)"
                for label, timing, rows in profile["operators"]
            )
        )
    return [*lines, ""]


def failure_summary(output: str) -> str:
    """The lines of a failed build's output that say what failed (dbt's error and the database's
    message), on one line."""
    said = [
        line.split("  ", 1)[-1].strip()
        for line in output.splitlines()
        if "Error" in line and "Completed with" not in line
    ]
    return "; ".join(dict.fromkeys(said)) or output.strip().splitlines()[-1]


def render_markdown(results: dict) -> str:
    """docs/benchmarks.md, every line of it generated from one run's results."""
    pipelines, loader = results["pipelines"], results.get("loader")
    settings = results.get("duckdb_settings") or profile_settings()
    lines = [
        "# Benchmarks",
        "",
        "<!-- Written by scripts/bench.py (`make bench`) from its measurements: edit "
        "docs/benchmarks_notes.md instead, or the script. -->",
        "",
        f"Measured {results['measured_at']} UTC on {results['machine']}.",
        "The builds use the default profile (profiles.example.yml, nothing overridden); the "
        f"floor runs with the same DuckDB settings: {settings_text(settings)}. "
        "Reproduce with `make bench` (`.venv/bin/python scripts/bench.py`).",
        f"Every build is `dbt build {' '.join(SCHEDULED_BUILD)}`, as the scheduled run "
        '(README, "Scheduling"), with `--full-refresh` from an empty DuckDB file for the full '
        f"build. Builds and the floor are each run {REPEATS} times and their median is shown "
        "(each build's runs in brackets, in the order they ran); the daily build (one day of "
        "new raw files) starts each time from the warehouse as the full build left it. "
        "*Nothing new*: the daily build run again with no new file, what every daily run costs "
        "before its day's data. The floor (scripts/bench_floor.sql) reads the same raw files "
        "with DuckDB's typed readers, deduplicates per source and sums to account × metric × "
        "day: the least work any implementation must do.",
        "",
        "## Targets",
        "",
        "Judged from ratios measured in this run.",
        "",
        *target_lines(evaluate_targets(pipelines, loader)),
        "",
        "## Pipeline",
        "",
        *pipeline_table(pipelines),
        "",
        "## Where the time goes",
        "",
    ]
    for pipeline in pipelines:
        lines += profile_lines(pipeline)
    if loader:
        # the last size's lines end with a blank line already
        lines += loader_section(loader)[1:]
    lines += [
        "## Notes",
        "",
        "Why the missed targets are missed, and what would close them: "
        "[benchmarks_notes.md](benchmarks_notes.md) (written by hand; the script never "
        "rewrites it).",
        "",
    ]
    return "\n".join(lines)


def failed_build(failure: str) -> str:
    """Which build a failure stopped (full, daily or floor), from its command line."""
    command = failure.splitlines()[0].split(": ", 1)[-1]
    if Path(command.split()[0]).name != "dbt":
        return "floor"
    return "full" if "--full-refresh" in command else "daily"


def write_markdown(results: dict, out: Path) -> None:
    out.write_text(render_markdown(results), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        type=int,
        nargs="+",
        default=None,
        help="event volumes to measure (default: BENCH_SIZES, else 1M, 10M and 30M)",
    )
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep")
    parser.add_argument("--out", type=Path, default=PROJECT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help=f"write --out again from the last run's results ({RESULTS.relative_to(PROJECT)}), "
        "e.g. after editing docs/benchmarks_notes.md",
    )
    parser.add_argument(
        "--loader-only",
        action="store_true",
        help="measure the loader alone; --out is written again with the last run's pipeline "
        "figures (without them, only its loader section is rewritten)",
    )
    args = parser.parse_args()
    sizes = args.events or event_sizes()
    if args.loader_only:
        with tempfile.TemporaryDirectory(prefix="usage-bench-") as work:
            loader = bench_loader(Path(work))
        print(f"loader: {loader['throughput']:.1f} records/s of {loader['ceiling']:.0f}")
        if RESULTS.is_file():
            results = json.loads(RESULTS.read_text(encoding="utf-8"))
            results["loader"] = loader
            RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
            write_markdown(results, args.out)
            print(f"wrote {args.out}")
        else:
            write_loader_section(loader, args.out)
            print(f"wrote the loader's section of {args.out}")
        return
    if args.render_only:
        write_markdown(json.loads(RESULTS.read_text(encoding="utf-8")), args.out)
        print(f"wrote {args.out}")
        return
    root = args.keep or Path(tempfile.mkdtemp(prefix="usage-bench-"))
    try:
        measured_at, on_machine = f"{datetime.now(UTC):%Y-%m-%d %H:%M}", machine()
        pipelines = []
        print(f"event volumes: {', '.join(f'{events:,}' for events in sizes)}")
        for events in sizes:
            started = time.perf_counter()
            try:
                pipelines.append(bench_pipeline(events, args.accounts, root))
            except BuildFailed as failure:
                # the other volumes are still measured; the targets at this one are missed
                print(f"{events:,} events: {failure}", file=sys.stderr)
                pipelines.append(
                    {
                        "events": events,
                        "accounts": args.accounts,
                        "failed": str(failure)[-4000:],
                        "failed_build": failed_build(str(failure)),
                    }
                )
            # what is measured so far is kept, should a later volume stop the run
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(
                json.dumps(
                    {
                        "measured_at": measured_at,
                        "machine": on_machine,
                        "duckdb_settings": profile_settings(),
                        "pipelines": pipelines,
                    },
                    indent=2,
                ),
                encoding="utf-8",
            )
            if args.keep is None:
                # the next volume needs the disk
                shutil.rmtree(root / f"events-{events}", ignore_errors=True)
            print(f"{events:,} events measured in {time.perf_counter() - started:.0f} s")
        loader = bench_loader(root)
        print(f"loader: {loader['throughput']:.1f} records/s of {loader['ceiling']:.0f}")
        results = {
            "measured_at": measured_at,
            "machine": on_machine,
            "duckdb_settings": profile_settings(),
            "pipelines": pipelines,
            "loader": loader,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
        write_markdown(results, args.out)
        for verdict in evaluate_targets(pipelines, loader):
            word = "not measured" if verdict["met"] is None else verdict_word(bool(verdict["met"]))
            print(f"  {word}: {verdict['target']} ({verdict['value'] or '-'})")
        print(f"wrote {args.out} (results: {RESULTS})")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
