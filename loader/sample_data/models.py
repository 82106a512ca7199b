"""Typed shapes of the sample-data generator: its settings, usage profile, records and summary."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

SourceSystem = Literal["telemetry", "stripe", "salesforce", "metering"]
SOURCE_SYSTEMS: tuple[SourceSystem, ...] = ("telemetry", "stripe", "salesforce", "metering")

QuantityShape = Literal["batch", "absent", "gauge"]
PropertyShape = Literal["none", "endpoint", "user", "export", "cluster"]

# What the pipeline must make of a record (SPEC 2.1): used, duplicate, withdrawn, or quarantined
# with exactly one of the SPEC's reason codes.
ExpectedOutcome = Literal[
    "used",
    "duplicate",
    "withdrawn",
    "quarantined:malformed_record",
    "quarantined:missing_field",
    "quarantined:invalid_quantity",
    "quarantined:invalid_timestamp",
    "quarantined:unknown_customer",
    "quarantined:unknown_metric",
    "quarantined:no_active_line",
    "quarantined:late_after_line_end",
]

# What a hand-written record demonstrates. Bulk records add duplicate_delivery, reexport, edit,
# deletion and correction at scale; the counts of both are printed in the summary.
ScenarioKind = Literal[
    "approved_invoice_usage",
    "timezone_boundary",
    "half_month_snap",
    "billed_at_boundary",
    "duplicate_delivery",
    "conflicting_duplicate",
    "reexport",
    "edit",
    "deletion",
    "correction",
    "late_usage",
    "late_edit",
    "late_deletion",
    "late_correction",
    "late_after_line_end",
    "malformed_line",
    "not_utf8",
    "wrong_type",
    "missing_field",
    "unknown_customer",
    "unknown_metric",
    "invalid_quantity",
    "invalid_timestamp",
    "outside_active_line",
]


MAX_ACCOUNTS = 50_000


class _SampleSettings(BaseModel):
    """What every sample-data command asks for: where, how many records, which contract book.

    With `accounts`, the book is a generated one of that many billing accounts in `seeds_out`
    (derived from the demo book in `demo_seeds`); without, the demo book applies.
    """

    model_config = ConfigDict(frozen=True)

    out_dir: Path
    seed: int = Field(ge=0, le=2**31 - 1)
    events: int = Field(ge=1000)
    accounts: int | None = Field(default=None, ge=1, le=MAX_ACCOUNTS)
    seeds_out: Path | None = None
    demo_seeds: Path | None = None

    @model_validator(mode="after")
    def _book_has_a_folder(self) -> _SampleSettings:
        if (self.accounts is None) != (self.seeds_out is None):
            raise ValueError("a generated book (accounts) lives in seeds_out: give both")
        return self


class GenerationSettings(_SampleSettings):
    """What the command line asked for: the raw folders written anew, and with `accounts` the
    generated contract book written to `seeds_out`."""


class AppendSettings(_SampleSettings):
    """One more day of received records for an existing raw folder (`--append-day`).

    `events` counts the ordinary records of that day. With `accounts`, the day belongs to the
    generated book in `seeds_out` (which must hold that book); without, to the demo book.
    """

    day: date


class UsageFeed(BaseModel):
    """One stream of ordinary usage: a source customer key emitting one source metric.

    `daily_quantity` is the expected total per local day in source units; event quantities are
    drawn around it so that invoice totals stay of the same size whatever the event volume.
    """

    model_config = ConfigDict(frozen=True)

    feed_id: int
    source_system: SourceSystem
    customer_key: str
    source_metric: str
    billing_account_id: str
    subscription_line_id: str
    timezone: str
    first_date: date
    last_date: date
    weight: int = Field(gt=0)
    shape: QuantityShape
    daily_quantity: int = 0
    gauge_from: float = 0.0
    gauge_to: float = 0.0
    users: int = 0
    properties: PropertyShape = "none"
    local_offsets: bool = False

    @model_validator(mode="after")
    def _shape_is_complete(self) -> UsageFeed:
        if self.first_date > self.last_date:
            raise ValueError(f"feed {self.feed_id}: first_date after last_date")
        if self.shape == "batch" and self.daily_quantity <= 0:
            raise ValueError(f"feed {self.feed_id}: a batch feed needs a daily_quantity")
        if self.shape == "gauge" and self.gauge_to <= 0:
            raise ValueError(f"feed {self.feed_id}: a gauge feed needs gauge bounds")
        if self.properties == "user" and self.users <= 0:
            raise ValueError(f"feed {self.feed_id}: user properties need a user pool")
        return self

    @property
    def days(self) -> int:
        return (self.last_date - self.first_date).days + 1

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """Local midnight starting `first_date` and local midnight after `last_date`."""
        zone = ZoneInfo(self.timezone)
        return (
            datetime.combine(self.first_date, time(0), tzinfo=zone),
            datetime.combine(self.last_date + timedelta(days=1), time(0), tzinfo=zone),
        )

    @property
    def hours(self) -> int:
        """Hours between the bounds (a day with a daylight-saving switch has 23 or 25)."""
        lo, hi = self.bounds
        return (int(hi.timestamp()) - int(lo.timestamp())) // 3600


class MeteringRow(BaseModel):
    """One row of a metering Parquet export, typed as the file holds it."""

    model_config = ConfigDict(frozen=True)

    record_id: str | None
    meter_api_name: str | None
    customer_id: str | None
    window_start: datetime | None
    window_end: datetime | None
    value: float | None
    exported_at: datetime | None


class HandwrittenRecord(BaseModel):
    """A deliberate record: a fault, or a scenario the demo must show.

    Text sources carry the raw `line` exactly as it is written; metering carries a typed `row`.
    `position_at` orders the record within its file (files are written in order of arrival).
    A line whose bytes are not UTF-8 carries them in `raw_line`, written as they are; its `line`
    is then the text a reader shows for it, each byte that is not UTF-8 as U+FFFD.
    """

    model_config = ConfigDict(frozen=True)

    source_system: SourceSystem
    file_name: str
    position_at: datetime
    kind: ScenarioKind
    expected: ExpectedOutcome
    record_key: str | None
    customer_key: str | None
    note: str
    line: str | None = None
    raw_line: bytes | None = None
    row: MeteringRow | None = None

    @model_validator(mode="after")
    def _carries_one_payload(self) -> HandwrittenRecord:
        if (self.line is None) == (self.row is None):
            raise ValueError("a handwritten record carries either a text line or a metering row")
        if self.raw_line is not None:
            if self.raw_line.decode("utf-8", errors="replace") != self.line:
                raise ValueError("line is raw_line as read, bytes that are not UTF-8 as U+FFFD")
            if "\ufffd" not in (self.line or "") or b"\n" in self.raw_line:
                raise ValueError("raw_line is one line holding bytes that are not UTF-8")
            if self.file_name.endswith(".gz"):
                raise ValueError("a line that is not UTF-8 goes in a plain text file")
        if self.position_at.tzinfo is None:
            raise ValueError("position_at must be timezone-aware")
        return self


class LateCorrection(BaseModel):
    """A metering window corrected after its period was billed.

    The window is the first ordinary window of the feed starting at or after `not_before`; the
    correction multiplies its value by `factor` and is exported at `exported_at`.
    """

    model_config = ConfigDict(frozen=True)

    customer_key: str
    source_metric: str
    not_before: datetime
    exported_at: datetime
    factor: float = Field(gt=0)


class WrittenFile(BaseModel):
    """One file the generator wrote."""

    model_config = ConfigDict(frozen=True)

    source_system: SourceSystem | Literal["watermarks"]
    relative_path: str
    records: int


class BookSummary(BaseModel):
    """A generated contract book: where its seeds went and their rows per seed."""

    model_config = ConfigDict(frozen=True)

    seeds_dir: Path
    accounts: int
    rows: dict[str, int]


class GenerationSummary(BaseModel):
    """What was written: files, records per source, and the injected faults by kind.

    `bulk_faults` counts the extra copies the bulk adds (redeliveries, re-exports, edits,
    deletions, corrections); `handwritten` counts hand-written records by scenario kind (a pair
    such as an original and its conflicting copy counts both records); `faults_at_scale` counts
    the faulty records of a generated book's accounts by kind.
    """

    model_config = ConfigDict(frozen=True)

    out_dir: Path
    seed: int
    events_requested: int
    files: list[WrittenFile]
    removed_files: int
    bulk_faults: dict[str, int]
    handwritten: dict[str, int]
    faults_at_scale: dict[str, int] = Field(default_factory=dict)
    book: BookSummary | None = None

    def records_by_source(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for written in self.files:
            totals[written.source_system] = totals.get(written.source_system, 0) + written.records
        return totals


class AppendSummary(BaseModel):
    """What `--append-day` wrote: the new files and their records by kind (`usage` for the
    day's ordinary records)."""

    model_config = ConfigDict(frozen=True)

    out_dir: Path
    day: date
    files: list[WrittenFile]
    kinds: dict[str, int]
