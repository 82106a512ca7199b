"""Asynchronous pushes: the job's relative Location, its task found in the task list, and an
idempotency key per version of a record's payload."""

from __future__ import annotations

from decimal import Decimal

from python_tests.support.mart_project import DbtProject
from python_tests.support.sandbox_server import SandboxServer

RECORD = "UR-SL-1001-20260601"


def quantity_in_netsuite(sandbox: SandboxServer, external_id: str) -> Decimal:
    return next(row.usage_quantity for row in sandbox.records() if row.external_id == external_id)


def test_a_to_b_and_back_to_a_leaves_netsuite_holding_a(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(job_delay_ms=30)
    first = project.run("push", "--async", "--json", env=sandbox.loader_env)
    assert first.exit_code == 0, first.stdout
    quantity_a = Decimal(project.record(RECORD)["quantity"])
    assert quantity_in_netsuite(sandbox, RECORD) == quantity_a

    project.record(RECORD)["quantity"] = "7777"
    project.build()
    to_b = project.run("push", "--async", "--json", env=sandbox.loader_env)
    assert to_b.exit_code == 0, to_b.stdout
    assert quantity_in_netsuite(sandbox, RECORD) == Decimal("7777")

    project.record(RECORD)["quantity"] = str(quantity_a)
    project.build()
    back_to_a = project.run("push", "--async", "--json", env=sandbox.loader_env)
    assert back_to_a.exit_code == 0, back_to_a.stdout
    assert back_to_a.report["counts"]["updated"] == 1
    assert quantity_in_netsuite(sandbox, RECORD) == quantity_a
    by_status = sandbox.stats()["by_status"]
    assert by_status["202"] == 10
    assert "400" not in by_status
    assert "404" not in by_status


def test_a_failed_task_result_is_not_confirmed(project: DbtProject, sandbox: SandboxServer) -> None:
    sandbox.set_faults(job_delay_ms=30, invalid_refs={"item": ["ITEM-STORAGE"]})
    result = project.run("push", "--async", "--json", env=sandbox.loader_env)
    assert result.exit_code == 1
    failed = [r for r in result.report["records"] if r["outcome"] == "failed"]
    assert {r["external_id"] for r in failed} == {"UR-SL-1002-20260401", "UR-SL-1002-20260501"}
    assert all("INVALID_KEY_OR_REF" in r["error"] for r in failed)
    assert len(sandbox.records()) == 6
