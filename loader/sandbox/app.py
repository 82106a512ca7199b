"""The sandbox's behaviour, independent of the HTTP transport: routing, authentication,
the concurrency limit, fault injection and the control endpoints."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from ipaddress import ip_address

from pydantic import ValidationError

from loader.sandbox.auth import AuthenticationError, OAuthVerifier
from loader.sandbox.config import FaultUpdate, SandboxConfig
from loader.sandbox.contract_book import (
    DATE_COLUMNS,
    TABLES,
    TIMESTAMP_COLUMNS,
    ContractBookError,
    ContractBookState,
    Edit,
    EditError,
)
from loader.sandbox.faults import FaultAction, FaultInjector
from loader.sandbox.jobs import ASYNC_JOB_PATH, JobRunner, job_path, job_url, task_id
from loader.sandbox.oauth2 import TOKEN_PATH, TokenIssuer
from loader.sandbox.records import USAGE_PATH, RecordKey, UsageService, without_unknown_fields
from loader.sandbox.replies import (
    Drop,
    ErrorDetail,
    NetSuiteError,
    Outcome,
    Reply,
    error_reply,
    json_reply,
)
from loader.sandbox.stats import SandboxStats
from loader.sandbox.store import SandboxStore
from loader.sandbox.suiteql import SUITEQL_PATH, SuiteQLService

REST_PREFIX = "/services/rest/"
CONTROL_PREFIX = "/_sandbox/"
WRITE_METHODS = frozenset({"PUT", "POST", "DELETE", "PATCH"})
IDEMPOTENCY_HEADER = "x-netsuite-idempotency-key"
PROPERTY_NAME_VALIDATION_HEADER = "x-netsuite-propertynamevalidation"
PROPERTY_NAME_VALIDATION = {"error": "Error", "warning": "Warning", "ignore": "Ignore"}

_FAULT_CODES = {
    401: "INVALID_LOGIN",
    404: "NONEXISTENT_ID",
    429: "CONCURRENCY_LIMIT_EXCEEDED",
}
_FAULT_DETAILS = {
    429: "Request limit exceeded. The concurrency limit for this account has been reached.",
    503: "The service is temporarily unavailable. Try again later.",
}
_INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingRequest:
    """One HTTP request as the transport received it.

    `target` is the request target exactly as sent (path and query), `path` its decoded path,
    `base_url` the scheme and authority the client addressed, `headers` keyed in lowercase.
    """

    method: str
    target: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    base_url: str
    client_host: str

    @property
    def url(self) -> str:
        return self.base_url + self.target

    def prefers(self, token: str) -> bool:
        """Whether the `Prefer` header names `token` (parameters after `;` ignored)."""
        preferences = self.headers.get("prefer", "").lower().split(",")
        return token in (preference.split(";")[0].strip() for preference in preferences)


def _property_name_validation(request: IncomingRequest) -> str:
    """`Error`, `Warning` (NetSuite's default: unknown fields are left out) or `Ignore`."""
    given = request.headers.get(PROPERTY_NAME_VALIDATION_HEADER)
    if given is None:
        return "Warning"
    mode = PROPERTY_NAME_VALIDATION.get(given.strip().lower())
    if mode is None:
        raise NetSuiteError.of(
            400,
            "INVALID_HEADER",
            "The value of X-NetSuite-PropertyNameValidation must be Error, Warning or Ignore.",
            "X-NetSuite-PropertyNameValidation",
        )
    return mode


def _method_not_allowed(method: str) -> NetSuiteError:
    return NetSuiteError.of(
        405, "INVALID_REQUEST", f"The HTTP method {method} is not allowed on this resource."
    )


def _no_such_resource() -> NetSuiteError:
    return NetSuiteError.of(404, "INVALID_URL", "The requested resource does not exist.")


def _permission_violation(permission: str) -> NetSuiteError:
    return NetSuiteError.of(
        403,
        "INSUFFICIENT_PERMISSION",
        f"Permission Violation: You need the '{permission}' permission to access this page. "
        "Please contact your account administrator.",
    )


def _fault_reply(action: FaultAction) -> Reply:
    status = action.status
    code = _FAULT_CODES.get(status, "UNEXPECTED_ERROR" if status >= 500 else "USER_ERROR")
    detail = _FAULT_DETAILS.get(status, f"The request failed with status {status}.")
    return error_reply(status, [ErrorDetail(detail=detail, error_code=code)])


class SandboxApp:
    """Answers every request of the sandbox; shared by all request threads."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = SandboxStore(config.state_file)
        self.stats = SandboxStats()
        self.faults = FaultInjector(config.faults)
        self.verifier = OAuthVerifier(
            config.credentials,
            self.store,
            max_clock_skew_seconds=config.max_clock_skew_seconds,
        )
        self.usage = UsageService(self.store, self.stats, self.faults.invalid_refs)
        self.suiteql = SuiteQLService(self.store, self.faults)
        self.jobs = JobRunner(self.store, self.usage, self.faults)
        self.tokens = TokenIssuer(config.oauth2) if config.oauth2 is not None else None
        self.contract_book = ContractBookState(
            config.contract_book,
            lambda rows: self.store.load_contract_book(
                TABLES, rows, DATE_COLUMNS, TIMESTAMP_COLUMNS
            ),
        )
        self.contract_book.rebuild()

    def start(self) -> None:
        self.jobs.start()

    def close(self) -> None:
        self.jobs.stop()
        self.store.close()

    # /services/rest

    def handle_rest(self, request: IncomingRequest) -> Outcome:
        """Authenticate, take a concurrency slot, wait the latency, then route."""
        self.stats.count_request()
        if request.path == TOKEN_PATH:
            return self._token_request(request)
        try:
            self._authenticate(request)
        except AuthenticationError as reason:
            log.warning("401 INVALID_LOGIN for %s %s: %s", request.method, request.path, reason)
            return NetSuiteError.of(401, "INVALID_LOGIN", _INVALID_LOGIN).reply()
        missing = self._missing_permission(request.path)
        if missing is not None:
            log.warning("403 INSUFFICIENT_PERMISSION for %s %s", request.method, request.path)
            return _permission_violation(missing).reply()
        if not self.stats.try_enter(self.faults.concurrency_limit()):
            return _fault_reply(FaultAction("status", status=429))
        try:
            latency = self.faults.latency_seconds()
            if latency:
                time.sleep(latency)
            return self._route(request)
        except NetSuiteError as error:
            return error.reply()
        finally:
            self.stats.leave()

    def _authenticate(self, request: IncomingRequest) -> None:
        """A Bearer access token of the client credentials flow, else OAuth 1.0 (TBA)."""
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            if self.tokens is None:
                raise AuthenticationError("OAuth 2.0 is not set up in this sandbox")
            if not self.tokens.accepts(header[7:].strip()):
                raise AuthenticationError("unknown or expired access token")
            return
        self.verifier.verify(request.method, request.url, request.headers, request.body)

    def _token_request(self, request: IncomingRequest) -> Reply:
        if request.method != "POST":
            raise _method_not_allowed(request.method)
        if self.tokens is None:
            return json_reply(400, {"error": "unauthorized_client"})
        return self.tokens.token(
            request.body, request.headers.get("content-type", ""), request.base_url + TOKEN_PATH
        )

    def _missing_permission(self, path: str) -> str | None:
        """The permission this request needs that the role lacks, if any."""
        missing = self.faults.missing_permissions()
        needed = ["REST Web Services"]
        if path == USAGE_PATH or path.startswith(USAGE_PATH + "/"):
            needed.append("Usage")
        if path == SUITEQL_PATH:
            needed.append("SuiteAnalytics Workbook")
        return next((permission for permission in needed if permission in missing), None)

    def _route(self, request: IncomingRequest) -> Outcome:
        path = request.path
        if path == USAGE_PATH or path.startswith(USAGE_PATH + "/"):
            return self._record_request(request)
        if path.startswith(ASYNC_JOB_PATH + "/"):
            return self._job_request(request)
        if path == SUITEQL_PATH:
            if request.method != "POST":
                raise _method_not_allowed(request.method)
            return self.suiteql.query(
                request.body, request.query, request.headers.get("prefer", ""), request.base_url
            )
        raise _no_such_resource()

    # record/v1/usage

    def _record_request(self, request: IncomingRequest) -> Outcome:
        if request.method in WRITE_METHODS:
            self.stats.count_write_request()
        action = self.faults.next_record_request()
        if action.kind == "status":
            return _fault_reply(action)
        if action.kind == "timeout":
            time.sleep(action.hold_seconds)
            return Drop()
        try:
            reply = self._record_operation(request)
        except NetSuiteError as error:
            reply = error.reply()
        if action.kind == "drop":
            return Drop()
        if reply.committed and request.method in WRITE_METHODS and self.faults.drop_after_commit():
            return Drop()
        return reply

    def _record_operation(self, request: IncomingRequest) -> Reply:
        if request.method in WRITE_METHODS and _property_name_validation(request) != "Error":
            request = replace(request, body=without_unknown_fields(request.body))
        method = request.method
        rest = request.path[len(USAGE_PATH) :]
        if not rest or rest == "/":
            if method != "POST":
                raise _method_not_allowed(method)
            if request.prefers("respond-async"):
                return self._submit(request, external_id=None)
            return self.usage.create(request.body, request.base_url)
        key_text = rest[1:]
        if "/" in key_text:
            raise _no_such_resource()
        key = RecordKey.parse(key_text)
        if method == "GET":
            return self.usage.get(key, request.base_url)
        if method == "DELETE":
            return self.usage.delete(key)
        if method == "PUT":
            if key.external_id is None:
                raise NetSuiteError.of(
                    405,
                    "INVALID_REQUEST",
                    "PUT upserts by external id: address the record as usage/eid:{externalId}.",
                )
            if request.prefers("respond-async"):
                return self._submit(request, external_id=key.external_id)
            return self.usage.upsert(key.external_id, request.body, request.base_url)
        raise _method_not_allowed(method)

    def _submit(self, request: IncomingRequest, external_id: str | None) -> Reply:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None:
            try:
                key = str(uuid.UUID(key.strip()))
            except ValueError:
                raise NetSuiteError.of(
                    400,
                    "INVALID_HEADER",
                    "The idempotency key must be a UUID.",
                    "X-NetSuite-Idempotency-Key",
                ) from None
        job_id, created = self.jobs.submit(
            method=request.method,
            external_id=external_id,
            body=request.body,
            base_url=request.base_url,
            idempotency_key=key,
        )
        location = ("Location", job_path(job_id))
        applied = ("Preference-Applied", "respond-async")
        if not created:
            raise NetSuiteError.of(
                400,
                "IDEMPOTENCY_ERROR",
                "A request with the same idempotency key is already submitted. See the "
                '"Location" header for a link to the previously submitted job.',
                headers=[applied, location],
            )
        return Reply(202, (applied, location), committed=True)

    # async/v1/job

    def _job_request(self, request: IncomingRequest) -> Reply:
        if request.method != "GET":
            raise _method_not_allowed(request.method)
        parts = request.path[len(ASYNC_JOB_PATH) + 1 :].split("/")
        if not parts[0].isdigit():
            raise _no_such_resource()
        job = self.store.get_job(int(parts[0]))
        if job is None:
            raise NetSuiteError.of(404, "NONEXISTENT_ID", f"The job {parts[0]} does not exist.")
        url = job_url(request.base_url, job.id)
        completed = job.progress != "pending"
        if len(parts) == 1:
            return json_reply(
                200,
                {
                    "links": [{"rel": "self", "href": url}],
                    "completed": completed,
                    "id": str(job.id),
                    "progress": job.progress,
                    "task": {"links": [{"rel": "self", "href": f"{url}/task"}]},
                },
            )
        task = f"{url}/task/{task_id(job.id)}"
        if parts[1:] == ["task"]:
            return json_reply(
                200,
                {
                    "links": [{"rel": "self", "href": f"{url}/task"}],
                    "count": 1,
                    "hasMore": False,
                    "items": [{"links": [{"rel": "self", "href": task}]}],
                    "offset": 0,
                    "totalResults": 1,
                },
            )
        if len(parts) in (3, 4) and parts[1] == "task" and parts[2] == str(task_id(job.id)):
            if len(parts) == 3:
                return json_reply(
                    200,
                    {
                        "links": [
                            {"rel": "related", "href": f"{task}/result"},
                            {"rel": "self", "href": task},
                        ],
                        "completed": completed,
                        "id": str(task_id(job.id)),
                        "progress": job.progress,
                    },
                )
            if parts[3] == "result":
                if job.result is None:
                    raise NetSuiteError.of(
                        404, "NONEXISTENT_ID", f"The job {job.id} has no result yet."
                    )
                return job.result.reply()
        raise _no_such_resource()

    # /_sandbox control endpoints

    def handle_control(self, request: IncomingRequest) -> Reply:
        if not _is_loopback(request.client_host):
            return json_reply(403, {"error": "the control endpoints answer loopback clients only"})
        route = (request.method, request.path)
        if route == ("GET", "/_sandbox/stats"):
            return json_reply(200, self.stats.snapshot(self.store.count_usage).model_dump())
        if route == ("GET", "/_sandbox/faults"):
            return json_reply(200, self.faults.settings().model_dump())
        if route == ("POST", "/_sandbox/faults"):
            try:
                change = FaultUpdate.model_validate(json.loads(request.body or b"{}"))
                settings = self.faults.update(change)
            except (ValueError, ValidationError) as error:
                return json_reply(400, {"error": str(error)})
            return json_reply(200, settings.model_dump())
        if route == ("POST", "/_sandbox/void"):
            try:
                external_id = str(json.loads(request.body or b"{}")["external_id"])
            except (ValueError, KeyError, TypeError):
                return json_reply(400, {"error": 'the body is {"external_id": "..."}'})
            if not self.store.void_usage(external_id):
                return json_reply(404, {"error": f"no usage record {external_id}"})
            return json_reply(200, {"voided": external_id})
        if request.path.startswith("/_sandbox/contract_book"):
            return self._contract_book_control(request)
        if route == ("POST", "/_sandbox/reset"):
            self.contract_book.reset()
            self.store.reset()
            self.stats.reset()
            self.faults.reset()
            return json_reply(200, {"reset": True})
        return json_reply(404, {"error": f"no control endpoint {request.method} {request.path}"})

    def _contract_book_control(self, request: IncomingRequest) -> Reply:
        """`GET /_sandbox/contract_book`: rows per table. `POST .../remove_change_order`
        `{"external_id"}`: the change order, its lines and the price interval it started are
        gone. `POST .../edit` `{"table", "record", "column", "value"}`: one column of one record
        (by internal id or External ID) set, as a user edits it; `value` null empties it."""
        route = (request.method, request.path.rstrip("/"))
        try:
            if route == ("GET", "/_sandbox/contract_book"):
                return json_reply(200, {"rows": self.contract_book.rebuild()})
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise EditError("the body is a JSON object")
            if route == ("POST", "/_sandbox/contract_book/remove_change_order"):
                rows = self.contract_book.remove_change_order(str(body["external_id"]))
                return json_reply(200, {"rows": rows})
            if route == ("POST", "/_sandbox/contract_book/edit"):
                value = body.get("value")
                edit = Edit(
                    table=str(body["table"]),
                    record=str(body["record"]),
                    column=str(body["column"]),
                    value=None if value is None else str(value),
                )
                return json_reply(200, {"rows": self.contract_book.edit(edit)})
        except (KeyError, ValueError) as error:
            status = 404 if isinstance(error, EditError) else 400
            return json_reply(status, {"error": str(error)})
        except ContractBookError as error:
            return json_reply(400, {"error": str(error)})
        return json_reply(404, {"error": f"no control endpoint {request.method} {request.path}"})


def _is_loopback(host: str) -> bool:
    try:
        return ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False
