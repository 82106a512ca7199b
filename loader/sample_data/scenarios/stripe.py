"""Hand-written Stripe meter events (CSV): the approved invoice, re-exports and faults.

The approved invoice (BA-010, Vandelay Industries, March 2026)
-------------------------------------------------------------
BA-010 has one line, SL-1010-1 (metric `api_calls`, plan PP-API-PU-USD: per_unit, tier 1 unit
price 0.0035, flat 0.00, no minimum, prorate_tiers false), proration calendar_days, time zone
UTC, bill cycle day 1, started 2026-01-01, no amendments and no recurring line. Its only usage
is the Stripe events below (`api_request`, multiplier 1); nothing else in the demo touches it.
The period 2026-03-01..2026-03-31 is one full segment, so f = 1 and, with Decimal:

    quantity = 1,000,000 + 1,000,000 + 750,000 + 250,000 + 187,500 = 3,187,500
    amount   = 3,187,500 x 0.0035 = 11,156.2500  -> rounded to cents: 11,156.25 USD

The re-export of the 750,000 event (same identifier, later `created`) is a duplicate and does
not count. 11,156.25 >= 10,000 (approval_threshold_amount), so the period needs an approval;
`seeds/usage_approvals.csv` holds exactly 11156.25 for BA-010 / 2026-03-01. The other periods
stay under the threshold: January 400,000 -> 1,400.00; February 900,000 -> 3,150.00;
April 600,000 -> 2,100.00.

BA-011 (Pied Piper) uses the same plan with about 7 million calls a month (about 25,000 USD);
its March approval of 21000.00 is stale.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from loader.sample_data.models import ExpectedOutcome, HandwrittenRecord, ScenarioKind
from loader.sample_data.scenarios._time import month_file, unix

VANDELAY = "cus_Vd1yInd5tr8sPq"
GLOBEX = "cus_Qf3Gl0bexR7a2K"
PIED_PIPER = "cus_Pp7PiedP1perXz"
OSCORP = "cus_0sc0rpM9nT4wLe"

APPROVED_ACCOUNT = "BA-010"
APPROVED_PERIOD_START = "2026-03-01"
APPROVED_UNIT_PRICE = Decimal("0.0035")

# (identifier, occurred at, value): the whole usage of BA-010.
VANDELAY_EVENTS: tuple[tuple[str, str, int], ...] = (
    ("mev_vdl_20260109", "2026-01-09T12:00:00Z", 150_000),
    ("mev_vdl_20260123", "2026-01-23T12:00:00Z", 250_000),
    ("mev_vdl_20260206", "2026-02-06T12:00:00Z", 300_000),
    ("mev_vdl_20260213", "2026-02-13T12:00:00Z", 300_000),
    ("mev_vdl_20260220", "2026-02-20T12:00:00Z", 300_000),
    ("mev_vdl_20260302", "2026-03-02T12:00:00Z", 1_000_000),
    ("mev_vdl_20260309", "2026-03-09T12:00:00Z", 1_000_000),
    ("mev_vdl_20260316", "2026-03-16T12:00:00Z", 750_000),
    ("mev_vdl_20260323", "2026-03-23T12:00:00Z", 250_000),
    ("mev_vdl_20260331", "2026-03-31T23:30:00Z", 187_500),
    ("mev_vdl_20260406", "2026-04-06T12:00:00Z", 500_000),
    ("mev_vdl_20260413", "2026-04-13T12:00:00Z", 100_000),
)


def approved_invoice_total() -> Decimal:
    """The March 2026 invoice total of BA-010, computed the way SPEC 3.5 rates per_unit."""
    march = sum(value for _, occurred, value in VANDELAY_EVENTS if occurred.startswith("2026-03"))
    return (Decimal(march) * APPROVED_UNIT_PRICE).quantize(Decimal("0.01"))


def _row(
    identifier: str, event_name: str, timestamp: str, customer: str, value: str, created: str
) -> str:
    return ",".join((identifier, event_name, timestamp, customer, value, created))


def _record(
    kind: ScenarioKind,
    expected: ExpectedOutcome,
    line: str,
    *,
    created: int,
    record_key: str | None,
    customer_key: str | None,
    note: str,
) -> HandwrittenRecord:
    position_at = datetime.fromtimestamp(created, tz=UTC)
    return HandwrittenRecord(
        source_system="stripe",
        file_name=month_file("meter_events_", position_at, ".csv"),
        position_at=position_at,
        kind=kind,
        expected=expected,
        record_key=record_key,
        customer_key=customer_key,
        note=note,
        line=line,
    )


def _event(
    kind: ScenarioKind,
    expected: ExpectedOutcome,
    identifier: str,
    event_name: str,
    occurred: str,
    customer: str,
    value: str,
    *,
    lag: int = 120,
    note: str,
    timestamp_text: str | None = None,
) -> HandwrittenRecord:
    timestamp = unix(occurred)
    created = timestamp + lag
    line = _row(
        identifier,
        event_name,
        timestamp_text if timestamp_text is not None else str(timestamp),
        customer,
        value,
        str(created),
    )
    return _record(
        kind,
        expected,
        line,
        created=created,
        record_key=identifier or None,
        customer_key=customer or None,
        note=note,
    )


def stripe_records() -> list[HandwrittenRecord]:
    """Every hand-written Stripe record."""
    records = [
        _event(
            "approved_invoice_usage",
            "used",
            identifier,
            "api_request",
            occurred,
            VANDELAY,
            str(value),
            note="BA-010 usage behind the approved March invoice",
        )
        for identifier, occurred, value in VANDELAY_EVENTS
    ]
    records += [
        _event(
            "reexport",
            "duplicate",
            "mev_vdl_20260316",
            "api_request",
            "2026-03-16T12:00:00Z",
            VANDELAY,
            "750000",
            lag=2 * 86400 + 3600,
            note="re-export of a BA-010 event two days later: earliest created wins",
        ),
        _event(
            "reexport",
            "used",
            "mev_glx_reexported",
            "gpu_ms",
            "2026-02-18T08:00:00Z",
            GLOBEX,
            "12000",
            note="original export of an event exported again",
        ),
        _event(
            "reexport",
            "duplicate",
            "mev_glx_reexported",
            "gpu_ms",
            "2026-02-18T08:00:00Z",
            GLOBEX,
            "12000",
            lag=86400 + 120,
            note="the same identifier, created a day later",
        ),
        _event(
            "half_month_snap",
            "used",
            "mev_osc_snapped",
            "gpu_ms",
            "2026-01-15T15:00:00Z",
            OSCORP,
            "900000",
            note="before SL-1016-1 starts (2026-01-20) but inside its half_month segment, "
            "which snaps back to 2026-01-12",
        ),
        _event(
            "outside_active_line",
            "quarantined:no_active_line",
            "mev_osc_too_early",
            "gpu_ms",
            "2026-01-08T15:00:00Z",
            OSCORP,
            "900000",
            note="before the snapped start 2026-01-12 of SL-1016-1",
        ),
        _event(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "mev_bad_value_text",
            "gpu_ms",
            "2026-02-19T09:00:00Z",
            GLOBEX,
            "twelve",
            note="value is not a number",
        ),
        _event(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "mev_bad_value_nan",
            "gpu_ms",
            "2026-02-19T09:05:00Z",
            GLOBEX,
            "NaN",
            note="value is NaN",
        ),
        _event(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "mev_bad_value_negative",
            "api_request",
            "2026-03-04T16:00:00Z",
            PIED_PIPER,
            "-500",
            note="negative value",
        ),
        _event(
            "missing_field",
            "quarantined:missing_field",
            "mev_no_customer",
            "api_request",
            "2026-03-04T16:05:00Z",
            "",
            "1200",
            note="stripe_customer_id empty",
        ),
        _event(
            "missing_field",
            "quarantined:missing_field",
            "mev_no_event_name",
            "",
            "2026-03-04T16:06:00Z",
            GLOBEX,
            "1200",
            note="event_name empty",
        ),
        _event(
            "unknown_customer",
            "quarantined:unknown_customer",
            "mev_unknown_customer",
            "api_request",
            "2026-03-04T16:10:00Z",
            "cus_Zx9Gh0stCust01",
            "1200",
            note="stripe_customer_id not in customer_mappings",
        ),
        _event(
            "unknown_metric",
            "quarantined:unknown_metric",
            "mev_unknown_meter",
            "legacy_meter",
            "2026-03-04T16:15:00Z",
            GLOBEX,
            "40",
            note="event_name not in metric_mappings",
        ),
        _event(
            "invalid_timestamp",
            "quarantined:invalid_timestamp",
            "mev_iso_timestamp",
            "gpu_ms",
            "2026-03-05T10:00:00Z",
            GLOBEX,
            "3000",
            timestamp_text="2026-03-05T10:00:00Z",
            note="timestamp is ISO text, not unix seconds",
        ),
        _event(
            "malformed_line",
            "quarantined:malformed_record",
            "mev_split_value",
            "api_request",
            "2026-03-06T10:00:00Z",
            PIED_PIPER,
            "1,500",
            note="unquoted thousands separator: seven fields instead of six",
        ),
    ]
    return records
