"""Bad input never halts billing (SPEC 2.1): the sample data plus bad lines and bad files, built
for real. Every bad line is quarantined with its file, line number and content and the rest of
its file is read; every file that cannot be read is one `unreadable_file` record; the counts
balance; a source with an unreadable file closes no period of the accounts it feeds (SPEC 3.7),
and removing or replacing the file lets them close again without a full refresh."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import duckdb
import pytest

from python_tests.support.pipeline_build import (
    BuiltPipeline,
    run_dbt_build,
    write_sample_data,
)

REPLACEMENT = "\ufffd"
LONG_PADDING = 3_000_000
# Files that cannot be read: source system -> file names.
UNREADABLE = {
    "telemetry": ("binary.jsonl", "truncated.jsonl.gz"),
    "metering": (
        "corrupt-inside.parquet",
        "corrupt.parquet",
        "empty.parquet",
        "lacks-value.parquet",
    ),
}


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _event(event_id: str, account_key: str, **extra: str) -> bytes:
    """A telemetry line, as bytes, with the given members."""
    members = {
        "event_id": event_id,
        "account_key": account_key,
        "event_type": "api.request",
        "occurred_at": "2026-03-02T10:00:00Z",
        "received_at": "2026-03-02T10:01:00Z",
        **extra,
    }
    return ("{" + ",".join(f'"{key}":"{value}"' for key, value in members.items()) + "}").encode()


def _add_bad_files(raw: Path) -> dict[str, object]:
    """Bad lines and bad files beside the sample data; returns what each should become."""
    telemetry = raw / "telemetry"
    march = _lines(telemetry / "events-2026-03.jsonl")
    # a line of bytes that are not UTF-8 (between valid characters, é kept), a NUL byte, a line
    # of several megabytes (unknown customer: read, then quarantined as such), between copies of
    # delivered lines (duplicates: the rest of the file is read)
    not_utf8 = b'{"event_id":"bad-bytes","account_key":"caf\xc3\xa9 \xff\xfe","event_type":"x"}'
    with_nul = b'{"event_id":"nul-byte","account_key":"a\x00b","event_type":"x"}'
    long_line = _event("long-line", "nobody-knows", properties_pad="p" * LONG_PADDING)
    long_line = long_line.replace(b'"properties_pad":"', b'"properties":{"pad":"').replace(
        b'"}', b'"}}', 1
    )
    (telemetry / "resent-bad-lines.jsonl").write_bytes(
        b"\n".join([march[0], not_utf8, with_nul, long_line, march[1]]) + b"\n"
    )
    # a BOM at the start and CRLF line ends: ordinary records
    (telemetry / "resent-bom-crlf.jsonl").write_bytes(
        b"\xef\xbb\xbf" + b"\r\n".join(march[2:4]) + b"\r\n"
    )
    # files that cannot be read: a truncated gzip stream, a binary file named .jsonl
    truncated = gzip.compress(b"\n".join(march[4:200]) + b"\n")
    (telemetry / "truncated.jsonl.gz").write_bytes(truncated[: len(truncated) // 2])
    (telemetry / "binary.jsonl").write_bytes(gzip.compress(os.urandom(4096)))
    (telemetry / "empty.jsonl").write_bytes(b"")
    (telemetry / "empty.jsonl.gz").write_bytes(b"")

    stripe = raw / "stripe"
    stripe_lines = _lines(stripe / "meter_events_2026-03.csv")
    open_quote = b'mev_open_quote,"gpu_ms,1772323230,cus_Qf3Gl0bexR7a2K,5,1772323438'
    stripe_not_utf8 = b"mev_bad_bytes,gpu_\xe9ms,1772323230,cus_Qf3Gl0bexR7a2K,5,1772323438"
    (stripe / "meter_events_bad.csv").write_bytes(
        b"\n".join([stripe_lines[0], stripe_lines[1], open_quote, stripe_not_utf8, stripe_lines[2]])
        + b"\n"
    )
    (stripe / "empty.csv").write_bytes(b"")

    salesforce = raw / "salesforce"
    salesforce_lines = _lines(salesforce / "Usage_Entry__c_2026-03.csv")
    (salesforce / "bom-crlf.csv").write_bytes(
        b"\xef\xbb\xbf" + b"\r\n".join(salesforce_lines[:3]) + b"\r\n"
    )

    metering = raw / "metering"
    (metering / "corrupt.parquet").write_bytes(b"PAR1" + os.urandom(2048) + b"PAR1")
    (metering / "empty.parquet").write_bytes(b"")
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select * exclude (value) from read_parquet("
            f"'{metering}/usage_windows_2026-03.parquet')) "
            f"to '{metering}/lacks-value.parquet' (format parquet)"
        )
        # a Parquet file whose footer reads and whose `value` pages do not
        offset, size = connection.execute(
            "select data_page_offset, total_compressed_size from parquet_metadata(?) "
            "where path_in_schema = 'value' and row_group_id = 0",
            [str(metering / "usage_windows_2026-03.parquet")],
        ).fetchone()
    broken = bytearray((metering / "usage_windows_2026-03.parquet").read_bytes())
    broken[offset : offset + size] = b"\xa5" * size
    (metering / "corrupt-inside.parquet").write_bytes(bytes(broken))
    return {
        "telemetry_lines": march,
        "truncated_content": b"\n".join(march[4:200]) + b"\n",
        "long_line": long_line,
    }


def _query(db_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def _close_status(db_path: Path) -> dict[tuple[str, object], bool]:
    rows = _query(
        db_path,
        "select billing_account_id, billing_period_start, is_period_closed "
        "from rpt_period_close_status",
    )
    return {(account, period): closed for account, period, closed in rows}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    workdir = tmp_path_factory.mktemp("clean")
    raw = workdir / "raw"
    write_sample_data(raw)
    return run_dbt_build(workdir, raw, full_refresh=True)


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltPipeline, dict[str, object]]:
    workdir = tmp_path_factory.mktemp("bad")
    raw = workdir / "raw"
    write_sample_data(raw)
    expected = _add_bad_files(raw)
    # the build passes: it raises with dbt's log otherwise
    return run_dbt_build(workdir, raw, full_refresh=True), expected


def _quarantine(db_path: Path, file_name: str) -> dict[object, tuple[str, str]]:
    rows = _query(
        db_path,
        "select record_number, quarantine_reason, raw_record from fct_usage_quarantine "
        f"where file_name = '{file_name}'",
    )
    return {number: (reason, content) for number, reason, content in rows}


def _outcomes(db_path: Path, file_name: str) -> dict[int, tuple[str, str | None]]:
    rows = _query(
        db_path,
        "select record_number, record_outcome, quarantine_reason from int_usage_records_classified "
        f"where file_name = '{file_name}'",
    )
    return {number: (outcome, reason) for number, outcome, reason in rows}


def test_bad_lines_are_quarantined_and_the_rest_of_the_file_is_read(bad) -> None:
    built, expected = bad
    outcomes = _outcomes(built.db_path, "resent-bad-lines.jsonl")
    assert set(outcomes) == {1, 2, 3, 4, 5}
    assert outcomes[2] == ("quarantined", "malformed_record")
    assert outcomes[3] == ("quarantined", "malformed_record")
    # the line of several megabytes is read as a record: its customer is unknown
    assert outcomes[4] == ("quarantined", "unknown_customer")
    # the copies of delivered lines around them are read (as duplicate deliveries)
    assert outcomes[1][0] == outcomes[5][0] == "duplicate"

    quarantined = _quarantine(built.db_path, "resent-bad-lines.jsonl")
    # invalid bytes shown as U+FFFD, valid characters kept
    assert quarantined[2] == (
        "malformed_record",
        '{"event_id":"bad-bytes","account_key":"café ' + REPLACEMENT * 2 + '","event_type":"x"}',
    )
    assert (
        quarantined[3][1]
        == '{"event_id":"nul-byte","account_key":"a' + REPLACEMENT + 'b","event_type":"x"}'
    )
    assert quarantined[4][1] == expected["long_line"].decode()


def test_a_bom_and_crlf_line_ends_are_not_content(bad) -> None:
    built, _ = bad
    assert _outcomes(built.db_path, "resent-bom-crlf.jsonl") == {
        1: ("duplicate", None),
        2: ("duplicate", None),
    }
    # the header's first column is found despite the BOM: the rows are read, not missing_field
    salesforce = _outcomes(built.db_path, "bom-crlf.csv")
    assert set(salesforce) == {2, 3}
    assert all(reason is None for _, reason in salesforce.values())


def test_a_csv_row_with_an_open_quote_is_one_malformed_record(bad) -> None:
    built, _ = bad
    outcomes = _outcomes(built.db_path, "meter_events_bad.csv")
    assert outcomes == {
        2: ("duplicate", None),
        3: ("quarantined", "malformed_record"),
        4: ("quarantined", "malformed_record"),
        5: ("duplicate", None),
    }
    quarantined = _quarantine(built.db_path, "meter_events_bad.csv")
    assert quarantined[3][1] == 'mev_open_quote,"gpu_ms,1772323230,cus_Qf3Gl0bexR7a2K,5,1772323438'
    assert quarantined[4][1] == (
        "mev_bad_bytes,gpu_" + REPLACEMENT + "ms,1772323230,cus_Qf3Gl0bexR7a2K,5,1772323438"
    )


def test_each_unreadable_file_is_one_quarantined_record(bad) -> None:
    built, _ = bad
    rows = _query(
        built.db_path,
        "select source_system, file_name, record_number, raw_record from fct_usage_quarantine "
        "where quarantine_reason = 'unreadable_file' order by 1, 2",
    )
    assert [(source, name) for source, name, _, _ in rows] == [
        (source, name) for source, names in sorted(UNREADABLE.items()) for name in names
    ]
    assert all(number is None for _, _, number, _ in rows)
    errors = {name: content for _, name, _, content in rows}
    assert "end-of-stream" in errors["truncated.jsonl.gz"]
    assert "not a text file" in errors["binary.jsonl"]
    assert "value" in errors["lacks-value.parquet"]
    assert all(content.startswith("unreadable file: ") for content in errors.values())
    # empty text files hold no records and are no problem (an empty .parquet is no Parquet file)
    assert _query(
        built.db_path,
        "select count(*) from int_usage_records_unioned "
        "where file_name in ('empty.jsonl', 'empty.jsonl.gz', 'empty.csv')",
    ) == [(0,)]


def test_the_reconciliation_balances_and_names_unreadable_files(bad) -> None:
    built, _ = bad
    rows = _query(
        built.db_path,
        "select source_system, records_read, records_used + records_duplicate + records_withdrawn"
        " + records_quarantined, quarantined_unreadable_file, unreadable_files, is_balanced "
        "from rpt_source_reconciliation",
    )
    for source, read, ended, unreadable_count, unreadable_files, balanced in rows:
        assert read == ended and balanced, source
        names = UNREADABLE.get(source, ())
        assert unreadable_count == len(names), source
        assert unreadable_files == (", ".join(names) if names else None), source


def test_a_source_with_an_unreadable_file_closes_no_period(clean, bad) -> None:
    """Exactly the periods of the accounts a source with an unreadable file feeds are held open,
    each naming that source as missing and its unreadable files; every other period closes (or
    not) as it does without the bad files."""
    built, _ = bad
    sources_of: dict[str, set[str]] = {}
    for account, source in _query(
        built.db_path, "select distinct billing_account_id, source_system from customer_mappings"
    ):
        sources_of.setdefault(account, set()).add(source)
    before = _close_status(clean.db_path)
    rows = _query(
        built.db_path,
        "select billing_account_id, billing_period_start, is_period_closed, missing_sources, "
        "unreadable_files from rpt_period_close_status",
    )
    assert {(account, period) for account, period, *_ in rows} == set(before)
    held_open = set()
    for account, period, closed, missing, files in rows:
        holding = sorted(sources_of.get(account, set()) & set(UNREADABLE))
        assert files == (
            "; ".join(f"{source}: {', '.join(UNREADABLE[source])}" for source in holding) or None
        ), (account, period)
        if holding:
            assert not closed, (account, period)
            assert set(holding) <= set((missing or "").split(", ")), (account, period)
            held_open.add((account, period))
        else:
            assert closed == before[(account, period)], (account, period)
    # each source's unreadable files hold open periods that the clean build closes
    newly_open = {key for key in held_open if before[key]}
    for source in UNREADABLE:
        assert any(source in sources_of[account] for account, _ in newly_open), source
    assert {account for account, _ in held_open} == {
        account for account, sources in sources_of.items() if sources & set(UNREADABLE)
    } & {account for account, _ in before}


def test_removing_or_replacing_unreadable_files_needs_no_full_refresh(clean, bad) -> None:
    built, expected = bad
    raw = built.raw_dir
    workdir = built.db_path.parent
    unreadable_records = (
        "select source_system, file_name from fct_usage_quarantine "
        "where quarantine_reason = 'unreadable_file' order by 1, 2"
    )
    # while the files are there, an incremental build checks them again: still quarantined once
    again = run_dbt_build(workdir, raw, full_refresh=False)
    assert _query(again.db_path, unreadable_records) == _query(built.db_path, unreadable_records)
    assert _close_status(again.db_path) == _close_status(built.db_path)

    # a corrected file under the same name, and the other unreadable files removed
    (raw / "telemetry" / "truncated.jsonl.gz").write_bytes(
        gzip.compress(expected["truncated_content"])
    )
    for source, names in UNREADABLE.items():
        for name in names:
            if name != "truncated.jsonl.gz":
                (raw / source / name).unlink()
    rebuilt = run_dbt_build(workdir, raw, full_refresh=False)

    assert _query(rebuilt.db_path, unreadable_records) == []
    assert _close_status(rebuilt.db_path) == _close_status(clean.db_path)
    # the corrected file is read: every line a record (copies of delivered events)
    outcomes = _outcomes(rebuilt.db_path, "truncated.jsonl.gz")
    assert set(outcomes) == set(range(1, 197))
    assert {outcome for outcome, _ in outcomes.values()} == {"duplicate"}
    balances = _query(
        rebuilt.db_path, "select bool_and(is_balanced) from rpt_source_reconciliation"
    )
    assert balances == [(True,)]
