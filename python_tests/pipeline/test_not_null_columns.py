"""A model's not-null checks are one data test per `where` they are checked under,
not_null_columns (tests/generic/not_null_columns.sql): the same checks as the one not_null test
per column they replace (fixtures/not_null_columns.json lists those: model or seed, column,
where), in fewer test nodes. A null fails the test on a real build, and the failing rows name its
column."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from python_tests.support.pipeline_build import BuiltPipeline, build_pipeline, run_dbt

FIXTURE = Path(__file__).parent / "fixtures" / "not_null_columns.json"
MART = "fct_usage_records"
MART_TEST = f"not_null_columns_{MART}"
EVENT_TABLE = "int_usage_records_assigned"
EVENT_TABLE_TEST = f"not_null_columns_{EVENT_TABLE}"

NOT_NULL_TESTS = ("not_null", "not_null_columns")

Check = tuple[str, str, str | None]


def _declared_checks(manifest: dict) -> list[Check]:
    """(model or seed, column, where) of every not-null check the manifest's data tests make."""
    checks: list[Check] = []
    for node in manifest["nodes"].values():
        test = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or test.get("name") not in NOT_NULL_TESTS:
            continue
        tested = node["attached_node"].split(".")[-1]
        where = node["config"].get("where")
        columns = (
            test["kwargs"]["columns"]
            if test["name"] == "not_null_columns"
            else [node["column_name"]]
        )
        checks.extend((tested, column, where) for column in columns)
    return checks


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    workdir = tmp_path_factory.mktemp("not-null-parse")
    parsed = run_dbt(workdir, workdir / "raw", "parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    return json.loads((workdir / "target" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    return build_pipeline(tmp_path_factory.mktemp("not-null-build"))


@pytest.fixture
def workdir(built: BuiltPipeline, tmp_path: Path) -> Path:
    """A copy of the built DuckDB file to put nulls in."""
    shutil.copy(built.db_path, tmp_path / built.db_path.name)
    return tmp_path


def test_the_not_null_checks_are_the_ones_each_column_had_with_their_wheres(manifest: dict) -> None:
    before = [
        (check["model"], check["column"], check["where"])
        for check in json.loads(FIXTURE.read_text())["checks"]
    ]
    declared = _declared_checks(manifest)

    assert sorted(declared) == sorted(before)
    assert not [check for check, count in Counter(declared).items() if count > 1]


def test_a_model_has_one_not_null_test_per_where(manifest: dict) -> None:
    tests_of_models = [
        node
        for node in manifest["nodes"].values()
        if (node.get("test_metadata") or {}).get("name") in NOT_NULL_TESTS
        and node["attached_node"].startswith("model.")
    ]
    assert tests_of_models
    assert {node["test_metadata"]["name"] for node in tests_of_models} == {"not_null_columns"}
    per_where = Counter(
        (node["attached_node"], node["config"].get("where")) for node in tests_of_models
    )
    assert max(per_where.values()) == 1
    assert {node["config"]["severity"].lower() for node in tests_of_models} == {"error"}


def _stored_failures(db_path: Path, test_name: str) -> list[tuple]:
    """The failing rows `dbt test --store-failures` kept for the test (a table named after it)."""
    with duckdb.connect(str(db_path), read_only=True) as connection:
        (schema,) = connection.execute(
            "select table_schema from information_schema.tables where table_name = ?",
            [test_name],
        ).fetchone()
        return connection.execute(
            f'select column_name, count(*) from "{schema}"."{test_name}" group by 1 order by 1'
        ).fetchall()


def test_a_null_fails_the_test_and_its_rows_name_the_column(
    built: BuiltPipeline, workdir: Path
) -> None:
    db_path = workdir / built.db_path.name
    passing = run_dbt(workdir, built.raw_dir, "test", "--select", MART_TEST)
    assert passing.returncode == 0, passing.stdout[-3000:]

    with duckdb.connect(str(db_path)) as connection:
        first, second = connection.sql(
            f"select external_id from {MART} order by external_id limit 2"
        ).fetchall()
        connection.execute(f"update {MART} set metric = null where external_id = ?", first)
        connection.execute(
            f"update {MART} set currency = null, rated_amount = null where external_id = ?", second
        )

    failing = run_dbt(workdir, built.raw_dir, "test", "--select", MART_TEST, "--store-failures")

    assert failing.returncode != 0
    assert any("FAIL 3" in line and MART_TEST in line for line in failing.stdout.splitlines()), (
        failing.stdout[-3000:]
    )
    assert _stored_failures(db_path, MART_TEST) == [
        ("currency", 1),
        ("metric", 1),
        ("rated_amount", 1),
    ]


def test_the_where_of_the_checks_is_kept(built: BuiltPipeline, workdir: Path) -> None:
    """The event table's not-null checks look at the rows no passing build has checked (their
    `where`, as before): a null on a checked row is not looked at, the same null on a row that a
    later run wrote fails the test."""
    db_path = workdir / built.db_path.name
    with duckdb.connect(str(db_path)) as connection:
        (raw_record_id,) = connection.execute(
            f"select min(raw_record_id) from {EVENT_TABLE}"
        ).fetchone()
        connection.execute(
            f"update {EVENT_TABLE} set classification_key = null where raw_record_id = ?",
            [raw_record_id],
        )

    checked = run_dbt(workdir, built.raw_dir, "test", "--select", EVENT_TABLE_TEST)
    assert checked.returncode == 0, checked.stdout[-3000:]

    with duckdb.connect(str(db_path)) as connection:
        connection.execute(
            f"update {EVENT_TABLE} set assigned_by_invocation_id = 'a-later-run' "
            "where raw_record_id = ?",
            [raw_record_id],
        )
    unchecked = run_dbt(
        workdir, built.raw_dir, "test", "--select", EVENT_TABLE_TEST, "--store-failures"
    )

    assert unchecked.returncode != 0, unchecked.stdout[-3000:]
    assert _stored_failures(db_path, EVENT_TABLE_TEST) == [("classification_key", 1)]
