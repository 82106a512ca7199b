"""Output fit for logs: piped to a file, `usage-loader` prints plain text (no ANSI escape code,
even when FORCE_COLOR asks for colours) and tables that show every value whole."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from python_tests.support.mart_project import DbtProject, usage_record

# What a terminal emulator's or CI's environment may say; a pipe is still not a terminal.
COLOUR_ASKED = {"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1", "COLUMNS": "60", "TERM": "xterm"}
LONG_LINE = "SL-1001"
MAY, MAY_END = date(2026, 5, 1), date(2026, 5, 31)
JUNE, JUNE_END = date(2026, 6, 1), date(2026, 6, 30)


def long_records() -> list[dict[str, object]]:
    """A valid record with a 200-character External ID and a long quantity, and an invalid one
    whose reasons make a long line."""
    valid = usage_record(LONG_LINE, MAY, "123456789012345.123456789", period_end=MAY_END)
    valid["external_id"] = f"UR-{'X' * 188}-20260501"
    invalid = usage_record("SL-2001", JUNE, "1", period_end=JUNE_END)
    invalid.update(
        netsuite_customer_id=None,
        subscription_plan_id=None,
        item_id=None,
        quantity=Decimal("-98765432109876.987654321"),
    )
    return [valid, invalid]


def assert_plain(text: str) -> None:
    assert "\x1b[" not in text
    assert "\x1b" not in text
    assert "…" not in text


def test_plan_piped_is_plain_and_whole(project: DbtProject) -> None:
    project.records = [*project.records, *long_records()]
    project.build()
    result = project.run("plan", env=COLOUR_ASKED)
    assert result.exit_code == 1
    assert_plain(result.stdout + result.stderr)
    lines = result.stdout.splitlines()
    (report,) = project.reports("plan")
    assert len(report["records"]) == len(project.records)
    for record in report["records"]:
        (line,) = [line for line in lines if f" {record['external_id']} " in line]
        assert record["quantity"] in line
        assert "; ".join(record["reasons"]) in line
    invalid = next(r for r in report["records"] if r["outcome"] == "invalid")
    assert "quantity -98765432109876.987654321 is negative" in invalid["reasons"]
    assert report["message"] in lines


def test_refusal_piped_to_stderr_is_plain(project: DbtProject) -> None:
    project.write_artifacts(invocation_id="another-build")
    result = project.run("plan", env=COLOUR_ASKED)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "refused" in result.stderr
    assert_plain(result.stderr)
