"""`usage-loader push` against the NetSuite sandbox, over real HTTP with real OAuth signatures."""

from __future__ import annotations

import signal
import sqlite3
import time
from decimal import Decimal
from typing import Any

from python_tests.support.mart_project import DbtProject, sendable_ids
from python_tests.support.sandbox_server import SandboxServer


def netsuite_quantities(sandbox: SandboxServer) -> dict[str | None, Decimal]:
    return {row.external_id: row.usage_quantity for row in sandbox.records()}


def mart_quantities(project: DbtProject, ids: set[str]) -> dict[str | None, Decimal]:
    return {eid: Decimal(project.record(eid)["quantity"]) for eid in ids}


def ledger_rows(project: DbtProject) -> dict[str, sqlite3.Row]:
    connection = sqlite3.connect(project.state_dir / "ledger.sqlite3")
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("select * from usage_record").fetchall()
    finally:
        connection.close()
    return {row["external_id"]: row for row in rows}


def outcomes(result_report: dict[str, Any]) -> dict[str, str]:
    return {record["external_id"]: record["outcome"] for record in result_report["records"]}


def test_push_creates_every_sendable_record_and_holds_the_rest(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout + result.stderr
    sendable = sendable_ids(project.records)
    assert netsuite_quantities(sandbox) == mart_quantities(project, sendable)
    report = result.report
    assert report["counts"] == {"created": 8, "held": 4}
    held = {r["external_id"]: r["reasons"] for r in report["records"] if r["outcome"] == "held"}
    assert held == {
        "UR-SL-1001-20260701": ["period_open"],
        "UR-SL-1002-20260701": ["period_open"],
        "UR-SL-3001-20260501": ["approval_required"],
        "UR-SL-3001-20260701": ["period_open", "approval_required"],
    }
    rows = {row.external_id: row for row in sandbox.records()}
    created = [r for r in report["records"] if r["outcome"] == "created"]
    for record in created:
        assert record["internal_id"] == str(rows[record["external_id"]].id)
    adjustment = rows["UR-SL-1001-20260401-ADJ-20260601"]
    assert (adjustment.usage_subscription_line, str(adjustment.usage_date)) == (
        "SL-1001",
        "2026-06-30",
    )
    ledger = ledger_rows(project)
    assert set(ledger) == sendable
    assert all(row["in_flight_hash"] is None and row["confirmed_hash"] for row in ledger.values())
    assert project.reports("push")[-1]["run_id"] == report["run_id"]


def test_unchanged_records_send_no_write_request(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    before = sandbox.stats()
    again = project.run("push", "--json", env=sandbox.loader_env)
    assert again.exit_code == 0
    after = sandbox.stats()
    assert after["write_requests"] == before["write_requests"] == 8
    verification = again.report["details"]["verification"]
    assert verification == {"asked": 8, "reads": 1, "not_in_netsuite": 0, "voided": 0}
    assert after["requests"] == before["requests"] + verification["reads"]
    assert again.report["counts"] == {"held": 4, "unchanged": 8}


def test_a_changed_record_is_updated_in_place(project: DbtProject, sandbox: SandboxServer) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    before = {row.external_id: row.id for row in sandbox.records()}
    project.record("UR-SL-1001-20260601")["quantity"] = "5121.5"
    project.build()
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    assert result.report["counts"] == {"held": 4, "unchanged": 7, "updated": 1}
    assert outcomes(result.report)["UR-SL-1001-20260601"] == "updated"
    after = {row.external_id: row.id for row in sandbox.records()}
    assert after == before
    assert netsuite_quantities(sandbox)["UR-SL-1001-20260601"] == Decimal("5121.5")


def test_released_holds_are_sent_by_a_later_run(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    project.record("UR-SL-3001-20260501")["is_approved"] = True
    project.record("UR-SL-1001-20260701")["is_period_closed"] = True
    project.build()
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    assert outcomes(result.report)["UR-SL-3001-20260501"] == "created"
    assert outcomes(result.report)["UR-SL-1001-20260701"] == "created"
    assert len(sandbox.records()) == 10


def test_include_open_periods_and_period_filter(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    result = project.run(
        "push", "--period", "2026-07-01", "--include-open-periods", "--json", env=sandbox.loader_env
    )
    assert result.exit_code == 0
    assert {row.external_id for row in sandbox.records()} == {
        "UR-SL-1001-20260701",
        "UR-SL-1002-20260701",
    }
    assert outcomes(result.report)["UR-SL-3001-20260701"] == "held"
    assert result.report["records"][2]["reasons"] == ["approval_required"]


def test_dry_run_sends_nothing(project: DbtProject, sandbox: SandboxServer) -> None:
    result = project.run("push", "--dry-run", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    assert result.report["counts"] == {"held": 4, "not_sent": 8}
    assert sandbox.stats()["requests"] == 0
    assert not (project.state_dir / "ledger.sqlite3").exists()


def test_a_rejected_record_fails_alone(project: DbtProject, sandbox: SandboxServer) -> None:
    sandbox.set_faults(invalid_refs={"customer": ["CUST-2"]})
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 1
    report = result.report
    assert report["counts"] == {"created": 7, "failed": 1, "held": 4}
    failed = next(r for r in report["records"] if r["outcome"] == "failed")
    assert failed["external_id"] == "UR-SL-2001-20260501"
    assert "INVALID_KEY_OR_REF" in failed["error"]
    assert "HTTP 400" in failed["error"]
    assert sandbox.stats()["by_status"].get("400") == 1
    assert "UR-SL-2001-20260501" not in netsuite_quantities(sandbox)
    sandbox.set_faults(invalid_refs={})
    again = project.run("push", "--json", env=sandbox.loader_env)
    assert again.exit_code == 0
    assert outcomes(again.report)["UR-SL-2001-20260501"] == "created"
    assert set(netsuite_quantities(sandbox)) == sendable_ids(project.records)


def test_invalid_record_is_never_sent(project: DbtProject, sandbox: SandboxServer) -> None:
    project.record("UR-SL-1002-20260501")["item_id"] = None
    project.build()
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 1
    invalid = [r for r in result.report["records"] if r["outcome"] == "invalid"]
    assert [r["external_id"] for r in invalid] == ["UR-SL-1002-20260501"]
    assert invalid[0]["reasons"] == ["missing reference item_id"]
    assert len(sandbox.records()) == 7
    assert "UR-SL-1002-20260501" not in netsuite_quantities(sandbox)


def test_wrong_secret_is_exit_4_after_one_request(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    env = {**sandbox.loader_env, "NETSUITE_TOKEN_SECRET": "not-the-token-secret"}
    result = project.run("push", "--json", "--concurrency", "4", env=env)
    assert result.exit_code == 4
    stats = sandbox.stats()
    assert stats["requests"] == 1
    assert stats["by_status"] == {"401": 1}
    assert result.report["status"] == "authentication_failed"
    assert "401" in result.report["message"]
    assert sandbox.records() == []
    assert "not-the-token-secret" not in result.stdout + result.stderr


def test_missing_credentials_are_exit_4(project: DbtProject, sandbox: SandboxServer) -> None:
    env = {**sandbox.loader_env, "NETSUITE_TOKEN_ID": ""}
    result = project.run("push", env=env)
    assert result.exit_code == 4
    assert "NETSUITE_TOKEN_ID" in result.stderr
    assert sandbox.stats()["requests"] == 0


def test_requests_in_flight_never_exceed_concurrency(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(latency_ms=150, concurrency_limit=0)
    result = project.run("push", "--concurrency", "2", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    stats = sandbox.stats()
    assert stats["max_in_flight"] == 2
    assert stats["by_status"] == {"204": 8}


def test_the_sandbox_concurrency_limit_is_retried(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(latency_ms=100, concurrency_limit=2)
    result = project.run("push", "--concurrency", "4", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    stats = sandbox.stats()
    assert stats["by_status"]["204"] == 8
    assert stats["by_status"].get("429", 0) > 0
    assert set(netsuite_quantities(sandbox)) == sendable_ids(project.records)


def test_faults_are_retried_and_exhausted_retries_fail_the_record(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(schedule=["500", "429", "drop", "503"], timeout_seconds=0.5)
    result = project.run("push", "--json", "--concurrency", "1", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout
    first = result.report["records"][0]
    assert first["attempts"] == 5
    assert sandbox.stats()["by_status"]["dropped"] == 1
    assert set(netsuite_quantities(sandbox)) == sendable_ids(project.records)

    project.record("UR-SL-1001-20260601")["quantity"] = "1"
    project.build()
    sandbox.set_faults(schedule=["500", "timeout", "drop"], timeout_seconds=0.6)
    result = project.run(
        "push", "--json", "--max-attempts", "3", "--timeout", "0.3", env=sandbox.loader_env
    )
    assert result.exit_code == 1
    failed = next(r for r in result.report["records"] if r["outcome"] == "failed")
    assert "gave up after 3 attempts" in failed["error"]
    row = ledger_rows(project)["UR-SL-1001-20260601"]
    assert row["outcome"] == "failed" and row["in_flight_hash"] is not None
    again = project.run("push", "--json", env=sandbox.loader_env)
    assert again.exit_code == 0
    assert outcomes(again.report)["UR-SL-1001-20260601"] == "updated"
    assert netsuite_quantities(sandbox)["UR-SL-1001-20260601"] == Decimal("1")


def test_async_push_polls_jobs(project: DbtProject, sandbox: SandboxServer) -> None:
    sandbox.set_faults(job_delay_ms=100)
    result = project.run("push", "--async", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout
    by_status = sandbox.stats()["by_status"]
    assert by_status["202"] == 8
    assert by_status["200"] >= 8
    assert netsuite_quantities(sandbox) == mart_quantities(project, sendable_ids(project.records))
    rows = {row.external_id: str(row.id) for row in sandbox.records()}
    assert {
        r["external_id"]: r["internal_id"]
        for r in result.report["records"]
        if r["outcome"] == "created"
    } == rows


def test_async_dropped_answer_follows_the_known_job(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(schedule=["drop"], job_delay_ms=50)
    result = project.run("push", "--async", "--json", "--concurrency", "1", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout
    by_status = sandbox.stats()["by_status"]
    assert by_status["dropped"] == 1
    assert by_status["400"] == 1
    assert by_status["202"] == 7
    assert set(netsuite_quantities(sandbox)) == sendable_ids(project.records)
    assert len(sandbox.records()) == 8


def test_async_run_killed_while_polling_resumes_the_same_jobs(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(job_delay_ms=1500)
    process = project.start("push", "--async", env=sandbox.loader_env)
    deadline = time.monotonic() + 60
    while sandbox.stats()["by_status"].get("202", 0) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    in_flight = [row for row in ledger_rows(project).values() if row["in_flight_hash"]]
    assert len(in_flight) >= 4
    sandbox.set_faults(job_delay_ms=0)
    result = project.run("push", "--async", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0, result.stdout
    by_status = sandbox.stats()["by_status"]
    assert by_status["400"] == len(in_flight)
    assert by_status["202"] == 8
    assert len(sandbox.records()) == 8
    assert netsuite_quantities(sandbox) == mart_quantities(project, sendable_ids(project.records))


def test_no_secret_in_any_output_log_or_report(project: DbtProject, sandbox: SandboxServer) -> None:
    secrets = [
        sandbox.credentials[name]
        for name in (
            "NETSUITE_CONSUMER_KEY",
            "NETSUITE_CONSUMER_SECRET",
            "NETSUITE_TOKEN_ID",
            "NETSUITE_TOKEN_SECRET",
        )
    ]
    sandbox.set_faults(schedule=["500", "drop"], invalid_refs={"item": ["ITEM-STORAGE"]})
    outputs = [
        project.run("push", env=sandbox.loader_env),
        project.run("push", "--json", "--async", env=sandbox.loader_env),
        project.run("plan", env=sandbox.loader_env),
        project.run("reconcile", "--json", env=sandbox.loader_env),
        project.run("export-csv", "--out", str(project.root / "out.csv"), env=sandbox.loader_env),
        project.run(
            "push", env={**sandbox.loader_env, "NETSUITE_CONSUMER_SECRET": "wrong-" + secrets[1]}
        ),
    ]
    assert [result.exit_code for result in outputs] == [1, 1, 0, 1, 0, 4]
    written = [path.read_bytes() for path in project.report_dir.glob("*.json")]
    written += [path.read_bytes() for path in project.state_dir.glob("*")]
    written.append((project.root / "out-0001.csv").read_bytes())
    assert len(written) >= 7
    texts = [result.stdout + result.stderr for result in outputs]
    for secret in secrets:
        assert all(secret not in text for text in texts)
        assert all(secret.encode() not in blob for blob in written)
