"""The raw text is not copied for every record (docs/decisions.md, "Raw text is read back, not
copied"): staging keeps it for records invalid there; fct_raw_record_text reads any record's text
back from its raw file by file and line (or row) number, numbered as staging numbered it; and
fct_usage_quarantine still shows the text of every quarantined record, read back once
(int_usage_quarantined_texts), from the files that hold new ones only. Built for real on the
sample data plus files read line by line (bytes that are not UTF-8), a .gz file with a BOM and
CRLF line ends, and a CSV row quoted because a field holds a comma."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from loader.dbt_plugins.raw_files import register_functions
from python_tests.support.pipeline_build import (
    BuiltPipeline,
    run_dbt_build,
    write_sample_data,
)

REPLACEMENT = "\ufffd"
UTF8_BOM = b"\xef\xbb\xbf"
STAGING_MODELS = {
    "telemetry": "stg_telemetry__events",
    "stripe": "stg_stripe__meter_events",
    "salesforce": "stg_salesforce__usage_entries",
    "metering": "stg_metering__usage_windows",
    "watermarks": "stg_watermarks__signals",
}
QUARANTINED_TEXTS = "int_usage_quarantined_texts"
TEXT_SOURCES = ("telemetry", "stripe", "salesforce", "watermarks")
# a line of bytes that are not UTF-8 (malformed at staging, its text kept there)
NOT_UTF8 = b'{"event_id":"rt-bad-bytes","account_key":"caf\xc3\xa9 \xff","event_type":"x"}'
NOT_UTF8_TEXT = (
    '{"event_id":"rt-bad-bytes","account_key":"café ' + REPLACEMENT + '","event_type":"x"}'
)


def _event(event_id: str, account_key: str) -> bytes:
    """A valid telemetry line of a customer the contract book does not know."""
    return (
        f'{{"event_id":"{event_id}","account_key":"{account_key}","event_type":"api.request",'
        '"occurred_at":"2026-03-02T10:00:00Z","received_at":"2026-03-02T10:01:00Z","quantity":3}'
    ).encode()


def _add_files(raw: Path) -> None:
    """Files beside the sample data, each holding a record quarantined after staging."""
    telemetry = raw / "telemetry"
    march = (telemetry / "events-2026-03.jsonl").read_bytes().splitlines()
    # read line by line (bytes that are not UTF-8): a copy, the bad line, an unknown customer
    # after it, a blank line (not a record), a copy
    (telemetry / "rt-lines.jsonl").write_bytes(
        b"\n".join([march[0], NOT_UTF8, _event("rt-unknown-1", "rt-nobody"), b"", march[1]]) + b"\n"
    )
    # a .gz with a BOM and CRLF line ends, read by DuckDB's reader
    (telemetry / "rt-bom-crlf.jsonl.gz").write_bytes(
        gzip.compress(
            UTF8_BOM
            + b"\r\n".join([march[2], _event("rt-unknown-2", "rt-nobody"), march[3]])
            + b"\r\n"
        )
    )

    stripe = raw / "stripe"
    header, first, second = (stripe / "meter_events_2026-03.csv").read_text().splitlines()[:3]
    row = next(csv.reader([first]))
    unknown = [*row]
    unknown[0], unknown[3] = "rt_unknown", "cus_rt_nobody"
    quoted = [*row]
    # a field holding a comma: quoted in the file, as the row's text shows it
    quoted[0], quoted[3] = "rt,quoted", "cus_rt_nobody"
    after_bad = [*unknown]
    after_bad[0] = "rt_unknown_after_bad_bytes"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([unknown, quoted, after_bad])
    rows = out.getvalue().splitlines()
    (stripe / "rt-rows.csv").write_text(f"{header}\n{second}\n{rows[0]}\n{rows[1]}\n")
    # read line by line: a row of bytes that are not UTF-8, then a valid row
    bad_row = b"rt_bad_bytes,gpu_\xe9ms,1772323230,cus_Qf3Gl0bexR7a2K,5,1772323438"
    (stripe / "rt-lines.csv").write_bytes(
        b"\n".join([header.encode(), bad_row, rows[2].encode()]) + b"\n"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    workdir = tmp_path_factory.mktemp("raw_text")
    raw = workdir / "raw"
    write_sample_data(raw)
    _add_files(raw)
    return run_dbt_build(workdir, raw, full_refresh=True)


@pytest.fixture(scope="module")
def db(built: BuiltPipeline) -> duckdb.DuckDBPyConnection:
    """The build's DuckDB file on a connection of its own, with the raw-file functions that the
    view needs to read a file line by line."""
    connection = duckdb.connect(str(built.db_path), read_only=True)
    register_functions(connection)
    yield connection
    connection.close()


def _file_lines(path: Path) -> list[str]:
    """A text file's lines (.gz inflated, a BOM and line ends dropped), bytes that are not UTF-8
    shown as U+FFFD: line n is item n - 1."""
    content = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [
        line.removesuffix(b"\r").decode("utf-8", errors="replace")
        for line in content.removeprefix(UTF8_BOM).split(b"\n")
    ]


def _parquet_rows(path: Path) -> dict[int, str]:
    """A Parquet file's rows by number (from 1), each as its values joined by commas."""
    with duckdb.connect() as connection:
        rows = connection.execute(
            "select file_row_number + 1, concat_ws(',', record_id, meter_api_name, customer_id, "
            "cast(window_start as varchar), cast(window_end as varchar), cast(value as varchar), "
            "cast(exported_at as varchar)) from read_parquet(?, file_row_number = true)",
            [str(path)],
        ).fetchall()
    return dict(rows)


def _texts_in_files(raw: Path, keys: list[tuple[str, str, int]]) -> dict[tuple, str]:
    """The text of each (source, file, number) read from the raw files by this test."""
    texts: dict[tuple, str] = {}
    cache: dict[Path, object] = {}
    for source, file_name, number in keys:
        path = raw / source / file_name
        if path not in cache:
            cache[path] = _parquet_rows(path) if source == "metering" else _file_lines(path)
        content = cache[path]
        texts[(source, file_name, number)] = (
            content[number] if source == "metering" else content[number - 1]
        )
    return texts


def _valid_records(db: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str, int]]:
    return db.execute(
        f"select '{source}', file_name, record_number from {STAGING_MODELS[source]} "
        "where invalid_reason is null order by 2, 3"
    ).fetchall()


def _read_back(db: duckdb.DuckDBPyConnection) -> dict[tuple, str]:
    rows = db.execute(
        "select source_system, file_name, record_number, raw_record from fct_raw_record_text"
    ).fetchall()
    return {(source, name, number): text for source, name, number, text in rows}


def test_every_valid_records_text_read_back_is_its_raw_line(built, db) -> None:
    read_back = _read_back(db)
    for source in STAGING_MODELS:
        valid = _valid_records(db, source)
        assert valid, source
        expected = _texts_in_files(built.raw_dir, valid)
        assert {key: read_back.get(key) for key in valid} == expected, source
    # the files read line by line and the .gz file are among them
    files = {name for _, name, _ in read_back}
    assert {"rt-lines.jsonl", "rt-bom-crlf.jsonl.gz", "replay-2026-04-18.jsonl.gz"} <= files
    assert {"rt-rows.csv", "rt-lines.csv"} <= files
    assert read_back[("stripe", "rt-rows.csv", 4)].startswith('"rt,quoted",')


def test_the_view_numbers_records_as_staging_did(db) -> None:
    """One row per record staging read from a file it could read, under the same numbers (a
    blank line is no record)."""
    read_back = set(_read_back(db))
    staged = set()
    for source, model in STAGING_MODELS.items():
        staged |= set(
            db.execute(
                f"select '{source}', file_name, record_number from {model} "
                "where record_number is not null"
            ).fetchall()
        )
    assert read_back == staged
    assert ("telemetry", "rt-lines.jsonl", 4) not in read_back


def test_staging_holds_no_text_for_valid_records(db) -> None:
    for source, model in STAGING_MODELS.items():
        counts = db.execute(
            f"select count(*) filter (where invalid_reason is null and raw_record is not null), "
            f"count(*) filter (where invalid_reason is not null and raw_record is null), "
            f"count(*) filter (where invalid_reason is null) from {model}"
        ).fetchone()
        assert counts[:2] == (0, 0), source
        assert counts[2] > 0, source


def test_a_malformed_line_keeps_its_text_in_staging(db) -> None:
    staged = db.execute(
        "select record_number, invalid_reason, raw_record from stg_telemetry__events "
        "where file_name = 'rt-lines.jsonl' and invalid_reason is not null"
    ).fetchall()
    assert staged == [(2, "malformed_record", NOT_UTF8_TEXT)]
    quarantined = db.execute(
        "select record_number, quarantine_reason, raw_record from fct_usage_quarantine "
        "where file_name = 'rt-lines.jsonl' order by 1"
    ).fetchall()
    assert quarantined == [
        (2, "malformed_record", NOT_UTF8_TEXT),
        (3, "unknown_customer", _event("rt-unknown-1", "rt-nobody").decode()),
    ]
    stripe = db.execute(
        "select record_number, invalid_reason, raw_record from stg_stripe__meter_events "
        "where file_name = 'rt-lines.csv' order by 1"
    ).fetchall()
    assert stripe == [
        (
            2,
            "malformed_record",
            "rt_bad_bytes,gpu_" + REPLACEMENT + "ms,1772323230,cus_Qf3Gl0bexR7a2K,5,1772323438",
        ),
        (3, None, None),
    ]


def test_a_record_quarantined_after_staging_shows_its_raw_text(built, db) -> None:
    """Its text is not in staging; fct_usage_quarantine reads it back from its file, exactly the
    line (or Parquet row) at its number."""
    rows = db.execute(
        """
        select quarantine.source_system, quarantine.file_name, quarantine.record_number,
            quarantine.quarantine_reason, quarantine.raw_record, unioned.raw_record
        from fct_usage_quarantine as quarantine
        inner join int_usage_records_unioned as unioned
            on quarantine.source_system = unioned.source_system
                and quarantine.file_name = unioned.file_name
                and quarantine.record_number = unioned.record_number
        where unioned.invalid_reason is null
        """
    ).fetchall()
    later = {
        (source, name, number): (reason, text) for source, name, number, reason, text, _ in rows
    }
    assert all(staged is None for *_, staged in rows)
    expected = _texts_in_files(built.raw_dir, list(later))
    assert {key: text for key, (_, text) in later.items()} == expected
    # the ones added here: after a line read line by line, in a .gz file with a BOM and CRLF
    # line ends, and a CSV row quoted because a field holds a comma; and the sample's own
    assert later[("telemetry", "rt-lines.jsonl", 3)][0] == "unknown_customer"
    assert later[("telemetry", "rt-bom-crlf.jsonl.gz", 2)][0] == "unknown_customer"
    assert later[("stripe", "rt-rows.csv", 3)][0] == "unknown_customer"
    assert later[("stripe", "rt-rows.csv", 4)][0] == "unknown_customer"
    assert expected[("stripe", "rt-rows.csv", 4)].startswith('"rt,quoted",gpu_ms,')
    assert later[("stripe", "rt-lines.csv", 3)][0] == "unknown_customer"
    reasons = {reason for reason, _ in later.values()}
    assert {"unknown_customer", "unknown_metric", "no_active_line"} <= reasons
    assert {source for source, _, _ in later} >= {"telemetry", "stripe"}


def _reads_raw_files(target: Path) -> list[str]:
    """The raw files the last build's quarantined texts read back, from its compiled SQL."""
    model = next(target.glob(f"compiled/*/models/intermediate/audit/{QUARANTINED_TEXTS}.sql"))
    return sorted(set(re.findall(r"/raw/[a-z]+/([^'/]+)'", model.read_text())))


def test_the_quarantined_texts_are_read_back_once_from_the_files_that_hold_new_ones(
    built, tmp_path: Path
) -> None:
    """A daily build reads back only the files holding a quarantined record whose text is not
    held yet: none when nothing is new, the new file when it brings one; the texts held stay."""
    workdir = tmp_path / "daily"
    shutil.copytree(built.raw_dir, workdir / "raw")
    shutil.copy(built.db_path, workdir / built.db_path.name)
    with duckdb.connect(str(built.db_path), read_only=True) as connection:
        held_before = connection.execute(
            f"select raw_record_id, raw_record, read_by_invocation_id from {QUARANTINED_TEXTS}"
        ).fetchall()
    assert any(
        raw_record_id.startswith("telemetry:rt-lines.jsonl:") for raw_record_id, *_ in held_before
    )

    unchanged = run_dbt_build(workdir, workdir / "raw", full_refresh=False, scheduled=True)
    assert _reads_raw_files(unchanged.target_dir) == []

    (workdir / "raw" / "telemetry" / "rt-new-day.jsonl").write_bytes(
        b"\n".join([_event("rt-unknown-3", "rt-nobody-else"), _event("rt-unknown-4", "rt-nobody")])
        + b"\n"
    )
    daily = run_dbt_build(workdir, workdir / "raw", full_refresh=False, scheduled=True)
    assert _reads_raw_files(daily.target_dir) == ["rt-new-day.jsonl"]
    with duckdb.connect(str(daily.db_path), read_only=True) as connection:
        held = connection.execute(
            f"select raw_record_id, raw_record, read_by_invocation_id from {QUARANTINED_TEXTS}"
        ).fetchall()
        shown = dict(
            connection.execute(
                "select record_number, raw_record from fct_usage_quarantine "
                "where file_name = 'rt-new-day.jsonl'"
            ).fetchall()
        )
    assert set(held_before) <= set(held)
    assert shown == {
        1: _event("rt-unknown-3", "rt-nobody-else").decode(),
        2: _event("rt-unknown-4", "rt-nobody").decode(),
    }
    assert len(held) == len(held_before) + 2


def _kept_checks(db_path: Path, raw: Path) -> dict[str, tuple]:
    """dbt_raw_file_checks of the files under `raw`, by file name: (size, modified_at, read_as,
    checked_by_invocation_id)."""
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute(
            "select path, size, modified_at, read_as, checked_by_invocation_id "
            "from dbt_raw_file_checks where starts_with(path, ?)",
            [str(raw.resolve()) + "/"],
        ).fetchall()
    return {Path(path).name: tuple(rest) for path, *rest in rows}


def _invocation_id(build: BuiltPipeline) -> str:
    return json.loads((build.target_dir / "run_results.json").read_text())["metadata"][
        "invocation_id"
    ]


def test_a_raw_files_check_is_kept_until_the_file_changes(built, tmp_path: Path) -> None:
    """How each raw file can be read is kept by path, size and time: a build with nothing new
    checks no file again (fct_raw_record_text checks again the files with a malformed record, to
    read them as staging did), a file whose time changed is checked again, and a new file is
    checked once and kept."""
    workdir = tmp_path / "kept"
    shutil.copytree(built.raw_dir, workdir / "raw")
    shutil.copy(built.db_path, workdir / built.db_path.name)
    first = run_dbt_build(workdir, workdir / "raw", full_refresh=False, scheduled=True)
    kept = _kept_checks(first.db_path, workdir / "raw")
    assert kept["rt-lines.jsonl"][2:] == ("lines", _invocation_id(first))

    unchanged = run_dbt_build(workdir, workdir / "raw", full_refresh=False, scheduled=True)
    assert _kept_checks(unchanged.db_path, workdir / "raw") == kept

    touched = workdir / "raw" / "telemetry" / "rt-lines.jsonl"
    touched.touch()
    (workdir / "raw" / "telemetry" / "rt-another-day.jsonl").write_bytes(
        _event("rt-unknown-5", "rt-nobody") + b"\n"
    )
    daily = run_dbt_build(workdir, workdir / "raw", full_refresh=False, scheduled=True)
    after = _kept_checks(daily.db_path, workdir / "raw")
    assert after["rt-lines.jsonl"][1] != kept["rt-lines.jsonl"][1]
    assert after["rt-lines.jsonl"][2:] == ("lines", _invocation_id(daily))
    assert after["rt-another-day.jsonl"][2:] == ("fast", _invocation_id(daily))
    assert {name: row for name, row in after.items() if name in kept and name != touched.name} == {
        name: row for name, row in kept.items() if name != touched.name
    }
