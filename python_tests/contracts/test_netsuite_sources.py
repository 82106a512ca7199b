"""dbt over NetSuite's tables as sources (`contract_book_origin: netsuite`): the staging models
of models/staging/netsuite run the pull's own mapping and give the shipped contract book."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

from loader.contracts.pull import BOOK_FILES
from loader.dbt_plugins.raw_files import register_functions
from python_tests.support.pipeline_build import run_dbt_build, write_sample_data

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).with_name("fixtures") / "netsuite"
DBT = Path(sys.executable).parent / "dbt"


def load_fixture(database: Path, edits: dict[tuple[str, str], tuple[str, str]] | None = None):
    """NetSuite's tables as an ELT tool leaves them: schema `netsuite`, every column text."""
    con = duckdb.connect(str(database))
    con.execute("create schema netsuite")
    for path in sorted(FIXTURE.glob("*.csv")):
        con.execute(
            f"create table netsuite.{path.stem} as "
            "select * from read_csv(?, header = true, all_varchar = true)",
            [str(path)],
        )
    for (table, external_id), (column, value) in (edits or {}).items():
        con.execute(
            f"update netsuite.{table} set {column} = ? where externalid = ?", [value, external_id]
        )
    con.close()


def dbt_build(database: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "USAGE_"))},
        "USAGE_DUCKDB_PATH": str(database),
        "DBT_PROFILES_DIR": str(REPO),
    }
    return subprocess.run(
        [
            str(DBT),
            "build",
            "--select",
            "path:models/staging/netsuite",
            "path:tests/netsuite",
            "--vars",
            "{contract_book_origin: netsuite}",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_staging_models_map_netsuite_tables_to_the_shipped_book(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    load_fixture(database)
    result = dbt_build(database, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    seeds = yaml.safe_load((REPO / "dbt_project.yml").read_text())["seeds"]["usage_billing"]
    con = duckdb.connect(str(database), read_only=True)
    for book in BOOK_FILES:
        types = seeds[book.name]["+column_types"]
        columns = ", ".join(f"'{column}': '{kind}'" for column, kind in types.items())
        seed = REPO / "seeds" / "contract_book" / f"{book.name}.csv"
        expected = f"select * from read_csv('{seed}', header = true, columns = {{{columns}}})"
        model = f"stg_netsuite__{book.name}"
        assert [row[0] for row in con.execute(f"describe {model}").fetchall()] == list(types)
        for left, right in ((model, f"({expected})"), (f"({expected})", model)):
            differ = con.execute(f"select * from {left} except all select * from {right}")
            assert differ.fetchall() == [], (book.name, left)
        with seed.open(newline="") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        assert con.execute(f"select count(*) from {model}").fetchone() == (rows,)
    con.close()


def test_what_the_book_cannot_express_fails_the_build(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    load_fixture(database, {("priceplan", "PP-B-USD"): ("priceplantype", "3")})
    result = dbt_build(database, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "assert_netsuite_book_expressible" in result.stdout
    assert "Got 1 result" in result.stdout


def _marts(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    """The public marts (fct_, rpt_) of one attached build, each with its columns."""
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = ? and (table_name like 'fct\\_%' escape '\\' "
        "or table_name like 'rpt\\_%' escape '\\') order by table_name, ordinal_position",
        [catalog],
    ).fetchall()
    marts: dict[str, list[str]] = {}
    for table, column in rows:
        marts.setdefault(table, []).append(column)
    return marts


def test_the_sample_data_bills_the_same_through_netsuites_tables(tmp_path: Path) -> None:
    """The whole build on NetSuite's tables (an ELT tool's copy, the fixture) gives every mart
    of the build on the shipped seeds, row for row."""
    raw = tmp_path / "raw"
    write_sample_data(raw)
    from_seeds = run_dbt_build(tmp_path / "seeds", raw, full_refresh=True, scheduled=True)
    (tmp_path / "netsuite").mkdir()
    load_fixture(tmp_path / "netsuite" / "usage_billing.duckdb")
    from_netsuite = run_dbt_build(
        tmp_path / "netsuite",
        raw,
        full_refresh=True,
        scheduled=True,
        variables={"contract_book_origin": "netsuite"},
    )
    assert "stg_netsuite__price_plans" in from_netsuite.build_log
    assert "stg_netsuite__price_plans" not in from_seeds.build_log
    con = duckdb.connect()
    # fct_raw_record_text reads raw files with the functions staging read them with
    register_functions(con)
    con.execute(f"attach '{from_seeds.db_path}' as seeds (read_only)")
    con.execute(f"attach '{from_netsuite.db_path}' as netsuite_build (read_only)")
    marts = _marts(con, "seeds")
    assert {"fct_usage_records", "fct_invoice_preview", "fct_usage_quarantine"} <= set(marts)
    assert _marts(con, "netsuite_build") == marts
    for table, columns in marts.items():
        compared = ", ".join(f'"{column}"' for column in columns if "invocation_id" not in column)
        schema = con.execute(
            "select table_schema from information_schema.tables "
            "where table_catalog = 'seeds' and table_name = ?",
            [table],
        ).fetchone()[0]
        left = f"select {compared} from seeds.{schema}.{table}"
        right = f"select {compared} from netsuite_build.{schema}.{table}"
        rows = con.execute(f"select count(*) from ({left})").fetchone()[0]
        assert con.execute(f"{left} except all {right}").fetchall() == [], table
        assert con.execute(f"{right} except all {left}").fetchall() == [], table
        assert con.execute(f"select count(*) from ({right})").fetchone()[0] == rows, table
    assert con.execute("select count(*) from seeds.main.fct_usage_records").fetchone()[0] > 0
    con.close()
