"""`usage-loader export-csv`: NetSuite's CSV import columns, exact quantities, date formats."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from loader.core.export import CSV_COLUMNS, format_date
from python_tests.support.mart_project import DbtProject, sendable_ids


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of an export to `path` (its first numbered file, `usage-0001.csv`)."""
    first = path.with_name(f"{path.stem}-0001{path.suffix}")
    with first.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_export_writes_the_sendable_records_with_netsuite_columns(
    project: DbtProject, tmp_path: Path
) -> None:
    out = tmp_path / "usage.csv"
    result = project.run("export-csv", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    header = (tmp_path / "usage-0001.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == (
        "External ID,Subscription,Subscription Line,Subscription Plan,Item,Quantity,Usage Date"
    )
    rows = {row["External ID"]: row for row in read_csv(out)}
    assert set(rows) == sendable_ids(project.records)
    assert rows["UR-SL-1001-20260511"] == {
        "External ID": "UR-SL-1001-20260511",
        "Subscription": "SUB-1",
        "Subscription Line": "1",
        "Subscription Plan": "PLAN-GROWTH",
        "Item": "ITEM-API",
        "Quantity": "25000.125",
        "Usage Date": "05/31/2026",
    }
    assert rows["UR-SL-1002-20260401"]["Subscription Line"] == "2"
    assert rows["UR-SL-1001-20260601"]["Quantity"] == "5120.000000001"
    report = result.report
    assert report["counts"] == {"exported": 8, "held": 4}
    held = {r["external_id"]: r["reasons"] for r in report["records"] if r["outcome"] == "held"}
    assert held["UR-SL-3001-20260701"] == ["period_open", "approval_required"]


def test_export_date_format_option(project: DbtProject, tmp_path: Path) -> None:
    out = tmp_path / "usage.csv"
    result = project.run(
        "export-csv", "--out", str(out), "--date-format", "DD.MM.YYYY", "--period", "2026-05-01"
    )
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out)
    assert [row["External ID"] for row in rows] == [
        "UR-SL-1001-20260501",
        "UR-SL-1001-20260511",
        "UR-SL-1002-20260501",
        "UR-SL-2001-20260501",
    ]
    assert [row["Usage Date"] for row in rows] == ["10.05.2026", "31.05.2026"] + ["31.05.2026"] * 2


def test_export_with_open_periods_includes_them(project: DbtProject, tmp_path: Path) -> None:
    out = tmp_path / "usage.csv"
    result = project.run("export-csv", "--out", str(out), "--include-open-periods")
    assert result.exit_code == 0, result.stderr
    exported = {row["External ID"] for row in read_csv(out)}
    assert exported == sendable_ids(project.records, include_open=True)
    assert "UR-SL-1001-20260701" in exported
    assert "UR-SL-3001-20260701" not in exported


def test_unknown_date_format_is_a_usage_error(project: DbtProject, tmp_path: Path) -> None:
    result = project.run("export-csv", "--out", str(tmp_path / "x.csv"), "--date-format", "YY")
    assert result.exit_code == 2
    assert list(tmp_path.glob("x*")) == []


def test_invalid_record_is_left_out_and_fails_the_run(project: DbtProject, tmp_path: Path) -> None:
    project.record("UR-SL-1002-20260501")["quantity"] = -3
    project.build()
    out = tmp_path / "usage.csv"
    result = project.run("export-csv", "--out", str(out), "--json")
    assert result.exit_code == 1
    exported = {row["External ID"] for row in read_csv(out)}
    assert "UR-SL-1002-20260501" not in exported
    assert len(exported) == 7
    invalid = [r for r in result.report["records"] if r["outcome"] == "invalid"]
    assert [r["external_id"] for r in invalid] == ["UR-SL-1002-20260501"]
    assert "negative" in invalid[0]["reasons"][0]


def test_export_refuses_without_dbt_results(project: DbtProject, tmp_path: Path) -> None:
    (project.root / "target" / "run_results.json").unlink()
    out = tmp_path / "usage.csv"
    result = project.run("export-csv", "--out", str(out))
    assert result.exit_code == 3
    assert list(tmp_path.glob("usage*")) == []


def test_export_splits_into_numbered_files_with_the_import_map(
    project: DbtProject, tmp_path: Path
) -> None:
    out = tmp_path / "usage.csv"
    result = project.run("export-csv", "--out", str(out), "--max-records", "3", "--json")
    assert result.exit_code == 0, result.stderr
    names = ["usage-0001.csv", "usage-0002.csv", "usage-0003.csv"]
    assert sorted(path.name for path in tmp_path.glob("usage-0*.csv")) == names
    exported = []
    for name in names:
        with (tmp_path / name).open(encoding="utf-8", newline="") as stream:
            rows = list(csv.DictReader(stream))
        assert 1 <= len(rows) <= 3
        exported += [row["External ID"] for row in rows]
    assert exported == sorted(sendable_ids(project.records))
    note = (tmp_path / "usage-import-map.txt").read_text(encoding="utf-8")
    assert "usage-0001.csv, usage-0002.csv, usage-0003.csv" in note
    for column in ("Subscription ", "Subscription Plan", "Item "):
        line = next(line for line in note.splitlines() if line.strip().startswith(column))
        assert "reference type: Internal ID" in line
    assert result.report["details"]["files"] == [str(tmp_path / name) for name in names]
    assert "usage-import-map.txt" in result.report["message"]

    again = project.run("export-csv", "--out", str(out))
    assert again.exit_code == 0
    assert sorted(path.name for path in tmp_path.glob("usage-0*.csv")) == ["usage-0001.csv"]
    assert "usage-import-map.txt" in again.stdout


def test_more_records_per_file_than_the_import_assistant_takes_is_a_usage_error(
    project: DbtProject, tmp_path: Path
) -> None:
    result = project.run("export-csv", "--out", str(tmp_path / "u.csv"), "--max-records", "25001")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("MM/DD/YYYY", "03/07/2026"),
        ("DD/MM/YYYY", "07/03/2026"),
        ("M/D/YYYY", "3/7/2026"),
        ("D/M/YYYY", "7/3/2026"),
        ("DD.MM.YYYY", "07.03.2026"),
        ("D.M.YYYY", "7.3.2026"),
        ("YYYY/MM/DD", "2026/03/07"),
        ("YYYY-MM-DD", "2026-03-07"),
        ("DD-Mon-YYYY", "07-Mar-2026"),
    ],
)
def test_netsuite_date_formats(pattern: str, text: str) -> None:
    assert format_date(date(2026, 3, 7), pattern) == text


def test_columns_are_netsuites_import_columns() -> None:
    assert CSV_COLUMNS == (
        "External ID",
        "Subscription",
        "Subscription Line",
        "Subscription Plan",
        "Item",
        "Quantity",
        "Usage Date",
    )
