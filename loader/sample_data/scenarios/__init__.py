"""Hand-written records: the faults and situations the demo must show, one list per source.

Each record states what the pipeline must make of it (`expected`, SPEC 2.1), so the catalogue
doubles as the answer key for the raw files.
"""

from __future__ import annotations

from loader.sample_data.models import HandwrittenRecord, LateCorrection
from loader.sample_data.scenarios.metering import metering_late_corrections, metering_records
from loader.sample_data.scenarios.salesforce import salesforce_records
from loader.sample_data.scenarios.stripe import stripe_records
from loader.sample_data.scenarios.telemetry import telemetry_records


def handwritten_records() -> tuple[HandwrittenRecord, ...]:
    """Every hand-written record of every source."""
    return (
        *telemetry_records(),
        *stripe_records(),
        *salesforce_records(),
        *metering_records(),
    )


def late_corrections() -> tuple[LateCorrection, ...]:
    """Corrections of ordinary metering windows that arrive after their period was billed."""
    return metering_late_corrections()


__all__ = ["handwritten_records", "late_corrections"]
