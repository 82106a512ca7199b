"""Redeliveries of records a raw folder already holds, for an appended day (`append.py`).

Picked by hash of their content, so the same folder always yields the same picks:
- telemetry: identical copies of delivered lines (at-least-once delivery);
- Stripe: re-exports of delivered meter events, created on the day (the earliest counts);
- Salesforce: a new version of a current entry, modified on the day (the latest counts);
- metering: a correction of a delivered window, exported on the day (the latest counts).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from loader.sample_data.contracts import local_midnight
from loader.sample_data.faults import FAULT_ORIGIN

# Sort sequence of redelivered rows: after every generated row of the same instant.
_SEQ = 9_000_000_000_000_000_000
# One redelivery per this many ordinary records of the day, by source.
_EVERY = {"telemetry": 200, "stripe": 400, "salesforce": 400, "metering": 1000}
# A line that is not UTF-8 is skipped (ignore_errors): it is never redelivered.
_TEXT = (
    "columns = {'line': 'VARCHAR'}, header = false, auto_detect = false, quote = '', escape = '', "
    "ignore_errors = true"
)
_SF_STAMP = "'%Y-%m-%dT%H:%M:%S.000Z'"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files(folder: Path, suffixes: tuple[str, ...]) -> str | None:
    """SQL list of the files of `folder` with one of `suffixes`, or None when there are none."""
    if not folder.is_dir():
        return None
    paths = sorted(
        str(path) for path in folder.iterdir() if path.is_file() and path.name.endswith(suffixes)
    )
    return "[" + ", ".join(map(_literal, paths)) + "]" if paths else None


def _all_varchar(*columns: str) -> str:
    return "{" + ", ".join(f"'{column}': 'VARCHAR'" for column in columns) + "}"


def stage_redeliveries(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    day: date,
    seed: int,
    events: int,
    names: dict[str, str],
) -> None:
    """Stage the redeliveries of `day` (files `names`) from the files in `out_dir`."""
    s = int(seed)
    day_lo = int(local_midnight(day, "UTC").timestamp())
    counts = {source: max(1, events // every) for source, every in _EVERY.items()}
    at = f"{day_lo} + (hash({{key}}, {s}, 'redelivered-at') % 86400)::bigint"
    telemetry = _files(out_dir / "telemetry", (".jsonl", ".jsonl.gz"))
    if telemetry is not None:
        con.execute(
            f"""
            insert into handwritten_lines
            select
                'telemetry', {_literal(names["telemetry"])}, {at.format(key="line")},
                {FAULT_ORIGIN}, {_SEQ} + row_number() over (order by h, line),
                'duplicate_delivery', line
            from (
                select * from (
                    select line, hash(line, {s}, 'redeliver') as h
                    from read_csv({telemetry}, {_TEXT}, delim = '\x1f')
                    where line is not null
                    order by h, line
                    limit {counts["telemetry"] * 4}
                )
                where json_valid(line) and json_type(line, '$.event_id') = 'VARCHAR'
                order by h, line
                limit {counts["telemetry"]}
            )
            """
        )
    stripe = _files(out_dir / "stripe", (".csv",))
    if stripe is not None:
        columns = ("identifier", "event_name", "timestamp", "stripe_customer_id", "value")
        con.execute(
            f"""
            insert into handwritten_lines
            select
                'stripe', {_literal(names["stripe"])}, created_epoch, {FAULT_ORIGIN},
                {_SEQ} + row_number() over (order by h, identifier, created),
                'reexport',
                concat_ws(',', {", ".join(f'"{c}"' for c in columns)}, created_epoch::varchar)
            from (
                select *, {at.format(key="identifier")} as created_epoch
                from (
                    select *, hash(identifier, created, {s}, 'reexport') as h
                    from read_csv(
                        {stripe}, header = true, auto_detect = false, ignore_errors = true,
                        columns = {_all_varchar(*columns, "created")}
                    )
                    where
                        {" and ".join(f'"{c}" is not null' for c in columns)}
                        and try_cast(value as double) >= 0
                        and try_cast("timestamp" as bigint) is not null
                        and try_cast(created as bigint) is not null
                )
                order by h, identifier, created
                limit {counts["stripe"]}
            )
            """
        )
    salesforce = _files(out_dir / "salesforce", (".csv",))
    if salesforce is not None:
        columns = (
            "Id",
            "Account__c",
            "Metric__c",
            "Quantity__c",
            "Usage_Date__c",
            "IsDeleted",
            "CreatedDate",
            "LastModifiedDate",
        )
        con.execute(
            f"""
            insert into handwritten_lines
            select
                'salesforce', {_literal(names["salesforce"])}, modified_epoch, {FAULT_ORIGIN},
                {_SEQ} + row_number() over (order by h, "Id"),
                'edit',
                concat_ws(
                    ',', "Id", "Account__c", "Metric__c",
                    greatest(
                        0, round(try_cast("Quantity__c" as double) * (0.5 + (h % 1000) / 1000.0))
                    )::bigint::varchar,
                    "Usage_Date__c", 'false', "CreatedDate",
                    strftime(to_timestamp(modified_epoch), {_SF_STAMP})
                )
            from (
                select *, {at.format(key='"Id"')} as modified_epoch
                from (
                    select *, hash("Id", {s}, 'new-version') as h
                    from read_csv(
                        {salesforce}, header = true, auto_detect = false, ignore_errors = true,
                        columns = {_all_varchar(*columns)}
                    )
                    where
                        {" and ".join(f'"{c}" is not null' for c in columns)}
                        and "IsDeleted" in ('true', 'false')
                        and isfinite(try_cast("Quantity__c" as double))
                        and try_cast("Quantity__c" as double) >= 0
                        and try_strptime("Usage_Date__c", '%Y-%m-%d') is not null
                        and try_cast("LastModifiedDate" as timestamptz) is not null
                    qualify row_number() over (
                        partition by "Id"
                        order by try_cast("LastModifiedDate" as timestamptz) desc,
                            "IsDeleted", "Quantity__c", "CreatedDate"
                    ) = 1
                )
                where "IsDeleted" = 'false'
                order by h, "Id"
                limit {counts["salesforce"]}
            )
            """
        )
    metering = _files(out_dir / "metering", (".parquet",))
    if metering is not None:
        con.execute(
            f"""
            insert into metering_bulk
            select
                {_literal(names["metering"])}, exported_epoch, {FAULT_ORIGIN},
                {_SEQ} + row_number() over (order by h, record_id), 'correction',
                record_id, meter_api_name, customer_id, window_start, window_end,
                round(value * (0.5 + (h % 1000) / 1000.0)), to_timestamp(exported_epoch)
            from (
                select *, {at.format(key="record_id")} as exported_epoch
                from (
                    select *, hash(record_id, {s}, 'correct') as h
                    from read_parquet({metering})
                    where
                        record_id is not null and customer_id is not null
                        and meter_api_name is not null and window_start is not null
                        and window_end is not null and exported_at is not null
                        and isfinite(value) and value >= 0
                    qualify row_number() over (
                        partition by record_id order by exported_at desc, value
                    ) = 1
                )
                order by h, record_id
                limit {counts["metering"]}
            )
            """
        )
