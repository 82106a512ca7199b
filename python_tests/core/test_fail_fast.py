"""What no retry can mend stops the run at once, naming its cause: NetSuite unreachable from the
start, a 401 on the first request, any 403; a whole outage mid-run stops it with exit 1."""

from __future__ import annotations

import json
import socket
import time

from python_tests.support.mart_project import DbtProject
from python_tests.support.sandbox_server import SandboxServer


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_netsuite_is_exit_4_in_seconds_naming_the_url(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {**sandbox.loader_env, "NETSUITE_BASE_URL": url}
    started = time.monotonic()
    result = project.run("push", "--json", env=env)
    assert time.monotonic() - started < 15
    assert result.exit_code == 4, result.stdout + result.stderr
    report = result.report
    assert report["status"] == "netsuite_unreachable"
    assert url in report["message"]
    assert report["counts"]["not_attempted"] == 7
    assert report["counts"]["failed"] == 1
    human = project.run("push", env=env)
    assert human.exit_code == 4
    assert url in human.stderr


def test_a_missing_permission_is_exit_4_after_one_request(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(missing_permissions=["Usage"])
    result = project.run("push", "--json", "--concurrency", "4", env=sandbox.loader_env)
    assert result.exit_code == 4, result.stdout
    stats = sandbox.stats()
    assert stats["requests"] == 1
    assert stats["by_status"] == {"403": 1}
    report = result.report
    assert report["status"] == "permission_denied"
    assert "'Usage' permission" in report["message"]
    assert "INSUFFICIENT_PERMISSION" in report["message"]
    assert sandbox.records() == []


def test_a_missing_suiteql_permission_stops_reconcile_at_once(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(missing_permissions=["SuiteAnalytics Workbook"])
    result = project.run("reconcile", "--json", env=sandbox.loader_env)
    assert result.exit_code == 4
    assert "'SuiteAnalytics Workbook' permission" in result.report["message"]
    assert sandbox.stats()["requests"] == 1


def test_a_401_after_successes_is_retried(project: DbtProject, sandbox: SandboxServer) -> None:
    sandbox.set_faults(schedule=["ok", "401", "401"])
    result = project.run("push", "--json", "--concurrency", "1", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout
    assert sandbox.stats()["by_status"]["401"] == 2
    assert len(sandbox.records()) == 8


def test_a_401_that_stays_stops_the_run(project: DbtProject, sandbox: SandboxServer) -> None:
    sandbox.set_faults(schedule=["ok", "401", "401", "401", "401", "401"])
    result = project.run("push", "--json", "--concurrency", "1", env=sandbox.loader_env)
    assert result.exit_code == 4, result.stdout
    assert sandbox.stats()["by_status"]["401"] == 4
    assert result.report["status"] == "authentication_failed"
    assert "after earlier successes" in result.report["message"]
    assert result.report["counts"]["not_attempted"] == 6


def test_an_outage_mid_run_stops_it_listing_what_was_not_attempted(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(latency_ms=300)
    process = project.start(
        "push", "--json", "--concurrency", "1", "--give-up-after", "2", env=sandbox.loader_env
    )
    deadline = time.monotonic() + 20
    while sandbox.stats()["writes"] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    sandbox.kill()
    started = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < 30
    assert process.returncode == 1, stdout + stderr
    report = json.loads(stdout)
    assert report["status"] == "netsuite_unavailable"
    assert "no answer from NetSuite" in report["message"]
    assert report["details"]["stopped"]
    not_attempted = [r for r in report["records"] if r["outcome"] == "not_attempted"]
    assert len(not_attempted) >= 3
    assert all("no answer from NetSuite" in r["error"] for r in not_attempted)
    sandbox.start()
    again = project.run("push", "--json", env=sandbox.loader_env)
    assert again.exit_code == 0, again.stdout
    assert len(sandbox.records()) == 8
