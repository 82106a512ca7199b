"""The dbt pipeline built for real on the sample data: every deliberate record of the generator
ends where the product contract says, every raw record is accounted for, and the hand-computed
amounts come out to the cent."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from loader.sample_data.scenarios import handwritten_records
from python_tests.support.pipeline_build import (
    PROJECT_DIR,
    QUARANTINE_REASONS,
    BuiltPipeline,
    build_pipeline,
    run_dbt_build,
)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> BuiltPipeline:
    return build_pipeline(tmp_path_factory.mktemp("pipeline"))


@pytest.fixture(scope="module")
def marts(pipeline: BuiltPipeline) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(pipeline.db_path), read_only=True)
    yield connection
    connection.close()


def _line_numbers(path: Path, line: str) -> list[int]:
    """1-based numbers of the lines of a text file (gzip-aware) that are exactly `line`, bytes
    that are not UTF-8 read as U+FFFD (as the quarantine shows them)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        return [
            number for number, text in enumerate(handle, start=1) if text.rstrip("\r\n") == line
        ]


def _outcomes(marts: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, int], str]:
    rows = marts.sql(
        """
        select source_system, file_name, record_number,
            case when record_outcome = 'quarantined' then 'quarantined:' || quarantine_reason
                else record_outcome end
        from int_usage_records_classified
        """
    ).fetchall()
    return {(source, file, number): outcome for source, file, number, outcome in rows}


def test_every_handwritten_record_ends_as_the_contract_says(
    pipeline: BuiltPipeline, marts: duckdb.DuckDBPyConnection
) -> None:
    outcomes = _outcomes(marts)
    mismatches = []
    # an identical line written twice (a redelivery) is matched to its occurrences in order
    seen: Counter[tuple[Path, str]] = Counter()
    for record in handwritten_records():
        path = pipeline.raw_dir / record.source_system / record.file_name
        if record.line is not None:
            numbers = _line_numbers(path, record.line)
            occurrence = seen[(path, record.line)]
            seen[(path, record.line)] += 1
            assert occurrence < len(numbers), f"{record.note}: line not found in {path.name}"
            number = numbers[occurrence]
        else:
            assert record.row is not None
            found = marts.sql(
                """
                select file_row_number + 1 from read_parquet(?, file_row_number = true)
                where record_id is not distinct from ? and exported_at is not distinct from ?
                """,
                params=[str(path), record.row.record_id, record.row.exported_at],
            ).fetchall()
            assert len(found) == 1, f"{record.note}: {len(found)} matching rows"
            number = found[0][0]
        actual = outcomes.get((record.source_system, record.file_name, number), "not read")
        if actual != record.expected:
            mismatches.append(
                f"{record.source_system} {record.file_name}:{number} ({record.kind}: "
                f"{record.note}) expected {record.expected}, got {actual}"
            )
    assert not mismatches, "\n".join(mismatches)


def test_a_line_that_is_not_utf8_is_quarantined_with_u_fffd_in_its_raw_content(
    pipeline: BuiltPipeline, marts: duckdb.DuckDBPyConnection
) -> None:
    (record,) = [record for record in handwritten_records() if record.kind == "not_utf8"]
    assert record.raw_line is not None and record.line is not None
    path = pipeline.raw_dir / record.source_system / record.file_name
    number = path.read_bytes().split(b"\n").index(record.raw_line) + 1
    found = marts.sql(
        "select quarantine_reason, raw_record from fct_usage_quarantine "
        "where source_system = ? and file_name = ? and record_number = ?",
        params=[record.source_system, record.file_name, number],
    ).fetchall()
    assert found == [("malformed_record", record.line)]
    assert "Ren\ufffde" in record.line


def test_every_raw_record_is_accounted_for(marts: duckdb.DuckDBPyConnection) -> None:
    rows = marts.sql(
        """
        select source_system, records_read, records_used + records_duplicate
            + records_withdrawn + records_quarantined, is_balanced
        from rpt_source_reconciliation
        """
    ).fetchall()
    assert {row[0] for row in rows} >= {"telemetry", "stripe", "salesforce", "metering"}
    for source, read, accounted, balanced in rows:
        assert read > 0, source
        assert read == accounted and balanced, source
    quarantined = marts.sql("select count(*) from fct_usage_quarantine").fetchall()[0][0]
    reasons = {
        reason
        for (reason,) in marts.sql(
            "select distinct quarantine_reason from fct_usage_quarantine"
        ).fetchall()
    }
    assert quarantined > 0
    assert reasons == set(QUARANTINE_REASONS)


def test_the_event_table_holds_what_the_step_views_compute(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    """The event table applies the deduplication, mapping and assignment macros in one statement
    to the events a run decides; the step views apply them one by one to every record. Both give
    the same rows (run ids aside): every column of the assignment view, and the deduplication
    view's outcome columns (the table keeps the mapped time and quantity where there is one)."""

    def rows(sql: str) -> list[tuple]:
        return sorted(
            marts.sql(sql).fetchall(),
            key=lambda row: tuple("" if value is None else str(value) for value in row),
        )

    assignment_columns = [
        name
        for (name,) in marts.sql(
            "select column_name from information_schema.columns "
            "where table_name = 'int_usage_events_assigned' order by ordinal_position"
        ).fetchall()
        if name not in ("decided_by_invocation_id", "assigned_by_invocation_id")
    ]
    deduplication_columns = [
        "raw_record_id", "event_key", "source_system", "source_event_key", "file_name",
        "record_number", "received_at", "is_deleted", "copies_received", "dedup_status",
        "is_conflict", "valid_from", "valid_to",
    ]  # fmt: skip
    for view, columns, where in (
        ("int_usage_events_assigned", assignment_columns, "dedup_status <> 'duplicate'"),
        ("int_usage_events_deduplicated", deduplication_columns, "dedup_status is not null"),
    ):
        column_list = ", ".join(columns)
        kept = rows(f"select {column_list} from int_usage_records_assigned where {where}")
        computed = rows(f"select {column_list} from {view}")
        assert computed, f"{view} is empty: nothing was compared"
        assert kept == computed, view


def test_the_approved_invoice_matches_its_hand_computed_total(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    # 3,187,500 calls × 0.0035 USD = 11,156.25 USD, approved at exactly that amount.
    total, state = marts.sql(
        """
        select invoice_total, approval_state from rpt_period_close_status
        where billing_account_id = 'BA-010' and billing_period_start = date '2026-03-01'
        """
    ).fetchall()[0]
    assert total == Decimal("11156.25")
    assert state == "approved"
    held = marts.sql(
        """
        select count(*) from fct_usage_records
        where billing_account_id = 'BA-010' and billing_period_start = date '2026-03-01'
            and not (requires_approval and is_approved)
        """
    ).fetchall()[0][0]
    assert held == 0
    stale = marts.sql(
        """
        select approval_state from rpt_period_close_status
        where billing_account_id = 'BA-011' and billing_period_start = date '2026-03-01'
        """
    ).fetchall()[0][0]
    assert stale == "stale"


def test_late_usage_becomes_adjustments_and_credit_memo_candidates(
    marts: duckdb.DuckDBPyConnection,
) -> None:
    adjustments = marts.sql(
        """
        select external_id, adjusts_period_start, billing_period_start, quantity, rated_amount
        from fct_usage_records where is_adjustment order by external_id
        """
    ).fetchall()
    assert adjustments, "the sample data has late usage after billing"
    for external_id, adjusts, period, quantity, amount in adjustments:
        assert external_id.endswith(f"-ADJ-{period:%Y%m%d}")
        assert adjusts < period
        assert quantity > 0 and amount >= 0
    credits = marts.sql("select count(*) from rpt_credit_memo_candidates").fetchall()[0][0]
    assert credits > 0


def test_every_external_id_is_netsuite_safe_and_unique(marts: duckdb.DuckDBPyConnection) -> None:
    total, distinct, bad = marts.sql(
        """
        select count(*), count(distinct external_id),
            count(*) filter (
                where not regexp_full_match(
                    external_id, 'UR-[A-Za-z0-9_-]+-[0-9]{8}(-ADJ-[0-9]{8})?'
                )
            )
        from fct_usage_records
        """
    ).fetchall()[0]
    assert total > 0 and total == distinct and bad == 0


def test_an_empty_contract_book_and_empty_raw_folders_still_build(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for seed in sorted((PROJECT_DIR / "seeds" / "contract_book").glob("*.csv")):
        header = seed.read_text(encoding="utf-8").splitlines()[0]
        (seeds / seed.name).write_text(header + "\n", encoding="utf-8")
    raw = tmp_path / "raw"
    for source in ("telemetry", "stripe", "salesforce", "metering", "watermarks"):
        (raw / source).mkdir(parents=True)
    built = run_dbt_build(tmp_path, raw, full_refresh=True, seeds_dir=seeds)
    with duckdb.connect(str(built.db_path), read_only=True) as connection:
        assert connection.sql("select count(*) from fct_usage_records").fetchall() == [(0,)]
        assert connection.sql(
            "select count(*), bool_and(is_balanced) from rpt_source_reconciliation"
        ).fetchall() == [(5, True)]


def test_the_summary_piped_to_a_file_is_plain_and_whole(pipeline: BuiltPipeline) -> None:
    """`usage-loader summary > file`: no ANSI escape code (even when FORCE_COLOR asks for
    colours) and no value cut to fit a width, however narrow COLUMNS says the screen is."""
    completed = subprocess.run(
        [
            Path(sys.executable).parent / "usage-loader",
            "summary",
            "--project-dir",
            PROJECT_DIR,
            "--db",
            pipeline.db_path,
        ],
        env={
            **os.environ,
            "DBT_PROFILES_DIR": str(PROJECT_DIR),
            "DBT_TARGET_PATH": str(pipeline.target_dir),
            "FORCE_COLOR": "1",
            "COLUMNS": "40",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout + completed.stderr
    assert "\x1b" not in output
    assert "…" not in output
    lines = completed.stdout.splitlines()
    for reason in QUARANTINE_REASONS:
        assert any(f" {reason} " in line for line in lines), reason
    assert any(line.startswith("Account periods: ") and "; closed: " in line for line in lines)
