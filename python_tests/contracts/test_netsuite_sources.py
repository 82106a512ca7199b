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
