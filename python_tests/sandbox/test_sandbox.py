"""The NetSuite sandbox over real HTTP: OAuth 1.0, usage records, async jobs, SuiteQL, the
concurrency limit, injected faults and state that survives a kill -9."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from loader.sandbox.cli import READY_PREFIX
from loader.sandbox.config import SANDBOX_DEFAULTS
from python_tests.support.sandbox_server import SandboxServer, SignedClient, random_credentials

USAGE = "/services/rest/record/v1/usage"
ERROR_CONTENT_TYPE = "application/vnd.oracle.resource+json; type=error"


def usage_body(external_id: str = "UR-LINE1-20260501", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "externalId": external_id,
        "customer": {"id": "CUST-1"},
        "usageSubscription": {"id": "SUB-1"},
        "usageSubscriptionLine": {"id": "LINE-1"},
        "subscriptionPlan": {"id": "PLAN-1"},
        "item": {"id": "ITEM-API-CALLS"},
        "usageDate": "2026-05-31",
        "usageQuantity": Decimal("4000.5"),
        "memo": "May usage",
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not ...}


def put_usage(client: SignedClient, external_id: str, **changes: Any) -> httpx.Response:
    return client.request(
        "PUT", f"{USAGE}/eid:{external_id}", json=usage_body(external_id, **changes)
    )


def error_details(response: httpx.Response) -> list[dict[str, str]]:
    assert response.headers["content-type"] == ERROR_CONTENT_TYPE
    document = response.json()
    assert document["status"] == response.status_code
    assert document["title"] == response.reason_phrase
    assert document["type"].startswith("https://www.rfc-editor.org/rfc/")
    return list(document["o:errorDetails"])


def error_codes(response: httpx.Response) -> list[str]:
    return [detail["o:errorCode"] for detail in error_details(response)]


def internal_id(response: httpx.Response) -> str:
    return response.headers["location"].rsplit("/", 1)[1]


def task_result_path(client: SignedClient, job_location: str) -> str:
    """The result of a job's task, found as a client must find it: from the job's task list."""
    tasks = client.request("GET", f"{job_location}/task")
    assert tasks.status_code == 200
    [task] = tasks.json()["items"]
    href = next(link["href"] for link in task["links"] if link["rel"] == "self")
    return href.removeprefix(client.base_url) + "/result"


def wait_for_job(client: SignedClient, job_url: str, timeout: float = 10.0) -> list[str]:
    """Poll a job until it completes; every progress value seen, in order."""
    path = job_url.removeprefix(client.base_url)
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.request("GET", path)
        assert response.status_code == 200
        job = response.json()
        seen.append(job["progress"])
        if job["completed"]:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_url} still pending after {timeout}s: {seen}")


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(concurrency_limit=8) as running:
        yield running


@pytest.fixture
def sandbox(server: SandboxServer) -> SandboxServer:
    server.reset()
    return server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[SignedClient]:
    with sandbox.client() as signed:
        yield signed


# authentication


def test_signed_upsert_is_answered_204_and_the_record_reads_back(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    response = put_usage(client, "UR-LINE1-20260501")

    assert response.status_code == 204
    assert response.content == b""
    location = response.headers["location"]
    assert location.startswith(f"{sandbox.base_url}{USAGE}/")
    by_id = client.request("GET", f"{USAGE}/{internal_id(response)}")
    by_external_id = client.request("GET", f"{USAGE}/eid:UR-LINE1-20260501")
    assert by_id.status_code == by_external_id.status_code == 200
    record = by_id.json()
    assert record == by_external_id.json()
    assert record["id"] == internal_id(response)
    assert record["externalId"] == "UR-LINE1-20260501"
    assert record["customer"] == {"id": "CUST-1"}
    assert record["usageSubscriptionLine"] == {"id": "LINE-1"}
    assert record["item"] == {"id": "ITEM-API-CALLS"}
    assert record["usageDate"] == "2026-05-31"
    assert json.loads(by_id.text, parse_float=Decimal)["usageQuantity"] == Decimal("4000.5")
    assert record["memo"] == "May usage"


def test_quantities_are_kept_exact(sandbox: SandboxServer, client: SignedClient) -> None:
    quantity = Decimal("1612.903225806451612903")

    assert put_usage(client, "UR-EXACT-1", usageQuantity=quantity).status_code == 204

    assert [row.usage_quantity for row in sandbox.records()] == [quantity]
    text = client.request("GET", f"{USAGE}/eid:UR-EXACT-1").text
    assert '"usageQuantity":1612.903225806451612903' in text


def test_wrong_consumer_secret_is_refused_with_invalid_login(sandbox: SandboxServer) -> None:
    wrong = {**sandbox.credentials, "NETSUITE_CONSUMER_SECRET": "not-the-secret"}
    with SignedClient(sandbox.base_url, wrong) as client:
        response = put_usage(client, "UR-LINE1-20260501")

    assert response.status_code == 401
    assert error_codes(response) == ["INVALID_LOGIN"]
    assert sandbox.records() == []
    assert sandbox.stats()["writes"] == 0


def _with(name: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda credentials: {**credentials, name: value}


@pytest.mark.parametrize(
    ("case", "credentials", "signing"),
    [
        ("wrong token secret", _with("NETSUITE_TOKEN_SECRET", "nope"), {}),
        ("unknown consumer key", _with("NETSUITE_CONSUMER_KEY", "unknown"), {}),
        ("unknown token", _with("NETSUITE_TOKEN_ID", "unknown"), {}),
        ("realm in lowercase", dict, {"realm": "tstdrv1234567_sb1"}),
        ("realm of another account", dict, {"realm": "TSTDRV7654321"}),
        ("timestamp six minutes old", dict, {"timestamp": -360}),
        ("timestamp six minutes ahead", dict, {"timestamp": 360}),
    ],
)
def test_bad_credentials_are_refused_with_invalid_login(
    sandbox: SandboxServer,
    case: str,
    credentials: Callable[[dict[str, str]], dict[str, str]],
    signing: dict[str, Any],
) -> None:
    if "timestamp" in signing:
        signing = {"timestamp": int(time.time()) + signing["timestamp"]}
    with SignedClient(sandbox.base_url, credentials(sandbox.credentials)) as client:
        response = client.request("GET", f"{USAGE}/eid:UR-ANY", **signing)

    assert response.status_code == 401, case
    assert error_codes(response) == ["INVALID_LOGIN"]


def test_a_timestamp_within_five_minutes_is_accepted(client: SignedClient) -> None:
    response = client.request("GET", f"{USAGE}/eid:UR-ANY", timestamp=int(time.time()) - 240)

    assert response.status_code == 404


def test_request_without_authorization_is_refused(sandbox: SandboxServer) -> None:
    response = httpx.get(f"{sandbox.base_url}{USAGE}/1", trust_env=False)

    assert response.status_code == 401
    assert error_codes(response) == ["INVALID_LOGIN"]


def test_reused_nonce_is_refused(client: SignedClient) -> None:
    nonce = uuid.uuid4().hex
    first = client.request("PUT", f"{USAGE}/eid:UR-N-1", json=usage_body("UR-N-1"), nonce=nonce)
    again = client.request("PUT", f"{USAGE}/eid:UR-N-2", json=usage_body("UR-N-2"), nonce=nonce)

    assert first.status_code == 204
    assert again.status_code == 401
    assert error_codes(again) == ["INVALID_LOGIN"]
    assert client.request("GET", f"{USAGE}/eid:UR-N-2").status_code == 404


def test_signature_covers_the_query_string(sandbox: SandboxServer, client: SignedClient) -> None:
    suiteql = f"{sandbox.base_url}/services/rest/query/v1/suiteql"
    authorization = client.authorization("POST", f"{suiteql}?limit=10&offset=0")

    response = httpx.post(
        f"{suiteql}?limit=20&offset=0",
        json={"q": "SELECT id FROM usage"},
        headers={"Authorization": authorization, "Prefer": "transient"},
        trust_env=False,
    )

    assert response.status_code == 401
    assert error_codes(response) == ["INVALID_LOGIN"]


def test_signature_covers_the_method(sandbox: SandboxServer, client: SignedClient) -> None:
    url = f"{sandbox.base_url}{USAGE}/eid:UR-ANY"
    authorization = client.authorization("GET", url)

    response = httpx.delete(url, headers={"Authorization": authorization}, trust_env=False)

    assert response.status_code == 401


def test_body_hash_when_signed_must_match_the_body(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    url = f"{sandbox.base_url}{USAGE}/eid:UR-HASHED"
    signed_body = '{"externalId": "UR-HASHED"}'
    credentials = sandbox.credentials
    signer = Client(
        credentials["NETSUITE_CONSUMER_KEY"],
        client_secret=credentials["NETSUITE_CONSUMER_SECRET"],
        resource_owner_key=credentials["NETSUITE_TOKEN_ID"],
        resource_owner_secret=credentials["NETSUITE_TOKEN_SECRET"],
        signature_method=SIGNATURE_HMAC_SHA256,
        realm=credentials["NETSUITE_ACCOUNT_ID"],
    )
    _, headers, _ = signer.sign(
        url, http_method="PUT", body=signed_body, headers={"Content-Type": "application/json"}
    )
    assert "oauth_body_hash" in headers["Authorization"]

    response = httpx.put(
        url,
        content=b'{"externalId": "UR-OTHER"}',
        headers={"Authorization": headers["Authorization"], "Content-Type": "application/json"},
        trust_env=False,
    )

    assert response.status_code == 401


# usage records


def test_upsert_twice_updates_the_one_record_in_place(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    first = put_usage(client, "UR-LINE1-20260501", usageQuantity=Decimal("10"))
    second = put_usage(client, "UR-LINE1-20260501", usageQuantity=Decimal("12.25"), memo="fixed")

    assert first.status_code == second.status_code == 204
    assert first.headers["location"] == second.headers["location"]
    rows = sandbox.records()
    assert len(rows) == 1
    assert rows[0].usage_quantity == Decimal("12.25")
    assert rows[0].memo == "fixed"
    stats = sandbox.stats()
    assert stats["records"] == 1
    assert stats["writes"] == 2


def test_update_leaves_optional_fields_that_were_not_sent(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    assert put_usage(client, "UR-KEEP-1", memo="kept").status_code == 204

    response = put_usage(client, "UR-KEEP-1", memo=..., subscriptionPlan=..., usageQuantity=7)

    assert response.status_code == 204
    [row] = sandbox.records()
    assert (row.memo, row.subscription_plan, row.usage_quantity) == ("kept", "PLAN-1", 7)


def test_post_creates_and_refuses_a_taken_external_id(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    created = client.request("POST", USAGE, json=usage_body("UR-POST-1"))
    duplicate = client.request("POST", USAGE, json=usage_body("UR-POST-1"))

    assert created.status_code == 204
    assert created.headers["location"].startswith(f"{sandbox.base_url}{USAGE}/")
    assert duplicate.status_code == 400
    [detail] = error_details(duplicate)
    assert detail["o:errorCode"] == "DUP_RCRD"
    assert detail["o:errorPath"] == "externalId"
    assert len(sandbox.records()) == 1


def test_post_without_external_id_creates_another_record_for_the_same_usage(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    assert put_usage(client, "UR-LINE1-20260501").status_code == 204

    response = client.request("POST", USAGE, json=usage_body(externalId=...))

    assert response.status_code == 204
    rows = sandbox.records()
    assert [row.external_id for row in rows] == ["UR-LINE1-20260501", None]
    assert rows[0].usage_subscription_line == rows[1].usage_subscription_line
    record = client.request("GET", f"{USAGE}/{internal_id(response)}").json()
    assert "externalId" not in record


def test_unknown_record_is_404_nonexistent_id(client: SignedClient) -> None:
    for path in (f"{USAGE}/999999", f"{USAGE}/eid:UR-NOWHERE"):
        response = client.request("GET", path)
        assert response.status_code == 404
        assert error_codes(response) == ["NONEXISTENT_ID"]


def test_delete_removes_the_record(sandbox: SandboxServer, client: SignedClient) -> None:
    created = put_usage(client, "UR-DEL-1")
    path = f"{USAGE}/{internal_id(created)}"

    deleted = client.request("DELETE", path)

    assert deleted.status_code == 204
    assert client.request("GET", path).status_code == 404
    assert client.request("DELETE", path).status_code == 404
    assert sandbox.records() == []


@pytest.mark.parametrize(
    ("case", "changes", "path"),
    [
        ("customer missing", {"customer": ...}, "customer"),
        ("subscription missing", {"usageSubscription": ...}, "usageSubscription"),
        ("subscription line missing", {"usageSubscriptionLine": ...}, "usageSubscriptionLine"),
        ("item missing", {"item": ...}, "item"),
        ("usage date missing", {"usageDate": ...}, "usageDate"),
        ("quantity missing", {"usageQuantity": ...}, "usageQuantity"),
        ("reference not an object", {"item": "ITEM-API-CALLS"}, "item"),
        ("reference with empty id", {"customer": {"id": ""}}, "customer"),
        ("reference with a number id", {"usageSubscription": {"id": 7}}, "usageSubscription"),
        ("reference without id", {"subscriptionPlan": {"name": "Gold"}}, "subscriptionPlan"),
        ("date that does not exist", {"usageDate": "2026-02-30"}, "usageDate"),
        ("date in another format", {"usageDate": "05/31/2026"}, "usageDate"),
        ("negative quantity", {"usageQuantity": Decimal("-1")}, "usageQuantity"),
        ("quantity as text", {"usageQuantity": "12"}, "usageQuantity"),
        ("quantity as boolean", {"usageQuantity": True}, "usageQuantity"),
        ("memo not text", {"memo": 12}, "memo"),
    ],
)
def test_invalid_fields_are_refused_naming_the_field(
    sandbox: SandboxServer,
    client: SignedClient,
    case: str,
    changes: dict[str, Any],
    path: str,
) -> None:
    response = put_usage(client, "UR-BAD-1", **changes)

    assert response.status_code == 400, case
    details = error_details(response)
    assert [detail["o:errorPath"] for detail in details] == [path], case
    assert details[0]["o:errorCode"] == "USER_ERROR"
    assert details[0]["detail"]
    assert sandbox.records() == []


def test_unknown_field_is_refused_when_property_names_are_validated(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    body = usage_body("UR-BAD-1", usagequantity=3)
    strict = client.request(
        "PUT",
        f"{USAGE}/eid:UR-BAD-1",
        json=body,
        headers={"X-NetSuite-PropertyNameValidation": "Error"},
    )
    assert strict.status_code == 400
    details = error_details(strict)
    assert [detail["o:errorPath"] for detail in details] == ["usagequantity"]
    assert details[0]["o:errorCode"] == "USER_ERROR"
    assert sandbox.records() == []

    lenient = client.request("PUT", f"{USAGE}/eid:UR-BAD-1", json=body)
    assert lenient.status_code == 204
    assert [row.external_id for row in sandbox.records()] == ["UR-BAD-1"]

    wrong = client.request(
        "PUT",
        f"{USAGE}/eid:UR-BAD-1",
        json=body,
        headers={"X-NetSuite-PropertyNameValidation": "Strict"},
    )
    assert wrong.status_code == 400
    assert error_codes(wrong) == ["INVALID_HEADER"]


def test_external_ids_match_without_regard_to_case(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    first = put_usage(client, "UR-Case-1")
    again = put_usage(client, "ur-case-1", usageQuantity=Decimal("9"))
    assert first.status_code == again.status_code == 204
    assert internal_id(first) == internal_id(again)
    rows = sandbox.records()
    assert [(row.external_id, row.usage_quantity) for row in rows] == [("UR-Case-1", Decimal("9"))]
    assert client.request("GET", f"{USAGE}/eid:UR-CASE-1").status_code == 200
    taken = client.request("POST", USAGE, json=usage_body("ur-CASE-1"))
    assert taken.status_code == 400
    assert error_codes(taken) == ["DUP_RCRD"]


@pytest.mark.parametrize("quantity", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_quantity_is_refused(client: SignedClient, quantity: bytes) -> None:
    body = (
        b'{"customer": {"id": "C"}, "usageSubscription": {"id": "S"}, '
        b'"usageSubscriptionLine": {"id": "L"}, "item": {"id": "I"}, '
        b'"usageDate": "2026-05-31", "usageQuantity": ' + quantity + b"}"
    )
    response = client.request(
        "PUT", f"{USAGE}/eid:UR-NAN", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert [d["o:errorPath"] for d in error_details(response)] == ["usageQuantity"]


@pytest.mark.parametrize(
    "external_id", ["UR LINE", "UR/LINE", "UR.LINE", "UR:LINE", "É-1", "X" * 256]
)
def test_external_id_takes_letters_digits_underscore_and_hyphen_only(
    client: SignedClient, external_id: str
) -> None:
    response = client.request("POST", USAGE, json=usage_body(external_id))

    assert response.status_code == 400
    assert [d["o:errorPath"] for d in error_details(response)] == ["externalId"]


def test_longest_external_id_is_accepted(client: SignedClient) -> None:
    external_id = "A_-9" * 63 + "Z_9"

    assert put_usage(client, external_id).status_code == 204


def test_body_external_id_must_equal_the_url(sandbox: SandboxServer, client: SignedClient) -> None:
    response = client.request("PUT", f"{USAGE}/eid:UR-URL", json=usage_body("UR-BODY"))

    assert response.status_code == 400
    assert [d["o:errorPath"] for d in error_details(response)] == ["externalId"]
    assert sandbox.records() == []


def test_body_that_is_not_json_is_refused(client: SignedClient) -> None:
    response = client.request(
        "PUT", f"{USAGE}/eid:UR-1", content=b"{not json", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 400
    assert error_codes(response) == ["USER_ERROR"]


def test_references_configured_invalid_are_invalid_key_or_ref(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(invalid_refs={"item": ["BAD-ITEM"], "customer": ["GONE"]})

    bad = put_usage(client, "UR-REF-1", item={"id": "BAD-ITEM"})
    good = put_usage(client, "UR-REF-2", item={"id": "GOOD-ITEM"})

    assert bad.status_code == 400
    [detail] = error_details(bad)
    assert (detail["o:errorCode"], detail["o:errorPath"]) == ("INVALID_KEY_OR_REF", "item")
    assert good.status_code == 204
    assert [row.external_id for row in sandbox.records()] == ["UR-REF-2"]


# asynchronous requests


def test_async_upsert_is_pending_then_succeeds_with_the_record_location(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(job_delay_ms=400)

    accepted = client.request(
        "PUT",
        f"{USAGE}/eid:UR-ASYNC-1",
        json=usage_body("UR-ASYNC-1"),
        headers={"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": str(uuid.uuid4())},
    )

    assert accepted.status_code == 202
    job_url = accepted.headers["location"]
    assert job_url.startswith("/services/rest/async/v1/job/")
    job_id = job_url.rsplit("/", 1)[1]
    result_path = task_result_path(client, job_url)
    task_id = result_path.split("/")[-2]
    assert task_id != job_id
    assert client.request("GET", f"{job_url}/task/{job_id}/result").status_code == 404
    early = client.request("GET", result_path)
    assert early.status_code == 404
    progress = wait_for_job(client, job_url)
    assert progress[0] == "pending"
    assert progress[-1] == "succeeded"
    job = client.request("GET", job_url).json()
    assert job["id"] == job_id
    assert job["links"] == [{"rel": "self", "href": sandbox.base_url + job_url}]
    task = client.request("GET", result_path.removesuffix("/result")).json()
    assert (task["id"], task["completed"]) == (task_id, True)
    result = client.request("GET", result_path)
    assert result.status_code == 204
    [row] = sandbox.records()
    assert result.headers["location"] == f"{sandbox.base_url}{USAGE}/{row.id}"
    assert row.external_id == "UR-ASYNC-1"


def test_async_job_is_seen_pending_when_only_latency_is_configured(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(latency_ms=150)

    accepted = client.request(
        "POST", USAGE, json=usage_body("UR-ASYNC-L"), headers={"Prefer": "respond-async"}
    )

    assert accepted.status_code == 202
    assert accepted.headers["preference-applied"] == "respond-async"
    progress = wait_for_job(client, accepted.headers["location"])
    assert progress[0] == "pending"
    assert progress[-1] == "succeeded"


def test_repeated_idempotency_key_is_refused_with_the_first_job_location(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": str(uuid.uuid4())}
    first = client.request(
        "PUT", f"{USAGE}/eid:UR-IDEM-1", json=usage_body("UR-IDEM-1"), headers=headers
    )
    again = client.request(
        "PUT", f"{USAGE}/eid:UR-IDEM-1", json=usage_body("UR-IDEM-1"), headers=headers
    )

    assert first.status_code == 202
    assert again.status_code == 400
    assert error_codes(again) == ["IDEMPOTENCY_ERROR"]
    assert again.headers["location"] == first.headers["location"]
    assert wait_for_job(client, first.headers["location"])[-1] == "succeeded"
    assert len(sandbox.records()) == 1


def test_async_create_with_invalid_body_fails_and_its_result_is_the_error(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    accepted = client.request(
        "POST",
        USAGE,
        json=usage_body("UR-ASYNC-BAD", usageQuantity=Decimal("-3")),
        headers={"Prefer": "respond-async"},
    )

    assert accepted.status_code == 202
    assert wait_for_job(client, accepted.headers["location"])[-1] == "failed"
    result = client.request("GET", task_result_path(client, accepted.headers["location"]))
    assert result.status_code == 400
    assert [d["o:errorPath"] for d in error_details(result)] == ["usageQuantity"]
    assert sandbox.records() == []


def test_idempotency_key_must_be_a_uuid(client: SignedClient) -> None:
    response = client.request(
        "PUT",
        f"{USAGE}/eid:UR-1",
        json=usage_body("UR-1"),
        headers={"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": "not-a-uuid"},
    )

    assert response.status_code == 400


def test_unknown_job_is_404(client: SignedClient) -> None:
    response = client.request("GET", "/services/rest/async/v1/job/424242")

    assert response.status_code == 404
    assert error_codes(response) == ["NONEXISTENT_ID"]


# SuiteQL


def test_suiteql_pages_with_limit_and_offset(sandbox: SandboxServer, client: SignedClient) -> None:
    for day in range(1, 6):
        assert put_usage(client, f"UR-PAGE-2026050{day}", usageDate=f"2026-05-0{day}").is_success
    query = "SELECT externalid FROM usage ORDER BY usagedate"

    pages = [client.suiteql(query, limit=2, offset=offset).json() for offset in (0, 2, 4)]

    assert [page["count"] for page in pages] == [2, 2, 1]
    assert [page["hasMore"] for page in pages] == [True, True, False]
    assert [page["offset"] for page in pages] == [0, 2, 4]
    assert {page["totalResults"] for page in pages} == {5}
    external_ids = [item["externalid"] for page in pages for item in page["items"]]
    assert external_ids == [f"UR-PAGE-2026050{day}" for day in range(1, 6)]
    assert all(item["links"] == [] for page in pages for item in page["items"])
    next_link = next(link for link in pages[0]["links"] if link["rel"] == "next")
    assert next_link["href"].endswith("/services/rest/query/v1/suiteql?limit=2&offset=2")
    assert not any(link["rel"] == "next" for link in pages[2]["links"])


def test_suiteql_answers_lowercase_columns_as_strings_without_empty_values(
    client: SignedClient,
) -> None:
    assert put_usage(client, "UR-Q-1", usageQuantity=Decimal("12.5"), memo=None).is_success
    assert put_usage(client, "UR-Q-2", usageQuantity=3).is_success

    response = client.suiteql(
        "SELECT ID, ExternalId, usageQuantity, memo, usagesubscriptionline, usagedate "
        "FROM usage WHERE usagequantity > 5"
    )

    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item["externalid"] == "UR-Q-1"
    assert item["usagequantity"] == "12.5"
    assert item["usagesubscriptionline"] == "LINE-1"
    assert item["usagedate"] == "5/31/2026"
    assert item["id"].isdigit()
    assert "memo" not in item


def test_suiteql_shows_dates_in_the_account_format_unless_to_char_formats_them(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    assert put_usage(client, "UR-D-1", usageDate="2026-03-07").is_success
    query = "SELECT usagedate, TO_CHAR(usagedate, 'YYYY-MM-DD') AS iso, status FROM usage"

    [default] = client.suiteql(query).json()["items"]
    sandbox.set_faults(date_format="DD.MM.YYYY")
    [german] = client.suiteql(query).json()["items"]

    assert (default["usagedate"], default["iso"], default["status"]) == (
        "3/7/2026",
        "2026-03-07",
        "ACTIVE",
    )
    assert (german["usagedate"], german["iso"]) == ("07.03.2026", "2026-03-07")


def test_suiteql_leaves_out_rows_past_the_ceiling_of_one_query(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    for number in range(1, 8):
        assert put_usage(client, f"UR-CAP-{number}").is_success
    sandbox.set_faults(suiteql_max_results=5)
    ids = [str(row.id) for row in sandbox.records()]

    first = client.suiteql("SELECT id FROM usage ORDER BY id", limit=2).json()
    last = client.suiteql("SELECT id FROM usage ORDER BY id", limit=2, offset=4).json()
    after = client.suiteql(f"SELECT id FROM usage WHERE id > {ids[4]} ORDER BY id").json()

    assert (first["totalResults"], first["hasMore"]) == (5, True)
    assert (last["count"], last["hasMore"]) == (1, False)
    assert [item["id"] for item in last["items"]] == [ids[4]]
    assert [item["id"] for item in after["items"]] == ids[5:]


def test_suiteql_default_limit_is_1000(client: SignedClient) -> None:
    response = client.request(
        "POST",
        "/services/rest/query/v1/suiteql",
        json={"q": "SELECT COUNT(*) AS n FROM usage"},
        headers={"Prefer": "transient"},
    )

    assert response.status_code == 200
    page = response.json()
    assert page["items"][0]["n"] == "0"
    assert any(link["href"].endswith("limit=1000&offset=0") for link in page["links"])


@pytest.mark.parametrize(
    "query",
    [
        "DELETE FROM usage",
        "UPDATE usage SET memo = 'x'",
        "INSERT INTO usage_record (id) VALUES (1)",
        "SELECT 1; DELETE FROM usage_record",
        "SELECT * FROM async_job",
        "SELECT * FROM usage_record",
        "SELECT * FROM oauth_nonce",
        "SELECT name FROM sqlite_master",
        "ATTACH DATABASE 'x.db' AS x",
        "PRAGMA query_only = off",
        "SELEC id FROM usage",
        "",
    ],
)
def test_suiteql_runs_nothing_but_one_select_on_usage(
    sandbox: SandboxServer, client: SignedClient, query: str
) -> None:
    assert put_usage(client, "UR-KEEP").is_success

    response = client.suiteql(query)

    assert response.status_code == 400
    assert error_codes(response) == ["INVALID_PARAMETER"]
    assert [row.external_id for row in sandbox.records()] == ["UR-KEEP"]


@pytest.mark.parametrize(
    "params", [{"limit": 1001}, {"limit": 0}, {"limit": "ten"}, {"limit": 10, "offset": 5}]
)
def test_suiteql_refuses_bad_paging(client: SignedClient, params: dict[str, Any]) -> None:
    response = client.request(
        "POST",
        "/services/rest/query/v1/suiteql",
        json={"q": "SELECT id FROM usage"},
        params=params,
        headers={"Prefer": "transient"},
    )

    assert response.status_code == 400


def test_suiteql_needs_prefer_transient(client: SignedClient) -> None:
    response = client.request(
        "POST", "/services/rest/query/v1/suiteql", json={"q": "SELECT id FROM usage"}
    )

    assert response.status_code == 400


# concurrency limit and faults


def _parallel(sandbox: SandboxServer, count: int, send: Callable[[SignedClient, int], Any]) -> list:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        with sandbox.client() as client:
            barrier.wait()
            try:
                results[index] = send(client, index)
            except httpx.HTTPError as error:
                results[index] = error

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_requests_over_the_concurrency_limit_get_429(sandbox: SandboxServer) -> None:
    sandbox.set_faults(concurrency_limit=2, latency_ms=400)

    responses = _parallel(sandbox, 6, lambda client, index: put_usage(client, f"UR-CONC-{index}"))

    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(204) == 2
    assert statuses.count(429) == 4
    for response in responses:
        if response.status_code == 429:
            assert error_codes(response) == ["CONCURRENCY_LIMIT_EXCEEDED"]
    stats = sandbox.stats()
    assert stats["max_in_flight"] == 2
    assert stats["by_status"] == {"204": 2, "429": 4}
    assert len(sandbox.records()) == 2


def test_requests_within_the_limit_all_succeed(sandbox: SandboxServer) -> None:
    sandbox.set_faults(concurrency_limit=4, latency_ms=300)

    responses = _parallel(sandbox, 4, lambda client, index: put_usage(client, f"UR-CONC-{index}"))

    assert [response.status_code for response in responses] == [204] * 4
    assert sandbox.stats()["max_in_flight"] == 4


def test_latency_holds_each_request(sandbox: SandboxServer, client: SignedClient) -> None:
    sandbox.set_faults(latency_ms=250)

    started = time.monotonic()
    response = client.request("GET", f"{USAGE}/eid:UR-SLOW")

    assert response.status_code == 404
    assert time.monotonic() - started >= 0.25


def test_error_rate_answers_503_before_any_write(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(error_rate=1.0)

    response = put_usage(client, "UR-503")

    assert response.status_code == 503
    assert error_details(response)
    assert sandbox.records() == []
    assert sandbox.stats()["writes"] == 0


def test_random_faults_repeat_with_the_same_seed(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    def statuses() -> list[int]:
        return [client.request("GET", f"{USAGE}/eid:UR-SEED").status_code for _ in range(16)]

    sandbox.set_faults(error_rate=0.5, seed=7)
    first = statuses()
    sandbox.set_faults(seed=7)
    second = statuses()

    assert first == second
    assert set(first) == {404, 503}


def test_burst_429_answers_the_next_record_requests_429(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(burst_429=2)

    statuses = [put_usage(client, "UR-BURST").status_code for _ in range(3)]

    assert statuses == [429, 429, 204]
    assert len(sandbox.records()) == 1


def test_drop_after_commit_writes_then_closes_without_response(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(drop_after_commit_rate=1.0)

    with pytest.raises(httpx.RemoteProtocolError):
        put_usage(client, "UR-DROP-1")

    assert [row.external_id for row in sandbox.records()] == ["UR-DROP-1"]
    sandbox.set_faults(drop_after_commit_rate=0.0)
    retried = put_usage(client, "UR-DROP-1")
    assert retried.status_code == 204
    assert len(sandbox.records()) == 1
    stats = sandbox.stats()
    assert stats["by_status"] == {"204": 1, "dropped": 1}
    assert stats["writes"] == 2


def test_drop_after_commit_spares_reads_and_failed_writes(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(drop_after_commit_rate=1.0)

    assert client.request("GET", f"{USAGE}/eid:UR-NONE").status_code == 404
    assert put_usage(client, "UR-BAD", usageQuantity=Decimal("-1")).status_code == 400


def test_schedule_scripts_the_next_record_requests_in_order(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    sandbox.set_faults(schedule=["500", "429", "drop", "timeout", "503", "ok"], timeout_seconds=0.4)

    first = put_usage(client, "UR-S-1")
    assert first.status_code == 500
    assert error_codes(first) == ["UNEXPECTED_ERROR"]
    second = put_usage(client, "UR-S-2")
    assert second.status_code == 429
    assert error_codes(second) == ["CONCURRENCY_LIMIT_EXCEEDED"]
    assert client.suiteql("SELECT id FROM usage").status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        put_usage(client, "UR-S-3")
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        put_usage(client, "UR-S-4")
    assert time.monotonic() - started >= 0.4
    assert put_usage(client, "UR-S-5").status_code == 503
    assert put_usage(client, "UR-S-6").status_code == 204
    assert put_usage(client, "UR-S-7").status_code == 204

    assert [row.external_id for row in sandbox.records()] == ["UR-S-3", "UR-S-6", "UR-S-7"]
    stats = sandbox.stats()
    assert stats["by_status"] == {
        "200": 1,
        "204": 2,
        "429": 1,
        "500": 1,
        "503": 1,
        "dropped": 2,
    }
    assert stats["requests"] == 8


def test_timeout_with_a_client_deadline_looks_like_a_timeout(sandbox: SandboxServer) -> None:
    sandbox.set_faults(schedule=["timeout"], timeout_seconds=1.0)

    with sandbox.client(timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        put_usage(impatient, "UR-T-1")

    time.sleep(1.0)
    assert sandbox.records() == []
    assert sandbox.stats()["by_status"] == {"dropped": 1}


def test_async_submission_dropped_after_commit_is_found_by_its_idempotency_key(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": str(uuid.uuid4())}
    sandbox.set_faults(schedule=["drop"])

    with pytest.raises(httpx.RemoteProtocolError):
        client.request("PUT", f"{USAGE}/eid:UR-AD-1", json=usage_body("UR-AD-1"), headers=headers)
    again = client.request(
        "PUT", f"{USAGE}/eid:UR-AD-1", json=usage_body("UR-AD-1"), headers=headers
    )

    assert again.status_code == 400
    assert error_codes(again) == ["IDEMPOTENCY_ERROR"]
    assert wait_for_job(client, again.headers["location"])[-1] == "succeeded"
    assert len(sandbox.records()) == 1


# control endpoints


def test_unknown_fault_setting_is_refused(sandbox: SandboxServer) -> None:
    response = httpx.post(
        f"{sandbox.base_url}/_sandbox/faults", json={"error_rte": 0.5}, trust_env=False
    )
    bad_step = httpx.post(
        f"{sandbox.base_url}/_sandbox/faults", json={"schedule": ["maybe"]}, trust_env=False
    )

    assert response.status_code == 400
    assert bad_step.status_code == 400


def test_reset_clears_records_jobs_keys_stats_and_faults(
    sandbox: SandboxServer, client: SignedClient
) -> None:
    key = str(uuid.uuid4())
    headers = {"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key}
    accepted = client.request("POST", USAGE, json=usage_body("UR-R-1"), headers=headers)
    wait_for_job(client, accepted.headers["location"])
    sandbox.set_faults(error_rate=1.0, schedule=["500"])

    sandbox.reset()

    assert sandbox.records() == []
    assert sandbox.stats()["requests"] == 0
    job_path = accepted.headers["location"].removeprefix(sandbox.base_url)
    assert client.request("GET", job_path).status_code == 404
    assert (
        client.request("POST", USAGE, json=usage_body("UR-R-1"), headers=headers).status_code == 202
    )
    settings = sandbox.set_faults()
    assert settings["error_rate"] == 0.0
    assert settings["schedule"] == []


def test_control_endpoints_are_not_under_services(sandbox: SandboxServer) -> None:
    response = httpx.get(f"{sandbox.base_url}/_sandbox/stats", trust_env=False)

    assert response.status_code == 200
    assert set(response.json()) >= {"requests", "by_status", "max_in_flight", "records", "writes"}


# durable state


def test_committed_writes_survive_kill_9_and_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "netsuite.sqlite"
    with SandboxServer(state_file, job_delay_ms=1500) as sandbox:
        port = sandbox.port
        nonce = uuid.uuid4().hex
        key = str(uuid.uuid4())
        with sandbox.client() as client:
            for day in (1, 2, 3):
                assert put_usage(client, f"UR-K-{day}").status_code == 204
            assert client.request("GET", f"{USAGE}/eid:UR-K-1", nonce=nonce).status_code == 200
            pending = client.request(
                "PUT",
                f"{USAGE}/eid:UR-K-4",
                json=usage_body("UR-K-4"),
                headers={"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key},
            )
            assert pending.status_code == 202

        sandbox.kill()
        assert not sandbox.is_running
        sandbox.restart()

        assert sandbox.port == port
        with sandbox.client() as client:
            assert client.request("GET", f"{USAGE}/eid:UR-K-2").status_code == 200
            reused = client.request("GET", f"{USAGE}/eid:UR-K-1", nonce=nonce)
            assert reused.status_code == 401
            repeated = client.request(
                "PUT",
                f"{USAGE}/eid:UR-K-4",
                json=usage_body("UR-K-4"),
                headers={"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key},
            )
            assert error_codes(repeated) == ["IDEMPOTENCY_ERROR"]
            assert wait_for_job(client, pending.headers["location"])[-1] == "succeeded"
        assert [row.external_id for row in sandbox.records()] == [
            "UR-K-1",
            "UR-K-2",
            "UR-K-3",
            "UR-K-4",
        ]
    assert state_file.exists()


# command line


def test_command_prints_the_ready_line_and_never_a_secret(tmp_path: Path) -> None:
    credentials = random_credentials("tstdrv999_sb1")
    env = {**os.environ, **credentials}
    process = subprocess.Popen(
        [sys.executable, "-m", "loader.sandbox", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().strip()
        assert ready.startswith(READY_PREFIX + "http://127.0.0.1:")
        base_url = ready.removeprefix(READY_PREFIX)
        assert int(base_url.rsplit(":", 1)[1]) > 0
        with SignedClient(base_url, {**credentials, "NETSUITE_ACCOUNT_ID": "TSTDRV999_SB1"}) as c:
            assert c.request("GET", f"{USAGE}/eid:UR-X").status_code == 404
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    output = ready + out + err
    assert "TSTDRV999_SB1" in err
    for name in ("NETSUITE_CONSUMER_SECRET", "NETSUITE_TOKEN_SECRET"):
        assert credentials[name] not in output


def test_command_without_credentials_names_the_defaults_but_prints_no_secret() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("NETSUITE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "loader.sandbox", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().strip()
        base_url = ready.removeprefix(READY_PREFIX)
        with SignedClient(base_url, dict(SANDBOX_DEFAULTS)) as client:
            assert put_usage(client, "UR-DEMO-1").status_code == 204
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert "NETSUITE_CONSUMER_SECRET" in err
    assert "NETSUITE_TOKEN_SECRET" in err
    for name in ("NETSUITE_CONSUMER_SECRET", "NETSUITE_TOKEN_SECRET"):
        assert SANDBOX_DEFAULTS[name] not in ready + out + err


def test_usage_loader_has_the_sandbox_command() -> None:
    from loader.cli import main

    result = CliRunner().invoke(main, ["sandbox", "--help"])

    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--state-file",
        "--account-id",
        "--concurrency-limit",
        "--latency-ms",
        "--error-rate",
        "--burst-429",
        "--drop-after-commit-rate",
        "--seed",
    ):
        assert option in result.output
