"""`make bench`: the pipeline and the loader measured side by side on this machine.

For each event volume (1M and 10M by default) it generates sample data with a contract book of
thousands of accounts, then measures in one run: the full `dbt build` (wall time, peak resident
memory), the floor (one hand-written DuckDB query reading the same raw files, deduplicating and
aggregating to account × metric × local day), an incremental build after one more day of raw
files, the same build again with nothing new, and NetSuite requests per million events against
per-event pushing. Builds run as the scheduled run builds (no unit tests), each three times; the
median counts. For the loader it
pushes 10,000 records to the local sandbox (50 ms latency, concurrency limit 4), then pushes again
with nothing changed: that push only reads (it asks NetSuite with SuiteQL which of the records the
ledger trusts it holds), so it measures what the verification reads cost.
Results go to docs/benchmarks.md.

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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AS_OF = "2026-04-20"
APPEND_DAY = "2026-04-19"
MEMORY_LIMIT = "3GB"
THREADS = 2
# the last run's measurements, to write the markdown again without measuring again
RESULTS = PROJECT / "target" / "bench" / "results.json"
# Every build is measured as the scheduled run (README, "Scheduling") runs it: unit tests read
# fixtures, not the warehouse's rows, and run in `make test` whenever the SQL changes.
SCHEDULED_BUILD = ["--exclude-resource-type", "unit_test"]
# Each build and the floor are measured this many times and the median is reported: on a shared
# two-core machine one run of the same build varies by up to a fifth.
REPEATS = 3

T = TypeVar("T")


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
            raise SystemExit(
                f"failed ({code}): {' '.join(map(str, command))}\n{stdout[-4000:]}\n"
                f"{err.read_text(encoding='utf-8')[-4000:]}"
            )
    return Measured(float(elapsed), int(peak) / 1024, stdout)


def dbt_env(raw: Path, seeds: Path, db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "USAGE_RAW_DIR": str(raw),
        # relative to the project: dbt writes compiled seed SQL under target/run/<seed path>,
        # which for an absolute seed path would be the seed file itself
        "USAGE_SEEDS_DIR": os.path.relpath(seeds, PROJECT),
        "USAGE_DUCKDB_PATH": str(db),
        "USAGE_DUCKDB_MEMORY_LIMIT": MEMORY_LIMIT,
        "USAGE_DUCKDB_THREADS": str(THREADS),
        "DBT_PROFILES_DIR": str(PROJECT),
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
        dbt_env(raw, seeds, workdir / "usage_billing.duckdb"),
    )


def floor_query(workdir: Path, raw: Path, seeds: Path) -> Measured:
    sql = (PROJECT / "scripts" / "bench_floor.sql").read_text(encoding="utf-8")
    sql = sql.replace("{raw}", str(raw)).replace("{seeds}", str(seeds))
    script = workdir / "floor.sql"
    script.write_text(sql, encoding="utf-8")
    runner = (
        "import duckdb, sys;"
        f"c = duckdb.connect(sys.argv[1], config={{'threads': {THREADS}, "
        f"'memory_limit': '{MEMORY_LIMIT}'}});"
        "c.execute(\"set TimeZone = 'UTC'\");"
        "c.execute(open(sys.argv[2]).read());"
        "print(c.sql('select count(*), sum(events) from floor_daily_usage').fetchall())"
    )
    return measure([sys.executable, "-c", runner, workdir / "floor.duckdb", script])


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
    again over the built tables into an in-memory temporary table, with DuckDB's profiler on. Its
    wall time is the computing alone (dbt's time for the model adds writing the table to the
    DuckDB file); the operators are the slowest in the query plan, their time summed over
    DuckDB's threads."""
    # the model's own compiled query, as run_results.json records it (a unit test of the model is
    # compiled to a file of the same name under target/compiled)
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    compiled = {
        r["unique_id"].split(".", 2)[-1]: r["compiled_code"]
        for r in results
        if r["unique_id"].startswith("model.") and r.get("compiled_code")
    }
    profiles = []
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "profile.json"
        for name in names:
            sql = compiled[name]
            with duckdb.connect(
                config={"threads": THREADS, "memory_limit": MEMORY_LIMIT, "temp_directory": scratch}
            ) as connection:
                # the compiled SQL names the tables by the DuckDB file's stem, as dbt attached it
                connection.execute(f"attach '{db}' as {db.stem} (read_only)")
                connection.execute(f"use {db.stem}")
                connection.execute("set TimeZone = 'UTC'")
                connection.execute("set enable_progress_bar = false")
                connection.execute("set preserve_insertion_order = false")
                connection.execute("pragma enable_profiling = 'json'")
                connection.execute(f"pragma profiling_output = '{output}'")
                started = time.perf_counter()
                connection.execute(f"create temporary table profiled as {sql}")
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


def check_line_numbers(db: Path, raw: Path, per_source: int = 1000) -> tuple[int, int]:
    """The audit trail at scale: for a sample of staged records of the line-based sources, the
    line at (file, record_number) in the raw file is the record's raw text. Returns (checked,
    mismatched)."""
    sources = {"telemetry": "stg_telemetry__events", "stripe": "stg_stripe__meter_events"}
    wanted: dict[Path, dict[int, str]] = {}
    with duckdb.connect(str(db), read_only=True) as connection:
        for folder, table in sources.items():
            rows = connection.sql(
                f"select file_name, record_number, raw_record from {table} "
                f"using sample reservoir({per_source} rows) repeatable (7)"
            ).fetchall()
            for file_name, number, text in rows:
                wanted.setdefault(raw / folder / file_name, {})[number] = text
    checked = mismatched = 0
    for path, lines in wanted.items():
        opener = gzip.open if path.suffix == ".gz" else open
        # bytes that are not UTF-8 read as U+FFFD, as the staging models show them
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                if number in lines:
                    checked += 1
                    mismatched += line.rstrip("\r\n") != lines[number]
    return checked, mismatched


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


def bench_pipeline(events: int, accounts: int, root: Path) -> dict:
    workdir = root / f"events-{events}"
    raw, seeds = workdir / "raw", workdir / "seeds"
    db = workdir / "usage_billing.duckdb"
    workdir.mkdir(parents=True, exist_ok=True)
    generated = measure(
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
        ]
    )
    # each full build starts from an empty DuckDB file, as a first build does
    full = measured_builds(workdir, raw, seeds, full=True, before=lambda: replace_database(db))
    profiles = profile_models(
        db,
        workdir / "target",
        [name for name, _ in slowest_nodes(workdir / "target", count=4, kind="model")],
    )
    lines_checked, lines_mismatched = check_line_numbers(db, raw)
    floor = median_of(repeated(lambda: floor_query(workdir, raw, seeds)), lambda run: run.seconds)
    with duckdb.connect(str(db), read_only=True) as connection:
        raw_records, used_events = connection.sql(
            "select sum(records_read), sum(records_used) from rpt_source_reconciliation "
            "where source_system <> 'watermarks'"
        ).fetchall()[0]
        usage_records = connection.sql("select count(*) from fct_usage_records").fetchall()[0][0]
    # one more day of raw files: that day's share of the volume (the data spans ~110 days)
    appended = measure(
        [
            BIN / "usage-loader",
            "sample-data",
            "--out",
            raw,
            "--events",
            str(max(1000, events // 110)),
            "--accounts",
            str(accounts),
            "--seeds-out",
            seeds,
            "--append-day",
            APPEND_DAY,
        ]
    )
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
        "slowest_nodes": full["slowest_nodes"],
        "lines_checked": lines_checked,
        "lines_mismatched": lines_mismatched,
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
        f"{'met' if loader['throughput'] >= 0.9 * target else 'MISSED'}; "
        f"no write request on an unchanged push: "
        f"{'met' if loader.get('write_requests_second', 0) == 0 else 'MISSED'}. The push time "
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


def write_markdown(results: dict, out: Path) -> None:
    pipelines, loader = results["pipelines"], results["loader"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {results['measured_at']} UTC on {results['machine']}.",
        f"DuckDB settings of the build and of the floor alike: threads {THREADS}, "
        f"memory_limit {MEMORY_LIMIT}. Reproduce with `make bench` "
        "(`.venv/bin/python scripts/bench.py`).",
        f"Every build is `dbt build {' '.join(SCHEDULED_BUILD)}`, as the scheduled run "
        '(README, "Scheduling"), with `--full-refresh` from an empty DuckDB file for the full '
        f"build. Builds and the floor are each run {REPEATS} times and their median is shown "
        "(each build's runs in brackets, in the order they ran); the incremental day starts "
        "each time from the warehouse as the full build left it.",
        "",
        "## Pipeline",
        "",
        "| events | accounts | raw records | usage records | full `dbt build` | peak memory "
        "| floor query | full ÷ floor | incremental day | incremental ÷ full "
        "| nothing new (÷ full) | NetSuite requests per 1M events (vs per-event) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in pipelines:
        per_million = p["usage_records"] / p["used_events"] * 1_000_000
        lines.append(
            f"| {p['events']:,} | {p['accounts']:,} | {p['raw_records']:,} "
            f"| {p['usage_records']:,} | {p['full_seconds']:.1f} s {runs(p, 'full')} "
            f"| {p['full_peak_mib']:,.0f} MiB | {p['floor_seconds']:.1f} s "
            f"({p['floor_peak_mib']:,.0f} MiB) | {p['full_seconds'] / p['floor_seconds']:.1f}× "
            f"| {p['incremental_seconds']:.1f} s {runs(p, 'incremental')} "
            f"| {p['incremental_seconds'] / p['full_seconds']:.0%} "
            f"| {p['unchanged_seconds']:.1f} s {runs(p, 'unchanged')} "
            f"({p['unchanged_seconds'] / p['full_seconds']:.0%}) "
            f"| {per_million:,.0f} (vs 1,000,000) |"
        )
    lines += [
        "",
        "Targets at 10M events: full ≤ 2.5× the floor, incremental day ≤ 15% of the "
        "full build, peak ≤ 4 GiB. *Nothing new*: the incremental build run again with no new "
        "file, what every daily run costs before its day's data.",
        "",
    ]
    for p in pipelines:
        verdicts = [
            ("full ≤ 2.5× floor", p["full_seconds"] <= 2.5 * p["floor_seconds"]),
            ("incremental ≤ 15% of full", p["incremental_seconds"] <= 0.15 * p["full_seconds"]),
            ("peak ≤ 4 GiB", p["full_peak_mib"] <= 4096),
        ]
        lines.append(
            f"- {p['events']:,} events: "
            + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in verdicts)
        )
        lines.append(
            f"  - audit trail: {p['lines_checked']:,} sampled Stripe and telemetry records, "
            f"{p['lines_mismatched']:,} whose (file, line number) is not their raw text"
        )
        lines.append(
            "  - slowest nodes of the full build: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in p["slowest_nodes"])
        )
        lines.append(
            "  - slowest nodes of the incremental build: "
            + ", ".join(
                f"{name} {seconds:.1f} s" for name, seconds in p["incremental_slowest_nodes"]
            )
        )
        for build, seconds in (
            ("full", "full_seconds"),
            ("incremental", "incremental_seconds"),
            ("unchanged", "unchanged_seconds"),
        ):
            kinds = p[f"{build}_kinds"]
            lines.append(
                f"  - the {build.replace('unchanged', 'nothing-new')} build's {p[seconds]:.1f} s: "
                f"nodes {kinds['nodes wall']:.1f} s "
                f"from first to last (models {kinds['models']:.1f} s, data tests "
                f"{kinds['data tests']:.1f} s, unit tests {kinds['unit tests']:.1f} s, summed over "
                f"dbt's two threads), dbt's start-up and parsing "
                f"{p[seconds] - kinds['nodes wall']:.1f} s"
            )
        for profile in p["profiles"]:
            lines.append(
                f"  - EXPLAIN ANALYZE of {profile['model']}: {profile['compute_seconds']:.1f} s "
                "computing into memory; slowest operators (summed over threads) "
                + ", ".join(
                    f"{label} {timing:.1f} s ({rows:,} rows)"
                    for label, timing, rows in profile["operators"]
                )
            )
    lines += loader_section(loader)
    notes = PROJECT / "docs" / "benchmarks_notes.md"
    if notes.is_file():
        lines += [notes.read_text(encoding="utf-8")]
    out.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
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
        help="measure the loader alone and rewrite only the loader's section of --out",
    )
    args = parser.parse_args()
    if args.loader_only:
        with tempfile.TemporaryDirectory(prefix="usage-bench-") as work:
            loader = bench_loader(Path(work))
        print(f"loader: {loader['throughput']:.1f} records/s of {loader['ceiling']:.0f}")
        if RESULTS.is_file():
            results = json.loads(RESULTS.read_text(encoding="utf-8"))
            results["loader"] = loader
            RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
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
        for events in args.events:
            started = time.perf_counter()
            pipelines.append(bench_pipeline(events, args.accounts, root))
            print(f"{events:,} events measured in {time.perf_counter() - started:.0f} s")
        loader = bench_loader(root)
        print(f"loader: {loader['throughput']:.1f} records/s of {loader['ceiling']:.0f}")
        results = {
            "measured_at": measured_at,
            "machine": on_machine,
            "pipelines": pipelines,
            "loader": loader,
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2), encoding="utf-8")
        write_markdown(results, args.out)
        print(f"wrote {args.out} (results: {RESULTS})")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
