"""Hand-written metering windows (Parquet): invalid values, unknown keys and a late correction."""

from __future__ import annotations

from datetime import timedelta

from loader.sample_data.models import (
    ExpectedOutcome,
    HandwrittenRecord,
    LateCorrection,
    MeteringRow,
    ScenarioKind,
)
from loader.sample_data.scenarios._time import at, month_file

BRANDT = "cust_brandt_eu"
HOOLI = "cust_hooli"
TYRELL = "cust_tyrell"


def metering_late_corrections() -> tuple[LateCorrection, ...]:
    """BA-006 (SUB-1006) January was billed at 2026-02-04T09:00:00Z.

    On 2026-02-15 the platform re-exports one January egress window of Brandt at 40% of its
    value: January usage drops after billing, so the period becomes a credit-memo candidate.
    """
    return (
        LateCorrection(
            customer_key=BRANDT,
            source_metric="egress_mb",
            not_before=at("2026-01-20T09:00:00Z"),
            exported_at=at("2026-02-15T08:00:00Z"),
            factor=0.4,
        ),
    )


def _window(
    kind: ScenarioKind,
    expected: ExpectedOutcome,
    record_id: str,
    meter: str | None,
    customer: str | None,
    start: str | None,
    value: float | None,
    *,
    note: str,
    exported: str | None = None,
) -> HandwrittenRecord:
    window_start = at(start) if start else None
    window_end = window_start + timedelta(hours=1) if window_start else None
    exported_at = at(exported) if exported else window_end + timedelta(minutes=4)
    row = MeteringRow(
        record_id=record_id,
        meter_api_name=meter,
        customer_id=customer,
        window_start=window_start,
        window_end=window_end,
        value=value,
        exported_at=exported_at,
    )
    return HandwrittenRecord(
        source_system="metering",
        file_name=month_file("usage_windows_", exported_at, ".parquet"),
        position_at=exported_at,
        kind=kind,
        expected=expected,
        record_key=record_id,
        customer_key=customer,
        note=note,
        row=row,
    )


def metering_records() -> list[HandwrittenRecord]:
    """Every hand-written metering record."""
    return [
        _window(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "mr_fault_nan_value",
            "egress_mb",
            HOOLI,
            "2026-02-10T05:00:00Z",
            float("nan"),
            note="value NaN",
        ),
        _window(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "mr_fault_negative",
            "storage_bytes",
            TYRELL,
            "2026-03-02T11:00:00Z",
            -1.0,
            note="value negative",
        ),
        _window(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "mr_fault_infinite",
            "egress_mb",
            BRANDT,
            "2026-03-09T14:00:00Z",
            float("inf"),
            note="value infinite",
        ),
        _window(
            "unknown_customer",
            "quarantined:unknown_customer",
            "mr_fault_unknown_cust",
            "egress_mb",
            "cust_unknown_zeta",
            "2026-03-09T15:00:00Z",
            5120.0,
            note="customer_id not in customer_mappings",
        ),
        _window(
            "unknown_metric",
            "quarantined:unknown_metric",
            "mr_fault_unknown_meter",
            "gpu_hours",
            HOOLI,
            "2026-03-09T16:00:00Z",
            3.0,
            note="meter_api_name not in metric_mappings",
        ),
        _window(
            "missing_field",
            "quarantined:missing_field",
            "mr_fault_no_customer",
            "egress_mb",
            None,
            "2026-03-09T17:00:00Z",
            2048.0,
            note="customer_id null",
        ),
        _window(
            "missing_field",
            "quarantined:missing_field",
            "mr_fault_no_window",
            "egress_mb",
            HOOLI,
            None,
            2048.0,
            exported="2026-03-09T18:04:00Z",
            note="window_start and window_end null",
        ),
        _window(
            "outside_active_line",
            "quarantined:no_active_line",
            "mr_fault_after_end",
            "storage_bytes",
            TYRELL,
            "2026-04-05T17:00:00Z",
            4.4e11,
            note="after SL-1015-1 ended on 2026-03-31 (AMD-0008)",
        ),
    ]
