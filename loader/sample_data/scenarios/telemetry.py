"""Hand-written telemetry records (NDJSON): boundaries, duplicates, late events and faults."""

from __future__ import annotations

import json
import uuid
from typing import Any

from loader.sample_data.bulk import REPLAY_FILE
from loader.sample_data.models import ExpectedOutcome, HandwrittenRecord, ScenarioKind
from loader.sample_data.scenarios._time import at, month_file

_NAMESPACE = uuid.UUID("6f1c3b52-8f5e-4c1e-9a57-2d0b8e4d1a10")


def event_id(slug: str) -> str:
    """The event id of a hand-written telemetry record (stable across seeds)."""
    return str(uuid.uuid5(_NAMESPACE, f"telemetry/{slug}"))


def _event(
    slug: str,
    account_key: Any,
    event_type: str,
    occurred_at: str,
    received_at: str,
    **fields: Any,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "event_id": event_id(slug),
        "account_key": account_key,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "received_at": received_at,
    }
    payload.update(fields)
    return payload


def _without(payload: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key != field}


def _record(
    kind: ScenarioKind,
    expected: ExpectedOutcome,
    payload: dict[str, Any] | str | bytes,
    *,
    position: str,
    note: str,
    record_key: str | None = None,
    customer_key: str | None = None,
    file_name: str | None = None,
) -> HandwrittenRecord:
    position_at = at(position)
    raw_line = None
    if isinstance(payload, dict):
        line = json.dumps(payload, separators=(",", ":"))
        record_key = record_key or payload.get("event_id")
        key = payload.get("account_key")
        customer_key = customer_key or (key if isinstance(key, str) else None)
    elif isinstance(payload, bytes):
        raw_line = payload
        line = payload.decode("utf-8", errors="replace")
    else:
        line = payload
    return HandwrittenRecord(
        source_system="telemetry",
        file_name=file_name or month_file("events-", position_at, ".jsonl"),
        position_at=position_at,
        kind=kind,
        expected=expected,
        record_key=record_key,
        customer_key=customer_key,
        note=note,
        line=line,
        raw_line=raw_line,
    )


def telemetry_records() -> list[HandwrittenRecord]:
    """Every hand-written telemetry record."""
    return [
        *_timezone_boundaries(),
        *_duplicates(),
        *_late_usage(),
        *_outside_active_lines(),
        *_faults(),
    ]


def _timezone_boundaries() -> list[HandwrittenRecord]:
    cases = [
        # BA-001, America/New_York (EST until 2026-03-08, EDT after), bill cycle day 1.
        (
            "tz-acme-1",
            "acme-prod",
            "api.request",
            "2026-02-28T23:59:00-05:00",
            "2026-03-01T04:59:04Z",
            "local 2026-02-28 23:59 EST: February period (plan B)",
        ),
        (
            "tz-acme-2",
            "acme-prod",
            "api.request",
            "2026-03-01T00:01:00-05:00",
            "2026-03-01T05:01:03Z",
            "local 2026-03-01 00:01 EST: March period",
        ),
        (
            "tz-acme-3",
            "acme-prod",
            "api.request",
            "2026-04-01T03:59:00Z",
            "2026-04-01T03:59:02Z",
            "UTC date is April 1, local 2026-03-31 23:59 EDT: March",
        ),
        (
            "tz-acme-4",
            "acme-prod",
            "api.request",
            "2026-04-01T04:01:00Z",
            "2026-04-01T04:01:02Z",
            "local 2026-04-01 00:01 EDT: April period",
        ),
        # BA-007, Asia/Tokyo (+09:00), bill cycle day 1.
        (
            "tz-sakura-1",
            "sakura-robotics",
            "api.request",
            "2026-02-28T14:59:30Z",
            "2026-02-28T14:59:33Z",
            "local 2026-02-28 23:59:30 JST: February period",
        ),
        (
            "tz-sakura-2",
            "sakura-robotics",
            "api.request",
            "2026-02-28T15:00:30Z",
            "2026-02-28T15:00:34Z",
            "UTC date is February 28, local 2026-03-01 00:00:30 JST: March",
        ),
        # BA-012, Europe/Berlin (CET until 2026-03-29), bill cycle day 15.
        (
            "tz-stark-1",
            "stark-industries-eu",
            "report.exported",
            "2026-03-14T22:59:00Z",
            "2026-03-14T22:59:05Z",
            "local 2026-03-14 23:59 CET: period 2026-02-15 to 2026-03-14",
        ),
        (
            "tz-stark-2",
            "stark-industries-eu",
            "report.exported",
            "2026-03-14T23:01:00Z",
            "2026-03-14T23:01:04Z",
            "UTC date is March 14, local 2026-03-15 00:01 CET: new period",
        ),
    ]
    records = []
    for slug, key, event_type, occurred, received, note in cases:
        fields: dict[str, Any] = (
            {"quantity": 100}
            if event_type == "api.request"
            else {"properties": {"user_id": "stark-industries-eu-u001", "format": "pdf"}}
        )
        payload = _event(slug, key, event_type, occurred, received, **fields)
        records.append(_record("timezone_boundary", "used", payload, position=received, note=note))
    return records


def _duplicates() -> list[HandwrittenRecord]:
    redelivered = _event(
        "dup-northwind",
        "northwind-logistics",
        "api.request",
        "2026-03-03T15:00:00Z",
        "2026-03-03T15:00:04Z",
        quantity=35,
    )
    replayed = _event(
        "dup-acme-replay",
        "acme-prod",
        "api.request",
        "2026-04-08T13:20:00Z",
        "2026-04-08T13:20:02Z",
        quantity=60,
    )
    first = _event(
        "conflict-acme",
        "acme-prod",
        "api.request",
        "2026-03-10T10:00:00Z",
        "2026-03-10T10:00:05Z",
        quantity=40,
    )
    login = _event(
        "conflict-initech",
        "initech",
        "user.login",
        "2026-03-18T16:00:00Z",
        "2026-03-18T16:00:02Z",
        properties={"user_id": "initech-u003"},
    )
    return [
        _record(
            "duplicate_delivery",
            "used",
            redelivered,
            position="2026-03-03T15:00:04Z",
            note="first of two identical deliveries",
        ),
        _record(
            "duplicate_delivery",
            "duplicate",
            redelivered,
            position="2026-03-03T15:00:04Z",
            note="identical redelivery in the same file",
        ),
        _record(
            "duplicate_delivery",
            "used",
            replayed,
            position="2026-04-08T13:20:02Z",
            note="original delivery of an event the collector replays",
        ),
        _record(
            "duplicate_delivery",
            "duplicate",
            replayed,
            position="2026-04-18T02:00:00Z",
            file_name=REPLAY_FILE,
            note="identical copy in the gzip replay file",
        ),
        _record(
            "conflicting_duplicate",
            "used",
            first,
            position="2026-03-10T10:00:05Z",
            note="received first: quantity 40 wins",
        ),
        _record(
            "conflicting_duplicate",
            "duplicate",
            {**first, "quantity": 400, "received_at": "2026-03-10T10:07:00Z"},
            position="2026-03-10T10:07:00Z",
            note="same event_id, quantity 400, received later: a conflict",
        ),
        _record(
            "conflicting_duplicate",
            "duplicate",
            {
                **login,
                "properties": {"user_id": "initech-u005"},
                "received_at": "2026-03-19T08:00:00Z",
            },
            position="2026-03-18T15:59:00Z",
            note="written before the original but received later: a conflict that loses",
        ),
        _record(
            "conflicting_duplicate",
            "used",
            login,
            position="2026-03-18T16:00:02Z",
            note="received first: user initech-u003 counts",
        ),
    ]


def _late_usage() -> list[HandwrittenRecord]:
    # BA-007 (SUB-1007) January was billed at 2026-02-03T01:00:00Z.
    late = [
        ("late-sakura-1", "2026-01-12T03:00:00+09:00", "2026-02-12T02:00:00Z", 1500),
        ("late-sakura-2", "2026-01-20T15:30:00+09:00", "2026-02-12T02:00:05Z", 2500),
        ("late-sakura-3", "2026-01-31T23:50:00+09:00", "2026-02-03T01:00:01Z", 800),
    ]
    records = [
        _record(
            "late_usage",
            "used",
            _event(slug, "sakura-robotics", "api.request", occurred, received, quantity=qty),
            position=received,
            note="January usage received after billed_at: adjustment in February",
        )
        for slug, occurred, received, qty in late
    ]
    records.append(
        _record(
            "billed_at_boundary",
            "used",
            _event(
                "ontime-sakura",
                "sakura-robotics",
                "api.request",
                "2026-01-31T22:00:00+09:00",
                "2026-02-03T01:00:00Z",
                quantity=700,
            ),
            position="2026-02-03T01:00:00Z",
            note="received exactly at billed_at: part of the billed January record, not late",
        )
    )
    # BA-009: SL-1009-1 ends 2026-01-31 (AMD-0006) and January was billed 2026-02-03T15:00Z.
    records.append(
        _record(
            "late_after_line_end",
            "quarantined:late_after_line_end",
            _event(
                "late-soylent",
                "soylent",
                "api.request",
                "2026-01-20T10:00:00-05:00",
                "2026-02-10T14:00:00Z",
                quantity=250,
            ),
            position="2026-02-10T14:00:00Z",
            note="late January usage of a terminated line: no unbilled active period remains",
        )
    )
    return records


def _outside_active_lines() -> list[HandwrittenRecord]:
    cases = [
        (
            "outside-soylent",
            "soylent",
            "api.request",
            "2026-02-10T14:00:00Z",
            {"quantity": 90},
            "after SL-1009-1 ended on 2026-01-31",
        ),
        (
            "outside-black-mesa",
            "black-mesa",
            "api.request",
            "2026-03-28T12:00:00Z",
            {"quantity": 75},
            "before SL-1020-1 starts on 2026-04-01",
        ),
        (
            "outside-cyberdyne",
            "cyberdyne",
            "jobs.concurrent",
            "2026-02-05T12:00:00Z",
            {"quantity": 12},
            "before SL-1014-1 starts on 2026-02-10",
        ),
        (
            "outside-acme-login",
            "acme-prod",
            "user.login",
            "2026-03-12T14:00:00Z",
            {"properties": {"user_id": "acme-prod-u001"}},
            "BA-001 has no active_users line",
        ),
    ]
    records = []
    for slug, key, event_type, occurred, fields, note in cases:
        received = occurred.replace(":00Z", ":03Z")
        payload = _event(slug, key, event_type, occurred, received, **fields)
        records.append(
            _record(
                "outside_active_line",
                "quarantined:no_active_line",
                payload,
                position=received,
                note=note,
            )
        )
    return records


def _faults() -> list[HandwrittenRecord]:
    base = _event(
        "fault-base",
        "acme-prod",
        "api.request",
        "2026-02-11T10:00:00Z",
        "2026-02-11T10:00:03Z",
        quantity=5,
    )
    truncated = json.dumps({**base, "event_id": event_id("broken-json")}, separators=(",", ":"))[
        :-1
    ]
    cut_replay = json.dumps(
        _event(
            "broken-replay",
            "northwind-logistics",
            "api.request",
            "2026-04-02T09:00:00Z",
            "2026-04-02T09:00:02Z",
            quantity=3,
        ),
        separators=(",", ":"),
    )[:96]

    def variant(slug: str, **changes: Any) -> dict[str, Any]:
        return {**base, "event_id": event_id(slug), **changes}

    # a client that writes Latin-1: "Renée" with é as the single byte 0xE9, which is not UTF-8
    latin1 = json.dumps(
        variant("not-utf8", properties={"user_id": "Renee"}), separators=(",", ":")
    ).encode("ascii")
    latin1 = latin1.replace(b'"Renee"', b'"Ren\xe9e"')

    return [
        _record(
            "malformed_line",
            "quarantined:malformed_record",
            truncated,
            position="2026-02-11T10:00:03Z",
            record_key=event_id("broken-json"),
            customer_key="acme-prod",
            note="JSON object cut before its closing brace",
        ),
        _record(
            "malformed_line",
            "quarantined:malformed_record",
            cut_replay,
            position="2026-04-18T02:00:01Z",
            file_name=REPLAY_FILE,
            record_key=event_id("broken-replay"),
            customer_key="northwind-logistics",
            note="line cut short in the gzip replay file",
        ),
        _record(
            "not_utf8",
            "quarantined:malformed_record",
            latin1,
            position="2026-02-11T10:04:00Z",
            record_key=event_id("not-utf8"),
            customer_key="acme-prod",
            note="a byte that is not UTF-8 (é written in Latin-1): shown as U+FFFD",
        ),
        _record(
            "wrong_type",
            "quarantined:malformed_record",
            variant("wrong-type-quantity", quantity="12"),
            position="2026-02-11T10:05:00Z",
            note="quantity is a string, not a number",
        ),
        _record(
            "wrong_type",
            "quarantined:malformed_record",
            variant(
                "wrong-type-properties",
                event_type="user.login",
                properties="initech-u001",
                account_key="initech",
            ),
            position="2026-02-11T10:06:00Z",
            note="properties is a string, not an object",
        ),
        _record(
            "wrong_type",
            "quarantined:malformed_record",
            variant("wrong-type-account", account_key=4101),
            position="2026-02-11T10:07:00Z",
            note="account_key is a number, not a string",
        ),
        _record(
            "missing_field",
            "quarantined:missing_field",
            _without(variant("missing-account"), "account_key"),
            position="2026-02-12T09:00:00Z",
            note="no account_key",
        ),
        _record(
            "missing_field",
            "quarantined:missing_field",
            _without(variant("missing-occurred"), "occurred_at"),
            position="2026-02-12T09:01:00Z",
            note="no occurred_at",
        ),
        _record(
            "missing_field",
            "quarantined:missing_field",
            _without(variant("missing-type"), "event_type"),
            position="2026-02-12T09:02:00Z",
            note="no event_type",
        ),
        _record(
            "missing_field",
            "quarantined:missing_field",
            _without(base, "event_id"),
            record_key=None,
            position="2026-02-12T09:03:00Z",
            note="no event_id",
        ),
        _record(
            "unknown_customer",
            "quarantined:unknown_customer",
            variant("unknown-ghost", account_key="ghost-tenant"),
            position="2026-02-13T08:00:00Z",
            note="account_key not in customer_mappings",
        ),
        _record(
            "unknown_customer",
            "quarantined:unknown_customer",
            variant("unknown-acme-eu", account_key="acme-prod-eu"),
            position="2026-03-02T08:00:00Z",
            note="near miss of a mapped key",
        ),
        _record(
            "unknown_metric",
            "quarantined:unknown_metric",
            variant("unknown-flag", event_type="feature.flag.evaluated"),
            position="2026-02-13T08:05:00Z",
            note="event_type not in metric_mappings",
        ),
        _record(
            "unknown_metric",
            "quarantined:unknown_metric",
            variant("unknown-v2", event_type="api.request.v2", account_key="northwind-logistics"),
            position="2026-03-02T08:05:00Z",
            note="event_type not in metric_mappings",
        ),
        _record(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            variant("negative-quantity", quantity=-25),
            position="2026-02-14T11:00:00Z",
            note="negative quantity",
        ),
        _record(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            variant("null-quantity", quantity=None),
            position="2026-02-14T11:01:00Z",
            note="quantity null (absent would mean 1)",
        ),
        _record(
            "invalid_timestamp",
            "quarantined:invalid_timestamp",
            variant("bad-date", occurred_at="2026-02-30T10:00:00Z"),
            position="2026-02-15T07:00:00Z",
            note="February 30 does not exist",
        ),
        _record(
            "invalid_timestamp",
            "quarantined:invalid_timestamp",
            variant("bad-text", occurred_at="last tuesday"),
            position="2026-02-15T07:01:00Z",
            note="not a timestamp",
        ),
        _record(
            "invalid_timestamp",
            "quarantined:invalid_timestamp",
            variant(
                "no-offset", occurred_at="2026-03-05T10:00:00", received_at="2026-03-05T10:00:02Z"
            ),
            position="2026-03-05T10:00:02Z",
            note="no offset or Z: the instant is ambiguous",
        ),
    ]
