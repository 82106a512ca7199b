"""The check that decides how a raw file is read (loader.dbt_plugins.raw_files) over random
corruptions: it never fails; a file it sends to DuckDB's own reader is read by that reader,
exactly one record a line; a file it sends line by line is read so, one record a line, the bad
ones marked; the rest is unreadable, with the error in words."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loader.dbt_plugins.raw_files import (
    MAX_FAST_LINE_BYTES,
    raw_file_check,
    raw_file_line_chunks,
    raw_file_lines,
    raw_file_list,
)

# The options of default__read_raw_lines and default__read_raw_csv (macros/raw_files.sql).
READ_LINES = (
    "select count(*) from read_csv(?, columns = {'raw_line': 'VARCHAR'}, header = false, "
    "auto_detect = false, delim = chr(1), quote = '', escape = '', parallel = false)"
)
CSV_WIDTH = 10
READ_CSV = (
    "select count(*), count(*) filter (where concat_ws('', "
    + ", ".join(f"f{i}" for i in range(1, CSV_WIDTH + 1))
    + ") like '%' || chr(10) || '%') from read_csv(?, columns = {"
    + ", ".join(f"'f{i}': 'VARCHAR'" for i in range(1, CSV_WIDTH + 1))
    + "}, header = false, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
    "nullstr = chr(2), null_padding = true, strict_mode = false, parallel = false)"
)

GOOD_LINES = st.sampled_from(
    [
        b'{"event_id":"e1","account_key":"acme","event_type":"api.request","quantity":3}',
        b'{"event_id":"e2","account_key":"caf\xc3\xa9","event_type":"x"}',
        b"mev_1,gpu_ms,1772323230,cus_1,5,1772323438",
        b'mev_2,"gpu,ms",1772323230,cus_1,"5""",1772323438',
        b"",
    ]
)
BAD_PIECES = st.sampled_from([b"\xff", b"\xc3", b"\x00", b'"', b"\r", b"\xe2\x82", b"\xef\xbb\xbf"])


@st.composite
def corrupted_lines(draw: st.DrawFn) -> list[bytes]:
    lines = draw(st.lists(GOOD_LINES, min_size=1, max_size=8))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        cut = draw(st.integers(0, len(line)))
        lines[at] = line[:cut] + draw(BAD_PIECES) + line[cut:]
    return lines


def _write(path: Path, lines: list[bytes], *, bom: bool, crlf: bool, gzipped: bool) -> bytes:
    content = (b"\xef\xbb\xbf" if bom else b"") + b"".join(
        line + (b"\r\n" if crlf else b"\n") for line in lines
    )
    path.write_bytes(gzip.compress(content) if gzipped else content)
    return content


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=corrupted_lines(),
    bom=st.booleans(),
    crlf=st.booleans(),
    gzipped=st.booleans(),
    csv_format=st.booleans(),
)
def test_the_check_predicts_how_a_text_file_reads(
    tmp_path: Path, lines: list[bytes], bom: bool, crlf: bool, gzipped: bool, csv_format: bool
) -> None:
    if csv_format:
        path = tmp_path / "file.csv"
        gzipped = False
    else:
        path = tmp_path / ("file.jsonl.gz" if gzipped else "file.jsonl")
    _write(path, lines, bom=bom, crlf=crlf, gzipped=gzipped)
    file_format = "csv" if csv_format else "lines"

    check = raw_file_check(str(path), file_format, [])

    assert check["read_as"] in {"fast", "lines", "unreadable"}
    if check["read_as"] == "fast":
        with duckdb.connect() as connection:
            if csv_format:
                rows, swallowed = connection.execute(READ_CSV, [str(path)]).fetchone()
                # no quote runs past its line into the next ones
                assert swallowed == 0
            else:
                (rows,) = connection.execute(READ_LINES, [str(path)]).fetchone()
        if not csv_format:
            assert rows == len(lines)
    elif check["read_as"] == "lines":
        read = raw_file_lines(str(path), file_format)
        assert len(read) == len(lines)
        for raw, line in zip(lines, read, strict=True):
            bad_bytes = b"\x00" in raw or _not_utf8(raw)
            assert line["is_malformed"] or not bad_bytes
            assert "\x00" not in line["line"]
    else:
        assert check["problem"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=corrupted_lines(),
    bom=st.booleans(),
    crlf=st.booleans(),
    gzipped=st.booleans(),
    last_line_ended=st.booleans(),
    chunk_bytes=st.integers(1, 64),
    piece_bytes=st.integers(1, 16),
)
def test_a_file_read_in_parts_reads_as_the_whole_file(
    tmp_path: Path,
    lines: list[bytes],
    bom: bool,
    crlf: bool,
    gzipped: bool,
    last_line_ended: bool,
    chunk_bytes: int,
    piece_bytes: int,
) -> None:
    """raw_file_line_chunks cuts a file at line starts; raw_file_lines reads each part: together
    the same lines, numbered the same, as the whole file read at once."""
    path = tmp_path / ("file.jsonl.gz" if gzipped else "file.jsonl")
    content = _write(path, lines, bom=bom, crlf=crlf, gzipped=False)
    if not last_line_ended:
        content = content.removesuffix(b"\r\n" if crlf else b"\n")
    path.write_bytes(gzip.compress(content) if gzipped else content)
    whole = raw_file_lines(str(path), "lines")

    chunks = raw_file_line_chunks(str(path), chunk_bytes, piece_bytes)

    assert [chunk["start"] + chunk["length"] for chunk in chunks[:-1]] == [
        chunk["start"] for chunk in chunks[1:]
    ]
    assert sum(chunk["length"] for chunk in chunks) == len(content)
    read = []
    for chunk in chunks:
        part = raw_file_lines(str(path), "lines", chunk["start"], chunk["length"])
        assert chunk["first_line"] == len(read) + 1
        read.extend(part)
    assert read == whole


def test_a_large_file_is_read_in_parts_of_about_the_chunk_size(tmp_path: Path) -> None:
    path = tmp_path / "large.jsonl"
    path.write_bytes(b'{"event_id":"e","quantity":1}\n' * 100_000)
    chunks = raw_file_line_chunks(str(path), chunk_bytes=1_000_000, piece_bytes=100_000)
    # 3 MB of 30-byte lines: three parts of a million bytes, give or take a line or a piece read
    assert len(chunks) == 3
    assert all(1_000_000 - 30 <= chunk["length"] <= 1_100_000 for chunk in chunks)
    parts = [raw_file_lines(str(path), "lines", c["start"], c["length"]) for c in chunks]
    assert sum(len(part) for part in parts) == 100_000


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_a_line_beyond_the_readers_limit_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    long_line = b'{"pad":"' + b"x" * (MAX_FAST_LINE_BYTES + 10) + b'"}'
    path.write_bytes(b'{"a":1}\n' + long_line + b"\n{}\n")
    assert raw_file_check(str(path), "lines", []) == {"read_as": "lines", "problem": "long line"}
    read = raw_file_lines(str(path), "lines")
    assert [line["line"] for line in read] == ['{"a":1}', long_line.decode(), "{}"]
    assert not any(line["is_malformed"] for line in read)


def test_unreadable_files_say_why(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(b'{"a":1}\n' * 5000)
    truncated.write_bytes(whole[: len(whole) // 2])
    assert raw_file_check(str(truncated), "lines", [])["read_as"] == "unreadable"

    not_parquet = tmp_path / "not.parquet"
    not_parquet.write_bytes(b"PAR1 but nothing else PAR1")
    check = raw_file_check(str(not_parquet), "parquet", ["value double"])
    assert check["read_as"] == "unreadable" and check["problem"]

    typed = tmp_path / "typed.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select 'r1' as record_id, 'x' as value) to '{typed}' (format parquet)"
        )
    assert raw_file_check(str(typed), "parquet", ["record_id varchar", "value double"]) == {
        "read_as": "unreadable",
        "problem": "column(s) of another type: value is VARCHAR",
    }
    assert raw_file_check(str(typed), "parquet", ["record_id varchar", "value varchar"]) == {
        "read_as": "fast",
        "problem": None,
    }
    assert raw_file_check(str(typed), "parquet", ["window_start timestamp"]) == {
        "read_as": "unreadable",
        "problem": "lacks the column(s) window_start",
    }


def test_a_parquet_file_broken_inside_is_unreadable(tmp_path: Path) -> None:
    """PAR1 marks and footer intact, the pages of one column overwritten: DuckDB reads the footer
    and counts the rows, and fails only when it decodes the values."""
    whole = tmp_path / "whole.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select 'r' || i as record_id, i * 1.5 as value from range(2000) as t (i)) "
            f"to '{whole}' (format parquet)"
        )
        offset, size = connection.execute(
            "select data_page_offset, total_compressed_size from parquet_metadata(?) "
            "where path_in_schema = 'value'",
            [str(whole)],
        ).fetchone()
    columns = ["record_id varchar", "value double"]
    assert raw_file_check(str(whole), "parquet", columns) == {"read_as": "fast", "problem": None}
    broken = bytearray(whole.read_bytes())
    broken[offset : offset + size] = b"\xa5" * size
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(bytes(broken))
    with duckdb.connect() as connection:
        # the footer still reads: only the values are broken
        assert connection.execute("select count(*) from read_parquet(?)", [str(corrupt)]).fetchone()
    check = raw_file_check(str(corrupt), "parquet", columns)
    assert check["read_as"] == "unreadable" and check["problem"]
    # a column the source does not read is not decoded, as the staging reader does not read it
    assert raw_file_check(str(corrupt), "parquet", ["record_id varchar"])["read_as"] == "fast"


def test_the_listing_holds_empty_files_and_only_the_folders_own_matches(tmp_path: Path) -> None:
    folder = tmp_path / "metering"
    (folder / "nested").mkdir(parents=True)
    (folder / "empty.parquet").write_bytes(b"")
    (folder / "b.parquet").write_bytes(b"PAR1")
    (folder / ".hidden.parquet").write_bytes(b"x")
    (folder / "upper.PARQUET").write_bytes(b"x")
    (folder / "notes.txt").write_bytes(b"x")
    (folder / "nested" / "deep.parquet").write_bytes(b"x")
    (folder / "dir.parquet").mkdir()
    listed = raw_file_list(str(folder), ["*.parquet"])
    assert [(file["name"], file["size"]) for file in listed] == [
        (".hidden.parquet", 1),
        ("b.parquet", 4),
        ("empty.parquet", 0),
    ]
    assert all(Path(str(file["path"])).is_absolute() for file in listed)
    modified = (folder / "b.parquet").stat().st_mtime_ns // 1_000_000
    assert listed[1]["modified_ms"] == modified
    # the same files DuckDB's glob lists (read_blob, as default__raw_file_listing)
    with duckdb.connect() as connection:
        globbed = connection.execute(
            "select parse_filename(filename) from read_blob(?) order by 1",
            [f"{folder}/*.parquet"],
        ).fetchall()
    assert [name for (name,) in globbed] == [file["name"] for file in listed]
    assert raw_file_list(str(tmp_path / "missing"), ["*.csv"]) == []


def test_a_parquet_page_that_does_not_decode_makes_the_file_unreadable(tmp_path: Path) -> None:
    """Row counts come from the footer; the check decodes every value, so a column chunk that
    does not decompress is found before the build's read, which would stop on it."""
    path = tmp_path / "pages.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select 'record-' || i as record_id, i * 1.5 as value from range(5000) t(i)) "
            f"to '{path}' (format parquet, compression snappy)"
        )
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    for offset in range(40, len(data) - 8 - footer, 97):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with duckdb.connect() as connection:
        assert connection.execute(
            "select count(*), count(record_id) from read_parquet(?)", [str(path)]
        ).fetchall() == [(5000, 5000)], "the footer alone still answers a count"
    check = raw_file_check(str(path), "parquet", ["record_id varchar", "value double"])
    assert check["read_as"] == "unreadable" and check["problem"]
