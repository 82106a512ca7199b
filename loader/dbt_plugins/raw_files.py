"""Checks and reads raw usage files that DuckDB's own readers cannot read whole.

The staging readers (macros/raw_files.sql) read every clean file with DuckDB's fast readers.
Before a build reads a new file, `raw_file_check(path, format)` says how it can be read:

- `fast`: DuckDB's reader reads it as it is;
- `lines`: the file is readable but some line would stop DuckDB's reader (bytes that are not
  UTF-8, a NUL byte, a line longer than the reader's limit, a CSV quote left open at the end of a
  line), so it is read line by line with `raw_file_lines`, such lines marked malformed;
- `unreadable`: the file cannot be read at all (a truncated or corrupt gzip stream, a binary file
  in a text source, a Parquet file that is not Parquet, lacks a column or holds a column of
  another type); `problem` says why in words.

The profile loads this module as a dbt-duckdb plugin (`plugins: [{module: ...}]`), which
registers both functions on every connection dbt opens.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
import zlib
from pathlib import Path

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

# DuckDB's CSV reader refuses a line longer than its max_line_size (2,097,152 bytes by default).
MAX_FAST_LINE_BYTES = 2_000_000
CHUNK_BYTES = 8 * 1024 * 1024
# The start of a file that decides whether a text source's file is text at all.
TEXT_SAMPLE_BYTES = 8192
# Share of a text sample that may be bytes that are not UTF-8 or control characters.
MAX_NON_TEXT_SHARE = 0.10
UTF8_BOM = b"\xef\xbb\xbf"
# A line holding an odd number of double quotes: a quoted CSV field left open at its end.
OPEN_QUOTE_LINE = re.compile(rb'^[^"\n]*(?:"[^"\n]*"[^"\n]*)*"[^"\n]*$', re.MULTILINE)

# The Parquet columns of each Parquet source and the DuckDB types each may have.
TEXT_TYPES = ("VARCHAR",)
TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
NUMBER_TYPES = ("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT")
PARQUET_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "metering": {
        "record_id": TEXT_TYPES,
        "meter_api_name": TEXT_TYPES,
        "customer_id": TEXT_TYPES,
        "window_start": TIMESTAMP_TYPES,
        "window_end": TIMESTAMP_TYPES,
        "value": NUMBER_TYPES,
        "exported_at": TIMESTAMP_TYPES,
    },
}

LINE_TYPE = "STRUCT(line VARCHAR, is_malformed BOOLEAN, fields VARCHAR[])[]"
CHECK_TYPE = "STRUCT(read_as VARCHAR, problem VARCHAR)"


class Plugin(BasePlugin):
    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.create_function(
            "raw_file_check",
            raw_file_check,
            ["VARCHAR", "VARCHAR", "VARCHAR"],
            CHECK_TYPE,
            side_effects=True,
        )
        conn.create_function(
            "raw_file_lines",
            raw_file_lines,
            ["VARCHAR", "VARCHAR"],
            LINE_TYPE,
            side_effects=True,
        )


def raw_file_check(path: str, file_format: str, source_system: str) -> dict[str, str | None]:
    """How a file can be read: fast, lines or unreadable (with the problem in words)."""
    try:
        if file_format == "parquet":
            problem = parquet_problem(path, PARQUET_COLUMNS.get(source_system, {}))
            return {"read_as": "unreadable" if problem else "fast", "problem": problem}
        return text_check(path, csv_format=file_format == "csv")
    except OSError as error:
        return {"read_as": "unreadable", "problem": describe(error)}


def text_check(path: str, *, csv_format: bool) -> dict[str, str | None]:
    """Reads a text file (inflating .gz) once, in chunks, without parsing it."""
    if Path(path).stat().st_size == 0:
        # no records; DuckDB's reader refuses an empty .gz, the line reader reads nothing
        return {"read_as": "lines", "problem": "empty file"}
    reasons: list[str] = []
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line_bytes = 0
    first = True
    try:
        with open_raw(path) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                if first:
                    first = False
                    if not looks_like_text(chunk[:TEXT_SAMPLE_BYTES]):
                        return {
                            "read_as": "unreadable",
                            "problem": "not a text file: its first bytes are mostly not UTF-8 "
                            "text (a binary or compressed file under a text file's name)",
                        }
                if "not UTF-8" not in reasons:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        reasons.append("not UTF-8")
                if b"\x00" in chunk and "NUL byte" not in reasons:
                    reasons.append("NUL byte")
                line_bytes, too_long = longest_line_exceeds(chunk, line_bytes)
                if too_long and "long line" not in reasons:
                    reasons.append("long line")
                if csv_format and b'"' in chunk and "open quote" not in reasons:
                    # a chunk may end inside a line: only whole lines are checked
                    whole = chunk[: chunk.rfind(b"\n") + 1] if len(chunk) == CHUNK_BYTES else chunk
                    if OPEN_QUOTE_LINE.search(whole):
                        reasons.append("open quote")
        if "not UTF-8" not in reasons:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                reasons.append("not UTF-8")
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        return {"read_as": "unreadable", "problem": describe(error)}
    if reasons:
        return {"read_as": "lines", "problem": ", ".join(reasons)}
    return {"read_as": "fast", "problem": None}


def longest_line_exceeds(chunk: bytes, carried: int) -> tuple[int, bool]:
    """Whether a line of the chunk (continuing `carried` bytes of the last chunk's open line) is
    longer than MAX_FAST_LINE_BYTES, and the open line's bytes at the chunk's end. Jumps from
    line break to the last one within reach, so a chunk costs a few searches, not one a line."""
    first_break = chunk.find(b"\n")
    if first_break == -1:
        carried += len(chunk)
        return carried, carried > MAX_FAST_LINE_BYTES
    if carried + first_break > MAX_FAST_LINE_BYTES:
        return 0, True
    position = first_break + 1
    while len(chunk) - position > MAX_FAST_LINE_BYTES:
        last_break = chunk.rfind(b"\n", position, position + MAX_FAST_LINE_BYTES + 1)
        if last_break == -1:
            return 0, True
        position = last_break + 1
    return len(chunk) - position, False


def looks_like_text(sample: bytes) -> bool:
    """A text file starts as text: few bytes that are not UTF-8 and few control characters."""
    if not sample:
        return True
    text = sample.removeprefix(UTF8_BOM).decode("utf-8", errors="replace")
    # the sample may end inside a character
    text = text[:-3] if len(sample) == TEXT_SAMPLE_BYTES else text
    if not text:
        return True
    bad = sum(1 for char in text if char == "\ufffd" or (char < " " and char not in "\t\n\r\f"))
    return bad / len(text) <= MAX_NON_TEXT_SHARE


def raw_file_lines(path: str, file_format: str) -> list[dict[str, object]]:
    """Every line of a text file (.gz inflated, a BOM at its start and line ends dropped): its
    text, bytes that are not UTF-8 and NUL bytes shown as U+FFFD, whether it is malformed (such
    bytes, or for CSV a quote left open), and for CSV its fields."""
    with open_raw(path) as stream:
        content = stream.read()
    content = content.removeprefix(UTF8_BOM)
    raw_lines = content.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    lines: list[dict[str, object]] = []
    for raw in raw_lines:
        raw = raw.removesuffix(b"\r")
        text = raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
        malformed = b"\x00" in raw or not is_utf8(raw)
        fields: list[str] | None = None
        if file_format == "csv" and not malformed:
            fields = csv_fields(text)
            malformed = fields is None
        lines.append({"line": text, "is_malformed": malformed, "fields": fields})
    return lines


def csv_fields(text: str) -> list[str] | None:
    """The fields of one CSV line, or None when its quotes do not close."""
    if text == "":
        return []
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parquet_problem(path: str, columns: dict[str, tuple[str, ...]]) -> str | None:
    """Why a Parquet file cannot be read, or None: it is read whole (the source's columns) by a
    connection of its own, so that nothing it holds can stop the build's connection."""
    with duckdb.connect() as connection:
        try:
            described = connection.execute(
                "select column_name, column_type from (describe select * from read_parquet(?))",
                [path],
            ).fetchall()
            types = {name: column_type for name, column_type in described}
            missing = [name for name in columns if name not in types]
            if missing:
                return "lacks the column(s) " + ", ".join(missing)
            wrong = [
                f"{name} is {types[name]}"
                for name, accepted in columns.items()
                if not types[name].startswith(accepted)
            ]
            if wrong:
                return "column(s) of another type: " + ", ".join(wrong)
            counts = ", ".join(f'count("{name}")' for name in columns) or "count(*)"
            connection.execute(f"select {counts} from read_parquet(?)", [path]).fetchall()
        except duckdb.Error as error:
            return describe(error)
    return None


def open_raw(path: str):
    """The file's bytes, inflated when its name ends in .gz."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return Path(path).open("rb")


def describe(error: BaseException) -> str:
    """An error in words, on one line (without DuckDB's echo of the failing query)."""
    text = " ".join(str(error).split("\nLINE ")[0].split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
