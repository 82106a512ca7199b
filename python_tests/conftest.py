"""Fixtures shared by the Python tests. What they build lives in `python_tests/support/`: the
dbt project with its mart (`mart_project.py`) and the NetSuite sandbox process
(`sandbox_server.py`); tests import helpers from there, never from here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from python_tests.support.mart_project import DbtProject
from python_tests.support.sandbox_server import SandboxServer


@pytest.fixture
def project(tmp_path: Path) -> DbtProject:
    """A dbt project as `dbt build` leaves it: profile, a dozen-record mart, passing artifacts."""
    built = DbtProject(root=tmp_path / "project")
    built.write_project()
    built.build()
    return built


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """The NetSuite sandbox as a real server process on a free port, its state in a file."""
    with SandboxServer(state_file=tmp_path / "netsuite.sqlite3") as server:
        yield server
