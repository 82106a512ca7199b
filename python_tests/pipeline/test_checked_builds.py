"""The tests of the event tables look at the rows no passing build has checked yet
(macros/incremental/checked_builds.sql). These runs show that it is the same check as testing
every row: a passing build is recorded and a failed or narrowed one is not, a duplicate is found
when its twin was checked long ago, rows a failed build wrote stay unchecked until a build passes,
and a change to a model's SQL makes its rows unchecked again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from python_tests.support.pipeline_build import BuiltPipeline, build_pipeline, run_dbt

ASSIGNED = "int_usage_records_assigned"
ASSIGNED_ID = f"model.usage_billing.{ASSIGNED}"
UNIQUE_TEST = "unique_across_builds_int_usage_records_assigned_raw_record_id"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    return build_pipeline(tmp_path_factory.mktemp("checked-builds"))


@pytest.fixture
def workdir(built: BuiltPipeline, tmp_path: Path) -> Path:
    """A copy of the built DuckDB file to change and build again."""
    shutil.copy(built.db_path, tmp_path / built.db_path.name)
    return tmp_path


def _query(db_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db_path)) as connection:
        return connection.sql(sql).fetchall()


def _recorded_builds(db_path: Path) -> list[str]:
    return [
        row[0] for row in _query(db_path, "select distinct invocation_id from dbt_checked_builds")
    ]


def _duplicate_an_assigned_row(db_path: Path, written_by: str) -> str:
    """Write a second copy of one row of the event table as run `written_by` would have."""
    with duckdb.connect(str(db_path)) as connection:
        raw_record_id = connection.sql(
            f"select min(raw_record_id) from {ASSIGNED} "
            "where mapping_reason is null and dedup_status = 'current'"
        ).fetchall()[0][0]
        connection.execute(
            f"insert into {ASSIGNED} "
            f"select * replace ('{written_by}' as assigned_by_invocation_id) "
            f"from {ASSIGNED} where raw_record_id = ?",
            [raw_record_id],
        )
    return raw_record_id


def _failed_tests(completed) -> list[str]:
    return [line for line in completed.stdout.splitlines() if "FAIL" in line and " [" in line]


def test_a_passing_build_is_recorded_with_every_model_and_its_checksum(
    built: BuiltPipeline,
) -> None:
    invocation = json.loads((built.target_dir / "run_results.json").read_text())["metadata"]
    manifest = json.loads((built.target_dir / "manifest.json").read_text())
    models = {
        node_id: node["checksum"]["checksum"]
        for node_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
    }
    recorded = _query(
        built.db_path, "select invocation_id, model_id, model_checksum from dbt_checked_builds"
    )
    assert {row[0] for row in recorded} == {invocation["invocation_id"]}
    assert {row[1]: row[2] for row in recorded} == models


def test_a_duplicate_is_found_though_its_twin_was_checked_by_an_earlier_build(
    built: BuiltPipeline, workdir: Path
) -> None:
    db_path = workdir / built.db_path.name
    duplicated = _duplicate_an_assigned_row(db_path, "a-later-run")

    tested = run_dbt(workdir, built.raw_dir, "test", "--select", ASSIGNED)

    assert tested.returncode != 0
    failed = _failed_tests(tested)
    assert any(UNIQUE_TEST in line for line in failed), tested.stdout[-3000:]
    rows = _query(
        db_path,
        f"select count(*) from {ASSIGNED} where raw_record_id = '{duplicated}'",
    )
    assert rows == [(2,)]


def test_a_failed_build_is_not_recorded_and_the_next_build_checks_its_rows_again(
    built: BuiltPipeline, workdir: Path
) -> None:
    db_path = workdir / built.db_path.name
    _duplicate_an_assigned_row(db_path, "a-failed-run")
    before = _recorded_builds(db_path)

    first = run_dbt(workdir, built.raw_dir, "build")
    second = run_dbt(workdir, built.raw_dir, "build")

    for completed in (first, second):
        assert completed.returncode != 0
        assert any(UNIQUE_TEST in line for line in _failed_tests(completed)), completed.stdout[
            -3000:
        ]
    assert _recorded_builds(db_path) == before


def test_a_narrowed_build_is_not_recorded(built: BuiltPipeline, workdir: Path) -> None:
    db_path = workdir / built.db_path.name
    before = _recorded_builds(db_path)

    narrowed = run_dbt(workdir, built.raw_dir, "build", "--select", "stg_stripe__meter_events")

    assert narrowed.returncode == 0, narrowed.stdout[-3000:]
    assert _recorded_builds(db_path) == before


def test_a_passing_incremental_build_is_recorded_and_a_full_refresh_starts_over(
    built: BuiltPipeline, workdir: Path
) -> None:
    db_path = workdir / built.db_path.name
    before = _recorded_builds(db_path)

    completed = run_dbt(workdir, built.raw_dir, "build")

    assert completed.returncode == 0, completed.stdout[-3000:]
    after = _recorded_builds(db_path)
    assert len(after) == len(before) + 1 and set(before) < set(after)

    refreshed = run_dbt(workdir, built.raw_dir, "build", "--full-refresh")

    assert refreshed.returncode == 0, refreshed.stdout[-3000:]
    invocation = json.loads((workdir / "target" / "run_results.json").read_text())["metadata"]
    assert _recorded_builds(db_path) == [invocation["invocation_id"]]


def test_rows_of_a_model_whose_sql_changed_are_checked_again(
    built: BuiltPipeline, workdir: Path
) -> None:
    db_path = workdir / built.db_path.name
    (checked_by,) = _recorded_builds(db_path)
    # a duplicate among rows a recorded build wrote: only a change to the model's SQL since that
    # build makes the tests look at those rows again
    _duplicate_an_assigned_row(db_path, checked_by)
    unchanged = run_dbt(workdir, built.raw_dir, "test", "--select", ASSIGNED)
    assert unchanged.returncode == 0, unchanged.stdout[-3000:]

    _query(
        db_path,
        "update dbt_checked_builds set model_checksum = 'the SQL before' "
        f"where model_id = '{ASSIGNED_ID}'",
    )
    changed = run_dbt(workdir, built.raw_dir, "test", "--select", ASSIGNED)

    assert changed.returncode != 0
    assert any(UNIQUE_TEST in line for line in _failed_tests(changed)), changed.stdout[-3000:]
