"""An incremental build equals a full refresh: build on the raw files delivered so far, deliver
more files (new usage, late usage for billed periods, duplicate deliveries and re-exports), build
incrementally, and compare every mart and every incremental event table with a --full-refresh
build of the same files; then continue a few weeks later (a first late event for a billed
segment, a new as-of date, an amendment, a billing run, changed mappings) and compare again."""

from __future__ import annotations

import json
import shutil
from datetime import UTC
from pathlib import Path

import duckdb
import pytest

from loader.core.gates import check_dbt_build, check_invocation, read_dbt_build
from python_tests.support.pipeline_build import PROJECT_DIR, run_dbt_build, write_sample_data

MARTS = (
    "fct_usage_records",
    "fct_usage_event_lineage",
    "fct_usage_quarantine",
    "rpt_source_reconciliation",
    "rpt_period_close_status",
    "fct_invoice_preview",
    "rpt_credit_memo_candidates",
    "fct_rated_usage_tiers",
    "fct_revenue_schedule",
    "rpt_revenue_rollforward",
)
# The event table built incrementally by event key and the step views over it, compared like the
# marts.
EVENT_TABLES = (
    "int_usage_records_assigned",
    "int_usage_events_deduplicated",
    "int_usage_events_assigned",
    "int_usage_records_classified",
)
# Columns that name the run that wrote a row, which differ between any two builds.
RUN_COLUMNS = (
    "dbt_invocation_id",
    "decided_by_invocation_id",
    "assigned_by_invocation_id",
    "classified_by_invocation_id",
)
# Files delivered after the first build: the last month of every source and a telemetry replay
# (duplicate deliveries), which also carry late usage for billed periods.
LATER_FILES = ("*2026-04*", "replay-*")


def _rows(db_path: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        columns = [
            name
            for (name,) in connection.sql(
                f"select column_name from information_schema.columns "
                f"where table_name = '{table}' order by ordinal_position"
            ).fetchall()
            if name not in RUN_COLUMNS
        ]
        column_list = ", ".join(f'"{name}"' for name in columns)
        return sorted(
            connection.sql(f"select {column_list} from {table}").fetchall(),
            key=lambda row: tuple("" if value is None else str(value) for value in row),
        )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    workdir = tmp_path_factory.mktemp("incremental")
    all_files = workdir / "all"
    write_sample_data(all_files)
    delivered = workdir / "raw"
    shutil.copytree(all_files, delivered)
    later = sorted({path for pattern in LATER_FILES for path in delivered.glob(f"*/{pattern}")})
    assert later, "the sample data has files to deliver later"
    for path in later:
        path.unlink()

    incremental_dir = workdir / "incremental"
    incremental_dir.mkdir()
    run_dbt_build(incremental_dir, delivered, full_refresh=True)
    for path in later:
        shutil.copy2(all_files / path.parent.name / path.name, path)
    # the daily run as scheduled: every data test, no unit tests
    incremental = run_dbt_build(incremental_dir, delivered, full_refresh=False, scheduled=True)

    full_dir = workdir / "full"
    full_dir.mkdir()
    full = run_dbt_build(full_dir, delivered, full_refresh=True)
    return incremental.db_path, full.db_path, delivered


@pytest.mark.parametrize("table", MARTS + EVENT_TABLES)
def test_incremental_build_equals_full_refresh(builds: tuple[Path, Path, Path], table: str) -> None:
    incremental_db, full_db, _ = builds
    incremental_rows = _rows(incremental_db, table)
    full_rows = _rows(full_db, table)
    assert incremental_rows, f"{table} is empty: nothing was compared"
    assert incremental_rows == full_rows


def test_the_scheduled_build_passes_the_loaders_gates(builds: tuple[Path, Path, Path]) -> None:
    """The scheduled incremental build ran no unit test, every data test of the mart, and the
    mart it built is the one its results vouch for: the loader sends after it."""
    incremental_db, _, _ = builds
    target = incremental_db.parent / "target"
    build = read_dbt_build(target, "usage_billing")
    assert not [node for node in build.statuses if node.startswith("unit_test.")]
    assert [node for node in build.statuses if node.startswith("test.")]
    check_dbt_build(build)
    with duckdb.connect(str(incremental_db), read_only=True) as connection:
        built_by = {
            invocation_id
            for (invocation_id,) in connection.sql(
                "select distinct dbt_invocation_id from fct_usage_records"
            ).fetchall()
        }
    assert built_by == {build.invocation_id}
    check_invocation(build, built_by)


def test_a_changed_raw_file_stops_the_incremental_build(
    builds: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    incremental_db, _, delivered = builds
    workdir = incremental_db.parent
    changed = sorted((delivered / "stripe").glob("*.csv"))[0]
    original = changed.read_bytes()
    try:
        changed.write_bytes(original + b"re-exported,row\n")
        with pytest.raises(AssertionError, match="changed after its records were read"):
            run_dbt_build(workdir, delivered, full_refresh=False)
    finally:
        changed.write_bytes(original)


def test_an_incremental_build_without_the_kept_inputs_recomputes_every_event(
    builds: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """As after upgrading from a version that kept nothing beside the event table and the
    classification: the next incremental build decides and classifies every event again, keeps
    what it did so with again, and gives the full refresh's rows."""
    incremental_db, full_db, delivered = builds
    shutil.copy2(incremental_db, tmp_path / incremental_db.name)
    kept = (
        "int_usage_records_assigned__holders",
        "int_usage_records_classified__segment_outcomes",
        "int_usage_records_classified__event_runs",
    )
    with duckdb.connect(str(tmp_path / incremental_db.name)) as connection:
        for table in kept:
            connection.execute(f"drop table {table}")

    rebuilt = run_dbt_build(tmp_path, delivered, full_refresh=False)

    invocation = json.loads((rebuilt.target_dir / "run_results.json").read_text())["metadata"]
    with duckdb.connect(str(rebuilt.db_path), read_only=True) as connection:
        tables = {
            row[0] for row in connection.sql("select table_name from duckdb_tables()").fetchall()
        }
        assert set(kept) <= tables
        for table, column in (
            ("int_usage_records_assigned", "assigned_by_invocation_id"),
            ("int_usage_records_classified", "classified_by_invocation_id"),
        ):
            runs = connection.sql(f"select distinct {column} from {table}").fetchall()
            assert runs == [(invocation["invocation_id"],)], table
    for table in MARTS + EVENT_TABLES:
        assert _rows(rebuilt.db_path, table) == _rows(full_db, table), table


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} has no {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def later_builds(
    builds: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, Path]]:
    """The incremental build continued a few weeks later, in three steps, each against a full
    refresh with the same raw files, contract book and as-of date:
    - "late": the as-of date moves into a new period and one late event arrives for a billed
      segment that had none (the segment's outcome changes for events already classified);
    - "periods": an amendment entered today re-segments an old period and a period is billed
      (the mappings do not change: only the segments that hold each day do);
    - "mappings": then an account moves time zone and a metric's multiplier changes."""
    incremental_db, _, builds_raw = builds
    workdir = tmp_path_factory.mktemp("later")
    delivered = workdir / "raw"
    shutil.copytree(builds_raw, delivered)
    seeds = workdir / "seeds"
    shutil.copytree(PROJECT_DIR / "seeds" / "contract_book", seeds)
    later = "2026-05-05"
    incremental_dir = workdir / "incremental"
    incremental_dir.mkdir()
    shutil.copy2(incremental_db, incremental_dir / incremental_db.name)

    def step(name: str) -> tuple[Path, Path]:
        incremental = run_dbt_build(
            incremental_dir, delivered, full_refresh=False, seeds_dir=seeds, as_of_date=later
        )
        kept = workdir / f"{name}-incremental.duckdb"
        shutil.copy2(incremental.db_path, kept)
        full_dir = workdir / f"{name}-full"
        full_dir.mkdir()
        full = run_dbt_build(
            full_dir, delivered, full_refresh=True, seeds_dir=seeds, as_of_date=later
        )
        return kept, full.db_path

    segment_id = _deliver_first_late_event(incremental_db, delivered)
    late = step("late")
    with duckdb.connect(str(late[0]), read_only=True) as connection:
        outcome = connection.sql(
            "select late_usage_outcome from int_late_usage_adjustments where period_segment_id = ?",
            params=[segment_id],
        ).fetchall()
    assert outcome, f"the late event gave {segment_id} no late-usage outcome"
    _edit(
        seeds / "amendments.csv",
        "AMD-0001,",
        "AMD-9001,SL-1002-1,price_change,2026-02-16,PP-B-USD,,2026-05-04T09:00:00Z\nAMD-0001,",
    )
    _edit(
        seeds / "billing_runs.csv",
        "SUB-1006,2026-01-01,",
        "SUB-1001,2026-02-01,2026-03-04T10:00:00Z\nSUB-1006,2026-01-01,",
    )
    periods = step("periods")
    _edit(
        seeds / "billing_accounts.csv",
        "Northwind Logistics LLC,USD,America/Chicago",
        "Northwind Logistics LLC,USD,America/Denver",
    )
    _edit(
        seeds / "metric_mappings.csv",
        "telemetry,api.request,api_calls,1",
        "telemetry,api.request,api_calls,2",
    )
    mappings = step("mappings")
    return {"late": late, "periods": periods, "mappings": mappings}


def _deliver_first_late_event(db_path: Path, raw_dir: Path) -> str:
    """Write a new telemetry file with one event for a billed segment without late usage, received
    after its period was billed; return the segment."""
    with duckdb.connect(str(db_path), read_only=True) as connection:
        segment_id, customer_key, source_metric, occurred_at = connection.sql(
            """
            select
                records.period_segment_id,
                records.source_customer_key,
                records.source_metric,
                max(records.occurred_at)
            from int_usage_records_classified as records
            inner join int_line_segments_prorated as segments
                on records.period_segment_id = segments.period_segment_id
            where segments.is_billed
                and records.source_system = 'telemetry'
                and records.record_outcome = 'used'
                and records.period_segment_id not in (
                    select period_segment_id from int_late_usage_adjustments
                )
            group by 1, 2, 3
            order by 1, 2, 3
            limit 1
            """
        ).fetchall()[0]
    event = {
        "event_id": "late-first-of-its-segment",
        "account_key": customer_key,
        "event_type": source_metric,
        "occurred_at": occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "received_at": "2026-04-28T08:00:00Z",
        "quantity": 7,
    }
    (raw_dir / "telemetry" / "events-late-2026-04-28.jsonl").write_text(
        json.dumps(event) + "\n", encoding="utf-8"
    )
    return segment_id


@pytest.mark.parametrize("step", ("late", "periods", "mappings"))
@pytest.mark.parametrize("table", MARTS + EVENT_TABLES)
def test_later_incremental_build_equals_full_refresh(
    later_builds: dict[str, tuple[Path, Path]],
    builds: tuple[Path, Path, Path],
    step: str,
    table: str,
) -> None:
    incremental_db, full_db = later_builds[step]
    rows = _rows(incremental_db, table)
    assert rows == _rows(full_db, table)
    if table in ("fct_usage_records", "int_usage_records_assigned"):
        # the change reached these rows: they differ from the build before it
        assert rows != _rows(builds[0], table)
