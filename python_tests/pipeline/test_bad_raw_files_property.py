"""Bad input never halts billing (SPEC 2.1), over random corruptions of the whole raw folder: a
small sample is corrupted at random (files truncated, bytes flipped, bytes that are not UTF-8, NUL
bytes, CRLF line ends, a byte order mark, a CSV header repeated, files emptied or replaced by
garbage, and garbage files added under every source's extensions), then built for real with
`dbt build`. The build passes; per source, every line present in the files (counted here from the
bytes themselves) is read once, read = used + duplicate + withdrawn + quarantined, and every file
that cannot be read is one `unreadable_file` record, listed by name.

Each example costs a full `dbt build`, so there are few of them; `derandomize` draws the same
examples on every run (CI is reproducible) and each example draws its own corruptions."""

from __future__ import annotations

import gzip
import random
import shutil
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from python_tests.support.pipeline_build import run_dbt_build, write_sample_data

# The smallest sample the generator writes: every hand-written case, 1,000 ordinary records.
SAMPLE_EVENTS = "1000"
SOURCES = ("telemetry", "stripe", "salesforce", "metering", "watermarks")
# What each source reads (macros/engine/raw_files.sql), and how its records are counted.
EXTENSIONS = {
    "telemetry": (".jsonl", ".jsonl.gz"),
    "stripe": (".csv",),
    "salesforce": (".csv",),
    "metering": (".parquet",),
    "watermarks": (".csv",),
}
METERING_COLUMNS = (
    "record_id",
    "meter_api_name",
    "customer_id",
    "window_start",
    "window_end",
    "value",
    "exported_at",
)
BOM = b"\xef\xbb\xbf"
NOT_UTF8 = (b"\xff", b"\xc3", b"\xe9", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf")
TEXT_CORRUPTIONS = (
    "truncate",
    "flip_bytes",
    "not_utf8",
    "nul",
    "crlf",
    "some_crlf",
    "bom",
    "repeat_first_line",
    "empty",
    "garbage",
)
GZIP_CORRUPTIONS = (*TEXT_CORRUPTIONS, "truncate_compressed", "flip_compressed")
PARQUET_CORRUPTIONS = ("truncate", "flip_bytes", "empty", "garbage", "drop_column")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("sample") / "raw"
    write_sample_data(raw, "--events", SAMPLE_EVENTS)
    return raw


@dataclass(frozen=True)
class Corruption:
    source: str
    file_index: int  # which of the source's files (modulo their number); -1: a new file
    kind: str
    seed: int


@dataclass
class Expected:
    """What the build must read, counted from the corrupted files' bytes."""

    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    unreadable: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SOURCES})


@st.composite
def corruptions(draw: st.DrawFn) -> list[Corruption]:
    drawn = []
    for _ in range(draw(st.integers(5, 10))):
        source = draw(st.sampled_from(SOURCES))
        new_file = draw(st.integers(0, 5)) == 0
        if new_file:
            kind = "garbage"
        elif source == "metering":
            kind = draw(st.sampled_from(PARQUET_CORRUPTIONS))
        else:
            kind = draw(
                st.sampled_from(GZIP_CORRUPTIONS if source == "telemetry" else TEXT_CORRUPTIONS)
            )
        drawn.append(
            Corruption(
                source=source,
                file_index=-1 if new_file else draw(st.integers(0, 9)),
                kind=kind,
                seed=draw(st.integers(0, 2**32 - 1)),
            )
        )
    return drawn


def _corrupt_text(content: bytes, kind: str, rng: random.Random) -> bytes:
    """One corruption of a text file's content (inflated when it is gzipped)."""
    lines = content.split(b"\n")
    if kind == "truncate":
        return content[: rng.randint(len(content) // 2, max(len(content) - 1, 0))]
    if kind == "flip_bytes":
        # the high bit of a few bytes: bytes that are not UTF-8, or a line end that is gone
        data = bytearray(content)
        for _ in range(rng.randint(1, 4)):
            if data:
                data[rng.randrange(len(data))] ^= 0x80
        return bytes(data)
    if kind in ("not_utf8", "nul"):
        piece = rng.choice(NOT_UTF8) if kind == "not_utf8" else b"\x00"
        at = rng.randrange(len(lines))
        cut = rng.randint(0, len(lines[at]))
        lines[at] = lines[at][:cut] + piece + lines[at][cut:]
        return b"\n".join(lines)
    if kind == "crlf":
        return content.replace(b"\n", b"\r\n")
    if kind == "some_crlf":
        return b"\n".join(line + b"\r" if rng.random() < 0.3 else line for line in lines)
    if kind == "bom":
        return BOM + content
    if kind == "repeat_first_line":
        # a CSV header again inside the file (two exports joined); an NDJSON record again
        at = rng.randint(1, max(len(lines) - 1, 1))
        return b"\n".join([*lines[:at], lines[0].removeprefix(BOM), *lines[at:]])
    raise AssertionError(kind)


def _garbage(rng: random.Random) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(rng.randint(600, 3000)))


def _apply(raw: Path, corruption: Corruption, number: int, ended: set[Path]) -> None:
    """Apply one corruption. A file emptied or replaced by garbage takes no further corruption
    (`ended`): what it holds is then known from how it was made."""
    rng = random.Random(corruption.seed)
    folder = raw / corruption.source
    if corruption.file_index < 0:
        extension = rng.choice(EXTENSIONS[corruption.source])
        (folder / f"garbage-{number}{extension}").write_bytes(_garbage(rng))
        return
    files = sorted(
        path for path in folder.iterdir() if path.name.endswith(EXTENSIONS[corruption.source])
    )
    path = files[corruption.file_index % len(files)]
    if path in ended:
        return
    if corruption.kind in ("empty", "garbage"):
        path.write_bytes(b"" if corruption.kind == "empty" else _garbage(rng))
        ended.add(path)
        return
    data = path.read_bytes()
    if path.suffix == ".parquet":
        if corruption.kind == "truncate":
            path.write_bytes(data[: rng.randint(1, len(data) - 1)])
        elif corruption.kind == "flip_bytes":
            # inside the column chunks (the footer, which types the columns, is kept): a page
            # that no longer decodes, or values that changed
            footer = int.from_bytes(data[-8:-4], "little")
            end = len(data) - 8 - footer
            if data[-4:] != b"PAR1" or end <= 4:
                end = len(data)  # no Parquet file any more (truncated): anywhere
            mutable = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                mutable[rng.randrange(min(4, end - 1), end)] ^= 0xFF
            path.write_bytes(bytes(mutable))
        else:
            dropped = rng.choice(METERING_COLUMNS)
            kept = ", ".join(column for column in METERING_COLUMNS if column != dropped)
            with duckdb.connect() as connection:
                connection.execute(
                    f"copy (select {kept} from read_parquet('{path}')) "
                    f"to '{path}.tmp' (format parquet)"
                )
            Path(f"{path}.tmp").replace(path)
        return
    if path.name.endswith(".gz"):
        if corruption.kind == "truncate_compressed":
            path.write_bytes(data[: rng.randint(1, len(data) - 1)])
            return
        if corruption.kind == "flip_compressed":
            # inside the deflate stream or its trailer (never the header's time stamp)
            mutable = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                mutable[rng.randrange(10, len(data))] ^= 0x80
            path.write_bytes(bytes(mutable))
            return
        try:
            content = gzip.decompress(data)
        except (EOFError, OSError, zlib.error):
            return  # already broken: it stays unreadable
        path.write_bytes(gzip.compress(_corrupt_text(content, corruption.kind, rng), mtime=0))
        return
    if corruption.kind in ("truncate_compressed", "flip_compressed"):
        return
    path.write_bytes(_corrupt_text(data, corruption.kind, rng))


def _text_lines(content: bytes) -> list[bytes]:
    """A text file's lines as the readers split them: a BOM at the start and CR before LF are not
    content, a last line without its LF is a line."""
    lines = content.removeprefix(BOM).split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r") for line in lines]


def _expected(raw: Path, garbage: set[Path]) -> Expected:
    """Count, from the files themselves, the records each source must read: NDJSON lines that
    are not blank, CSV rows after the header that are not empty, Parquet rows; a file that cannot
    be read (garbage, a gzip stream that does not inflate, a Parquet file DuckDB cannot read whole
    or that lacks a column) is one record."""
    expected = Expected()
    for source in SOURCES:
        for path in sorted((raw / source).iterdir()):
            if not path.name.endswith(EXTENSIONS[source]):
                continue
            count = _records(path, source) if path not in garbage else None
            if count is None:
                expected.unreadable[source].append(path.name)
                expected.records[source] += 1
            else:
                expected.records[source] += count
    return expected


def _records(path: Path, source: str) -> int | None:
    data = path.read_bytes()
    if path.suffix == ".parquet":
        try:
            with duckdb.connect() as connection:
                names = {
                    row[0]
                    for row in connection.execute(
                        "describe select * from read_parquet(?)", [str(path)]
                    ).fetchall()
                }
                if not set(METERING_COLUMNS) <= names:
                    return None
                # every value fetched: a page that does not decode makes the file unreadable
                columns = ", ".join(METERING_COLUMNS)
                rows = connection.execute(
                    f"select {columns} from read_parquet(?)", [str(path)]
                ).fetchall()
                return len(rows)
        except duckdb.Error:
            return None
    if path.name.endswith(".gz"):
        if not data:
            return 0
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error):
            return None
    lines = _text_lines(data)
    if source == "telemetry":
        return sum(1 for line in lines if line.strip(b" ") != b"")
    return sum(1 for line in lines[1:] if line != b"")


def _reconciliation(db_path: Path) -> dict[str, tuple]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute(
            "select source_system, records_read, records_used, records_duplicate, "
            "records_withdrawn, records_quarantined, quarantined_unreadable_file, "
            "unreadable_files, is_balanced from rpt_source_reconciliation"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=corruptions())
def test_the_build_reads_every_line_of_randomly_corrupted_raw_files(
    sample: Path, drawn: list[Corruption]
) -> None:
    with tempfile.TemporaryDirectory(prefix="corrupted-") as directory:
        workdir = Path(directory)
        raw = workdir / "raw"
        shutil.copytree(sample, raw)
        ended: set[Path] = set()
        for number, corruption in enumerate(drawn):
            _apply(raw, corruption, number, ended)
        garbage = {path for path in ended if path.stat().st_size > 0}
        garbage |= {path for path in raw.glob("*/garbage-*")}
        expected = _expected(raw, garbage)
        for corruption in drawn:
            event(f"{corruption.source}: {corruption.kind}")
        unreadable = sum(len(names) for names in expected.unreadable.values())
        event(f"unreadable files in an example: {unreadable}")

        # the build passes: run_dbt_build raises with dbt's log otherwise
        built = run_dbt_build(workdir, raw, full_refresh=True)
        found = _reconciliation(built.db_path)

    for source in SOURCES:
        read, used, duplicate, withdrawn, quarantined, unreadable, names, balanced = found[source]
        assert read == used + duplicate + withdrawn + quarantined and balanced, (source, drawn)
        assert read == expected.records[source], (source, drawn)
        assert unreadable == len(expected.unreadable[source]), (source, drawn)
        assert names == (", ".join(expected.unreadable[source]) or None), (source, drawn)
