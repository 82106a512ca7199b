"""Hand-written Salesforce `Usage_Entry__c` versions (CSV): late edits, deletions and faults.

A Salesforce export row is one version of an entry. When an `Id` appears again with a later
`LastModifiedDate`, that version is current and the earlier ones are superseded (counted as
duplicates); a current version with `IsDeleted = true` withdraws the entry.
"""

from __future__ import annotations

from loader.sample_data.models import ExpectedOutcome, HandwrittenRecord, ScenarioKind
from loader.sample_data.scenarios._time import at, month_file

UMBRELLA = "0015g00000UMBRLAAQ"
WAYNE = "0015g00000WAYNEAAQ"


def _stamp(text: str) -> str:
    return at(text).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _version(
    kind: ScenarioKind,
    expected: ExpectedOutcome,
    *,
    entry_id: str,
    account: str,
    metric: str,
    quantity: str,
    usage_date: str,
    deleted: str = "false",
    created: str,
    modified: str | None = None,
    note: str,
) -> HandwrittenRecord:
    modified = modified or created
    line = ",".join(
        (
            entry_id,
            account,
            metric,
            quantity,
            usage_date,
            deleted,
            _stamp(created),
            _stamp(modified),
        )
    )
    position_at = at(modified)
    return HandwrittenRecord(
        source_system="salesforce",
        file_name=month_file("Usage_Entry__c_", position_at, ".csv"),
        position_at=position_at,
        kind=kind,
        expected=expected,
        record_key=entry_id or None,
        customer_key=account or None,
        note=note,
        line=line,
    )


def salesforce_records() -> list[HandwrittenRecord]:
    """Every hand-written Salesforce record."""
    return [*_late_changes(), *_ordinary_changes(), *_faults()]


def _late_changes() -> list[HandwrittenRecord]:
    # BA-013 (SUB-1013): January billed 2026-02-03T15:00Z, February billed 2026-03-03T15:00Z.
    deleted = {
        "entry_id": "a0B5g00000LTDEL001",
        "account": WAYNE,
        "metric": "SMS_Messages",
        "quantity": "1500",
        "usage_date": "2026-01-14",
        "created": "2026-01-14T22:10:00Z",
    }
    edited = {
        "entry_id": "a0B5g00000LTEDT001",
        "account": WAYNE,
        "metric": "SMS_Messages",
        "usage_date": "2026-02-17",
        "created": "2026-02-17T23:00:00Z",
    }
    return [
        _version(
            "late_deletion",
            "duplicate",
            **deleted,
            note="January entry as billed; superseded by its deletion",
        ),
        _version(
            "late_deletion",
            "withdrawn",
            **deleted,
            deleted="true",
            modified="2026-02-20T16:00:00Z",
            note="deleted after January was billed: usage drops, a credit-memo candidate",
        ),
        _version(
            "late_edit",
            "duplicate",
            **edited,
            quantity="2000",
            note="February entry as billed; superseded by a later edit",
        ),
        _version(
            "late_edit",
            "used",
            **edited,
            quantity="4200",
            modified="2026-03-10T14:00:00Z",
            note="raised by 2,200 after February was billed: adjustment in March",
        ),
    ]


def _ordinary_changes() -> list[HandwrittenRecord]:
    edited = {
        "entry_id": "a0B5g00000EDIT0001",
        "account": UMBRELLA,
        "metric": "SMS_Messages",
        "usage_date": "2026-03-04",
        "created": "2026-03-04T21:00:00Z",
    }
    deleted = {
        "entry_id": "a0B5g00000DELE0001",
        "account": UMBRELLA,
        "metric": "SMS_Messages",
        "quantity": "2800",
        "usage_date": "2026-03-11",
        "created": "2026-03-11T21:30:00Z",
    }
    return [
        _version("edit", "duplicate", **edited, quantity="3100", note="first version"),
        _version(
            "edit",
            "used",
            **edited,
            quantity="3300",
            modified="2026-03-05T09:30:00Z",
            note="corrected the next morning: the latest LastModifiedDate is current",
        ),
        _version("deletion", "duplicate", **deleted, note="entered by mistake"),
        _version(
            "deletion",
            "withdrawn",
            **deleted,
            deleted="true",
            modified="2026-03-12T08:00:00Z",
            note="deleted: withdrawn, never billed",
        ),
    ]


def _faults() -> list[HandwrittenRecord]:
    def fault(
        kind: ScenarioKind, expected: ExpectedOutcome, slug: str, note: str, **changes: str
    ) -> HandwrittenRecord:
        fields = {
            "entry_id": f"a0B5g00000{slug}",
            "account": UMBRELLA,
            "metric": "SMS_Messages",
            "quantity": "120",
            "usage_date": "2026-02-11",
            "created": "2026-02-11T22:00:00Z",
        }
        fields.update(changes)
        return _version(kind, expected, note=note, **fields)

    short_row = HandwrittenRecord(
        source_system="salesforce",
        file_name="Usage_Entry__c_2026-02.csv",
        position_at=at("2026-02-11T22:05:00Z"),
        kind="malformed_line",
        expected="quarantined:malformed_record",
        record_key="a0B5g00000SHORTROW",
        customer_key=UMBRELLA,
        note="row with four of eight fields",
        line=f"a0B5g00000SHORTROW,{UMBRELLA},SMS_Messages,120",
    )
    return [
        short_row,
        fault(
            "wrong_type",
            "quarantined:malformed_record",
            "BADBOOL1",
            "IsDeleted is 'maybe'",
            deleted="maybe",
            created="2026-02-11T22:06:00Z",
        ),
        fault(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "BADQTY01",
            "Quantity__c is not a number",
            quantity="n/a",
            created="2026-02-11T22:07:00Z",
        ),
        fault(
            "invalid_quantity",
            "quarantined:invalid_quantity",
            "BADQTY02",
            "negative seat count",
            metric="Seats",
            quantity="-3",
            created="2026-02-11T22:08:00Z",
        ),
        fault(
            "invalid_timestamp",
            "quarantined:invalid_timestamp",
            "BADDATE1",
            "Usage_Date__c February 30",
            usage_date="2026-02-30",
            created="2026-02-11T22:09:00Z",
        ),
        fault(
            "invalid_timestamp",
            "quarantined:invalid_timestamp",
            "BADDATE2",
            "Usage_Date__c not YYYY-MM-DD",
            usage_date="03/05/2026",
            created="2026-03-05T22:00:00Z",
        ),
        fault(
            "missing_field",
            "quarantined:missing_field",
            "NOMETRIC",
            "Metric__c empty",
            metric="",
            created="2026-02-11T22:10:00Z",
        ),
        fault(
            "missing_field",
            "quarantined:missing_field",
            "NOACCNT1",
            "Account__c empty",
            account="",
            created="2026-02-11T22:11:00Z",
        ),
        fault(
            "unknown_customer",
            "quarantined:unknown_customer",
            "UNKNWNAC",
            "Account__c not in customer_mappings",
            account="0015g00000ZZGHSAAQ",
            created="2026-02-11T22:12:00Z",
        ),
        fault(
            "unknown_metric",
            "quarantined:unknown_metric",
            "UNKNWNMT",
            "Metric__c not in metric_mappings",
            account=WAYNE,
            metric="Training_Hours",
            created="2026-02-11T22:13:00Z",
        ),
    ]
