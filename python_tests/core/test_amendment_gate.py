"""The amendment gate (SPEC 7): a record of a segment that a price change started is sent only once
NetSuite's subscription line holds the segment's plan from that date. Pushed for real: the
sample data built by dbt, the sandbox serving the shipped contract book over SuiteQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from loader.core.amendments import (
    AmendmentCheck,
    PriceInterval,
    check_date,
    holds_segment_plan,
    plan_on,
)
from loader.core.marts import UsageRecord
from python_tests.support.mart_project import DbtProject
from python_tests.support.pipeline_build import PROJECT_DIR, BuiltPipeline, build_pipeline
from python_tests.support.sandbox_server import SandboxServer

REASON = "amendment_not_in_netsuite"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    return build_pipeline(tmp_path_factory.mktemp("amendment-gate"))


@pytest.fixture
def netsuite(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(state_file=tmp_path / "netsuite.sqlite3") as server:
        yield server


def mart_rows(pipeline: BuiltPipeline) -> list[dict[str, Any]]:
    connection = duckdb.connect(str(pipeline.db_path), read_only=True)
    try:
        cursor = connection.execute("select * from fct_usage_records order by external_id")
        names = [column[0] for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def push(
    pipeline: BuiltPipeline, netsuite: SandboxServer, state_dir: Path
) -> tuple[int, dict[str, Any], str]:
    return loader(pipeline, netsuite, "push", "--state-dir", str(state_dir))


def reconcile(pipeline: BuiltPipeline, netsuite: SandboxServer) -> tuple[int, dict[str, Any], str]:
    return loader(pipeline, netsuite, "reconcile")


def loader(
    pipeline: BuiltPipeline, netsuite: SandboxServer, command: str, *args: str
) -> tuple[int, dict[str, Any], str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NETSUITE_", "DBT_", "USAGE_"))
    }
    completed = subprocess.run(
        [
            Path(sys.executable).parent / "usage-loader",
            command,
            "--project-dir",
            PROJECT_DIR,
            "--db",
            pipeline.db_path,
            *args,
            "--include-open-periods",
            "--json",
        ],
        env={**env, **netsuite.loader_env, "DBT_TARGET_PATH": str(pipeline.target_dir)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(completed.stdout) if completed.stdout.strip() else {}
    return completed.returncode, report, completed.stderr


def outcomes(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {record["external_id"]: record for record in report["records"]}


def held_for_amendment(report: dict[str, Any]) -> set[str]:
    return {
        external_id
        for external_id, record in outcomes(report).items()
        if record["outcome"] == "held" and REASON in record["reasons"]
    }


def sendable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["is_approved"] or not row["requires_approval"]]


def test_a_missing_change_order_holds_exactly_the_records_of_the_segments_it_started(
    pipeline: BuiltPipeline, netsuite: SandboxServer, tmp_path: Path
) -> None:
    rows = sendable(mart_rows(pipeline))
    started_by = {row["external_id"] for row in rows if row["segment_amendment_id"] == "AMD-0001"}
    assert started_by, "the sample mart has records of segments AMD-0001 started"
    gated = [row for row in rows if row["segment_amendment_id"]]

    # NetSuite holds every change order of the book: everything is sent.
    code, first, stderr = push(pipeline, netsuite, tmp_path / "state-first")
    assert code == 0, stderr
    assert held_for_amendment(first) == set()
    assert first["details"]["amendment_check"]["records_checked"] == len(gated)
    assert first["details"]["amendment_check"]["lines_asked"] == len(
        {row["subscription_line_id"] for row in gated}
    )
    assert first["details"]["amendment_check"]["reads"] >= 2  # a page, then the empty keyset
    assert first["counts"]["created"] == len(rows)

    # The change order AMD-0001 is missing in NetSuite: its segments' records are held.
    netsuite.reset()
    netsuite.remove_change_order("AMD-0001")
    state = tmp_path / "state"
    # plan, with NetSuite's credentials set, reads the same and shows the holds; it sends nothing
    code, planned, stderr = loader(pipeline, netsuite, "plan", "--state-dir", str(state))
    assert code == 0, stderr
    assert held_for_amendment(planned) == started_by
    assert planned["details"]["amendment_check"]["amendments_not_in_netsuite"] == ["AMD-0001"]
    assert netsuite.records() == []
    code, second, stderr = push(pipeline, netsuite, state)
    assert code == 0, stderr
    assert held_for_amendment(second) == started_by
    assert second["details"]["amendment_check"]["held"] == len(started_by)
    assert second["details"]["amendment_check"]["amendments_not_in_netsuite"] == ["AMD-0001"]
    in_netsuite = {str(row.external_id) for row in netsuite.records()}
    assert in_netsuite == {row["external_id"] for row in rows} - started_by
    assert all(
        outcomes(second)[row["external_id"]]["outcome"] == "created"
        for row in rows
        if row["external_id"] not in started_by
    )

    # reconcile lists them as held, not as missing
    code, reconciled, stderr = reconcile(pipeline, netsuite)
    assert code == 0, reconciled.get("message", "") + stderr
    listed = {record["external_id"]: record for record in reconciled["details"]["not_sendable"]}
    assert {eid for eid, record in listed.items() if REASON in record["reasons"]} == started_by
    assert reconciled["details"]["amendment_check"]["held"] == len(started_by)

    # The change order is committed again: the next push sends them.
    netsuite.reset()
    code, third, stderr = push(pipeline, netsuite, state)
    assert code == 0, stderr
    assert held_for_amendment(third) == set()
    assert {outcomes(third)[external_id]["outcome"] for external_id in started_by} == {"created"}
    assert {str(row.external_id) for row in netsuite.records()} == {
        row["external_id"] for row in rows
    }


def test_a_role_that_cannot_read_the_price_intervals_stops_the_push_with_exit_4(
    pipeline: BuiltPipeline, netsuite: SandboxServer, tmp_path: Path
) -> None:
    netsuite.set_faults(missing_permissions=["SuiteAnalytics Workbook"])
    code, report, _ = push(pipeline, netsuite, tmp_path / "state")
    assert code == 4
    assert "subscriptionpriceinterval" in report["message"]
    assert "SuiteAnalytics Workbook" in report["message"]
    assert netsuite.records() == []


def interval(internal_id: int, plan: str, start: str, end: str | None = None) -> PriceInterval:
    return PriceInterval(
        internal_id=internal_id,
        line_id="SL-1",
        plan_id=plan,
        start=date.fromisoformat(start),
        end=None if end is None else date.fromisoformat(end),
    )


def record(segment_start: str, plan: str, amendment_date: str | None = None) -> UsageRecord:
    start = date.fromisoformat(segment_start)
    return UsageRecord(
        external_id=f"UR-SL-1-{start:%Y%m%d}",
        netsuite_customer_id="1",
        subscription_id="SUB-1",
        subscription_line_id="SL-1",
        subscription_line_number=1,
        subscription_plan_id="PLAN",
        item_id="ITEM",
        billing_period_start=start.replace(day=1),
        billing_period_end=date(start.year, start.month, 28),
        usage_date=date(start.year, start.month, 28),
        quantity=None,
        is_period_closed=True,
        is_billed=False,
        requires_approval=False,
        is_approved=False,
        memo=None,
        dbt_invocation_id="inv",
        segment_start=start,
        price_plan_id=plan,
        segment_amendment_id="AMD-1",
        segment_amendment_date=date.fromisoformat(amendment_date or segment_start),
    )


def check(*intervals: PriceInterval) -> AmendmentCheck:
    return AmendmentCheck(intervals={"SL-1": intervals}, lines_asked=1, reads=1)


def test_the_plan_held_from_a_later_date_than_the_segment_does_not_pass() -> None:
    later = check(interval(1, "OLD", "2026-01-01", "2026-02-19"), interval(2, "NEW", "2026-02-20"))
    assert not holds_segment_plan(later, record("2026-02-15", "NEW"))
    assert holds_segment_plan(later, record("2026-02-20", "NEW"))
    # a later period of the same segment starts inside the new interval
    assert holds_segment_plan(later, record("2026-03-01", "NEW", amendment_date="2026-02-20"))


def test_the_last_day_of_an_interval_is_included() -> None:
    ended = check(interval(1, "OLD", "2026-01-01", "2026-02-14"), interval(2, "NEW", "2026-02-15"))
    assert plan_on(ended.intervals["SL-1"], date(2026, 2, 14)) == "OLD"
    assert plan_on(ended.intervals["SL-1"], date(2026, 2, 15)) == "NEW"
    assert plan_on(ended.intervals["SL-1"], date(2025, 12, 31)) is None


def test_two_intervals_on_the_same_day_keep_the_later_entered() -> None:
    same_day = check(
        interval(1, "OLD", "2026-01-01", "2026-02-28"),
        interval(2, "FIRST", "2026-03-01"),
        interval(3, "SECOND", "2026-03-01"),
    )
    assert holds_segment_plan(same_day, record("2026-03-01", "SECOND"))
    assert not holds_segment_plan(same_day, record("2026-03-01", "FIRST"))


def test_a_half_month_segment_is_checked_on_the_price_change_date() -> None:
    # half_month snaps the segment back to its half (30 Mar); NetSuite's plan starts on 3 Apr
    changed = check(
        interval(1, "OLD", "2026-01-01", "2026-04-02"), interval(2, "NEW", "2026-04-03")
    )
    snapped = record("2026-03-30", "NEW", amendment_date="2026-04-03")
    assert check_date(snapped) == date(2026, 4, 3)
    assert holds_segment_plan(changed, snapped)
    assert not holds_segment_plan(check(interval(1, "OLD", "2026-01-01")), snapped)


def test_a_line_netsuite_does_not_know_does_not_pass() -> None:
    assert not holds_segment_plan(
        AmendmentCheck(intervals={}, lines_asked=1, reads=1), record("2026-03-01", "NEW")
    )


def test_records_netsuite_holds_without_their_price_change_are_reported_by_reconcile(
    pipeline: BuiltPipeline, netsuite: SandboxServer, tmp_path: Path
) -> None:
    rows = sendable(mart_rows(pipeline))
    started_by = {row["external_id"] for row in rows if row["segment_amendment_id"] == "AMD-0002"}
    assert started_by
    code, _, stderr = push(pipeline, netsuite, tmp_path / "state")
    assert code == 0, stderr
    code, reconciled, _ = reconcile(pipeline, netsuite)
    assert code == 0, reconciled["message"]

    # the change order is taken back after the records were sent: NetSuite would bill them on
    # the line's old plan
    netsuite.remove_change_order("AMD-0002")
    code, reconciled, _ = reconcile(pipeline, netsuite)
    assert code == 1
    extra = {
        finding["external_id"]
        for finding in reconciled["details"]["findings"]
        if finding["kind"] == "extra"
    }
    assert extra == started_by


def test_a_check_that_cannot_read_netsuite_stops_the_push_before_anything_is_sent(
    pipeline: BuiltPipeline, netsuite: SandboxServer, tmp_path: Path
) -> None:
    netsuite.set_faults(suiteql_schedule=["500"] * 10)
    code, report, stderr = loader(
        pipeline, netsuite, "push", "--state-dir", str(tmp_path / "state"), "--max-attempts", "3"
    )
    assert code == 1, stderr
    assert "amendment check could not read" in report["message"]
    assert "subscriptionpriceinterval" in report["message"]
    assert netsuite.records() == []
    assert netsuite.stats()["by_status"].get("500") == 3


def test_a_mart_built_before_the_amendment_columns_is_refused_with_the_fix(
    project: DbtProject,
) -> None:
    connection = duckdb.connect(str(project.db_path))
    try:
        connection.execute("alter table main.fct_usage_records drop column segment_amendment_id")
    finally:
        connection.close()
    result = project.run("plan", "--json")
    assert result.exit_code == 4
    assert "segment_amendment_id" in result.report["message"]
    assert "run dbt build to rebuild it" in result.report["message"]
