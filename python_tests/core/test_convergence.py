"""Exactly once: whatever the faults and wherever the loader is killed, running it again leaves
NetSuite holding exactly the mart's records, each once, with the mart's quantities."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from python_tests.support.mart_project import DbtProject, sendable_ids
from python_tests.support.sandbox_server import SandboxServer

LOADER_ARGS = ("push", "--timeout", "0.3", "--max-attempts", "20")


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    state = tmp_path_factory.mktemp("netsuite") / "netsuite.sqlite3"
    with SandboxServer(state_file=state) as server:
        yield server


def assert_netsuite_holds_exactly_the_mart(project: DbtProject, sandbox: SandboxServer) -> None:
    rows = sandbox.records()
    counted = Counter(row.external_id for row in rows)
    assert all(count == 1 for count in counted.values()), counted
    expected = sendable_ids(project.records)
    assert set(counted) == expected
    for row in rows:
        assert row.usage_quantity == Decimal(project.record(str(row.external_id))["quantity"])


def kill_at(project: DbtProject, args: tuple[str, ...], env: dict[str, str], delay: float) -> None:
    process = project.start(*args, env=env)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)


faults = st.fixed_dictionaries(
    {
        "schedule": st.lists(
            st.sampled_from(["ok", "500", "503", "429", "drop", "timeout"]), max_size=8
        ),
        "drop_after_commit_rate": st.sampled_from([0.0, 0.25, 0.5]),
        "error_rate": st.sampled_from([0.0, 0.2]),
        "burst_429": st.integers(min_value=0, max_value=3),
        "seed": st.integers(min_value=0, max_value=2**16),
    }
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    faults=faults,
    kill_delays=st.lists(st.floats(min_value=0.2, max_value=1.2), max_size=2),
    use_async=st.booleans(),
    change_between=st.booleans(),
)
def test_faults_and_kills_converge_to_the_mart(
    shared_sandbox: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
    faults: dict[str, Any],
    kill_delays: list[float],
    use_async: bool,
    change_between: bool,
) -> None:
    sandbox = shared_sandbox
    sandbox.reset()
    sandbox.set_faults(latency_ms=25, timeout_seconds=0.5, job_delay_ms=40, **faults)
    project = DbtProject(root=tmp_path_factory.mktemp("run") / "project")
    project.write_project()
    project.build()
    args = (*LOADER_ARGS, "--async") if use_async else LOADER_ARGS
    env = sandbox.loader_env
    for delay in kill_delays:
        kill_at(project, args, env, delay)
    if change_between:
        project.record("UR-SL-1001-20260601")["quantity"] = "5121.75"
        project.record("UR-SL-2001-20260501")["quantity"] = "980001"
        project.build()
    result = project.run(*args, "--json", env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert_netsuite_holds_exactly_the_mart(project, sandbox)

    sandbox.set_faults(schedule=[], drop_after_commit_rate=0.0, error_rate=0.0, burst_429=0)
    before = sandbox.stats()
    again = project.run(*args, "--json", env=env)
    assert again.exit_code == 0
    assert again.report["counts"] == {"held": 4, "unchanged": 8}
    after = sandbox.stats()
    assert after["write_requests"] == before["write_requests"]
    assert (
        after["requests"] == before["requests"] + again.report["details"]["verification"]["reads"]
    )


def test_sandbox_killed_mid_push_then_both_run_again(tmp_path: Path) -> None:
    project = DbtProject(root=tmp_path / "project")
    project.write_project()
    project.build()
    with SandboxServer(state_file=tmp_path / "netsuite.sqlite3", latency_ms=200) as sandbox:
        process = project.start("push", "--max-attempts", "1", env=sandbox.loader_env)
        deadline = time.monotonic() + 20
        while sandbox.stats()["writes"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        sandbox.kill()
        process.communicate(timeout=60)
        assert process.returncode == 1
        survived = len(sandbox.records())
        assert 2 <= survived < 8
        sandbox.restart()
        result = project.run("push", "--json", env=sandbox.loader_env)
        assert result.exit_code == 0, result.stdout
        assert_netsuite_holds_exactly_the_mart(project, sandbox)
