"""Ordinary usage at volume, generated inside DuckDB with hash-based pseudo-random draws.

Every draw is `hash(seed, feed_id, seq, '<what>')`, so a seed always yields the same rows and
no Python code runs per event. The text sources are described by `<source>_query`: compact rows
(numbers only) with the columns `files.py` orders and filters by: `file_name`, `sort_epoch`
(arrival), `origin` (0 for bulk), `sort_seq` and `fault_kind`. Lines are rendered only while
they are written, by the `render_<source>` queries. Metering, small by nature (one row per
hour at most), is built as typed rows in `metering_bulk`.

Besides plain usage the bulk carries the everyday noise of each source: telemetry redeliveries
(identical lines, replayed in a gzip file), Stripe re-exports (same identifier, later `created`),
Salesforce edits and deletions (same `Id`, later `LastModifiedDate`) and metering corrections
(same `record_id`, later `exported_at`). Each such copy is tagged with its `fault_kind`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from loader.sample_data.models import LateCorrection, UsageFeed
from loader.sample_data.rows import insert_rows

REPLAY_FILE = "replay-2026-04-18.jsonl.gz"

_FEED_PLAN = """
create table feed_plan (
    feed_id integer,
    source_system varchar,
    timezone varchar,
    first_date date,
    lo_epoch bigint,
    hi_epoch bigint,
    days integer,
    hours integer,
    n bigint,
    shape varchar,
    mean_quantity double,
    gauge_from double,
    gauge_to double
)
"""

# Ordering key of bulk rows inside a file: arrival instant, then a stable sequence.
_SEQ = "(feed_id::bigint * 100000000000 + seq)"


def _monthly_file(epoch: str, prefix: str, suffix: str) -> str:
    """SQL naming the export file of a record arriving at `epoch` (one file per UTC month).

    Month bounds are compared as integers, which is much cheaper than formatting a timestamp
    per row; instants outside the demo's months fall back to formatting.
    """
    starts = [datetime(2025, 12, 1, tzinfo=UTC)]
    while starts[-1] < datetime(2026, 7, 1, tzinfo=UTC):
        last = starts[-1]
        starts.append(last.replace(year=last.year + last.month // 12, month=last.month % 12 + 1))
    branches = " ".join(
        f"when {epoch} < {int(end.timestamp())} then '{prefix}{start:%Y-%m}{suffix}'"
        for start, end in zip(starts, starts[1:], strict=False)
    )
    fallback = f"'{prefix}' || strftime(to_timestamp({epoch}), '%Y-%m') || '{suffix}'"
    first = int(starts[0].timestamp())
    return f"case when {epoch} < {first} then {fallback} {branches} else {fallback} end"


def _sql_list(values: list[str] | list[int] | list[bool]) -> str:
    items = []
    for value in values:
        if isinstance(value, bool):
            items.append("true" if value else "false")
        elif isinstance(value, int):
            items.append(str(value))
        else:
            items.append("'" + value.replace("'", "''") + "'")
    return "[" + ", ".join(items) + "]"


class FeedLookups:
    """Per-feed attributes as SQL list literals indexed by `feed_id` (1-based, no gaps).

    Rendering looks attributes up by index instead of joining, so the scan order of the
    sorted rows, and with it the bytes written, never depends on a join.
    """

    def __init__(self, feeds: tuple[UsageFeed, ...]) -> None:
        ordered = sorted(feeds, key=lambda feed: feed.feed_id)
        if [feed.feed_id for feed in ordered] != list(range(1, len(ordered) + 1)):
            raise ValueError("feed ids must run 1..n without gaps")
        self.customer_key = _sql_list([feed.customer_key for feed in ordered])
        self.source_metric = _sql_list([feed.source_metric for feed in ordered])
        self.timezone = _sql_list([feed.timezone for feed in ordered])
        self.local_offsets = _sql_list([feed.local_offsets for feed in ordered])
        self.properties = _sql_list([feed.properties for feed in ordered])
        self.users = _sql_list([max(1, feed.users) for feed in ordered])


def load_feed_plan(
    con: duckdb.DuckDBPyConnection, feeds: tuple[UsageFeed, ...], counts: dict[int, int]
) -> None:
    """Store each feed with its time bounds (UTC epochs of its local days) and event count."""
    con.execute(_FEED_PLAN)
    rows = []
    for feed in feeds:
        lo, hi = feed.bounds
        n = counts[feed.feed_id]
        rows.append(
            (
                feed.feed_id,
                feed.source_system,
                feed.timezone,
                feed.first_date,
                int(lo.timestamp()),
                int(hi.timestamp()),
                feed.days,
                feed.hours,
                n,
                feed.shape,
                feed.daily_quantity * feed.days / n,
                feed.gauge_from,
                feed.gauge_to,
            )
        )
    insert_rows(con, "feed_plan", rows)


def telemetry_query(seed: int) -> str:
    """Telemetry events, one file per UTC month received; 0.5% replayed in the gzip file."""
    s = int(seed)
    return f"""
        with events as (
            select p.*, r.seq
            from feed_plan as p, range(p.n) as r(seq)
            where p.source_system = 'telemetry'
        ),

        drawn as (
            select
                feed_id,
                seq,
                shape,
                mean_quantity,
                gauge_from,
                gauge_to,
                lo_epoch,
                hi_epoch,
                lo_epoch + (hash({s}, feed_id, seq, 'at') % (hi_epoch - lo_epoch))::bigint
                    as occurred_epoch,
                1 + (hash({s}, feed_id, seq, 'lag') % 600)::bigint as lag_seconds,
                (hash({s}, feed_id, seq, 'quantity') % 1000000) / 1000000.0 as u_quantity,
                (hash({s}, feed_id, seq, 'property') % 1000000007)::bigint as h_property,
                hash({s}, feed_id, seq, 'redeliver') % 200 = 0 as is_redelivered
            from events
        ),

        valued as materialized (
            select
                feed_id,
                seq,
                occurred_epoch,
                occurred_epoch + lag_seconds as received_epoch,
                case shape
                    when 'batch'
                        then greatest(1, round(mean_quantity * (0.5 + u_quantity)))::bigint
                    when 'gauge'
                        then greatest(1, round(
                            (gauge_from + (gauge_to - gauge_from)
                                * (occurred_epoch - lo_epoch) / (hi_epoch - lo_epoch))
                            * (0.4 + 0.6 * u_quantity)
                        ))::bigint
                end as quantity,
                h_property,
                is_redelivered
            from drawn
        )

        select
            {_monthly_file("received_epoch", "events-", ".jsonl")} as file_name,
            received_epoch as sort_epoch,
            0 as origin,
            {_SEQ} as sort_seq,
            null::varchar as fault_kind,
            feed_id, seq, occurred_epoch, received_epoch, quantity, h_property
        from valued
        union all
        select
            '{REPLAY_FILE}', received_epoch, 0, {_SEQ}, 'duplicate_delivery',
            feed_id, seq, occurred_epoch, received_epoch, quantity, h_property
        from valued
        where is_redelivered
    """


def render_telemetry(seed: int, lookups: FeedLookups, rows: str, keep: str = "") -> str:
    """Query of the NDJSON lines of `rows` (a selection of sorted telemetry rows), in order.

    Hand-written rows carry their `line`; bulk lines are built with one `concat` per line, the
    event id digest and the local time computed once per row. `keep` (", col, ...") selects
    columns of `rows` next to the line.
    """
    s = int(seed)
    key = f"{lookups.customer_key}[feed_id]"
    user_id = f"{key}, '-u', lpad((1 + h_property % {lookups.users}[feed_id])::varchar, 3, '0')"
    stamp = "'%Y-%m-%dT%H:%M:%SZ'"
    return f"""
        select coalesce(line, concat(
            '{{"event_id":"', substr(digest, 1, 8), '-', substr(digest, 9, 4),
            '-4', substr(digest, 14, 3), '-', substr(digest, 17, 4), '-', substr(digest, 21, 12),
            '","account_key":"', {key},
            '","event_type":"', {lookups.source_metric}[feed_id],
            '","occurred_at":"', case
                when occurred_local is null
                    then strftime(to_timestamp(occurred_epoch), {stamp})
                else concat(
                    strftime(occurred_local, '%Y-%m-%dT%H:%M:%S'),
                    case when offset_minutes < 0 then '-' else '+' end,
                    lpad((abs(offset_minutes) // 60)::varchar, 2, '0'), ':',
                    lpad((abs(offset_minutes) % 60)::varchar, 2, '0')
                )
            end,
            '","received_at":"', strftime(to_timestamp(received_epoch), {stamp}), '"',
            case when quantity is not null then concat(',"quantity":', quantity::varchar) end,
            case {lookups.properties}[feed_id]
                when 'endpoint' then case
                    when (h_property // 4) % 2 = 1 then concat(
                        ',"properties":{{"endpoint":"/v1/',
                        ['query', 'ingest', 'export', 'search'][1 + h_property % 4], '"}}'
                    )
                end
                when 'user' then concat(',"properties":{{"user_id":"', {user_id}, '"}}')
                when 'export' then concat(
                    ',"properties":{{"user_id":"', {user_id}, '","format":"',
                    ['pdf', 'csv', 'xlsx'][1 + (h_property // 1000) % 3], '"}}'
                )
                when 'cluster' then concat(
                    ',"properties":{{"cluster":"',
                    ['batch-a', 'batch-b', 'gpu-1'][1 + h_property % 3], '"}}'
                )
            end,
            '}}'
        )){keep}
        from (
            select
                *,
                (epoch(occurred_local)::bigint - occurred_epoch) // 60 as offset_minutes
            from (
                select
                    *,
                    md5('{s}:telemetry:' || feed_id::varchar || ':' || seq::varchar) as digest,
                    case
                        when {lookups.local_offsets}[feed_id]
                            then timezone({lookups.timezone}[feed_id], to_timestamp(occurred_epoch))
                    end as occurred_local
                from ({rows})
            )
        )
    """


def stripe_query(seed: int) -> str:
    """Stripe meter events, one file per UTC month created; 0.5% re-exported 1-3 days later."""
    s = int(seed)
    return f"""
        with events as (
            select p.*, r.seq
            from feed_plan as p, range(p.n) as r(seq)
            where p.source_system = 'stripe'
        ),

        drawn as (
            select
                feed_id,
                seq,
                lo_epoch + (hash({s}, feed_id, seq, 'at') % (hi_epoch - lo_epoch))::bigint
                    as occurred_epoch,
                mean_quantity,
                (hash({s}, feed_id, seq, 'quantity') % 1000000) / 1000000.0 as u_quantity,
                hash({s}, feed_id, seq, 'reexport') as h_reexport,
                (hash({s}, feed_id, seq, 'lag') % 900)::bigint as lag_seconds
            from events
        ),

        valued as materialized (
            select
                feed_id,
                seq,
                occurred_epoch,
                greatest(1, round(mean_quantity * (0.5 + u_quantity)))::bigint as value,
                occurred_epoch + 5 + lag_seconds as first_created_epoch,
                case
                    when h_reexport % 200 = 0
                        then occurred_epoch + 86400 + ((h_reexport // 200) % 172800)::bigint
                end as reexported_epoch
            from drawn
        )

        select
            {_monthly_file("first_created_epoch", "meter_events_", ".csv")}
                as file_name,
            first_created_epoch as sort_epoch,
            0 as origin,
            {_SEQ} as sort_seq,
            null::varchar as fault_kind,
            feed_id, seq, occurred_epoch, value, first_created_epoch as created_epoch
        from valued
        union all
        select
            {_monthly_file("reexported_epoch", "meter_events_", ".csv")},
            reexported_epoch, 0, {_SEQ}, 'reexport',
            feed_id, seq, occurred_epoch, value, reexported_epoch
        from valued
        where reexported_epoch is not null
    """


def render_stripe(seed: int, lookups: FeedLookups, rows: str, keep: str = "") -> str:
    """Query of the CSV rows of `rows` (a selection of sorted Stripe rows), in order."""
    s = int(seed)
    return f"""
        select coalesce(line, concat(
            'mev_', substr(md5('{s}:stripe:' || feed_id::varchar || ':' || seq::varchar), 1, 24),
            ',', {lookups.source_metric}[feed_id], ',', occurred_epoch::varchar,
            ',', {lookups.customer_key}[feed_id], ',', value::varchar,
            ',', created_epoch::varchar
        )){keep}
        from ({rows})
    """


def salesforce_query(seed: int) -> str:
    """Salesforce `Usage_Entry__c` versions, one file per UTC month last modified.

    Entries are spread evenly over the feed's local dates and entered between 18:00 on the
    usage date and 10:00 the next morning (local); about 6% are edited and 2% deleted within
    20 hours, so no ordinary version ever lands after a billing run.
    """
    s = int(seed)
    return f"""
        with entries as (
            select p.*, r.seq, (r.seq * p.days) // p.n as date_idx
            from feed_plan as p, range(p.n) as r(seq)
            where p.source_system = 'salesforce'
        ),

        drawn as (
            select
                feed_id,
                seq,
                shape,
                mean_quantity,
                gauge_from,
                gauge_to,
                days,
                date_idx,
                first_date + date_idx::integer as usage_date,
                (hash({s}, feed_id, seq, 'quantity') % 1000000) / 1000000.0 as u_quantity,
                (hash({s}, feed_id, seq, 'edit') % 1000000) / 1000000.0 as u_edit,
                hash({s}, feed_id, seq, 'version') % 100 as version_pick,
                lo_epoch + (date_idx + 1) * 86400 - 6 * 3600
                + (hash({s}, feed_id, seq, 'entered') % (16 * 3600))::bigint as created_epoch,
                (hash({s}, feed_id, seq, 'modified') % 68400)::bigint as modify_delay
            from entries
        ),

        valued as materialized (
            select
                *,
                case shape
                    when 'batch'
                        then greatest(1, round(mean_quantity * (0.5 + u_quantity)))::bigint
                    when 'gauge'
                        then round(
                            gauge_from + (gauge_to - gauge_from) * date_idx / days
                            + (u_quantity * 3 - 1.5)
                        )::bigint
                end as quantity,
                created_epoch + 3600 + modify_delay as modified_epoch
            from drawn
        )

        select
            {_monthly_file("created_epoch", "Usage_Entry__c_", ".csv")}
                as file_name,
            created_epoch as sort_epoch,
            0 as origin,
            {_SEQ} as sort_seq,
            null::varchar as fault_kind,
            feed_id, seq, quantity, usage_date, false as is_deleted,
            created_epoch, created_epoch as modified_epoch
        from valued
        union all
        select
            {_monthly_file("modified_epoch", "Usage_Entry__c_", ".csv")},
            modified_epoch, 0, {_SEQ},
            case when version_pick < 6 then 'edit' else 'deletion' end,
            feed_id, seq,
            case
                when version_pick < 6
                    then greatest(1, round(quantity * (0.7 + 0.6 * u_edit)))::bigint
                else quantity
            end,
            usage_date, version_pick >= 6,
            created_epoch, modified_epoch
        from valued
        where version_pick < 8
    """


def render_salesforce(seed: int, lookups: FeedLookups, rows: str, keep: str = "") -> str:
    """Query of the CSV rows of `rows` (a selection of sorted Salesforce rows), in order."""
    s = int(seed)
    stamp = "'%Y-%m-%dT%H:%M:%S.000Z'"
    return f"""
        select coalesce(line, concat(
            'a0B5g00000',
            upper(substr(md5('{s}:salesforce:' || feed_id::varchar || ':' || seq::varchar), 1, 8)),
            ',', {lookups.customer_key}[feed_id], ',', {lookups.source_metric}[feed_id],
            ',', quantity::varchar, ',', strftime(usage_date, '%Y-%m-%d'),
            ',', case when is_deleted then 'true' else 'false' end,
            ',', strftime(to_timestamp(created_epoch), {stamp}),
            ',', strftime(to_timestamp(modified_epoch), {stamp})
        )){keep}
        from ({rows})
    """


def generate_metering(
    con: duckdb.DuckDBPyConnection,
    seed: int,
    lookups: FeedLookups,
    late_corrections: tuple[LateCorrection, ...],
) -> None:
    """Metering hourly windows as typed rows, one file per UTC month exported.

    A feed with fewer windows than hours exports only the hours that had usage, spread evenly;
    about 1% of windows are corrected within six hours of their first export.
    """
    s = int(seed)
    con.execute(
        f"""
        create temp table metering_windows as
        with windows as (
            select p.*, r.seq, (r.seq * p.hours) // p.n as hour_idx
            from feed_plan as p, range(p.n) as r(seq)
            where p.source_system = 'metering'
        ),

        drawn as (
            select
                *,
                (hash({s}, feed_id, seq, 'quantity') % 1000000) / 1000000.0 as u_quantity,
                (hash({s}, feed_id, seq, 'correct') % 1000000) / 1000000.0 as u_correct,
                hash({s}, feed_id, seq, 'corrected') % 100 = 0 as is_corrected,
                lo_epoch + hour_idx * 3600 as start_epoch
            from windows
        ),

        valued as (
            select
                *,
                case shape
                    when 'batch' then greatest(1, round(mean_quantity * (0.5 + u_quantity)))
                    when 'gauge' then round(
                        (gauge_from + (gauge_to - gauge_from) * hour_idx / hours)
                        * (0.99 + 0.02 * u_quantity)
                    )
                end::double as value,
                start_epoch + 3600 + 60 + (hash({s}, feed_id, seq, 'lag') % 840)::bigint
                    as exported_epoch
            from drawn
        )

        select
            feed_id,
            seq,
            'mr_' || substr(md5('{s}:metering:' || feed_id::varchar || ':' || seq::varchar), 1, 20)
                as record_id,
            {lookups.source_metric}[feed_id] as meter_api_name,
            {lookups.customer_key}[feed_id] as customer_id,
            start_epoch,
            value,
            exported_epoch,
            is_corrected,
            round(value * (0.8 + 0.4 * u_correct))::double as corrected_value,
            exported_epoch + 3600 + (hash({s}, feed_id, seq, 'recheck') % 18000)::bigint
                as corrected_epoch
        from valued
        """
    )
    con.execute(
        f"""
        create table metering_bulk as
        select
            {_monthly_file("exported_epoch", "usage_windows_", ".parquet")}
                as file_name,
            exported_epoch as sort_epoch, 0 as origin, {_SEQ} as sort_seq,
            null::varchar as fault_kind,
            record_id, meter_api_name, customer_id,
            to_timestamp(start_epoch) as window_start,
            to_timestamp(start_epoch + 3600) as window_end,
            value,
            to_timestamp(exported_epoch) as exported_at
        from metering_windows
        union all
        select
            {_monthly_file("corrected_epoch", "usage_windows_", ".parquet")},
            corrected_epoch, 0, {_SEQ}, 'correction',
            record_id, meter_api_name, customer_id,
            to_timestamp(start_epoch), to_timestamp(start_epoch + 3600),
            corrected_value, to_timestamp(corrected_epoch)
        from metering_windows
        where is_corrected
        """
    )
    for late in late_corrections:
        _insert_late_correction(con, late)
    con.execute("drop table metering_windows")


def _insert_late_correction(con: duckdb.DuckDBPyConnection, late: LateCorrection) -> None:
    exported = int(late.exported_at.timestamp())
    picked = con.execute(
        """
        select record_id
        from metering_windows
        where customer_id = ? and meter_api_name = ? and start_epoch >= ? and not is_corrected
        order by start_epoch, record_id
        limit 1
        """,
        [late.customer_key, late.source_metric, int(late.not_before.timestamp())],
    ).fetchone()
    if picked is None:
        raise ValueError(f"no window of {late.customer_key} to correct after {late.not_before}")
    con.execute(
        f"""
        insert into metering_bulk
        select
            {_monthly_file(str(exported), "usage_windows_", ".parquet")},
            {exported}, 0, {_SEQ}, 'late_correction',
            record_id, meter_api_name, customer_id,
            to_timestamp(start_epoch), to_timestamp(start_epoch + 3600),
            round(value * ?)::double, to_timestamp({exported})
        from metering_windows
        where record_id = ?
        """,
        [late.factor, picked[0]],
    )
