"""The raw-file functions on a real local Spark session (the `spark` extra and Java 17 needed; run
by `make test-spark`, deselected from the plain pytest run by the `spark` marker): the session that
SparkSession.builder.getOrCreate() returns, as dbt-spark's session method asks for it, has
raw_file_check and raw_file_list, run by Python workers of this interpreter, with the results of
the same functions called directly."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from loader.dbt_plugins.raw_files import raw_file_check, raw_file_list

pytestmark = pytest.mark.spark

METERING_COLUMNS = ["record_id varchar", "value double"]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import os

    from pyspark.sql import SparkSession

    from loader.dbt_plugins.spark_session import hook_session_builder

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    hook_session_builder()
    warehouse = tmp_path_factory.mktemp("spark") / "warehouse"
    session = (
        SparkSession.builder.config("spark.master", "local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    telemetry = raw / "telemetry"
    metering = raw / "metering"
    telemetry.mkdir()
    metering.mkdir()
    whole = gzip.compress(b'{"event_id":"e1"}\n' * 5000)
    (telemetry / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (telemetry / "events.jsonl").write_bytes(b'{"event_id":"e1"}\n')
    (telemetry / "bad-bytes.jsonl").write_bytes(b'{"event_id":"\xff"}\n')
    good = metering / "good.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select 'r' || i as record_id, i * 1.5 as value from range(500) as t (i)) "
            f"to '{good}' (format parquet)"
        )
        offset, size = connection.execute(
            "select data_page_offset, total_compressed_size from parquet_metadata(?) "
            "where path_in_schema = 'value'",
            [str(good)],
        ).fetchone()
    broken = bytearray(good.read_bytes())
    broken[offset : offset + size] = b"\xa5" * size
    (metering / "corrupt-inside.parquet").write_bytes(bytes(broken))
    (metering / "empty.parquet").write_bytes(b"")
    return raw


def test_every_session_of_the_builder_has_the_functions_once(spark: Any) -> None:
    from pyspark.sql import SparkSession

    assert SparkSession.builder.getOrCreate() is spark
    functions = spark.sql("show user functions like 'raw_file*'").collect()
    assert sorted(row[0] for row in functions) == ["raw_file_check", "raw_file_list"]


def test_the_check_in_spark_is_the_check_of_duckdb(spark: Any, raw_dir: Path) -> None:
    cases = [
        (raw_dir / "telemetry" / "truncated.jsonl.gz", "lines", []),
        (raw_dir / "telemetry" / "events.jsonl", "lines", []),
        (raw_dir / "telemetry" / "bad-bytes.jsonl", "lines", []),
        (raw_dir / "metering" / "good.parquet", "parquet", METERING_COLUMNS),
        (raw_dir / "metering" / "corrupt-inside.parquet", "parquet", METERING_COLUMNS),
        (raw_dir / "metering" / "empty.parquet", "parquet", METERING_COLUMNS),
    ]
    for path, file_format, columns in cases:
        row = spark.sql(
            "select raw_file_check(?, ?, cast(? as array<string>)) as checked",
            args=[str(path), file_format, columns],
        ).collect()[0]
        in_spark = row["checked"].asDict()
        assert in_spark == raw_file_check(str(path), file_format, columns), path.name
    verdicts = {
        path.name: raw_file_check(str(path), file_format, columns)["read_as"]
        for path, file_format, columns in cases
    }
    assert verdicts == {
        "truncated.jsonl.gz": "unreadable",
        "events.jsonl": "fast",
        "bad-bytes.jsonl": "lines",
        "good.parquet": "fast",
        "corrupt-inside.parquet": "unreadable",
        "empty.parquet": "unreadable",
    }


def test_the_listing_in_spark_holds_the_empty_parquet_file(spark: Any, raw_dir: Path) -> None:
    folder = str(raw_dir / "metering")
    rows = spark.sql(
        "select listed.name, listed.size, cast(timestamp_millis(listed.modified_ms) as string) "
        "from (select explode(raw_file_list(?, array('*.parquet'))) as listed) as files "
        "order by listed.path",
        args=[folder],
    ).collect()
    assert [(row[0], row[1]) for row in rows] == [
        (file["name"], file["size"]) for file in raw_file_list(folder, ["*.parquet"])
    ]
    assert ("empty.parquet", 0) in [(row[0], row[1]) for row in rows]
    # binaryFile, the listing without the functions, has no row for it
    listed = spark.sql(f"select _metadata.file_name from binaryFile.`{folder}`").collect()
    assert "empty.parquet" not in [row[0] for row in listed]
