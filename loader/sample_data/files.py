"""Writes the generated rows to the raw folders of SPEC 2.1, one COPY per file.

Hand-written lines are staged next to the compact bulk rows; each text source is then sorted
once (arrival, origin, sequence) and every file is written by a filtered scan of that order,
which renders bulk lines on the fly. Text files go through DuckDB's CSV writer with no quoting and a
delimiter that never occurs, so every line, malformed ones included, is written exactly as
authored. The same seed therefore always yields the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from loader.sample_data.models import SOURCE_SYSTEMS, HandwrittenRecord, WrittenFile
from loader.sample_data.watermarks import WATERMARK_FILE, watermark_lines

CSV_HEADERS = {
    "stripe": "identifier,event_name,timestamp,stripe_customer_id,value,created",
    "salesforce": (
        "Id,Account__c,Metric__c,Quantity__c,Usage_Date__c,IsDeleted,CreatedDate,LastModifiedDate"
    ),
}
TEXT_SOURCES = ("telemetry", "stripe", "salesforce", "watermarks")
RAW_FOLDERS = (*SOURCE_SYSTEMS, "watermarks")
_RAW_SUFFIXES = (".jsonl", ".jsonl.gz", ".csv", ".parquet")
_LINE_WRITER = "format csv, header false, quote '', escape '', delimiter '\x1f'"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def clear_raw_folders(out_dir: Path) -> int:
    """Remove raw files a previous run left in the five raw folders; returns how many."""
    removed = 0
    for folder in RAW_FOLDERS:
        directory = out_dir / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.is_file() and path.name.endswith(_RAW_SUFFIXES):
                path.unlink()
                removed += 1
    return removed


def create_line_table(con: duckdb.DuckDBPyConnection) -> None:
    """`handwritten_lines`: finished text lines, staged next to the compact bulk rows."""
    con.execute(
        """
        create table handwritten_lines (
            source_system varchar,
            file_name varchar,
            sort_epoch bigint,
            origin integer,
            sort_seq bigint,
            fault_kind varchar,
            line varchar
        )
        """
    )


def stage_watermarks(con: duckdb.DuckDBPyConnection, file_name: str, lines: list[str]) -> None:
    """Stage a watermark file: its header first, then its rows in order."""
    header, *rows = lines
    con.execute(
        "insert into handwritten_lines values ('watermarks', ?, -1, -1, 0, null, ?)",
        [file_name, header],
    )
    con.executemany(
        "insert into handwritten_lines values ('watermarks', ?, 0, 0, ?, null, ?)",
        [(file_name, index, line) for index, line in enumerate(rows)],
    )


def stage_handwritten(
    con: duckdb.DuckDBPyConnection, records: tuple[HandwrittenRecord, ...]
) -> None:
    """Stage hand-written text lines and the watermark file; metering rows join the bulk.

    Hand-written rows sort after bulk rows of the same instant (`origin` 1).
    """
    create_line_table(con)
    text_rows = []
    metering_rows = []
    for index, record in enumerate(records):
        epoch = int(record.position_at.timestamp())
        if record.row is None:
            text_rows.append(
                (record.source_system, record.file_name, epoch, 1, index, record.kind, record.line)
            )
        else:
            row = record.row
            metering_rows.append(
                (
                    record.file_name,
                    epoch,
                    1,
                    index,
                    record.kind,
                    row.record_id,
                    row.meter_api_name,
                    row.customer_id,
                    row.window_start,
                    row.window_end,
                    row.value,
                    row.exported_at,
                )
            )
    if text_rows:
        con.executemany("insert into handwritten_lines values (?, ?, ?, ?, ?, ?, ?)", text_rows)
    if metering_rows:
        con.executemany(
            "insert into metering_bulk values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            metering_rows,
        )
    stage_watermarks(con, WATERMARK_FILE, watermark_lines())


def sort_text_source(con: duckdb.DuckDBPyConnection, source: str, bulk: str | None) -> None:
    """Merge a source's bulk rows (query `bulk`) and hand-written rows into `<source>_sorted`.

    CSV files get their header first. Rows are sorted by arrival only: a file is written by a
    filtered scan, which keeps this order.
    """
    merged = f"""
        select file_name, sort_epoch, origin, sort_seq, fault_kind, line
        from handwritten_lines
        where source_system = {_literal(source)}
    """
    if bulk is not None:
        merged = f"select * from ({bulk}) union all by name {merged}"
    header = CSV_HEADERS.get(source)
    if header is not None:
        merged = f"""
            with merged as ({merged})
            select * from merged
            union all by name
            select distinct
                file_name, -1 as sort_epoch, -1 as origin, 0 as sort_seq,
                null as fault_kind, {_literal(header)} as line
            from merged
        """
    con.execute(
        f"""
        create table {source}_sorted as
        select * from ({merged})
        order by sort_epoch, origin, sort_seq
        """
    )


Renderer = Callable[[str], str]


def write_text_source(
    con: duckdb.DuckDBPyConnection, out_dir: Path, source: str, render: Renderer | None
) -> list[WrittenFile]:
    """Write every file of a sorted text source.

    `render` turns a query of sorted rows into the query of their lines (bulk rows are rendered,
    hand-written ones carry their line); without it the staged lines are written as they are.
    """
    directory = out_dir / source
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    files = con.execute(
        f"""
        select file_name, count(*) filter (where origin >= 0)
        from {source}_sorted
        group by all
        order by all
        """
    ).fetchall()
    for file_name, records in files:
        options = _LINE_WRITER + (", compression gzip" if file_name.endswith(".gz") else "")
        rows = f"select * from {source}_sorted where file_name = {_literal(file_name)}"
        lines = "select line from (" + rows + ")" if render is None else render(rows)
        con.execute(f"copy ({lines}) to {_literal(str(directory / file_name))} ({options})")
        written.append(
            WrittenFile(
                source_system=source, relative_path=f"{source}/{file_name}", records=records
            )
        )
    return written


def write_metering(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[WrittenFile]:
    """Write every metering Parquet file, typed as SPEC 2.1 describes."""
    directory = out_dir / "metering"
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    files = con.execute(
        "select file_name, count(*) from metering_bulk group by all order by all"
    ).fetchall()
    for file_name, records in files:
        con.execute(
            f"""
            copy (
                select
                    record_id, meter_api_name, customer_id,
                    window_start, window_end, value, exported_at
                from metering_bulk
                where file_name = {_literal(file_name)}
                order by sort_epoch, origin, sort_seq
            ) to {_literal(str(directory / file_name))} (format parquet)
            """
        )
        written.append(
            WrittenFile(
                source_system="metering", relative_path=f"metering/{file_name}", records=records
            )
        )
    return written


def write_raw_lines(out_dir: Path, records: tuple[HandwrittenRecord, ...]) -> None:
    """Put the bytes of each line that is not UTF-8 (`raw_line`) into its written file: DuckDB
    writes text only, so such a line is staged as its U+FFFD text, which is found (exactly once)
    and replaced by the bytes once the file is written."""
    for record in records:
        if record.raw_line is None or record.line is None:
            continue
        path = out_dir / record.source_system / record.file_name
        lines = path.read_bytes().split(b"\n")
        shown = record.line.encode("utf-8")
        found = [index for index, line in enumerate(lines) if line == shown]
        if len(found) != 1:
            raise RuntimeError(f"{path}: {len(found)} lines read {record.line!r}, expected one")
        lines[found[0]] = record.raw_line
        path.write_bytes(b"\n".join(lines))


def tagged_kinds(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[int, str, int]]:
    """Tagged records of a staged table: (origin, kind, count); origin 0 bulk, 1 hand-written."""
    return con.execute(
        f"""
        select origin, fault_kind, count(*)
        from {table}
        where fault_kind is not null
        group by all
        order by all
        """
    ).fetchall()
