"""The usage record resource: validation as NetSuite applies it, create, upsert, get, delete."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from loader.sandbox import jsonio
from loader.sandbox.models import OPTIONAL_FIELDS, Job, UsageFields, UsageRow
from loader.sandbox.replies import ErrorDetail, NetSuiteError, Reply, json_reply
from loader.sandbox.stats import SandboxStats
from loader.sandbox.store import (
    DuplicateExternalIdError,
    JobCompletion,
    SandboxStore,
    VoidedRecordError,
)

USAGE_PATH = "/services/rest/record/v1/usage"

_T = TypeVar("_T")

EXTERNAL_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
REF_FIELDS = ("customer", "usageSubscription", "usageSubscriptionLine", "subscriptionPlan", "item")
REQUIRED_FIELDS = (
    "customer",
    "usageSubscription",
    "usageSubscriptionLine",
    "item",
    "usageDate",
    "usageQuantity",
)
KNOWN_FIELDS = ("externalId", *REF_FIELDS, "usageDate", "usageQuantity", "memo")


@dataclass(frozen=True)
class RecordKey:
    """A record named in a URL: `eid:<external id>` or its internal id."""

    internal_id: int | None = None
    external_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> RecordKey:
        if text.startswith("eid:"):
            return cls(external_id=text[len("eid:") :])
        if text.isdigit() and text.isascii():
            return cls(internal_id=int(text))
        raise _not_found()


def _user_error(field: str | None, detail: str) -> ErrorDetail:
    return ErrorDetail(detail=detail, error_code="USER_ERROR", error_path=field)


def _not_found() -> NetSuiteError:
    return NetSuiteError.of(
        404,
        "NONEXISTENT_ID",
        "The record instance does not exist. Provide a valid record instance ID.",
    )


def check_external_id(value: object) -> str:
    if not isinstance(value, str) or not EXTERNAL_ID_PATTERN.match(value):
        raise NetSuiteError(400, [_external_id_error()])
    return value


def _external_id_error() -> ErrorDetail:
    return _user_error(
        "externalId",
        "Invalid externalId: use 1 to 255 letters, digits, underscores or hyphens.",
    )


def parse_document(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or a 400 error."""
    try:
        document = jsonio.loads(body) if body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        detail = f"Invalid JSON in request body: {error}"
        raise NetSuiteError(400, [_user_error(None, detail)]) from None
    if not isinstance(document, dict):
        raise NetSuiteError(400, [_user_error(None, "The request body must be a JSON object.")])
    return document


def without_unknown_fields(body: bytes) -> bytes:
    """The body with the fields a usage record does not have left out, as NetSuite treats them
    unless `X-NetSuite-PropertyNameValidation: Error` asks for an error (a body that is not a
    JSON object is left as it is, for validation to refuse)."""
    try:
        document = jsonio.loads(body) if body.strip() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return body
    if not isinstance(document, dict) or all(name in KNOWN_FIELDS for name in document):
        return body
    return jsonio.dumps_bytes({k: v for k, v in document.items() if k in KNOWN_FIELDS})


def _ref_id(document: Mapping[str, Any], field: str, errors: list[ErrorDetail]) -> str | None:
    value = document.get(field)
    if value is None:
        return None
    if isinstance(value, dict):
        ref_id = value.get("id")
        if isinstance(ref_id, str) and ref_id.strip():
            return ref_id
    errors.append(
        _user_error(field, f"Invalid value for {field}: a reference is an object with an id.")
    )
    return None


def _usage_date(value: Any, errors: list[ErrorDetail]) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and _DATE_PATTERN.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(_user_error("usageDate", "Invalid value for usageDate: use YYYY-MM-DD."))
    return None


def _usage_quantity(value: Any, errors: list[ErrorDetail]) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        errors.append(
            _user_error("usageQuantity", "Invalid value for usageQuantity: not a number.")
        )
        return None
    quantity = Decimal(value)
    if not quantity.is_finite():
        errors.append(
            _user_error("usageQuantity", "Invalid value for usageQuantity: not a finite number.")
        )
        return None
    if quantity < 0:
        errors.append(
            _user_error("usageQuantity", "Invalid value for usageQuantity: must not be negative.")
        )
        return None
    return quantity


def validate_usage(
    document: Mapping[str, Any],
    *,
    url_external_id: str | None,
    invalid_refs: Mapping[str, frozenset[str]],
) -> UsageFields:
    """Check a usage record body; raise one 400 listing every field in error."""
    errors: list[ErrorDetail] = []
    for name in document:
        if name not in KNOWN_FIELDS:
            errors.append(_user_error(name, f"Invalid field name: {name}."))

    external_id = document.get("externalId")
    if external_id is not None:
        if not isinstance(external_id, str) or not EXTERNAL_ID_PATTERN.match(external_id):
            errors.append(_external_id_error())
        elif url_external_id is not None and external_id != url_external_id:
            errors.append(
                _user_error(
                    "externalId",
                    "The externalId in the body differs from the one in the request URL.",
                )
            )
    if url_external_id is not None:
        external_id = url_external_id

    for name in REQUIRED_FIELDS:
        if document.get(name) is None:
            errors.append(_user_error(name, f"Please enter value(s) for: {name}."))

    refs = {name: _ref_id(document, name, errors) for name in REF_FIELDS}
    usage_date = _usage_date(document.get("usageDate"), errors)
    quantity = _usage_quantity(document.get("usageQuantity"), errors)
    memo = document.get("memo")
    if memo is not None and not isinstance(memo, str):
        errors.append(_user_error("memo", "Invalid value for memo: not a string."))

    for name, ref_id in refs.items():
        if ref_id is not None and ref_id in invalid_refs.get(name, frozenset()):
            errors.append(
                ErrorDetail(
                    detail=f"Invalid {name} reference key {ref_id}.",
                    error_code="INVALID_KEY_OR_REF",
                    error_path=name,
                )
            )
    if errors:
        raise NetSuiteError(400, errors)
    return UsageFields(
        external_id=external_id,
        customer=_present(refs["customer"]),
        usage_subscription=_present(refs["usageSubscription"]),
        usage_subscription_line=_present(refs["usageSubscriptionLine"]),
        subscription_plan=refs["subscriptionPlan"],
        item=_present(refs["item"]),
        usage_date=_present(usage_date),
        usage_quantity=_present(quantity),
        memo=memo,
        provided=frozenset(name for name in OPTIONAL_FIELDS if name in document),
    )


def _present(value: _T | None) -> _T:
    if value is None:
        raise AssertionError("validated field is missing")
    return value


def usage_document(row: UsageRow, base_url: str) -> dict[str, Any]:
    """A usage record as `GET record/v1/usage/{id}` returns it; empty fields are left out."""
    document: dict[str, Any] = {
        "links": [{"rel": "self", "href": _location(base_url, row.id)}],
        "id": str(row.id),
        "externalId": row.external_id,
        "customer": {"id": row.customer},
        "usageSubscription": {"id": row.usage_subscription},
        "usageSubscriptionLine": {"id": row.usage_subscription_line},
        "subscriptionPlan": {"id": row.subscription_plan} if row.subscription_plan else None,
        "item": {"id": row.item},
        "usageDate": row.usage_date.isoformat(),
        "usageQuantity": row.usage_quantity,
        "memo": row.memo,
    }
    return {name: value for name, value in document.items() if value is not None}


class UsageService:
    """Create, upsert, read and delete usage records in the store."""

    def __init__(
        self,
        store: SandboxStore,
        stats: SandboxStats,
        invalid_refs: Callable[[], Mapping[str, frozenset[str]]],
    ) -> None:
        self._store = store
        self._stats = stats
        self._invalid_refs = invalid_refs

    def run_job(self, job: Job) -> Reply:
        """Run an accepted asynchronous write; a success finishes the job in the same commit."""
        completion = JobCompletion(job.id, lambda internal_id: _location(job.base_url, internal_id))
        try:
            if job.method == "PUT" and job.external_id is not None:
                return self.upsert(job.external_id, job.body, job.base_url, completion)
            return self.create(job.body, job.base_url, completion)
        except NetSuiteError as error:
            return error.reply()

    def upsert(
        self, external_id: str, body: bytes, base_url: str, job: JobCompletion | None = None
    ) -> Reply:
        check_external_id(external_id)
        fields = validate_usage(
            parse_document(body), url_external_id=external_id, invalid_refs=self._invalid_refs()
        )
        try:
            internal_id, _ = self._store.upsert_usage(fields, job)
        except VoidedRecordError as voided:
            raise NetSuiteError.of(
                400,
                "USER_ERROR",
                f"The usage record {voided.args[0]} is voided and cannot be edited.",
            ) from None
        self._stats.count_write()
        return self._written(internal_id, base_url)

    def create(self, body: bytes, base_url: str, job: JobCompletion | None = None) -> Reply:
        fields = validate_usage(
            parse_document(body), url_external_id=None, invalid_refs=self._invalid_refs()
        )
        try:
            internal_id = self._store.create_usage(fields, job)
        except DuplicateExternalIdError:
            raise NetSuiteError.of(
                400,
                "DUP_RCRD",
                "A record with this externalId already exists: "
                f"{fields.external_id}. Use a unique externalId or update the existing record.",
                "externalId",
            ) from None
        self._stats.count_write()
        return self._written(internal_id, base_url)

    def get(self, key: RecordKey, base_url: str) -> Reply:
        row = self._find(key)
        return json_reply(200, usage_document(row, base_url))

    def delete(self, key: RecordKey) -> Reply:
        row = self._find(key)
        if not self._store.delete_usage(row.id):
            raise _not_found()
        self._stats.count_write()
        return Reply(204, committed=True)

    def _find(self, key: RecordKey) -> UsageRow:
        if key.internal_id is not None:
            row = self._store.get_usage(key.internal_id)
        else:
            row = self._store.get_usage_by_external_id(key.external_id or "")
        if row is None:
            raise _not_found()
        return row

    @staticmethod
    def _written(internal_id: int, base_url: str) -> Reply:
        return Reply(204, (("Location", _location(base_url, internal_id)),), committed=True)


def _location(base_url: str, internal_id: int) -> str:
    return f"{base_url}{USAGE_PATH}/{internal_id}"
