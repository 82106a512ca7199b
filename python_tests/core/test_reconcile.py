"""`usage-loader reconcile`: SuiteQL over NetSuite's usage records against the mart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from loader.core.config import credentials_from_env
from loader.core.marts import UsageRecord
from loader.core.netsuite import NetSuiteClient, UnexpectedAnswer
from loader.core.reconcile import (
    Kind,
    NetSuiteUsage,
    compare,
    not_sendable,
    parse_usage_row,
    read_netsuite_usage,
)
from python_tests.support.mart_project import DbtProject, sample_records
from python_tests.support.sandbox_server import SandboxServer

AS_OF = date(2026, 8, 15)


def mart() -> list[UsageRecord]:
    return [UsageRecord(**row, dbt_invocation_id="inv-1") for row in sample_records()]


def in_netsuite(records: list[UsageRecord]) -> list[NetSuiteUsage]:
    """NetSuite after a clean push: every sendable record, once."""
    rows = []
    for number, record in enumerate(records, start=1):
        if record.is_period_closed and (record.is_approved or not record.requires_approval):
            rows.append(
                NetSuiteUsage(
                    id=str(number),
                    externalid=record.external_id,
                    usagesubscriptionline=record.subscription_line_id,
                    usagedate=record.usage_date,
                    usagequantity=record.quantity,
                )
            )
    return rows


def kinds(findings: list[Any]) -> dict[str, list[str | None]]:
    found: dict[str, list[str | None]] = {}
    for finding in findings:
        found.setdefault(finding.kind.value, []).append(finding.external_id)
    return found


def test_a_clean_push_differs_in_nothing_and_lists_the_held_records() -> None:
    assert compare(mart(), in_netsuite(mart()), as_of=AS_OF) == []
    held = not_sendable(mart(), in_netsuite(mart()), as_of=AS_OF)
    assert {record.external_id: record.reasons for record in held} == {
        "UR-SL-3001-20260501": ["approval_required"],
        "UR-SL-1001-20260701": ["period_open"],
        "UR-SL-1002-20260701": ["period_open"],
        "UR-SL-3001-20260701": ["period_open", "approval_required"],
    }
    assert all(record.period_ended and not record.in_netsuite for record in held)
    july = date(2026, 7, 1)
    assert len(not_sendable(mart(), in_netsuite(mart()), as_of=AS_OF, period=july)) == 3
    assert compare(mart(), in_netsuite(mart()), as_of=AS_OF, period=july) == []


def test_external_ids_match_without_regard_to_case() -> None:
    rows = [
        row.model_copy(update={"externalid": row.externalid.lower()}) if row.externalid else row
        for row in in_netsuite(mart())
    ]
    assert compare(mart(), rows, as_of=AS_OF) == []


def test_a_voided_record_is_a_difference() -> None:
    rows = [
        row.model_copy(update={"status": "VOIDED"})
        if row.externalid == "UR-SL-1001-20260501"
        else row
        for row in in_netsuite(mart())
    ]
    found = kinds(compare(mart(), rows, as_of=AS_OF))
    assert found == {
        "voided": ["UR-SL-1001-20260501"],
        "pending_after_period_end": ["UR-SL-1001-20260501"],
    }


def test_every_kind_of_difference() -> None:
    records = mart()
    rows = in_netsuite(records)
    rows = [row for row in rows if row.externalid != "UR-SL-1002-20260501"]
    rows = [
        row.model_copy(update={"usagequantity": Decimal("4000.5")})
        if row.externalid == "UR-SL-1001-20260501"
        else row
        for row in rows
    ]
    rows += [
        NetSuiteUsage(
            id="90",
            externalid="UR-SL-2001-20260501",
            usagesubscriptionline="SL-2001",
            usagedate=date(2026, 5, 31),
            usagequantity=Decimal("980000"),
        ),
        NetSuiteUsage(
            id="91",
            externalid=None,
            usagesubscriptionline="SL-1001",
            usagedate=date(2026, 6, 30),
            usagequantity=Decimal("5"),
        ),
        NetSuiteUsage(
            id="92",
            externalid="UR-OLD-20250101",
            usagesubscriptionline="SL-9",
            usagedate=date(2025, 1, 31),
            usagequantity=Decimal("1"),
        ),
    ]
    findings = compare(records, rows, as_of=AS_OF)
    found = kinds(findings)
    assert found["missing"] == ["UR-SL-1002-20260501"]
    assert "UR-SL-1002-20260501" in found["pending_after_period_end"]
    assert found["quantity_differs"] == ["UR-SL-1001-20260501"]
    assert found["extra"] == [None, "UR-OLD-20250101"]
    assert found["duplicate_external_id"] == ["UR-SL-2001-20260501"]
    assert found["duplicate_line_date"] == [None]
    duplicate = next(f for f in findings if f.kind is Kind.DUPLICATE_LINE_DATE)
    assert duplicate.subscription_line_id == "SL-1001"
    assert duplicate.usage_date == date(2026, 6, 30)
    assert len(duplicate.internal_ids) == 3
    differs = next(f for f in findings if f.kind is Kind.QUANTITY_DIFFERS)
    assert (differs.mart_quantity, differs.netsuite_quantity) == ("4000", "4000.5")


def test_equal_quantities_with_other_scale_are_not_a_difference() -> None:
    records = mart()
    rows = [
        row.model_copy(update={"usagequantity": Decimal(str(row.usagequantity) + ".000")})
        if row.usagequantity is not None and "." not in str(row.usagequantity)
        else row
        for row in in_netsuite(records)
    ]
    assert "quantity_differs" not in kinds(compare(records, rows, as_of=AS_OF))


def test_suiteql_rows_are_parsed_from_strings() -> None:
    row = parse_usage_row(
        {
            "id": "12",
            "externalid": "UR-SL-1-20260501",
            "usagesubscriptionline": "SL-1",
            "usagedate": "2026-05-31",
            "usagequantity": "12345678901234567890.123456789",
            "status": "VOIDED",
            "links": [],
        }
    )
    assert row.usagedate == date(2026, 5, 31)
    assert row.usagequantity == Decimal("12345678901234567890.123456789")
    assert row.is_voided
    assert parse_usage_row({"id": "13", "usagedate": "2026-05-31"}).externalid is None
    with pytest.raises(UnexpectedAnswer, match="not YYYY-MM-DD"):
        parse_usage_row({"id": "14", "usagedate": "5/31/2026"})


def test_suiteql_pages_through_every_record(project: DbtProject, sandbox: SandboxServer) -> None:
    assert project.run("push", "--include-open-periods", env=sandbox.loader_env).exit_code == 0
    credentials = credentials_from_env(sandbox.loader_env)
    before = sandbox.stats()["by_status"].get("200", 0)
    with NetSuiteClient(credentials) as client:
        rows, queries = read_netsuite_usage(client, page_size=3)
    assert len(rows) == 10
    assert len({row.id for row in rows}) == 10
    assert queries == 2
    assert sandbox.stats()["by_status"]["200"] - before == 5


def test_keyset_pages_read_past_the_ceiling_of_one_query(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", "--include-open-periods", env=sandbox.loader_env).exit_code == 0
    sandbox.set_faults(suiteql_max_results=4)
    with sandbox.client() as client:
        capped = client.suiteql("SELECT id FROM usage ORDER BY id", limit=3, offset=3).json()
    assert (capped["totalResults"], capped["count"], capped["hasMore"]) == (4, 1, False)
    credentials = credentials_from_env(sandbox.loader_env)
    with NetSuiteClient(credentials) as client:
        rows, queries = read_netsuite_usage(client, page_size=3)
    assert sorted(int(row.id) for row in rows) == sorted(row.id for row in sandbox.records())
    assert queries == 4
    assert all(row.usagedate is not None for row in rows)
    result = project.run(
        "reconcile",
        "--json",
        "--include-open-periods",
        "--as-of",
        "2026-06-15",
        env=sandbox.loader_env,
    )
    assert result.exit_code == 0, result.stdout
    assert result.report["details"]["netsuite_records"] == 10
    assert result.report["details"]["suiteql_queries"] == 4


def test_reconcile_over_the_sandbox_finds_each_difference(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    clean = project.run("reconcile", "--json", "--as-of", "2026-06-15", env=sandbox.loader_env)
    assert clean.exit_code == 0, clean.stdout
    assert sum(clean.report["counts"].values()) == 0
    held = clean.report["details"]["not_sendable"]
    assert len(held) == 4
    [ended] = [record for record in held if record["period_ended"]]
    assert (ended["external_id"], ended["reasons"]) == (
        "UR-SL-3001-20260501",
        ["approval_required"],
    )

    with sandbox.client() as client:
        base = "/services/rest/record/v1/usage"
        deleted = client.request("DELETE", f"{base}/eid:UR-SL-1002-20260501")
        assert deleted.status_code == 204
        changed = client.request(
            "PUT",
            f"{base}/eid:UR-SL-1001-20260501",
            json={
                "customer": {"id": "CUST-1"},
                "usageSubscription": {"id": "SUB-1"},
                "usageSubscriptionLine": {"id": "SL-1001"},
                "item": {"id": "ITEM-API"},
                "usageDate": "2026-05-10",
                "usageQuantity": Decimal("4001"),
            },
        )
        assert changed.status_code == 204
        manual = client.request(
            "POST",
            base,
            json={
                "customer": {"id": "CUST-1"},
                "usageSubscription": {"id": "SUB-1"},
                "usageSubscriptionLine": {"id": "SL-1001"},
                "item": {"id": "ITEM-API"},
                "usageDate": "2026-06-30",
                "usageQuantity": Decimal("17"),
            },
        )
        assert manual.status_code == 204
    result = project.run("reconcile", "--json", "--as-of", "2026-08-15", env=sandbox.loader_env)
    assert result.exit_code == 1
    report = result.report
    assert report["counts"] == {
        "missing": 1,
        "extra": 1,
        "quantity_differs": 1,
        "voided": 0,
        "duplicate_external_id": 0,
        "duplicate_line_date": 1,
        "pending_after_period_end": 1,
    }
    assert len(report["details"]["not_sendable"]) == 4
    findings = report["details"]["findings"]
    by_kind = {finding["kind"]: finding for finding in findings}
    assert by_kind["missing"]["external_id"] == "UR-SL-1002-20260501"
    assert by_kind["quantity_differs"]["netsuite_quantity"] == "4001"
    assert by_kind["quantity_differs"]["mart_quantity"] == "4000"
    assert by_kind["extra"]["external_id"] is None
    assert by_kind["duplicate_line_date"]["usage_date"] == "2026-06-30"
    assert report["details"]["netsuite_records"] == 8
    assert report["details"]["dbt_gate"] == "passed"
    human = project.run("reconcile", "--as-of", "2026-08-15", env=sandbox.loader_env)
    assert "quantity_differs" in human.stdout
    assert "UR-SL-1002-20260501" in human.stdout


def test_reconcile_reports_a_voided_record(project: DbtProject, sandbox: SandboxServer) -> None:
    assert project.run("push", env=sandbox.loader_env).exit_code == 0
    sandbox.void("UR-SL-1001-20260501")
    result = project.run("reconcile", "--json", "--as-of", "2026-06-15", env=sandbox.loader_env)
    assert result.exit_code == 1
    assert result.report["counts"]["voided"] == 1
    voided = next(f for f in result.report["details"]["findings"] if f["kind"] == "voided")
    assert voided["external_id"] == "UR-SL-1001-20260501"


def test_reconcile_with_a_wrong_secret_is_exit_4(
    project: DbtProject, sandbox: SandboxServer
) -> None:
    env = {**sandbox.loader_env, "NETSUITE_CONSUMER_SECRET": "wrong"}
    result = project.run("reconcile", env=env)
    assert result.exit_code == 4
    assert sandbox.stats()["requests"] == 1
