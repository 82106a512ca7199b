"""A dbt project directory holding a small usage-record mart (DuckDB) and the
`run_results.json` / `manifest.json` of the dbt build that made it, shaped as dbt-core 1.11
writes them; the mart's sample records; and the usage-loader command line, run against it as a
real process. The `project` fixture (`python_tests/conftest.py`) builds one per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

PROJECT_NAME = "usage_billing"
MART_NODE = f"model.{PROJECT_NAME}.fct_usage_records"
TEST_NODES = (
    f"test.{PROJECT_NAME}.unique_fct_usage_records_external_id.1b4f9e8a2c",
    f"test.{PROJECT_NAME}.not_null_fct_usage_records_external_id.77c0d2e5f1",
)
UNIT_TEST_NODE = f"unit_test.{PROJECT_NAME}.fct_usage_records.adjustment_keeps_original_start"
UPSTREAM_NODE = f"model.{PROJECT_NAME}.int_usage_segments_rated"
USAGE_LOADER = Path(sys.executable).parent / "usage-loader"

MART_COLUMNS = {
    "external_id": "varchar",
    "netsuite_customer_id": "varchar",
    "billing_account_id": "varchar",
    "subscription_id": "varchar",
    "subscription_line_id": "varchar",
    "subscription_line_number": "integer",
    "subscription_plan_id": "varchar",
    "item_id": "varchar",
    "charge_type": "varchar",
    "metric": "varchar",
    "billing_period_start": "date",
    "billing_period_end": "date",
    "segment_start": "date",
    "segment_end": "date",
    "usage_date": "date",
    "quantity": "decimal(38,9)",
    "price_plan_id": "varchar",
    "segment_amendment_id": "varchar",
    "segment_amendment_date": "date",
    "proration_factor": "decimal(38,9)",
    "rated_amount": "decimal(38,9)",
    "currency": "varchar",
    "event_count": "bigint",
    "is_period_closed": "boolean",
    "is_billed": "boolean",
    "is_adjustment": "boolean",
    "adjusts_period_start": "date",
    "requires_approval": "boolean",
    "is_approved": "boolean",
    "memo": "varchar",
    "dbt_invocation_id": "varchar",
}

_LINES = {
    # line: (account, customer, subscription, line number, plan, item, metric)
    "SL-1001": ("BA-1", "CUST-1", "SUB-1", 1, "PLAN-GROWTH", "ITEM-API", "api_calls"),
    "SL-1002": ("BA-1", "CUST-1", "SUB-1", 2, "PLAN-GROWTH", "ITEM-STORAGE", "storage_gb_hours"),
    "SL-2001": ("BA-2", "CUST-2", "SUB-2", 1, "PLAN-ENTERPRISE", "ITEM-API", "api_calls"),
    "SL-3001": ("BA-3", "CUST-3", "SUB-3", 1, "PLAN-ENTERPRISE", "ITEM-SEATS", "active_users"),
}

OPEN_PERIOD = date(2026, 7, 1)


def usage_record(
    line: str,
    period_start: date,
    quantity: str,
    *,
    period_end: date,
    segment_start: date | None = None,
    segment_end: date | None = None,
    closed: bool = True,
    billed: bool = False,
    requires_approval: bool = False,
    approved: bool = False,
    adjusts: date | None = None,
) -> dict[str, Any]:
    """One mart row, as dbt writes it (SPEC 3.11 External ID, usage date = segment end)."""
    account, customer, subscription, number, plan, item, metric = _LINES[line]
    segment_start = segment_start or period_start
    segment_end = segment_end or period_end
    external_id = f"UR-{line}-{(adjusts or segment_start):%Y%m%d}"
    if adjusts:
        external_id += f"-ADJ-{period_start:%Y%m%d}"
    return {
        "external_id": external_id,
        "netsuite_customer_id": customer,
        "billing_account_id": account,
        "subscription_id": subscription,
        "subscription_line_id": line,
        "subscription_line_number": number,
        "subscription_plan_id": plan,
        "item_id": item,
        "charge_type": "usage",
        "metric": metric,
        "billing_period_start": period_start,
        "billing_period_end": period_end,
        "segment_start": segment_start,
        "segment_end": segment_end,
        "usage_date": segment_end,
        "quantity": Decimal(quantity),
        "price_plan_id": f"PP-{plan}",
        "segment_amendment_id": None,
        "segment_amendment_date": None,
        "proration_factor": Decimal("1"),
        "rated_amount": Decimal(quantity) * Decimal("0.02"),
        "currency": "USD",
        "event_count": 10,
        "is_period_closed": closed,
        "is_billed": billed,
        "is_adjustment": adjusts is not None,
        "adjusts_period_start": adjusts,
        "requires_approval": requires_approval,
        "is_approved": approved,
        "memo": f"{metric} {period_start:%Y-%m}",
    }


def sample_records() -> list[dict[str, Any]]:
    """A dozen records: billed, closed, open, approved, unapproved, an upgrade, an adjustment."""
    april, may, june, july = (date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1), OPEN_PERIOD)
    return [
        usage_record("SL-1001", april, "1200", period_end=date(2026, 4, 30), billed=True),
        usage_record("SL-1002", april, "730.5", period_end=date(2026, 4, 30), billed=True),
        usage_record(
            "SL-1001", may, "4000", period_end=date(2026, 5, 31), segment_end=date(2026, 5, 10)
        ),
        usage_record(
            "SL-1001",
            may,
            "25000.125",
            period_end=date(2026, 5, 31),
            segment_start=date(2026, 5, 11),
        ),
        usage_record("SL-1002", may, "0", period_end=date(2026, 5, 31)),
        usage_record(
            "SL-2001",
            may,
            "980000",
            period_end=date(2026, 5, 31),
            requires_approval=True,
            approved=True,
        ),
        usage_record(
            "SL-3001",
            may,
            "150000",
            period_end=date(2026, 5, 31),
            requires_approval=True,
            approved=False,
        ),
        usage_record("SL-1001", june, "300", period_end=date(2026, 6, 30), adjusts=april),
        usage_record("SL-1001", june, "5120.000000001", period_end=date(2026, 6, 30)),
        usage_record("SL-1001", july, "812", period_end=date(2026, 7, 31), closed=False),
        usage_record("SL-1002", july, "64.25", period_end=date(2026, 7, 31), closed=False),
        usage_record(
            "SL-3001",
            july,
            "170000",
            period_end=date(2026, 7, 31),
            closed=False,
            requires_approval=True,
        ),
    ]


def sendable_ids(records: list[dict[str, Any]], *, include_open: bool = False) -> set[str]:
    return {
        record["external_id"]
        for record in records
        if (record["is_period_closed"] or include_open)
        and (record["is_approved"] or not record["requires_approval"])
    }


def run_results(invocation_id: str, statuses: Mapping[str, str]) -> dict[str, Any]:
    """`target/run_results.json` as dbt-core 1.11 writes it after `dbt build`."""
    stamp = "2026-08-02T06:00:00.000000Z"
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.11.16",
            "generated_at": stamp,
            "invocation_id": invocation_id,
            "invocation_started_at": stamp,
            "env": {},
        },
        "results": [
            {
                "status": status,
                "timing": [
                    {"name": "compile", "started_at": stamp, "completed_at": stamp},
                    {"name": "execute", "started_at": stamp, "completed_at": stamp},
                ],
                "thread_id": "Thread-1 (worker)",
                "execution_time": 0.05,
                "adapter_response": {"_message": "OK"},
                "message": None if status == "pass" else status.upper(),
                "failures": 0 if status == "pass" else (1 if status == "fail" else None),
                "unique_id": node,
                "compiled": True,
                "relation_name": None,
                "batch_results": None,
            }
            for node, status in statuses.items()
        ],
        "elapsed_time": 1.5,
        "args": {"which": "build", "invocation_command": "dbt build", "select": []},
    }


def manifest(invocation_id: str) -> dict[str, Any]:
    """`target/manifest.json`: the mart, an upstream model, two data tests and a unit test."""

    def test_node(unique_id: str, test: str) -> dict[str, Any]:
        return {
            "unique_id": unique_id,
            "resource_type": "test",
            "name": unique_id.split(".")[2],
            "package_name": PROJECT_NAME,
            "attached_node": MART_NODE,
            "column_name": "external_id",
            "test_metadata": {"name": test, "kwargs": {"column_name": "external_id"}},
            "depends_on": {"macros": [f"macro.dbt.test_{test}"], "nodes": [MART_NODE]},
            "config": {"severity": "ERROR", "materialized": "test"},
        }

    nodes = {
        MART_NODE: {
            "unique_id": MART_NODE,
            "resource_type": "model",
            "name": "fct_usage_records",
            "package_name": PROJECT_NAME,
            "schema": "main",
            "alias": "fct_usage_records",
            "depends_on": {"macros": [], "nodes": [UPSTREAM_NODE]},
            "config": {"materialized": "table"},
        },
        UPSTREAM_NODE: {
            "unique_id": UPSTREAM_NODE,
            "resource_type": "model",
            "name": "int_usage_segments_rated",
            "package_name": PROJECT_NAME,
            "schema": "main",
            "depends_on": {"macros": [], "nodes": []},
            "config": {"materialized": "table"},
        },
        TEST_NODES[0]: test_node(TEST_NODES[0], "unique"),
        TEST_NODES[1]: test_node(TEST_NODES[1], "not_null"),
    }
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.11.16",
            "generated_at": "2026-08-02T06:00:00.000000Z",
            "invocation_id": invocation_id,
            "project_name": PROJECT_NAME,
            "adapter_type": "duckdb",
        },
        "nodes": nodes,
        "unit_tests": {
            UNIT_TEST_NODE: {
                "unique_id": UNIT_TEST_NODE,
                "resource_type": "unit_test",
                "model": "fct_usage_records",
                "name": "adjustment_keeps_original_start",
                "depends_on": {"macros": [], "nodes": [MART_NODE]},
            }
        },
        "sources": {},
        "exposures": {},
        "parent_map": {MART_NODE: [UPSTREAM_NODE], UPSTREAM_NODE: []},
        "child_map": {MART_NODE: [*TEST_NODES, UNIT_TEST_NODE], UPSTREAM_NODE: [MART_NODE]},
    }


def passing_statuses() -> dict[str, str]:
    return {
        UPSTREAM_NODE: "success",
        UNIT_TEST_NODE: "pass",
        MART_NODE: "success",
        TEST_NODES[0]: "pass",
        TEST_NODES[1]: "pass",
    }


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        """The JSON report printed with `--json`."""
        return json.loads(self.stdout)


@dataclass
class DbtProject:
    """A dbt project directory as `dbt build` leaves it: profile, mart, artifacts."""

    root: Path
    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    records: list[dict[str, Any]] = field(default_factory=sample_records)

    @property
    def db_path(self) -> Path:
        return self.root / "target" / "usage_billing.duckdb"

    @property
    def state_dir(self) -> Path:
        return self.root / ".usage-loader"

    @property
    def report_dir(self) -> Path:
        return self.root / "target" / "loader"

    def write_project(self) -> None:
        (self.root / "target").mkdir(parents=True, exist_ok=True)
        (self.root / "dbt_project.yml").write_text(
            f"name: {PROJECT_NAME}\nversion: '0.1.0'\nconfig-version: 2\n"
            f"profile: {PROJECT_NAME}\ntarget-path: target\n",
            encoding="utf-8",
        )
        (self.root / "profiles.yml").write_text(
            f"{PROJECT_NAME}:\n"
            "  target: dev\n"
            "  outputs:\n"
            "    dev:\n"
            "      type: duckdb\n"
            "      path: \"{{ env_var('USAGE_DUCKDB_PATH', 'target/usage_billing.duckdb') }}\"\n"
            "      schema: main\n"
            "      threads: 2\n",
            encoding="utf-8",
        )

    def build(self, *, statuses: Mapping[str, str] | None = None) -> None:
        """A new dbt build: new invocation id, mart rebuilt, artifacts written."""
        self.invocation_id = str(uuid.uuid4())
        self.write_mart()
        self.write_artifacts(statuses=statuses)

    def write_mart(self, invocation_id: str | None = None) -> None:
        invocation_id = invocation_id or self.invocation_id
        columns = ", ".join(f"{name} {kind}" for name, kind in MART_COLUMNS.items())
        connection = duckdb.connect(str(self.db_path))
        try:
            connection.execute("drop table if exists main.fct_usage_records")
            connection.execute(f"create table main.fct_usage_records ({columns})")
            placeholders = ", ".join("?" for _ in MART_COLUMNS)
            connection.executemany(
                f"insert into main.fct_usage_records values ({placeholders})",
                [
                    [{**record, "dbt_invocation_id": invocation_id}[name] for name in MART_COLUMNS]
                    for record in self.records
                ],
            )
        finally:
            connection.close()

    def write_artifacts(
        self, *, invocation_id: str | None = None, statuses: Mapping[str, str] | None = None
    ) -> None:
        invocation_id = invocation_id or self.invocation_id
        target = self.root / "target"
        results = run_results(invocation_id, statuses or passing_statuses())
        (target / "run_results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        (target / "manifest.json").write_text(
            json.dumps(manifest(invocation_id), indent=2), encoding="utf-8"
        )

    def record(self, external_id: str) -> dict[str, Any]:
        return next(record for record in self.records if record["external_id"] == external_id)

    def reports(self, command: str) -> list[dict[str, Any]]:
        paths = sorted(self.report_dir.glob(f"{command}-*.json"))
        return [json.loads(path.read_text(encoding="utf-8")) for path in paths]

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> CliResult:
        """`usage-loader ARGS --project-dir ROOT` as a real process."""
        completed = subprocess.run(
            [str(USAGE_LOADER), *args, "--project-dir", str(self.root)],
            env=loader_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """`usage-loader ARGS` started in the background (to be killed)."""
        return subprocess.Popen(
            [str(USAGE_LOADER), *args, "--project-dir", str(self.root)],
            env=loader_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def loader_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any NetSuite or dbt settings of the machine, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("NETSUITE_", "DBT_", "USAGE_"))
    }
    env.update(extra or {})
    return env
