"""dbt on a Spark session in this process, with the raw-file functions of the DuckDB plugin.

dbt-spark's `session` method runs Spark inside the dbt process: each query asks
`SparkSession.builder.getOrCreate()` for the session. This module runs dbt there
(`dbt.cli.main.dbtRunner`) after hooking that call, so that the session dbt creates, with the
profile's settings, gets two Python functions registered before any model runs:

- `raw_file_check(path, format, columns)`: how a raw file can be read (`raw_files.raw_file_check`,
  the check DuckDB's plugin runs: a truncated gzip stream or a Parquet file broken inside is
  `unreadable` instead of stopping the build);
- `raw_file_list(folder, patterns)`: the files of a source folder (`raw_files.raw_file_list`), empty
  ones included, which Spark's `binaryFile` source does not list.

Spark runs Python functions in worker processes; they are this interpreter (PYSPARK_PYTHON), so
that they import this package.

    python -m loader.dbt_plugins.spark_session build --target spark --vars '{...}'

The arguments are dbt's; the exit code is dbt's (0 success, 1 failure, 2 error).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from loader.dbt_plugins.raw_files import raw_file_check, raw_file_list

CHECK_TYPE = "struct<read_as: string, problem: string>"
LIST_TYPE = "array<struct<path: string, name: string, size: bigint, modified_ms: bigint>>"

_registered_sessions: set[int] = set()


def check_raw_file(path: str, file_format: str, columns: list[str] | None) -> dict[str, Any]:
    """raw_file_check as a Spark function (its columns arrive as a list or None)."""
    return raw_file_check(path, file_format, list(columns or []))


def list_raw_files(folder: str, patterns: list[str] | None) -> list[dict[str, Any]]:
    """raw_file_list as a Spark function."""
    return raw_file_list(folder, list(patterns or []))


def register_raw_file_functions(session: Any) -> None:
    """Registers raw_file_check and raw_file_list on the session, once per session."""
    if id(session) in _registered_sessions:
        return
    session.udf.register("raw_file_check", check_raw_file, CHECK_TYPE)
    session.udf.register("raw_file_list", list_raw_files, LIST_TYPE)
    _registered_sessions.add(id(session))


def hook_session_builder() -> None:
    """Every session that SparkSession.builder.getOrCreate() returns in this process has the
    raw-file functions (dbt-spark's session method asks for its session so, on each query)."""
    from pyspark.sql import SparkSession

    builder_class = SparkSession.Builder
    if getattr(builder_class.getOrCreate, "registers_raw_file_functions", False):
        return
    original = builder_class.getOrCreate

    def get_or_create(self: Any) -> Any:
        session = original(self)
        register_raw_file_functions(session)
        return session

    get_or_create.registers_raw_file_functions = True  # type: ignore[attr-defined]
    builder_class.getOrCreate = get_or_create  # type: ignore[method-assign]


def run_dbt(arguments: list[str]) -> int:
    """dbt with these arguments, in this process, on a hooked Spark session; dbt's exit code."""
    # the Python workers that run the functions: this interpreter, which has this package
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    hook_session_builder()
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(arguments)
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def main() -> None:
    sys.exit(run_dbt(sys.argv[1:]))


if __name__ == "__main__":
    main()
