"""The ledger is a cache, never the truth: a push verifies against NetSuite (SuiteQL) what the
ledger says NetSuite holds, re-sends what it does not hold, and never re-sends a VOIDED record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from python_tests.support.mart_project import DbtProject, sendable_ids
from python_tests.support.sandbox_server import SandboxServer


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {record["external_id"]: record["outcome"] for record in report["records"]}


def test_a_refreshed_sandbox_gets_every_record_again(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    sandbox.reset()
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout
    assert result.report["counts"] == {"created": 8, "held": 4}
    assert result.report["details"]["verification"]["not_in_netsuite"] == 8
    assert {row.external_id for row in sandbox.records()} == sendable_ids(project.records)
    resent = [r for r in result.report["records"] if r["outcome"] == "created"]
    assert all("ledger_entry_not_in_netsuite" in r["reasons"] for r in resent)


def test_a_record_deleted_by_hand_is_sent_again_and_only_it(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    with sandbox.client() as client:
        gone = client.request("DELETE", "/services/rest/record/v1/usage/eid:UR-SL-1002-20260501")
        assert gone.status_code == 204
    before = sandbox.stats()["write_requests"]
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    assert result.report["counts"] == {"created": 1, "held": 4, "unchanged": 7}
    assert outcomes(result.report)["UR-SL-1002-20260501"] == "created"
    assert sandbox.stats()["write_requests"] == before + 1


def test_a_fresh_account_with_an_old_ledger_gets_everything(
    project: DbtProject, sandbox: SandboxServer, tmp_path: Path
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    with SandboxServer(state_file=tmp_path / "other.sqlite3") as other:
        result = project.run("push", "--json", env=other.loader_env)
        assert result.exit_code == 0, result.stdout
        assert result.report["counts"] == {"created": 8, "held": 4}
        assert {row.external_id for row in other.records()} == sendable_ids(project.records)
    again = project.run("push", "--json", env=sandbox.loader_env)
    assert again.report["counts"] == {"held": 4, "unchanged": 8}


def test_a_voided_record_is_reported_and_never_sent(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    sandbox.void("UR-SL-1001-20260501")
    sandbox.void("UR-SL-1001-20260601")
    project.record("UR-SL-1001-20260601")["quantity"] = "5200"
    project.build()
    before = sandbox.stats()["write_requests"]
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout
    assert result.report["counts"] == {"held": 4, "unchanged": 6, "voided": 2}
    voided = [r for r in result.report["records"] if r["outcome"] == "voided"]
    assert {r["external_id"] for r in voided} == {"UR-SL-1001-20260501", "UR-SL-1001-20260601"}
    assert all("VOIDED" in r["error"] for r in voided)
    assert sandbox.stats()["write_requests"] == before
    assert result.report["details"]["verification"]["voided"] == 2
