"""The sandbox serves the contract book as NetSuite's SuiteBilling tables over SuiteQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loader.sample_data.book import DEMO_SEEDS_DIR
from python_tests.support.sandbox_server import SandboxServer, SignedClient


@pytest.fixture
def served(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(
        state_file=tmp_path / "netsuite.sqlite3", contract_book=DEMO_SEEDS_DIR
    ) as server:
        yield server


@pytest.fixture
def client(served: SandboxServer) -> Iterator[SignedClient]:
    with served.client() as signed:
        yield signed


def items(client: SignedClient, query: str) -> list[dict[str, str]]:
    response = client.suiteql(query)
    assert response.status_code == 200, response.text
    return [
        {key: value for key, value in item.items() if key != "links"}
        for item in response.json()["items"]
    ]


PLAN_INTERVALS = (
    "SELECT spi.linenumber, pp.externalid AS plan, "
    "TO_CHAR(spi.startdate, 'YYYY-MM-DD') AS fromdate, "
    "TO_CHAR(spi.enddate, 'YYYY-MM-DD') AS todate "
    "FROM subscriptionpriceinterval spi "
    "JOIN subscription s ON s.id = spi.subscription "
    "JOIN priceplan pp ON pp.id = spi.priceplan "
    "WHERE s.externalid = '{subscription}' ORDER BY spi.linenumber, spi.startdate"
)


def test_values_come_back_as_strings_and_empty_values_are_left_out(client: SignedClient) -> None:
    assert items(
        client,
        "SELECT id, externalid, customer, custrecord_usage_timezone, startdate "
        "FROM billingaccount WHERE externalid = 'BA-004'",
    ) == [
        {
            "id": "4",
            "externalid": "BA-004",
            "customer": "4104",
            "custrecord_usage_timezone": "America/Los_Angeles",
            "startdate": "1/1/2026",
        }
    ]
    # SUB-1001 is evergreen: no enddate at all.
    assert items(client, "SELECT id, enddate FROM subscription WHERE externalid = 'SUB-1001'") == [
        {"id": "1"}
    ]


def test_a_line_holds_each_plan_from_the_date_its_change_order_took_effect(
    served: SandboxServer, client: SignedClient
) -> None:
    assert items(client, PLAN_INTERVALS.format(subscription="SUB-1001")) == [
        {"linenumber": "1", "plan": "PP-A-USD", "fromdate": "2026-01-01", "todate": "2026-02-14"},
        {"linenumber": "1", "plan": "PP-B-USD", "fromdate": "2026-02-15"},
        {"linenumber": "2", "plan": "PP-PLATFORM-USD", "fromdate": "2026-01-01"},
    ]
    # Two price changes of one line on one date: the later entered holds.
    assert items(client, PLAN_INTERVALS.format(subscription="SUB-1003")) == [
        {"linenumber": "1", "plan": "PP-T-USD", "fromdate": "2026-01-01", "todate": "2026-02-28"},
        {"linenumber": "1", "plan": "PP-T-VOL-USD", "fromdate": "2026-03-01"},
    ]

    rows = served.remove_change_order("AMD-0001")

    assert rows["subscriptionchangeorder"] == 7
    assert items(client, PLAN_INTERVALS.format(subscription="SUB-1001"))[0] == {
        "linenumber": "1",
        "plan": "PP-A-USD",
        "fromdate": "2026-01-01",
    }
    assert (
        items(client, "SELECT id FROM subscriptionchangeorder WHERE externalid = 'AMD-0001'") == []
    )
    served.reset()
    assert len(items(client, PLAN_INTERVALS.format(subscription="SUB-1001"))) == 3


def test_change_orders_show_netsuite_actions_and_timestamps(client: SignedClient) -> None:
    assert items(
        client,
        "SELECT co.externalid, co.action, TO_CHAR(co.effectivedate, 'YYYY-MM-DD') AS eff, "
        "co.terminateatstartofday, "
        "TO_CHAR(co.datecreated, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM') AS created, co.datecreated "
        "FROM subscriptionchangeorder co WHERE co.externalid IN ('AMD-0006', 'AMD-0007') "
        "ORDER BY co.id",
    ) == [
        {
            "externalid": "AMD-0006",
            "action": "TERMINATE",
            "eff": "2026-01-31",
            "terminateatstartofday": "F",
            "created": "2026-01-26T10:00:00+00:00",
            "datecreated": "1/26/2026 10:00:00 am",
        },
        {
            "externalid": "AMD-0007",
            "action": "RENEW",
            "eff": "2026-02-20",
            "created": "2026-02-20T08:30:00+00:00",
            "datecreated": "2/20/2026 8:30:00 am",
        },
    ]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM book_priceplan",
        "DELETE FROM priceplan",
        "UPDATE subscription SET enddate = NULL",
        "SELECT name FROM sqlite_master",
    ],
)
def test_the_book_tables_are_read_only_and_the_tables_behind_them_unreachable(
    client: SignedClient, query: str
) -> None:
    assert client.suiteql(query).status_code == 400
    assert len(items(client, "SELECT id FROM priceplan")) == 22


def test_edits_name_a_known_record_and_column(served: SandboxServer) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        served.edit_contract_book("priceplan", "PP-NOPE", "priceplantype", "3")
    with pytest.raises(httpx.HTTPStatusError):
        served.edit_contract_book("priceplan", "PP-A-USD", "nosuchcolumn", "3")
    with pytest.raises(httpx.HTTPStatusError):
        served.remove_change_order("AMD-9999")


def test_suiteql_faults_answer_the_next_queries_in_order(
    served: SandboxServer, client: SignedClient
) -> None:
    served.set_faults(suiteql_schedule=["ok", "503"])
    assert client.suiteql("SELECT id FROM currency").status_code == 200
    assert client.suiteql("SELECT id FROM currency").status_code == 503
    assert client.suiteql("SELECT id FROM currency").status_code == 200
