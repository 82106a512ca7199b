"""`usage-loader contracts pull` over real HTTP against the sandbox serving NetSuite's tables."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loader.contracts.pull import BOOK_FILES, HAND_KEPT_FILES
from loader.sample_data.book import DEMO_SEEDS_DIR, read_book, write_book
from loader.sample_data.scale_book import scaled_book
from python_tests.support.mart_project import USAGE_LOADER, loader_env
from python_tests.support.sandbox_server import SandboxServer

PULLED = [f"{book.name}.csv" for book in BOOK_FILES]


def pull(sandbox: SandboxServer, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(USAGE_LOADER), "contracts", "pull", "--out", str(out), *args],
        env=loader_env(sandbox.loader_env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(
        state_file=tmp_path / "netsuite.sqlite3", contract_book=DEMO_SEEDS_DIR
    ) as server:
        yield server


@pytest.fixture
def book_dir(tmp_path: Path) -> Path:
    """A contract-book folder holding the shipped book, all twelve files."""
    folder = tmp_path / "contract_book"
    shutil.copytree(DEMO_SEEDS_DIR, folder)
    return folder


def test_a_pull_reproduces_the_shipped_seeds_byte_for_byte(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    out = tmp_path / "fresh"
    result = pull(sandbox, out)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(PULLED)
    for name in PULLED:
        assert (out / name).read_bytes() == (DEMO_SEEDS_DIR / name).read_bytes(), name
    assert "billing_accounts.csv: 20 rows, new file" in result.stdout
    assert "amendments.csv: 8 rows, new file" in result.stdout
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fresh")] == []


def test_hand_kept_files_are_never_overwritten(sandbox: SandboxServer, book_dir: Path) -> None:
    metrics = book_dir / "metrics.csv"
    metrics.write_text(metrics.read_text() + "extra_metric,sum,,units\n")
    before = snapshot(book_dir)
    result = pull(sandbox, book_dir)
    assert result.returncode == 0, result.stderr
    after = snapshot(book_dir)
    assert after == before
    for name in HAND_KEPT_FILES:
        assert after[f"{name}.csv"] == before[f"{name}.csv"]
    for name in PULLED:
        assert f"{name}: " in result.stdout and "unchanged" in result.stdout


def test_the_summary_names_the_rows_that_changed(sandbox: SandboxServer, book_dir: Path) -> None:
    sandbox.edit_contract_book("billingaccount", "BA-003", "name", "Globex Corporation")
    sandbox.remove_change_order("AMD-0002")
    result = pull(sandbox, book_dir)
    assert result.returncode == 0, result.stderr
    assert "billing_accounts.csv: 20 rows, 0 added, 0 removed, 1 changed" in result.stdout
    assert "changed: BA-003" in result.stdout
    assert "amendments.csv: 7 rows, 0 added, 1 removed, 0 changed" in result.stdout
    assert "removed: AMD-0002" in result.stdout
    assert "subscriptions.csv: 20 rows, unchanged" in result.stdout
    accounts = (book_dir / "billing_accounts.csv").read_text()
    assert "BA-003,4103,Globex Corporation,USD,UTC,1\n" in accounts
    assert "AMD-0002" not in (book_dir / "amendments.csv").read_text()


def test_a_pull_failing_half_way_leaves_the_folder_untouched(
    sandbox: SandboxServer, book_dir: Path, tmp_path: Path
) -> None:
    sandbox.edit_contract_book("billingaccount", "BA-003", "name", "Globex Corporation")
    # Five queries answer, then SuiteQL fails beyond the retries.
    sandbox.set_faults(suiteql_schedule=["ok"] * 5 + ["500"] * 10)
    before = snapshot(book_dir)
    result = pull(sandbox, book_dir, "--max-attempts", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nothing was written" in result.stderr
    assert snapshot(book_dir) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".contract_book")] == []
    assert sandbox.stats()["by_status"].get("500") == 3


@pytest.mark.parametrize(
    ("table", "record", "column", "value", "named"),
    [
        (
            "priceplan",
            "PP-B-USD",
            "priceplantype",
            "3",
            "priceplan 2 (PP-B-USD): priceplantype = '3': a pricing model",
        ),
        (
            "subscriptionchangeorder",
            "AMD-0005",
            "action",
            "SUSPEND",
            "subscriptionchangeorder 5 (AMD-0005): action = 'SUSPEND': a change-order action",
        ),
        (
            "subscriptionline",
            "SL-1005-2",
            "subscriptionlinetype",
            "1",
            "subscriptionline 7 (SL-1005-2): subscriptionlinetype = '1': a charge type",
        ),
        (
            "billingaccount",
            "BA-007",
            "custrecord_usage_timezone",
            None,
            "billingaccount 7 (BA-007): custrecord_usage_timezone: a billing account without",
        ),
    ],
)
def test_what_the_book_cannot_express_stops_the_pull_with_exit_4(
    sandbox: SandboxServer,
    book_dir: Path,
    table: str,
    record: str,
    column: str,
    value: str | None,
    named: str,
) -> None:
    sandbox.edit_contract_book(table, record, column, value)
    before = snapshot(book_dir)
    result = pull(sandbox, book_dir)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "NetSuite holds 1 record(s) the contract book cannot express" in result.stderr
    assert named in result.stderr
    assert snapshot(book_dir) == before


def test_two_tiers_of_one_option_above_the_same_quantity_stop_the_pull(
    sandbox: SandboxServer, book_dir: Path
) -> None:
    # PP-T-USD's tier 2 is a Rate row and a Fixed Amount row above 1000: make both Rate rows.
    with sandbox.client() as client:
        answer = client.suiteql(
            "SELECT id FROM pricetiers WHERE priceplan = 3 AND pricingoption = '-102' "
            "AND fromval = '1000'"
        )
    fixed_row = answer.json()["items"][0]["id"]
    sandbox.edit_contract_book("pricetiers", fixed_row, "pricingoption", "-101")
    result = pull(sandbox, book_dir)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "pricetiers 3: fromval = '1000': tiers that are not 1..n" in result.stderr


def test_a_large_book_is_read_in_pages_and_keyset_queries(tmp_path: Path) -> None:
    generated = tmp_path / "generated"
    write_book(scaled_book(read_book(DEMO_SEEDS_DIR), 1100).book, generated)
    lines = (generated / "subscription_lines.csv").read_text().count("\n") - 1
    assert lines > 1000
    with SandboxServer(state_file=tmp_path / "ns.sqlite3", contract_book=generated) as server:
        paged = pull(server, tmp_path / "paged")
        assert paged.returncode == 0, paged.stderr
        # A ceiling of 300 rows per query: every large table takes several keyset queries.
        server.set_faults(suiteql_max_results=300)
        keyset = pull(server, tmp_path / "keyset")
        assert keyset.returncode == 0, keyset.stderr
    for name in PULLED:
        expected = (generated / name).read_bytes()
        assert (tmp_path / "paged" / name).read_bytes() == expected, name
        assert (tmp_path / "keyset" / name).read_bytes() == expected, name
    queries = int(keyset.stdout.split("(")[1].split(" queries")[0])
    assert queries > int(paged.stdout.split("(")[1].split(" queries")[0]) + 10
