"""Period-close signals (`watermarks/*.csv`): how far each source has delivered everything.

Telemetry, Stripe and metering are complete through 2026-04-16, past the end instant of every
period that ends by 2026-04-15 (the latest is BA-004's 2026-03-15..2026-04-14, ending
2026-04-15T07:00Z in Los Angeles), so January to March close and the periods containing the
as-of date 2026-04-20 stay open. Salesforce lags at 2026-03-20: March of its accounts
(BA-005, BA-013, BA-017) stays open while February closes. Each source also reports a smaller
`complete_through` later, which must not reopen anything.
"""

from __future__ import annotations

WATERMARK_FILE = "watermarks.csv"
WATERMARK_HEADER = "source_system,complete_through,reported_at"

WATERMARK_ROWS: tuple[tuple[str, str, str], ...] = (
    ("telemetry", "2026-02-01T06:00:00Z", "2026-02-01T06:30:00Z"),
    ("stripe", "2026-02-01T12:00:00Z", "2026-02-01T12:10:00Z"),
    ("salesforce", "2026-02-05T00:00:00Z", "2026-02-05T02:00:00Z"),
    ("metering", "2026-02-01T04:00:00Z", "2026-02-01T04:20:00Z"),
    ("telemetry", "2026-03-01T06:00:00Z", "2026-03-01T06:30:00Z"),
    ("stripe", "2026-03-01T07:00:00-05:00", "2026-03-01T12:10:00Z"),
    ("salesforce", "2026-03-06T00:00:00Z", "2026-03-06T02:00:00Z"),
    ("metering", "2026-03-01T04:00:00Z", "2026-03-01T04:20:00Z"),
    ("salesforce", "2026-03-20T00:00:00Z", "2026-03-21T02:00:00Z"),
    ("telemetry", "2026-04-01T08:00:00Z", "2026-04-01T08:30:00Z"),
    ("stripe", "2026-04-01T12:00:00Z", "2026-04-01T12:10:00Z"),
    ("metering", "2026-04-01T06:00:00Z", "2026-04-01T06:20:00Z"),
    ("salesforce", "2026-03-18T00:00:00Z", "2026-04-10T02:00:00Z"),
    ("telemetry", "2026-04-16T06:00:00Z", "2026-04-16T06:30:00Z"),
    ("stripe", "2026-04-16T12:00:00Z", "2026-04-16T12:10:00Z"),
    ("metering", "2026-04-16T04:00:00Z", "2026-04-16T04:20:00Z"),
    ("telemetry", "2026-04-12T00:00:00Z", "2026-04-17T09:00:00Z"),
    ("stripe", "2026-04-10T00:00:00Z", "2026-04-18T09:00:00Z"),
    ("metering", "2026-04-14T00:00:00Z", "2026-04-19T09:00:00Z"),
)


def watermark_lines() -> list[str]:
    """The watermark file, header first, rows in the order they were reported."""
    ordered = sorted(WATERMARK_ROWS, key=lambda row: (row[2], row[0]))
    return [WATERMARK_HEADER, *(",".join(row) for row in ordered)]
