"""Talks to NetSuite's REST API: signs every request, retries what is safe to retry.

Every attempt is signed anew (OAuth 1.0 token-based authentication, HMAC-SHA256, fresh nonce and
timestamp). 429, 5xx, timeouts and dropped connections back off with full jitter and try again:
an upsert by External ID is idempotent, so sending it twice is harmless. Any other 4xx is that
record's failure, carrying NetSuite's `o:errorDetails`.

What no retry can mend stops the run at once, naming the URL or the permission: NetSuite
unreachable before it ever answered (connection refused, no such host, TLS failure), a 401 before
any request with these credentials succeeded, and any 403. A 401 after earlier successes is
retried a few times (NetSuite answers INVALID_LOGIN spuriously under load). Connections failing
for `outage_seconds` without a single answer stop the run too (`NetSuiteUnavailable`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from loader.core.config import NetSuiteCredentials
from loader.core.netsuite_auth import TokenEndpointBusy, TokenRefused, authenticator_for

USAGE_PATH = "/services/rest/record/v1/usage"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class RetryPolicy(BaseModel):
    """How often and how patiently a request is tried."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = 8
    backoff_base: float = 0.25
    backoff_cap: float = 10.0
    timeout: float = 60.0
    poll_interval: float = 0.2
    poll_interval_cap: float = 2.0
    job_deadline: float = 600.0
    outage_seconds: float = 60.0
    spurious_401_attempts: int = 3


class NetSuiteError(Exception):
    """Base of everything the client raises."""


class AccessRefused(NetSuiteError):
    """What stops the run as a configuration or authentication error (exit 4)."""

    status = "access_refused"


class AuthenticationFailed(AccessRefused):
    """401 before any request with these credentials succeeded: wrong or revoked credentials,
    or a bad signature; or a 401 that stayed after a few retries."""

    status = "authentication_failed"


class PermissionDenied(AccessRefused):
    """403: the role lacks a permission. Never retried, never tried record by record."""

    status = "permission_denied"


class NetSuiteUnreachable(AccessRefused):
    """No answer at all before the first one: connection refused, no such host, TLS failure."""

    status = "netsuite_unreachable"


class NetSuiteUnavailable(NetSuiteError):
    """Connections failed for `outage_seconds` in a row in the middle of a run: the run stops."""


class RecordRejected(NetSuiteError):
    """A 4xx other than 401: NetSuite refused this record; the run goes on with the others."""

    def __init__(self, status: int, code: str, details: list[str]) -> None:
        self.status = status
        self.code = code
        self.details = details
        super().__init__(f"HTTP {status} {code}: " + "; ".join(details))


class RetriesExhausted(NetSuiteError):
    """Every attempt failed with a retryable fault; the request may or may not have landed."""


class UnexpectedAnswer(NetSuiteError):
    """NetSuite answered something this client does not understand."""


class Cancelled(NetSuiteError):
    """The run stopped (another request hit what stops it) before this request was sent."""


class UpsertResult(BaseModel):
    """A confirmed upsert: the record's internal id and what it took."""

    model_config = ConfigDict(frozen=True)

    internal_id: str | None
    attempts: int
    job_id: str | None = None


class NetSuiteClient:
    """A thread-safe client; at most `concurrency` connections, one request per worker."""

    def __init__(
        self,
        credentials: NetSuiteCredentials,
        *,
        concurrency: int = 4,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._credentials = credentials
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._cancelled = threading.Event()
        self._state = threading.Lock()
        self._answered = False
        self._authenticated = False
        self._last_answer_at = time.monotonic()
        self.suiteql_pages = 0
        self._http = httpx.Client(
            timeout=httpx.Timeout(self._policy.timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"Accept": "application/json", "User-Agent": "usage-loader"},
            follow_redirects=False,
        )
        self._auth = authenticator_for(credentials, self._http)

    def __enter__(self) -> NetSuiteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def cancel(self) -> None:
        """Stop sending: requests not yet started raise `Cancelled`."""
        self._cancelled.set()

    @property
    def base_url(self) -> str:
        return self._credentials.base_url

    def usage_url(self, external_id: str) -> str:
        return f"{self.base_url}{USAGE_PATH}/eid:{quote(external_id, safe='')}"

    def upsert_usage(self, external_id: str, body: bytes) -> UpsertResult:
        """`PUT usage/eid:{external_id}`; 204 + `Location` means NetSuite holds the record."""
        response, attempts = self._request(
            "PUT", self.usage_url(external_id), body=body, headers=_RECORD
        )
        _raise_for_rejection(response)
        return UpsertResult(internal_id=_location_id(response), attempts=attempts)

    def upsert_usage_async(
        self, external_id: str, body: bytes, idempotency_key: str
    ) -> UpsertResult:
        """The same upsert as an asynchronous job, polled to its end.

        A 400 `IDEMPOTENCY_ERROR` means NetSuite already knows this request: its `Location`
        names the earlier job, which is followed instead.
        """
        headers = {
            **_RECORD,
            "Prefer": "respond-async",
            "X-NetSuite-Idempotency-Key": idempotency_key,
        }
        response, attempts = self._request(
            "PUT", self.usage_url(external_id), body=body, headers=headers
        )
        known = response.status_code == 400 and _error_code(response) == "IDEMPOTENCY_ERROR"
        job_location = response.headers.get("Location")
        if not (response.status_code == 202 or known) or not job_location:
            _raise_for_rejection(response)
            if response.status_code == 202:
                raise UnexpectedAnswer("NetSuite accepted the job but named no Location")
            return UpsertResult(internal_id=_location_id(response), attempts=attempts)
        job_url = self._absolute(job_location)
        result, more = self._await_job(job_url)
        _raise_for_rejection(result)
        return UpsertResult(
            internal_id=_location_id(result),
            attempts=attempts + more,
            job_id=job_url.rstrip("/").rsplit("/", 1)[-1],
        )

    def suiteql(self, query: str, *, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every row of a SuiteQL query, page by page (`limit` and `offset`)."""
        offset = 0
        body = json.dumps({"q": query}).encode("utf-8")
        while True:
            url = f"{self.base_url}{SUITEQL_PATH}?" + urlencode(
                {"limit": page_size, "offset": offset}
            )
            response, _ = self._request(
                "POST", url, body=body, headers={**_JSON, "Prefer": "transient"}
            )
            self.suiteql_pages += 1
            _raise_for_rejection(response)
            page = _json(response)
            items = page.get("items") or []
            yield from items
            if not page.get("hasMore") or not items:
                return
            offset += len(items)

    def _absolute(self, location: str) -> str:
        return f"{self.base_url}{location}" if location.startswith("/") else location

    def _await_job(self, job_url: str) -> tuple[httpx.Response, int]:
        """Poll the job (with a bounded wait) to its end, find its task in the job's task list
        (the task id is not the job id) and read the task's result."""
        job_id = job_url.rstrip("/").rsplit("/", 1)[-1]
        deadline = time.monotonic() + self._policy.job_deadline
        interval = self._policy.poll_interval
        attempts = 0
        while True:
            response, used = self._request("GET", job_url)
            attempts += used
            _raise_for_rejection(response)
            job = _json(response)
            if job.get("completed"):
                break
            if time.monotonic() > deadline:
                raise RetriesExhausted(
                    f"job {job_id} did not complete in {self._policy.job_deadline:.0f} seconds"
                )
            self._sleep(interval)
            interval = min(interval * 2, self._policy.poll_interval_cap)
        tasks, used = self._request("GET", f"{job_url.rstrip('/')}/task")
        attempts += used
        _raise_for_rejection(tasks)
        task_url = _task_url(_json(tasks), job_id)
        result, used = self._request("GET", f"{self._absolute(task_url).rstrip('/')}/result")
        return result, attempts + used

    def _request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, int]:
        """One logical request: signed anew and retried until a final answer."""
        last_fault = ""
        refused_401 = 0
        attempt = 0
        while attempt < self._policy.max_attempts:
            attempt += 1
            if self._cancelled.is_set():
                raise Cancelled("the run stopped before this request")
            retry_after: float | None = None
            try:
                signed = {**(headers or {}), "Authorization": self._authorization(method, url)}
                response = self._http.request(method, url, content=body, headers=signed)
            except TokenEndpointBusy as error:
                self._answer_received()
                last_fault = str(error)
            except httpx.TimeoutException as error:
                self._transport_failed(url, error)
                last_fault = "timeout"
            except httpx.TransportError as error:
                self._transport_failed(url, error)
                last_fault = f"connection lost ({type(error).__name__})"
            else:
                self._answer_received()
                if response.status_code == 401:
                    self._auth.refused()
                    refused_401 += 1
                    if not self._authenticated or refused_401 > self._policy.spurious_401_attempts:
                        self._cancelled.set()
                        raise AuthenticationFailed(self._refusal_401(method, url, response))
                    # After successes with the same credentials: retried, not counted as attempts.
                    attempt -= 1
                    last_fault = "HTTP 401 INVALID_LOGIN"
                    self._sleep(self._backoff(refused_401, None))
                    continue
                if response.status_code == 403:
                    self._cancelled.set()
                    raise PermissionDenied(_refusal_403(method, url, response))
                self._authenticated = True
                if response.status_code not in RETRYABLE_STATUS:
                    return response, attempt
                last_fault = f"HTTP {response.status_code} {_error_code(response)}".strip()
                retry_after = _retry_after(response)
            if attempt < self._policy.max_attempts:
                self._sleep(self._backoff(attempt, retry_after))
        raise RetriesExhausted(
            f"gave up after {self._policy.max_attempts} attempts (last: {last_fault})"
        )

    def _answer_received(self) -> None:
        with self._state:
            self._answered = True
            self._last_answer_at = time.monotonic()

    def _transport_failed(self, url: str, error: httpx.TransportError) -> None:
        """Stop the run when NetSuite never answered, or has not answered for a whole outage."""
        with self._state:
            answered, silent_for = self._answered, time.monotonic() - self._last_answer_at
        if not answered and isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            self._cancelled.set()
            raise NetSuiteUnreachable(
                f"cannot reach NetSuite at {_origin(url)} ({_transport_reason(error)}): check "
                "NETSUITE_BASE_URL or NETSUITE_ACCOUNT_ID, the network and any proxy"
            ) from error
        if silent_for >= self._policy.outage_seconds:
            self._cancelled.set()
            raise NetSuiteUnavailable(
                f"no answer from NetSuite at {_origin(url)} for {silent_for:.0f} seconds "
                f"(last: {_transport_reason(error)}): the run stopped; run it again once "
                "NetSuite answers"
            ) from error

    def _refusal_401(self, method: str, url: str, response: httpx.Response) -> str:
        code = _error_code(response) or "INVALID_LOGIN"
        when = "kept refusing after earlier successes" if self._authenticated else "refused"
        return (
            f"NetSuite {when} the credentials (HTTP 401 {code}) on {method} {_path(url)} at "
            f"{_origin(url)}: check the NETSUITE_* authentication settings, the account id "
            "and that the integration and its token or certificate are enabled"
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self._policy.backoff_cap, self._policy.backoff_base * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._policy.backoff_cap))
        return delay

    def _authorization(self, method: str, url: str) -> str:
        try:
            return self._auth.authorization(method, url)
        except TokenRefused as error:
            self._cancelled.set()
            raise AuthenticationFailed(str(error)) from None


_JSON = {"Content-Type": "application/json"}
# A field name NetSuite does not know is an error, never silently dropped.
_RECORD = {**_JSON, "X-NetSuite-PropertyNameValidation": "Error"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    return urlsplit(url).path


def _transport_reason(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _refusal_403(method: str, url: str, response: httpx.Response) -> str:
    details = "; ".join(_error_details(response))
    code = _error_code(response) or "INSUFFICIENT_PERMISSION"
    return (
        f"NetSuite refused the role's permission (HTTP 403 {code}) on {method} {_path(url)} at "
        f"{_origin(url)}: {details}. Give the integration's role that permission and run again"
    )


def _task_url(tasks: dict[str, Any], job_id: str) -> str:
    """The one task of an upsert job, from the job's task list."""
    items = tasks.get("items") or []
    if len(items) != 1 or not isinstance(items[0], dict):
        raise UnexpectedAnswer(f"job {job_id} lists {len(items)} tasks; an upsert has one")
    for link in items[0].get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
            return str(link["href"])
    raise UnexpectedAnswer(f"the task of job {job_id} has no self link")


def _raise_for_rejection(response: httpx.Response) -> None:
    if response.is_success:
        return
    details = _error_details(response)
    raise RecordRejected(response.status_code, _error_code(response) or "ERROR", details)


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(response: httpx.Response) -> str:
    for detail in _error_body(response).get("o:errorDetails") or []:
        if isinstance(detail, dict) and detail.get("o:errorCode"):
            return str(detail["o:errorCode"])
    return ""


def _error_details(response: httpx.Response) -> list[str]:
    body = _error_body(response)
    details = [
        str(detail.get("detail"))
        for detail in body.get("o:errorDetails") or []
        if isinstance(detail, dict) and detail.get("detail")
    ]
    if details:
        return details
    title = body.get("title") or response.reason_phrase or "error"
    return [str(title)]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _location_id(response: httpx.Response) -> str | None:
    location = response.headers.get("Location")
    if not location:
        return None
    return location.rstrip("/").rsplit("/", 1)[-1] or None


def _json(response: httpx.Response) -> dict[str, Any]:
    """A JSON answer, numbers kept exact (quantities are never floats)."""
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except ValueError as error:
        raise UnexpectedAnswer(f"NetSuite answered with invalid JSON: {error}") from error
    if not isinstance(body, dict):
        raise UnexpectedAnswer("NetSuite answered with an unexpected JSON document")
    return body


Key = tuple[int, ...]


def keyset_rows(
    client: NetSuiteClient,
    query_after: Callable[[Key | None], str],
    key: Callable[[dict[str, Any]], Key],
    *,
    what: str,
    page_size: int = 1000,
) -> tuple[list[dict[str, Any]], int]:
    """Every row of a table read in keyset pages, and the number of queries it took.

    One query after another, each `WHERE key > last ORDER BY key ASC` (`query_after(None)` is the
    first), each read in pages of `page_size`, until a query returns nothing: NetSuite's ceiling
    of 100,000 rows for one query, past which it leaves rows out without a word, is never
    reached unnoticed. `key` reads a row's key (internal ids, numbers); keys that do not increase
    are an unexpected answer, never an endless loop.
    """
    rows: list[dict[str, Any]] = []
    last: Key | None = None
    queries = 0
    while True:
        batch = list(client.suiteql(query_after(last), page_size=page_size))
        queries += 1
        if not batch:
            return rows, queries
        try:
            keys = [key(row) for row in batch]
        except (KeyError, TypeError, ValueError):
            raise UnexpectedAnswer(f"SuiteQL answered {what} without numeric keys") from None
        if any(b <= a for a, b in zip(keys, keys[1:], strict=False)) or (
            last is not None and keys[0] <= last
        ):
            raise UnexpectedAnswer(f"SuiteQL answered {what} keys that are not increasing")
        rows.extend(batch)
        last = keys[-1]


def numeric_key(*columns: str) -> Callable[[dict[str, Any]], Key]:
    """The key of a row: the named columns (internal ids, as SuiteQL's strings) as numbers."""

    def key(row: dict[str, Any]) -> Key:
        lowered = {str(name).lower(): value for name, value in row.items()}
        values = [str(lowered[column]) for column in columns]
        if not all(value.isdigit() for value in values):
            raise ValueError(values)
        return tuple(int(value) for value in values)

    return key
