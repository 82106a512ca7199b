"""The whole-run gates refuse with exit 3 before any request; the holds hold."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from loader.core.gates import GateRefused, check_dbt_build, read_dbt_build
from python_tests.support.mart_project import (
    MART_NODE,
    TEST_NODES,
    UNIT_TEST_NODE,
    UPSTREAM_NODE,
    DbtProject,
    loader_env,
    passing_statuses,
    usage_record,
)
from python_tests.support.sandbox_server import SandboxServer

DBT = Path(sys.executable).parent / "dbt"


def refused(project: DbtProject, sandbox: SandboxServer, *args: str) -> dict[str, Any]:
    """Run push; it must refuse with exit 3 and send nothing."""
    result = project.run("push", "--json", *args, env=sandbox.loader_env)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert sandbox.stats()["requests"] == 0
    report = result.report
    assert report["status"] == "refused"
    assert project.reports("push")[-1]["exit_code"] == 3
    return report


def test_missing_results_file_refuses(project: DbtProject, sandbox: SandboxServer) -> None:
    (project.root / "target" / "run_results.json").unlink()
    report = refused(project, sandbox)
    assert "run_results.json" in report["message"]
    assert "dbt build" in report["message"]


def test_failed_test_refuses(project: DbtProject, sandbox: SandboxServer) -> None:
    project.write_artifacts(statuses={**passing_statuses(), TEST_NODES[0]: "fail"})
    report = refused(project, sandbox)
    assert TEST_NODES[0] in report["message"]


def test_failed_unit_test_refuses(project: DbtProject, sandbox: SandboxServer) -> None:
    project.write_artifacts(statuses={**passing_statuses(), UNIT_TEST_NODE: "fail"})
    assert UNIT_TEST_NODE in refused(project, sandbox)["message"]


def test_tests_not_run_refuse(project: DbtProject, sandbox: SandboxServer) -> None:
    statuses = passing_statuses()
    del statuses[TEST_NODES[1]]
    project.write_artifacts(statuses=statuses)
    assert "did not run" in refused(project, sandbox)["message"]


def test_results_without_the_mart_refuse(project: DbtProject, sandbox: SandboxServer) -> None:
    project.write_artifacts(statuses={UPSTREAM_NODE: "success"})
    assert "did not build fct_usage_records" in refused(project, sandbox)["message"]


@pytest.mark.parametrize("status", ["error", "skipped"])
def test_any_node_that_did_not_succeed_refuses(
    project: DbtProject, sandbox: SandboxServer, status: str
) -> None:
    project.write_artifacts(statuses={**passing_statuses(), UPSTREAM_NODE: status})
    assert UPSTREAM_NODE in refused(project, sandbox)["message"]


def test_mart_built_by_another_invocation_refuses(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    """A build crashed after rebuilding the mart, before its tests: old results stay behind."""
    old_invocation = project.invocation_id
    project.record("UR-SL-1001-20260601")["quantity"] = "999999"
    project.build()
    project.write_artifacts(invocation_id=old_invocation)
    report = refused(project, sandbox)
    assert project.invocation_id in report["message"]
    assert old_invocation in report["message"]


def test_changed_billed_record_refuses_the_whole_run(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    sent = sandbox.stats()["requests"]
    project.record("UR-SL-1001-20260401")["quantity"] = "1500"
    project.record("UR-SL-1001-20260601")["quantity"] = "1"
    project.build()
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 3
    assert "UR-SL-1001-20260401" in result.report["message"]
    assert sandbox.stats()["requests"] == sent
    quantities = {row.external_id: row.usage_quantity for row in sandbox.records()}
    assert str(quantities["UR-SL-1001-20260401"]) == "1200"
    assert str(quantities["UR-SL-1001-20260601"]) == "5120.000000001"
    plan = project.run("plan", "--json")
    assert plan.exit_code == 3


def test_new_billed_record_and_unchanged_billed_records_pass(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    project.records.append(
        usage_record("SL-2001", date(2026, 4, 1), "10", period_end=date(2026, 4, 30), billed=True)
    )
    project.build()
    result = project.run("push", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    assert result.report["counts"] == {"created": 1, "held": 4, "unchanged": 8}


def test_plan_lists_holds_and_sends_nothing(project: DbtProject, sandbox: SandboxServer) -> None:
    project.record("UR-SL-2001-20260501")["is_approved"] = False
    project.build()
    result = project.run("plan", "--json", env=sandbox.loader_env)
    assert result.exit_code == 0
    actions = {r["external_id"]: (r["action"], r["reasons"]) for r in result.report["records"]}
    assert actions["UR-SL-2001-20260501"] == ("held", ["approval_required"])
    assert actions["UR-SL-3001-20260701"] == ("held", ["period_open", "approval_required"])
    assert actions["UR-SL-1001-20260501"] == ("create", [])
    assert sandbox.stats()["requests"] == 0
    human = project.run("plan")
    assert "approval_required" in human.stdout
    assert "7 to create, 0 to update, 0 unchanged, 5 held, 0 invalid" in human.stdout


def test_non_duckdb_target_is_a_configuration_error(project: DbtProject) -> None:
    profiles = project.root / "profiles.yml"
    profiles.write_text(
        profiles.read_text(encoding="utf-8")
        + "    warehouse:\n      type: snowflake\n      account: x\n      schema: s\n",
        encoding="utf-8",
    )
    result = project.run("plan", "--target", "warehouse")
    assert result.exit_code == 4
    assert "type: snowflake" in result.stderr
    assert "--db" in result.stderr


# A real dbt build: the gate reads the artifacts dbt-core itself writes.

REAL_MODEL = """
select
    'UR-SL-1-20260501' as external_id,
    'CUST-1' as netsuite_customer_id,
    'BA-1' as billing_account_id,
    'SUB-1' as subscription_id,
    'SL-1' as subscription_line_id,
    1 as subscription_line_number,
    'PLAN-1' as subscription_plan_id,
    'ITEM-1' as item_id,
    'usage' as charge_type,
    'api_calls' as metric,
    date '2026-05-01' as billing_period_start,
    date '2026-05-31' as billing_period_end,
    date '2026-05-01' as segment_start,
    date '2026-05-31' as segment_end,
    date '2026-05-31' as usage_date,
    cast({{ var('quantity', '42.5') }} as decimal(38, 9)) as quantity,
    'PP-1' as price_plan_id,
    cast(null as varchar) as segment_amendment_id,
    cast(null as date) as segment_amendment_date,
    cast(1 as decimal(38, 9)) as proration_factor,
    cast(0.85 as decimal(38, 9)) as rated_amount,
    'USD' as currency,
    cast(3 as bigint) as event_count,
    true as is_period_closed,
    false as is_billed,
    false as is_adjustment,
    cast(null as date) as adjusts_period_start,
    false as requires_approval,
    false as is_approved,
    'api_calls 2026-05' as memo,
    '{{ invocation_id }}' as dbt_invocation_id
"""

REAL_SCHEMA = """
version: 2
models:
  - name: fct_usage_records
    columns:
      - name: external_id
        data_tests: [unique, not_null]
      - name: quantity
        data_tests:
          - not_negative
"""

NOT_NEGATIVE = """
{% test not_negative(model, column_name) %}
select * from {{ model }} where {{ column_name }} < 0
{% endtest %}
"""


@pytest.fixture(scope="module")
def real_dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real") / "usage_billing"
    (root / "models" / "marts").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: usage_billing\nversion: '0.1.0'\nconfig-version: 2\nprofile: usage_billing\n"
        "models:\n  usage_billing:\n    marts:\n      +materialized: table\n",
        encoding="utf-8",
    )
    (root / "profiles.yml").write_text(
        "usage_billing:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('REAL_DUCKDB_FILE', 'target/real.duckdb') }}\"\n"
        "      schema: main\n      threads: 1\n",
        encoding="utf-8",
    )
    (root / "models" / "marts" / "fct_usage_records.sql").write_text(REAL_MODEL, "utf-8")
    (root / "models" / "marts" / "_marts__models.yml").write_text(REAL_SCHEMA, "utf-8")
    (root / "macros" / "not_negative.sql").write_text(NOT_NEGATIVE, "utf-8")
    return root


def dbt_build(root: Path, *args: str) -> int:
    completed = subprocess.run(
        [str(DBT), "build", "--project-dir", str(root), "--profiles-dir", str(root), *args],
        env=loader_env({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}),
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return completed.returncode


def test_real_dbt_build_passes_the_gate_and_a_failing_test_refuses(
    real_dbt_project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "usage_billing"
    shutil.copytree(real_dbt_project, root)
    assert dbt_build(root) == 0
    build = read_dbt_build(root / "target", "usage_billing")
    check_dbt_build(build)
    assert len(build.mart_tests) == 3
    project = DbtProject(root=root)
    plan = project.run("plan", "--json")
    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert plan.report["dbt_invocation_id"] == build.invocation_id
    assert [r["action"] for r in plan.report["records"]] == ["create"]
    assert plan.report["records"][0]["quantity"] == "42.5"

    assert dbt_build(root, "--vars", "{quantity: -1}") != 0
    failing = read_dbt_build(root / "target", "usage_billing")
    with pytest.raises(GateRefused, match="not_negative"):
        check_dbt_build(failing)
    refused_plan = project.run("plan", "--json")
    assert refused_plan.exit_code == 3
    assert "did not pass" in refused_plan.report["message"]

    results = json.loads((root / "target" / "run_results.json").read_text(encoding="utf-8"))
    statuses = {result["unique_id"]: result["status"] for result in results["results"]}
    assert statuses[MART_NODE] == "success"
