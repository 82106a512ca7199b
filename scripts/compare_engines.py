"""Build the same raw data on DuckDB and on Apache Spark and compare the marts row for row.

Both engines run the one dbt project (`dbt build`: seeds, models, data tests and unit tests), each
in its own folder under the work dir, so that nothing here touches the project's own target/ or
DuckDB file. Spark's dbt runs through loader.dbt_plugins.spark_session (the raw-file checks on its
session). Then fct_usage_records, fct_usage_quarantine, fct_invoice_preview and
rpt_source_reconciliation are compared by their keys, column by column, exactly: the same rows,
External IDs, quantities, amounts and counts of records read.

With --unreadable-files (the default), three files that cannot be read are put beside the raw
data (a truncated .jsonl.gz, a Parquet file broken inside, an empty .parquet): both builds must
pass with one unreadable_file record for each in fct_usage_quarantine. Then the .jsonl.gz is
replaced by its whole stream and the Parquet files are removed, and both engines build again,
incrementally (no --full-refresh): the marts must again be the same, with no unreadable_file
record left.

    .venv/bin/python scripts/compare_engines.py                 # sample data, seed 7
    .venv/bin/python scripts/compare_engines.py --raw-dir data/raw

Exit codes: 0 the marts are the same, 1 they differ, 2 a build failed.
"""

import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import click
import duckdb
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from loader.core.console import make_console

Value = str | int | bool | Decimal | date | datetime | float | None


class MartSpec(BaseModel):
    """A mart to compare: its key and the columns that differ by run, not by engine."""

    model_config = ConfigDict(frozen=True)

    name: str
    key: str
    run_columns: tuple[str, ...] = ()


class EngineBuild(BaseModel):
    """One engine's `dbt build`: where it wrote, how it ended and what it ran."""

    engine: str
    target: str
    returncode: int
    seconds: float
    log_file: str
    statuses: dict[str, dict[str, int]]

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0


class Difference(BaseModel):
    key: str
    column: str
    duckdb: str
    spark: str


class MartComparison(BaseModel):
    mart: str
    key: str
    duckdb_rows: int
    spark_rows: int
    columns_compared: list[str]
    column_mismatch: list[str]
    only_in_duckdb: list[str]
    only_in_spark: list[str]
    differences: list[Difference]

    @property
    def same(self) -> bool:
        return not (
            self.column_mismatch or self.only_in_duckdb or self.only_in_spark or self.differences
        )


class BuildPass(BaseModel):
    """Both engines built once, the marts compared, and the unreadable files each quarantined
    (their raw_record_id) against those expected."""

    name: str
    builds: list[EngineBuild]
    marts: list[MartComparison]
    expected_unreadable: list[str]
    unreadable: dict[str, list[str]]

    @property
    def unreadable_as_expected(self) -> bool:
        return all(found == self.expected_unreadable for found in self.unreadable.values())

    @property
    def same(self) -> bool:
        return (
            all(build.succeeded for build in self.builds)
            and all(m.same for m in self.marts)
            and self.unreadable_as_expected
        )


class ComparisonReport(BaseModel):
    raw_dir: str
    as_of_date: str
    passes: list[BuildPass]

    @property
    def same(self) -> bool:
        return all(build_pass.same for build_pass in self.passes)


def compared_marts() -> tuple[MartSpec, ...]:
    return (
        MartSpec(name="fct_usage_records", key="external_id", run_columns=("dbt_invocation_id",)),
        MartSpec(name="fct_usage_quarantine", key="raw_record_id"),
        MartSpec(name="fct_invoice_preview", key="invoice_line_id"),
        # records read, used, duplicate, withdrawn and quarantined per source: the same files read
        MartSpec(name="rpt_source_reconciliation", key="source_system"),
    )


# ---- builds -------------------------------------------------------------------------------------


def venv_tool(name: str) -> str:
    """A console script of this interpreter's environment (dbt, usage-loader), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise click.ClickException(f"{name} is not installed in this environment")
    return found


def write_profiles(project_dir: Path, work_dir: Path) -> Path:
    """The project's example profiles (DuckDB `dev`, Spark `spark`), independent of profiles.yml."""
    profiles_dir = work_dir / "profiles"
    profiles_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_dir / "profiles.example.yml", profiles_dir / "profiles.yml")
    return profiles_dir


def generate_sample_data(raw_dir: Path, seed: int) -> None:
    if raw_dir.exists():
        shutil.rmtree(raw_dir)
    command = [venv_tool("usage-loader"), "sample-data", "--out", str(raw_dir), "--seed", str(seed)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def add_unreadable_files(raw_dir: Path) -> list[str]:
    """Three files that cannot be read, beside the raw data: a gzip stream cut in half, a Parquet
    file whose `value` pages are overwritten (its PAR1 marks and footer intact) and an empty
    .parquet. Returns the raw_record_id of the record each must become."""
    telemetry = raw_dir / "telemetry"
    metering = raw_dir / "metering"
    compressed = gzip.compress(corrected_telemetry(raw_dir))
    (telemetry / "truncated.jsonl.gz").write_bytes(compressed[: len(compressed) // 2])
    source = sorted(metering.glob("*.parquet"))[0]
    with duckdb.connect() as connection:
        offset, size = connection.execute(
            "select data_page_offset, total_compressed_size from parquet_metadata(?) "
            "where path_in_schema = 'value' and row_group_id = 0",
            [str(source)],
        ).fetchone()
    broken = bytearray(source.read_bytes())
    broken[offset : offset + size] = b"\xa5" * size
    (metering / "corrupt-inside.parquet").write_bytes(bytes(broken))
    (metering / "empty.parquet").write_bytes(b"")
    return sorted(
        [
            "metering:corrupt-inside.parquet:file",
            "metering:empty.parquet:file",
            "telemetry:truncated.jsonl.gz:file",
        ]
    )


def corrected_telemetry(raw_dir: Path) -> bytes:
    """What the truncated .jsonl.gz holds whole: copies of 200 delivered telemetry lines (of the
    largest file)."""
    largest = max(
        sorted((raw_dir / "telemetry").glob("*.jsonl")), key=lambda path: path.stat().st_size
    )
    return b"".join(largest.read_bytes().splitlines(keepends=True)[:200])


def replace_or_remove_unreadable_files(raw_dir: Path, record_ids: list[str]) -> None:
    """The truncated .jsonl.gz replaced by its whole stream under the same name, the other
    unreadable files removed."""
    for record_id in record_ids:
        source_system, file_name, _ = record_id.split(":")
        path = raw_dir / source_system / file_name
        if file_name == "truncated.jsonl.gz":
            path.write_bytes(gzip.compress(corrected_telemetry(raw_dir)))
        else:
            path.unlink()


def result_statuses(run_results: Path) -> dict[str, dict[str, int]]:
    """Counts of node statuses per resource type (model, seed, test, unit_test)."""
    if not run_results.exists():
        return {}
    counts: dict[str, dict[str, int]] = {}
    for result in json.loads(run_results.read_text())["results"]:
        resource_type = result["unique_id"].split(".", 1)[0]
        by_status = counts.setdefault(resource_type, {})
        by_status[result["status"]] = by_status.get(result["status"], 0) + 1
    return counts


def dbt_command(engine: str) -> list[str]:
    """dbt for DuckDB; for Spark, dbt through the module that registers the raw-file checks on
    the Spark session it runs in."""
    if engine == "spark":
        return [sys.executable, "-m", "loader.dbt_plugins.spark_session"]
    return [venv_tool("dbt")]


def run_build(
    *,
    engine: str,
    target: str,
    project_dir: Path,
    profiles_dir: Path,
    engine_dir: Path,
    env: dict[str, str],
    as_of_date: str,
    log_name: str = "dbt_build.log",
) -> EngineBuild:
    target_path = engine_dir / "target"
    log_file = engine_dir / log_name
    command = [
        *dbt_command(engine),
        "build",
        "--target",
        target,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(engine_dir / "logs"),
        "--vars",
        json.dumps({"as_of_date": as_of_date}),
    ]
    started = time.monotonic()
    with log_file.open("w") as log:
        completed = subprocess.run(
            command, cwd=project_dir, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    return EngineBuild(
        engine=engine,
        target=target,
        returncode=completed.returncode,
        seconds=round(time.monotonic() - started, 1),
        log_file=str(log_file),
        statuses=result_statuses(target_path / "run_results.json"),
    )


# ---- reading the marts --------------------------------------------------------------------------


def read_duckdb_mart(database: Path, mart: str) -> tuple[list[str], list[tuple[Value, ...]]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        cursor = connection.execute(f"select * from main.{mart}")
        columns = [column[0] for column in cursor.description]
        return columns, cursor.fetchall()


def read_spark_mart(table_dir: Path) -> tuple[list[str], list[tuple[Value, ...]]]:
    """The Parquet files Spark wrote for a table (read with DuckDB: exact decimals, UTC)."""
    files = sorted(str(path) for path in table_dir.glob("*.parquet"))
    if not files:
        return [], []
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        cursor = connection.execute("select * from read_parquet(?)", [files])
        columns = [column[0] for column in cursor.description]
        return columns, cursor.fetchall()


# ---- comparing ----------------------------------------------------------------------------------

_INSTANT_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?)(\+00(:00)?)?$")


def canonical_value(value: Value) -> Value:
    """Instants as naive UTC; everything else as read (decimals compare by value)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def canonical_parquet_text(text: str) -> str:
    """A Parquet row rendered as text (metering's raw content): each engine writes its own text
    for an instant (`... 11:00:00+00` or `... 11:00:00`) and a double (`4.4E11` or
    `440000000000.0`, `Infinity` or `inf`). Fields are compared as the values they render."""
    fields = []
    for field in text.split(","):
        instant = _INSTANT_TEXT.match(field)
        if instant:
            fields.append(instant.group(1))
            continue
        try:
            number = float(field)
        except ValueError:
            fields.append(field)
            continue
        fields.append("nan" if math.isnan(number) else repr(number))
    return ",".join(fields)


def comparable(mart: str, column: str, row: dict[str, Value]) -> Value:
    value = canonical_value(row[column])
    if (
        mart == "fct_usage_quarantine"
        and column == "raw_record"
        and row.get("source_system") == "metering"
        and isinstance(value, str)
    ):
        return canonical_parquet_text(value)
    return value


def compare_mart(
    spec: MartSpec,
    duckdb_side: tuple[list[str], list[tuple[Value, ...]]],
    spark_side: tuple[list[str], list[tuple[Value, ...]]],
    max_differences: int,
) -> MartComparison:
    duckdb_columns, duckdb_rows = duckdb_side
    spark_columns, spark_rows = spark_side
    if not spark_columns and not spark_rows:
        spark_columns = duckdb_columns
    column_mismatch = [
        f"{column}: {'duckdb' if column in duckdb_columns else 'spark'} only"
        for column in sorted(set(duckdb_columns) ^ set(spark_columns))
    ]
    if duckdb_columns != spark_columns and not column_mismatch:
        column_mismatch = ["columns in another order"]
    columns = [c for c in duckdb_columns if c in spark_columns and c not in spec.run_columns]

    def by_key(
        names: list[str], rows: list[tuple[Value, ...]], engine: str
    ) -> dict[str, dict[str, Value]]:
        keyed: dict[str, dict[str, Value]] = {}
        for row in rows:
            record = dict(zip(names, row, strict=True))
            key = str(record[spec.key])
            if key in keyed:
                column_mismatch.append(f"{spec.key} {key} twice on {engine}")
            keyed[key] = record
        return keyed

    duckdb_by_key = by_key(duckdb_columns, duckdb_rows, "duckdb")
    spark_by_key = by_key(spark_columns, spark_rows, "spark")
    differences: list[Difference] = []
    for key in sorted(duckdb_by_key.keys() & spark_by_key.keys()):
        for column in columns:
            left = comparable(spec.name, column, duckdb_by_key[key])
            right = comparable(spec.name, column, spark_by_key[key])
            if left != right and len(differences) < max_differences:
                differences.append(
                    Difference(key=key, column=column, duckdb=repr(left), spark=repr(right))
                )
    return MartComparison(
        mart=spec.name,
        key=spec.key,
        duckdb_rows=len(duckdb_rows),
        spark_rows=len(spark_rows),
        columns_compared=columns,
        column_mismatch=column_mismatch,
        only_in_duckdb=sorted(duckdb_by_key.keys() - spark_by_key.keys())[:max_differences],
        only_in_spark=sorted(spark_by_key.keys() - duckdb_by_key.keys())[:max_differences],
        differences=differences,
    )


# ---- output -------------------------------------------------------------------------------------


def print_report(console: Console, report: ComparisonReport) -> None:
    for build_pass in report.passes:
        print_pass(console, build_pass)


def print_pass(console: Console, build_pass: BuildPass) -> None:
    builds = Table(title=f"dbt build per engine: {build_pass.name}")
    for header in ("engine", "result", "seconds", "models", "data tests", "unit tests"):
        builds.add_column(header)
    for build in build_pass.builds:

        def statuses(resource_type: str, build: EngineBuild = build) -> str:
            counts = build.statuses.get(resource_type, {})
            return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "-"

        builds.add_row(
            build.engine,
            "ok" if build.succeeded else f"failed ({build.returncode})",
            str(build.seconds),
            statuses("model"),
            statuses("test"),
            statuses("unit_test"),
        )
    console.print(builds)

    marts = Table(title=f"marts, DuckDB against Spark: {build_pass.name}")
    for header in ("mart", "rows duckdb", "rows spark", "columns", "result"):
        marts.add_column(header)
    for mart in build_pass.marts:
        marts.add_row(
            mart.mart,
            str(mart.duckdb_rows),
            str(mart.spark_rows),
            str(len(mart.columns_compared)),
            "same" if mart.same else "DIFFERENT",
        )
    console.print(marts)

    for mart in build_pass.marts:
        for problem in mart.column_mismatch:
            console.print(f"{mart.mart}: {problem}")
        for key in mart.only_in_duckdb:
            console.print(f"{mart.mart}: {mart.key} {key} only on DuckDB")
        for key in mart.only_in_spark:
            console.print(f"{mart.mart}: {mart.key} {key} only on Spark")
        for difference in mart.differences:
            console.print(
                f"{mart.mart} {difference.key} {difference.column}: "
                f"duckdb {difference.duckdb} spark {difference.spark}"
            )
    if build_pass.marts:
        expected = ", ".join(build_pass.expected_unreadable) or "none"
        for engine, found in build_pass.unreadable.items():
            verdict = (
                "as expected" if found == build_pass.expected_unreadable else "EXPECTED " + expected
            )
            console.print(
                f"unreadable_file records on {engine}: {', '.join(found) or 'none'} ({verdict})"
            )


def unreadable_records(side: tuple[list[str], list[tuple[Value, ...]]]) -> list[str]:
    """The raw_record_id of each unreadable_file record of a fct_usage_quarantine."""
    columns, rows = side
    if not columns:
        return []
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    return sorted(
        str(record["raw_record_id"])
        for record in records
        if record["quarantine_reason"] == "unreadable_file"
    )


@click.command()
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path(__file__).resolve().parent.parent,
    show_default="the repository",
    help="The dbt project.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where both builds write (default: <project>/target/compare); replaced on each run.",
)
@click.option(
    "--raw-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Raw usage folders to build (default: sample data written with --seed).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Sample data seed.")
@click.option("--as-of-date", default="2026-04-20", show_default=True)
@click.option("--spark-schema", default="usage_billing", show_default=True)
@click.option("--max-differences", type=int, default=20, show_default=True)
@click.option(
    "--unreadable-files/--no-unreadable-files",
    default=True,
    show_default=True,
    help="Build first with three unreadable files beside the raw data (a copy of --raw-dir), "
    "then again with them replaced or removed, incrementally.",
)
def main(
    project_dir: Path,
    work_dir: Path | None,
    raw_dir: Path | None,
    seed: int,
    as_of_date: str,
    spark_schema: str,
    max_differences: int,
    unreadable_files: bool,
) -> None:
    """Build the raw data on DuckDB and on Spark and compare the marts row for row."""
    console = make_console()
    project_dir = project_dir.resolve()
    work_dir = (work_dir or project_dir / "target" / "compare").resolve()
    for engine_dir in (work_dir / "duckdb", work_dir / "spark"):
        if engine_dir.exists():
            shutil.rmtree(engine_dir)
        engine_dir.mkdir(parents=True)
    if raw_dir is None:
        raw_dir = work_dir / "raw"
        console.print(f"sample data (seed {seed}) -> {raw_dir}")
        generate_sample_data(raw_dir, seed)
    elif unreadable_files:
        # the unreadable files are written beside a copy, never into the given folder
        copy = work_dir / "raw"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(raw_dir, copy)
        raw_dir = copy
    raw_dir = raw_dir.resolve()
    profiles_dir = write_profiles(project_dir, work_dir)

    base_env = {
        **os.environ,
        "USAGE_RAW_DIR": str(raw_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    duckdb_path = work_dir / "duckdb" / "usage_billing.duckdb"
    spark_dir = work_dir / "spark"
    engines = (
        ("duckdb", "dev", {**base_env, "USAGE_DUCKDB_PATH": str(duckdb_path)}),
        ("spark", "spark", {**base_env, "USAGE_SPARK_DIR": str(spark_dir)}),
    )

    def build_and_compare(name: str, log_name: str, expected_unreadable: list[str]) -> BuildPass:
        builds = []
        for engine, target, env in engines:
            console.print(f"{name}: dbt build --target {target} ...")
            build = run_build(
                engine=engine,
                target=target,
                project_dir=project_dir,
                profiles_dir=profiles_dir,
                engine_dir=work_dir / engine,
                env=env,
                as_of_date=as_of_date,
                log_name=log_name,
            )
            console.print(f"  {'ok' if build.succeeded else 'FAILED'} in {build.seconds} s")
            builds.append(build)
        marts = []
        unreadable: dict[str, list[str]] = {}
        if all(build.succeeded for build in builds):
            warehouse = spark_dir / "warehouse" / f"{spark_schema}.db"
            for spec in compared_marts():
                duckdb_side = read_duckdb_mart(duckdb_path, spec.name)
                spark_side = read_spark_mart(warehouse / spec.name)
                marts.append(compare_mart(spec, duckdb_side, spark_side, max_differences))
                if spec.name == "fct_usage_quarantine":
                    unreadable = {
                        "duckdb": unreadable_records(duckdb_side),
                        "spark": unreadable_records(spark_side),
                    }
        return BuildPass(
            name=name,
            builds=builds,
            marts=marts,
            expected_unreadable=expected_unreadable,
            unreadable=unreadable,
        )

    passes = []
    if unreadable_files:
        added = add_unreadable_files(raw_dir)
        console.print(f"unreadable files beside the raw data: {', '.join(added)}")
        passes.append(build_and_compare("with unreadable files", "dbt_build.log", added))
        if passes[-1].same:
            replace_or_remove_unreadable_files(raw_dir, added)
            passes.append(
                build_and_compare(
                    "unreadable files replaced or removed, incremental",
                    "dbt_build_incremental.log",
                    [],
                )
            )
    else:
        passes.append(build_and_compare("sample data", "dbt_build.log", []))

    report = ComparisonReport(raw_dir=str(raw_dir), as_of_date=as_of_date, passes=passes)
    report_file = work_dir / "engine_comparison.json"
    report_file.write_text(report.model_dump_json(indent=2))
    print_report(console, report)
    console.print(f"report: {report_file}")

    failed = [build for build_pass in passes for build in build_pass.builds if not build.succeeded]
    if failed:
        for build in failed:
            console.print(f"{build.engine} build failed; its log: {build.log_file}")
            tail = Path(build.log_file).read_text().splitlines()[-25:]
            console.print("\n".join(line for line in tail if not line.startswith('{"ts"')))
        sys.exit(2)
    if not report.same:
        console.print("DuckDB and Spark built different marts.")
        sys.exit(1)
    console.print("DuckDB and Spark built the same marts.")


if __name__ == "__main__":
    main()
