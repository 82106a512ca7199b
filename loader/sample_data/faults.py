"""Faults at scale for the generated accounts, drawn in DuckDB like the bulk (`bulk.py`).

`load_fault_plan` stores the faulty feeds and draws every faulty record once (`fault_draws`:
feed, occurrence, receipt, quantity). Each source then turns its draws into rows shaped like its
bulk rows (`origin` 2, tagged with `fault_kind`), rendered by the bulk's own renderers:
`<source>_fault_rows` joins the bulk when the source is sorted. Faults that break the text of a
line (malformed JSON or CSV, a field of the wrong type, a missing, unknown or invalid value) are
rendered first and then broken, and staged as finished lines next to the hand-written ones.

A fault that is a second version comes with its first, both tagged with the kind (as the
hand-written pairs are): a telemetry event and its conflicting duplicate received later; a
Salesforce entry of a billed period and its late edit or deletion; a metering window of a billed
period and its late correction.
"""

from __future__ import annotations

import duckdb

from loader.sample_data.bulk import (
    FeedLookups,
    render_salesforce,
    render_stripe,
    render_telemetry,
)
from loader.sample_data.fault_plan import DELAYED_KIND, LATE_KINDS, FaultCount, FaultFeed
from loader.sample_data.rows import insert_rows

FAULT_ORIGIN = 2
# Faulty records get sequence numbers far above any ordinary one; a second version sorts
# with its first.
_NEW_SEQ = 50_000_000_000
_KIND_SEQ = 1_000_000_000
_TEXT_KINDS = {
    "telemetry": (
        "malformed_line",
        "wrong_type",
        "missing_field",
        "unknown_customer",
        "unknown_metric",
        "invalid_timestamp",
    ),
    "stripe": (
        "malformed_line",
        "missing_field",
        "unknown_customer",
        "unknown_metric",
        "invalid_timestamp",
    ),
    "salesforce": (
        "malformed_line",
        "wrong_type",
        "missing_field",
        "unknown_customer",
        "unknown_metric",
        "invalid_timestamp",
    ),
}
_KEEP = ", file_name, sort_epoch, origin, sort_seq, fault_kind"
_KEPT = "as rendered(line, file_name, sort_epoch, origin, sort_seq, fault_kind)"


def _in(values: tuple[str, ...] | frozenset[str]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in sorted(values)) + ")"


def _month_file(epoch: str, prefix: str, suffix: str) -> str:
    return f"'{prefix}' || strftime(to_timestamp({epoch}), '%Y-%m') || '{suffix}'"


def load_fault_plan(
    con: duckdb.DuckDBPyConnection, seed: int, faulty: list[FaultFeed], counts: list[FaultCount]
) -> None:
    """Store the faulty feeds (`fault_feeds`, one row per pool they are in), the counts
    (`fault_plan`) and the draws of every faulty record (`fault_draws`).

    Every faulty feed must be in `feed_plan`, whose bounds and quantities the draws use.
    """
    s = int(seed)
    con.execute(
        """
        create table fault_feeds (
            feed_id integer, source_system varchar, pool varchar, pool_index integer,
            outside_lo bigint, outside_hi bigint, late_lo bigint, late_hi bigint,
            received_lo bigint, received_hi bigint, recent_lo bigint, recent_hi bigint
        );
        create table fault_plan (
            source_system varchar, fault_kind varchar, kind_no integer, n bigint
        );
        """
    )
    rows = []
    pool_sizes: dict[tuple[str, str], int] = {}
    for feed in faulty:
        for pool in feed.pools():
            index = pool_sizes.get((feed.source_system, pool), 0) + 1
            pool_sizes[(feed.source_system, pool)] = index
            rows.append(
                (
                    feed.feed_id,
                    feed.source_system,
                    pool,
                    index,
                    feed.outside_lo,
                    feed.outside_hi,
                    feed.late_lo,
                    feed.late_hi,
                    feed.received_lo,
                    feed.received_hi,
                    feed.recent_lo,
                    feed.recent_hi,
                )
            )
    insert_rows(con, "fault_feeds", rows)
    insert_rows(
        con,
        "fault_plan",
        [(c.source_system, c.fault_kind, no, c.count) for no, c in enumerate(counts)],
    )
    con.execute(
        f"""
        create table fault_draws as
        with pools as (
            select source_system, pool, count(*) as size
            from fault_feeds
            group by all
        ),

        draws as (
            select
                p.source_system,
                p.fault_kind,
                p.kind_no,
                r.i,
                case
                    when p.fault_kind in {_in(LATE_KINDS)} then 'late'
                    when p.fault_kind = '{DELAYED_KIND}' then 'recent'
                    else 'any'
                end as pool,
                hash({s}, p.source_system, p.fault_kind, r.i) as h
            from fault_plan as p, range(p.n) as r(i)
        ),

        picked as (
            select
                d.*,
                f.outside_lo, f.outside_hi, f.late_lo, f.late_hi, f.received_lo, f.received_hi,
                f.recent_lo, f.recent_hi, f.feed_id,
                p.lo_epoch, p.hi_epoch, p.shape, p.mean_quantity, p.gauge_to
            from draws as d
            inner join pools as z
                on z.source_system = d.source_system and z.pool = d.pool
            inner join fault_feeds as f
                on f.source_system = d.source_system and f.pool = d.pool
                and f.pool_index = 1 + d.h % z.size
            inner join feed_plan as p on p.feed_id = f.feed_id
        ),

        timed as (
            select
                *,
                case
                    when pool = 'late' then late_lo + (hash(h, 'at') % (late_hi - late_lo))::bigint
                    when pool = 'recent'
                        then recent_lo + (hash(h, 'at') % (recent_hi - recent_lo))::bigint
                    when fault_kind = 'outside_active_line'
                        then outside_lo + (hash(h, 'at') % (outside_hi - outside_lo))::bigint
                    else lo_epoch + (hash(h, 'at') % (hi_epoch - lo_epoch))::bigint
                end as occurred_epoch,
                case
                    when pool in ('late', 'recent')
                        then received_lo
                        + (hash(h, 'received') % (received_hi - received_lo))::bigint
                end as late_received_epoch,
                (hash(h, 'quantity') % 1000000) / 1000000.0 as u_quantity
            from picked
        )

        select
            source_system,
            fault_kind,
            i,
            feed_id,
            {_NEW_SEQ} + kind_no::bigint * {_KIND_SEQ} + i as seq,
            occurred_epoch,
            case
                when fault_kind in ('late_usage', '{DELAYED_KIND}') then late_received_epoch
                else occurred_epoch + 1 + (hash(h, 'lag') % 600)::bigint
            end as received_epoch,
            late_received_epoch,
            case
                when fault_kind = 'invalid_quantity' then -(1 + h % 500)::bigint
                when shape = 'batch'
                    then greatest(1, round(mean_quantity * (0.5 + u_quantity)))::bigint
                when shape = 'gauge'
                    then greatest(1, round(gauge_to * (0.4 + 0.6 * u_quantity)))::bigint
            end as quantity,
            0.5 + (hash(h, 'change') % 1000) / 1000.0 as change_factor,
            (hash(h, 'property') % 1000000007)::bigint as h_property
        from timed
        """
    )


def _stage_text_faults(con: duckdb.DuckDBPyConnection, source: str, rendered: str) -> None:
    con.execute(
        f"""
        insert into handwritten_lines
        select '{source}', file_name, sort_epoch, origin, sort_seq, fault_kind, line
        from ({rendered})
        """
    )


def _faulty_rows(source: str) -> str:
    return f"""
        select * exclude (needs_text), null::varchar as line
        from {source}_fault_rows
        where needs_text
    """


def with_faults(source: str, bulk: str) -> str:
    """The bulk query of `source` followed by its faulty rows that render as ordinary ones."""
    return f"""
        select * from ({bulk})
        union all by name
        select * exclude (needs_text) from {source}_fault_rows where not needs_text
    """


def stage_telemetry_faults(con: duckdb.DuckDBPyConnection, seed: int, lookups: FeedLookups) -> None:
    """Faulty telemetry events; a conflicting duplicate follows its event within hours."""
    s = int(seed)
    con.execute(
        f"""
        create table telemetry_fault_rows as
        with rows as (
            select
                fault_kind, feed_id, seq, occurred_epoch, received_epoch, quantity, h_property
            from fault_draws
            where source_system = 'telemetry'
            union all
            select
                fault_kind, feed_id, seq, occurred_epoch,
                received_epoch + 600 + (hash({s}, feed_id, seq, 'conflict-lag') % 7200)::bigint,
                coalesce(quantity * 3, 2), h_property
            from fault_draws
            where source_system = 'telemetry' and fault_kind = 'conflicting_duplicate'
        )

        select
            {_month_file("received_epoch", "events-", ".jsonl")} as file_name,
            received_epoch as sort_epoch,
            {FAULT_ORIGIN} as origin,
            feed_id::bigint * 100000000000 + seq as sort_seq,
            *,
            fault_kind in {_in(_TEXT_KINDS["telemetry"])} as needs_text
        from rows
        """
    )
    rendered = render_telemetry(seed, lookups, _faulty_rows("telemetry"), keep=_KEEP)
    _stage_text_faults(
        con,
        "telemetry",
        rf"""
        select
            file_name, sort_epoch, origin, sort_seq, fault_kind,
            case fault_kind
                when 'malformed_line' then left(line, length(line) - 1)
                when 'wrong_type' then regexp_replace(
                    line, '"account_key":"[^"]*"', '"account_key":' || (sort_seq % 9973)::varchar
                )
                when 'missing_field' then regexp_replace(line, ',"account_key":"[^"]*"', '')
                when 'unknown_customer' then regexp_replace(
                    line, '"account_key":"([^"]*)"', '"account_key":"\1-unmapped"'
                )
                when 'unknown_metric' then regexp_replace(
                    line, '"event_type":"[^"]*"', '"event_type":"feature.flag.evaluated"'
                )
                when 'invalid_timestamp' then regexp_replace(
                    line, '"occurred_at":"[^"]*"', '"occurred_at":"2026-02-30T10:00:00Z"'
                )
            end as line
        from ({rendered}) {_KEPT}
        """,
    )


def stage_stripe_faults(con: duckdb.DuckDBPyConnection, seed: int, lookups: FeedLookups) -> None:
    """Faulty Stripe meter events."""
    con.execute(
        f"""
        create table stripe_fault_rows as
        select
            {_month_file("received_epoch", "meter_events_", ".csv")} as file_name,
            received_epoch as sort_epoch,
            {FAULT_ORIGIN} as origin,
            feed_id::bigint * 100000000000 + seq as sort_seq,
            fault_kind, feed_id, seq, occurred_epoch, quantity as value,
            received_epoch as created_epoch,
            fault_kind in {_in(_TEXT_KINDS["stripe"])} as needs_text
        from fault_draws
        where source_system = 'stripe'
        """
    )
    rendered = render_stripe(seed, lookups, _faulty_rows("stripe"), keep=_KEEP)
    _stage_text_faults(
        con,
        "stripe",
        f"""
        select
            file_name, sort_epoch, origin, sort_seq, fault_kind,
            case fault_kind
                when 'malformed_line' then array_to_string(p[1:4] || ['1', p[5], p[6]], ',')
                when 'missing_field' then array_to_string(p[1:3] || ['', p[5], p[6]], ',')
                when 'unknown_customer' then array_to_string(
                    p[1:3] || [p[4] || 'Zx', p[5], p[6]], ','
                )
                when 'unknown_metric' then array_to_string([p[1], 'legacy_meter'] || p[3:6], ',')
                when 'invalid_timestamp' then array_to_string(
                    p[1:2]
                    || [strftime(to_timestamp(p[3]::bigint), '%Y-%m-%dT%H:%M:%SZ')]
                    || p[4:6],
                    ','
                )
            end as line
        from (
            select *, string_split(line, ',') as p
            from ({rendered}) {_KEPT}
        )
        """,
    )


def stage_salesforce_faults(
    con: duckdb.DuckDBPyConnection, seed: int, lookups: FeedLookups
) -> None:
    """Faulty Salesforce entries; a late edit or deletion follows its entry after billing."""
    con.execute(
        f"""
        create table salesforce_fault_rows as
        with entries as (
            select
                *,
                timezone({lookups.timezone}[feed_id], to_timestamp(occurred_epoch))::date
                    as usage_date
            from fault_draws
            where source_system = 'salesforce'
        ),

        rows as (
            select
                fault_kind, feed_id, seq, quantity, usage_date, false as is_deleted,
                received_epoch as created_epoch, received_epoch as modified_epoch
            from entries
            union all
            select
                fault_kind, feed_id, seq,
                case
                    when fault_kind = 'late_edit'
                        then greatest(1, round(quantity * change_factor))::bigint
                    else quantity
                end,
                usage_date, fault_kind = 'late_deletion', received_epoch, late_received_epoch
            from entries
            where fault_kind in ('late_edit', 'late_deletion')
        )

        select
            {_month_file("modified_epoch", "Usage_Entry__c_", ".csv")} as file_name,
            modified_epoch as sort_epoch,
            {FAULT_ORIGIN} as origin,
            feed_id::bigint * 100000000000 + seq as sort_seq,
            *,
            fault_kind in {_in(_TEXT_KINDS["salesforce"])} as needs_text
        from rows
        """
    )
    rendered = render_salesforce(seed, lookups, _faulty_rows("salesforce"), keep=_KEEP)
    _stage_text_faults(
        con,
        "salesforce",
        f"""
        select
            file_name, sort_epoch, origin, sort_seq, fault_kind,
            case fault_kind
                when 'malformed_line' then array_to_string(p[1:4], ',')
                when 'wrong_type' then array_to_string(p[1:5] || ['maybe'] || p[7:8], ',')
                when 'missing_field' then array_to_string(p[1:2] || [''] || p[4:8], ',')
                when 'unknown_customer' then array_to_string(
                    [p[1], p[2] || 'ZZ'] || p[3:8], ','
                )
                when 'unknown_metric' then array_to_string(
                    p[1:2] || ['Training_Hours'] || p[4:8], ','
                )
                when 'invalid_timestamp' then array_to_string(
                    p[1:4] || [strftime(p[5]::date, '%Y') || '-02-30'] || p[6:8], ','
                )
            end as line
        from (
            select *, string_split(line, ',') as p
            from ({rendered}) {_KEPT}
        )
        """,
    )


def stage_metering_faults(con: duckdb.DuckDBPyConnection, seed: int, lookups: FeedLookups) -> None:
    """Faulty metering windows, added to `metering_bulk`; a late correction re-exports its
    window after billing."""
    s = int(seed)
    con.execute(
        f"""
        insert into metering_bulk
        with windows as (
            select
                *,
                occurred_epoch - occurred_epoch % 3600 as window_epoch,
                'mr_' || substr(
                    md5('{s}:metering:' || feed_id::varchar || ':' || seq::varchar), 1, 20
                ) as record_id,
                case
                    when fault_kind = 'invalid_quantity'
                        then ['nan'::double, -1.0, 'infinity'::double][1 + i % 3]
                    else quantity::double
                end as value
            from fault_draws
            where source_system = 'metering'
        ),

        rows as (
            select
                *,
                window_epoch + 3660 + (hash({s}, feed_id, seq, 'lag') % 840)::bigint
                    as exported_epoch
            from windows
            union all
            select
                * replace (round(value * change_factor) as value),
                late_received_epoch
            from windows
            where fault_kind = 'late_correction'
        )

        select
            {_month_file("exported_epoch", "usage_windows_", ".parquet")},
            exported_epoch, {FAULT_ORIGIN}, feed_id::bigint * 100000000000 + seq, fault_kind,
            record_id,
            case
                when fault_kind = 'unknown_metric' then 'gpu_hours'
                else {lookups.source_metric}[feed_id]
            end,
            case fault_kind
                when 'unknown_customer' then {lookups.customer_key}[feed_id] || '_unmapped'
                when 'missing_field' then null
                else {lookups.customer_key}[feed_id]
            end,
            to_timestamp(window_epoch),
            to_timestamp(window_epoch + 3600),
            value,
            to_timestamp(exported_epoch)
        from rows
        """
    )
