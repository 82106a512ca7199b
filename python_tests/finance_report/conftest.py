"""One real build of the sample data's marts for every test of the finance report and the
summary: built once for this folder, read-only for the tests."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from python_tests.support.pipeline_build import BuiltPipeline, build_pipeline


@pytest.fixture(scope="package")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    return build_pipeline(tmp_path_factory.mktemp("finance-report"))


@pytest.fixture(scope="package")
def marts(pipeline: BuiltPipeline) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(pipeline.db_path), read_only=True)
    yield connection
    connection.close()
