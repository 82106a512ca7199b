"""Checks and reads raw usage files that DuckDB's own readers cannot read whole.

The staging readers (macros/raw_files.sql) read every clean file with DuckDB's fast readers.
Before a build reads a new file, `raw_file_check(path, format, columns)` says how it can be read:

- `fast`: DuckDB's reader reads it as it is;
- `lines`: the file is readable but some line would stop or split DuckDB's reader (bytes that
  are not UTF-8, a NUL byte, a line longer than the reader's limit, LF and CRLF line ends mixed
  or a carriage return inside a line, a CSV quote out of place), so it is read line by line with
  `raw_file_lines`, part by part (`raw_file_line_chunks` cuts the file into parts at line
  starts), the lines with bad bytes or quotes that do not close marked malformed;
- `unreadable`: the file cannot be read at all (a truncated or corrupt gzip stream, a binary file
  in a text source, a Parquet file that is not Parquet, lacks a column or holds a column of
  another type); `problem` says why in words.

The profile loads this module as a dbt-duckdb plugin (`plugins: [{module: ...}]`), which
registers the functions on every connection dbt opens; `register_functions(conn)` registers them
on any other connection (the view fct_raw_record_text reads such a file with `raw_file_lines`).
"""

from __future__ import annotations

import codecs
import csv
import fnmatch
import gzip
import os
import re
import zlib
from pathlib import Path

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin

# DuckDB's CSV reader refuses a line longer than its max_line_size (2,097,152 bytes by default).
MAX_FAST_LINE_BYTES = 2_000_000
CHUNK_BYTES = 8 * 1024 * 1024
# The part of a file that raw_file_lines reads at a time (raw_file_line_chunks).
LINE_CHUNK_BYTES = 32 * 1024 * 1024
# The start of a file that decides whether a text source's file is text at all.
TEXT_SAMPLE_BYTES = 8192
# Share of a text sample that may be bytes that are not UTF-8 or control characters.
MAX_NON_TEXT_SHARE = 0.10
UTF8_BOM = b"\xef\xbb\xbf"
# A line holding a double quote, and a CSV line whose quotes are where RFC 4180 puts them
# (around a whole field, doubled inside it): DuckDB's reader may run a quote left open into the
# next lines, or stop at a closing quote not followed by a separator.
QUOTED_LINE = re.compile(rb'[^\n]*"[^\n]*')
CSV_FIELD = rb'(?:[^",\r\n]*|"(?:[^"\n]|"")*")'
CSV_LINE = re.compile(CSV_FIELD + rb"(?:," + CSV_FIELD + rb")*\r?")


# The DuckDB types a Parquet column may have, by the type its reader declares for it.
TYPE_FAMILIES: dict[str, tuple[str, ...]] = {
    "varchar": ("VARCHAR",),
    "timestamp": ("TIMESTAMP",),
    "double": ("DOUBLE", "FLOAT", "DECIMAL", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"),
}

LINE_TYPE = "STRUCT(line VARCHAR, is_malformed BOOLEAN, fields VARCHAR[])[]"
CHUNKS_TYPE = "STRUCT(start BIGINT, length BIGINT, first_line BIGINT)[]"
CHECK_TYPE = "STRUCT(read_as VARCHAR, problem VARCHAR)"


class Plugin(BasePlugin):
    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register_functions(conn)


def register_functions(conn: duckdb.DuckDBPyConnection) -> None:
    """Registers raw_file_check, raw_file_lines and raw_file_line_chunks on a DuckDB connection:
    dbt's (through the plugin) or any other that queries fct_raw_record_text, which reads a file
    that DuckDB's reader cannot read whole line by line, as staging did."""
    conn.create_function(
        "raw_file_check",
        raw_file_check,
        ["VARCHAR", "VARCHAR", "VARCHAR[]"],
        CHECK_TYPE,
        side_effects=True,
    )
    conn.create_function(
        "raw_file_lines",
        raw_file_lines,
        ["VARCHAR", "VARCHAR", "BIGINT", "BIGINT"],
        LINE_TYPE,
        side_effects=True,
    )
    conn.create_function(
        "raw_file_line_chunks",
        lambda path: raw_file_line_chunks(path),
        ["VARCHAR"],
        CHUNKS_TYPE,
        side_effects=True,
    )


def raw_file_check(path: str, file_format: str, columns: list[str]) -> dict[str, str | None]:
    """How a file can be read: fast, lines or unreadable (with the problem in words). `columns`:
    for Parquet, the columns its reader reads, each as "<name> <declared type>"."""
    try:
        if file_format == "parquet":
            declared = dict(column.split(" ", 1) for column in columns or [])
            problem = parquet_problem(path, declared)
            return {"read_as": "unreadable" if problem else "fast", "problem": problem}
        return text_check(path, csv_format=file_format == "csv")
    except OSError as error:
        return {"read_as": "unreadable", "problem": describe(error)}


def raw_file_list(folder: str, patterns: list[str]) -> list[dict[str, object]]:
    """The files of a source folder whose names match a pattern (as DuckDB's glob matches them:
    case-sensitive, hidden names too, not in subfolders), by path: path, name, size in bytes and
    modified_ms (the modification time in milliseconds since the epoch). A missing folder holds no
    file. An empty file is listed as any other."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    files = []
    for entry in entries:
        if not entry.is_file() or not any(fnmatch.fnmatchcase(entry.name, p) for p in patterns):
            continue
        stat = entry.stat()
        files.append(
            {
                "path": os.path.abspath(entry.path),
                "name": entry.name,
                "size": stat.st_size,
                "modified_ms": stat.st_mtime_ns // 1_000_000,
            }
        )
    return sorted(files, key=lambda file: file["path"])


def text_check(path: str, *, csv_format: bool) -> dict[str, str | None]:
    """Reads a text file (inflating .gz) once, in chunks, without parsing it."""
    if Path(path).stat().st_size == 0:
        # no records; DuckDB's reader refuses an empty .gz, the line reader reads nothing
        return {"read_as": "lines", "problem": "empty file"}
    reasons: list[str] = []
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line_ends = LineEnds()
    pending = b""
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
                line_ends.count(chunk)
                line_bytes, too_long = longest_line_exceeds(chunk, line_bytes)
                if too_long and "long line" not in reasons:
                    reasons.append("long line")
                if csv_format and "quote out of place" not in reasons:
                    # a chunk may end inside a line: that line is checked with the next chunk
                    cut = chunk.rfind(b"\n") + 1
                    whole = pending + chunk[:cut] if cut else b""
                    if b'"' in whole and not quotes_in_place(whole):
                        reasons.append("quote out of place")
                    pending = chunk[cut:] if cut else pending + chunk
        if csv_format and "quote out of place" not in reasons and not quotes_in_place(pending):
            reasons.append("quote out of place")
        if not line_ends.consistent():
            reasons.append("mixed line ends")
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


def quotes_in_place(text: bytes) -> bool:
    """Every line of the text that holds a double quote is a CSV line as RFC 4180 writes it."""
    return all(CSV_LINE.fullmatch(line.group()) for line in QUOTED_LINE.finditer(text))


class LineEnds:
    """Counts a file's line ends: DuckDB's reader takes one kind for the whole file (LF or CRLF,
    detected from its start), so a file that mixes them, or holds a carriage return inside a
    line, is read line by line."""

    def __init__(self) -> None:
        self.line_feeds = 0
        self.carriage_returns = 0
        self.crlf = 0
        self.ends_in_carriage_return = False

    def count(self, chunk: bytes) -> None:
        self.line_feeds += chunk.count(b"\n")
        self.carriage_returns += chunk.count(b"\r")
        self.crlf += chunk.count(b"\r\n")
        # a CRLF split between two chunks
        if self.ends_in_carriage_return and chunk.startswith(b"\n"):
            self.crlf += 1
        self.ends_in_carriage_return = chunk.endswith(b"\r")

    def consistent(self) -> bool:
        """Only LF, or only CRLF."""
        return self.carriage_returns == 0 or (self.carriage_returns == self.crlf == self.line_feeds)


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


def raw_file_lines(
    path: str, file_format: str, start: int = 0, length: int | None = None
) -> list[dict[str, object]]:
    """Every line of a text file (.gz inflated, a BOM at its start and line ends dropped), or of
    the part of it that starts at byte `start` (of the inflated text) and holds `length` bytes,
    as raw_file_line_chunks cuts it (at line starts): its text, bytes that are not UTF-8 and NUL
    bytes shown as U+FFFD, whether it is malformed (such bytes, or for CSV quotes that do not
    close), and for CSV its fields."""
    with open_raw(path) as stream:
        if start:
            stream.seek(start)
        content = stream.read() if length is None else stream.read(length)
    if start == 0:
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


def raw_file_line_chunks(
    path: str, chunk_bytes: int = LINE_CHUNK_BYTES, piece_bytes: int = CHUNK_BYTES
) -> list[dict[str, int]]:
    """A text file (.gz inflated) cut into parts of about `chunk_bytes` at line starts, for
    raw_file_lines to read one part at a time: each part's start and length in bytes and the
    line number of its first line. A file read line by line is read in parts, so that no value
    holds a whole large file's lines (DuckDB allocates a list value in one block). An empty file
    has no part. The file is read `piece_bytes` at a time; a part ends at the last line break of
    the piece that brings it to `chunk_bytes`."""
    chunks: list[dict[str, int]] = []
    start, position, first_line, lines = 0, 0, 1, 0
    with open_raw(path) as stream:
        while piece := stream.read(piece_bytes):
            cut = piece.rfind(b"\n") if position + len(piece) - start >= chunk_bytes else -1
            if cut == -1:
                lines += piece.count(b"\n")
            else:
                end = position + cut + 1
                lines += piece.count(b"\n", 0, cut + 1)
                chunks.append({"start": start, "length": end - start, "first_line": first_line})
                first_line += lines
                start, lines = end, piece.count(b"\n", cut + 1)
            position += len(piece)
    if position > start:
        chunks.append({"start": start, "length": position - start, "first_line": first_line})
    return chunks


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


def parquet_problem(path: str, columns: dict[str, str]) -> str | None:
    """Why a Parquet file cannot be read, or None: it is read whole (every value of the source's
    columns, each of the declared type's family) by a connection of its own, so that nothing it
    holds can stop the build's connection."""
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
                for name, declared in columns.items()
                if not types[name].startswith(TYPE_FAMILIES.get(declared.lower(), (types[name],)))
            ]
            if wrong:
                return "column(s) of another type: " + ", ".join(wrong)
            # every value of the source's columns decoded (a count alone is answered from the
            # pages' headers: a page broken inside would pass and then stop the build's read)
            values = ", ".join(f'"{name}"' for name in columns)
            decoded = f"sum(hash({values}))" if values else "count(*)"
            connection.execute(f"select {decoded} from read_parquet(?)", [path]).fetchall()
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
