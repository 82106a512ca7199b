"""The finance report and the summary never present stale numbers as current: when dbt's latest
results do not vouch for the marts (a build whose tests failed, results of another invocation, no
results at all), both say so in a banner naming the reason and the fix, the report's JSON says
`stale: true`, and both exit 3, with the very reason a push gives when it refuses. After a good
build neither shows a banner.

The failed builds are real: `dbt build` of the sample data's mart on a copy of the package's
marts, with a duplicated record upstream so that the mart's tests fail."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import BrowserContext

from python_tests.finance_report.test_finance_report import browser, clean_env, open_page
from python_tests.support.pipeline_build import BuiltPipeline, run_dbt

__all__ = ["browser"]

USAGE_LOADER = Path(sys.executable).parent / "usage-loader"
HEADLINE = "Stale figures: these marts are not the last good dbt build"
DB_NAME = "usage_billing.duckdb"


@dataclass(frozen=True)
class Marts:
    """A copy of the marts and the dbt target folder whose results judge them."""

    db_path: Path
    target_dir: Path

    def results(self) -> dict:
        return json.loads((self.target_dir / "run_results.json").read_text(encoding="utf-8"))

    def results_invocation(self) -> str:
        return self.results()["metadata"]["invocation_id"]

    def mart_invocations(self) -> set[str]:
        with duckdb.connect(str(self.db_path), read_only=True) as connection:
            rows = connection.execute(
                "select distinct dbt_invocation_id from fct_usage_records"
            ).fetchall()
        return {row[0] for row in rows}


def _copy(pipeline: BuiltPipeline, workdir: Path) -> Marts:
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pipeline.db_path, workdir / DB_NAME)
    shutil.copytree(pipeline.target_dir, workdir / "target")
    return Marts(workdir / DB_NAME, workdir / "target")


def _build_the_mart(pipeline: BuiltPipeline, marts: Marts) -> subprocess.CompletedProcess[str]:
    """A real `dbt build` of fct_usage_records (its unit and data tests too) on the copy."""
    return run_dbt(marts.db_path.parent, pipeline.raw_dir, "build", "--select", "fct_usage_records")


@pytest.fixture(scope="module")
def failed(pipeline: BuiltPipeline, tmp_path_factory: pytest.TempPathFactory) -> Marts:
    """The mart rebuilt from an upstream table holding one record twice: the build writes the
    mart, then its uniqueness tests fail (dbt exits 1)."""
    marts = _copy(pipeline, tmp_path_factory.mktemp("failed-build"))
    with duckdb.connect(str(marts.db_path)) as connection:
        connection.execute(
            "insert into int_usage_records_prepared "
            "select * from int_usage_records_prepared order by external_id limit 1"
        )
    completed = _build_the_mart(pipeline, marts)
    assert completed.returncode == 1, completed.stdout[-3000:]
    assert "Failure in test unique_fct_usage_records_external_id" in completed.stdout
    return marts


@pytest.fixture(scope="module")
def other_invocation(pipeline: BuiltPipeline, tmp_path_factory: pytest.TempPathFactory) -> Marts:
    """The package's marts judged by the results of another, passing invocation: a real build
    of the mart on a copy, whose target folder then sits beside the original marts (a database
    restored, or built by another target, after the last build)."""
    rebuilt = _copy(pipeline, tmp_path_factory.mktemp("other-invocation"))
    completed = _build_the_mart(pipeline, rebuilt)
    assert completed.returncode == 0, completed.stdout[-3000:]
    return Marts(pipeline.db_path, rebuilt.target_dir)


def _run(command: str, marts: Marts, tmp_path: Path, *extra: str | Path):
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return subprocess.run(
        [USAGE_LOADER, command, "--project-dir", project, "--db", marts.db_path, *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_env({"DBT_TARGET_PATH": str(marts.target_dir)}),
        check=False,
    )


def _report(marts: Marts, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict, Path]:
    out = tmp_path / "report" / "index.html"
    completed = _run("report", marts, tmp_path, "--out", out, "--json")
    return completed, json.loads(completed.stdout), out


def _push_refusal(marts: Marts, tmp_path: Path) -> str:
    """What `usage-loader plan` (the gates every push passes first) says when it refuses."""
    completed = _run("plan", marts, tmp_path, "--state-dir", tmp_path / "state", "--json")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    message = json.loads(completed.stdout)["message"]
    assert message.startswith("refused: ")
    return message.removeprefix("refused: ")


def _banner_lines(text: str) -> list[str]:
    return [line.removeprefix("!! ") for line in text.splitlines() if line.startswith("!! ")]


def test_a_build_whose_tests_failed_is_stale_in_the_report_with_the_push_gates_reason(
    failed: Marts, browser: BrowserContext, tmp_path: Path
) -> None:
    invocation = failed.results_invocation()
    # the failed build wrote the mart: the figures are its, and its tests did not pass
    assert failed.mart_invocations() == {invocation}
    completed, status, out = _report(failed, tmp_path)
    assert completed.returncode == 3, completed.stderr
    assert status["stale"] is True and status["exit_code"] == 3
    reason = status["reason"]
    assert reason.startswith("tests of fct_usage_records did not pass: ")
    assert "unique_fct_usage_records_external_id" in reason and "(fail)" in reason
    assert reason == _push_refusal(failed, tmp_path)
    assert status["mart_invocation_ids"] == [invocation]
    assert status["results_invocation_id"] == invocation
    # the time of the failed build's results, to the second (UTC)
    stamp = failed.results()["metadata"]["generated_at"][:19].replace("T", " ")
    assert status["figures_from"] in (
        f"dbt invocation {invocation} of {stamp} UTC",
        f"dbt invocation {invocation} of {stamp[:16]} UTC",
    )
    assert status["fix"] == f"Run `dbt build`; the figures below are from {status['figures_from']}."
    assert HEADLINE in completed.stderr and reason in completed.stderr

    opened = open_page(browser, out)
    banner = opened.page.locator("#stale-banner")
    assert banner.is_visible()
    assert banner.get_attribute("role") == "alert"
    text = banner.inner_text()
    assert HEADLINE in text and reason in text and status["fix"] in text
    # first on the page, above the masthead
    top = banner.bounding_box()
    header = opened.page.locator("header.masthead").bounding_box()
    assert top is not None and header is not None and top["y"] < header["y"]
    assert opened.console_errors == []


def test_a_build_whose_tests_failed_is_stale_in_the_summary(failed: Marts, tmp_path: Path) -> None:
    completed = _run("summary", failed, tmp_path)
    assert completed.returncode == 3, completed.stderr
    lines = completed.stdout.splitlines()
    banner = _banner_lines(completed.stdout)
    reason = _push_refusal(failed, tmp_path)
    invocation = failed.results_invocation()
    fix = f"Run `dbt build`; the figures below are from dbt invocation {invocation} of "
    # the banner opens the summary and closes it, the figures in between
    assert lines[:2] == [f"!! {HEADLINE}", f"!! {reason}"]
    assert lines[2].startswith(f"!! {fix}")
    assert len(banner) == 6 and lines[-3:] == lines[:3]
    assert "Usage records per billing period" in lines


def test_results_of_another_invocation_are_stale_however_good_that_build_was(
    other_invocation: Marts, tmp_path: Path
) -> None:
    results = other_invocation.results_invocation()
    (mart,) = other_invocation.mart_invocations()
    assert results != mart
    completed, status, _ = _report(other_invocation, tmp_path)
    assert completed.returncode == 3
    assert status["stale"] is True
    assert status["reason"] == _push_refusal(other_invocation, tmp_path)
    assert f"was built by dbt invocation {mart}" in status["reason"]
    assert f"belong to invocation {results}" in status["reason"]
    # dbt keeps no time of the mart's own invocation: the DuckDB file's last write stands in
    assert status["figures_from"].startswith(
        f"dbt invocation {mart} (the DuckDB file last written 20"
    )
    summary = _run("summary", other_invocation, tmp_path)
    assert summary.returncode == 3
    assert _banner_lines(summary.stdout)[1] == status["reason"]


def test_no_dbt_results_at_all_is_stale(pipeline: BuiltPipeline, tmp_path: Path) -> None:
    marts = Marts(pipeline.db_path, tmp_path / "empty-target")
    completed, status, out = _report(marts, tmp_path)
    assert completed.returncode == 3
    assert status["stale"] is True
    assert status["reason"].startswith(f"no dbt results at {marts.target_dir}/run_results.json")
    assert status["reason"] == _push_refusal(marts, tmp_path)
    html = out.read_text(encoding="utf-8")
    assert 'id="stale-banner"' in html
    summary = _run("summary", marts, tmp_path)
    assert summary.returncode == 3
    assert _banner_lines(summary.stdout)[:2] == [HEADLINE, status["reason"]]


def test_a_good_build_shows_no_banner_and_exits_0(pipeline: BuiltPipeline, tmp_path: Path) -> None:
    marts = Marts(pipeline.db_path, pipeline.target_dir)
    invocation = marts.results_invocation()
    assert marts.mart_invocations() == {invocation}
    completed, status, out = _report(marts, tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert status["stale"] is False and status["reason"] is None and status["exit_code"] == 0
    assert status["figures_from"].startswith(f"dbt invocation {invocation} of 20")
    html = out.read_text(encoding="utf-8")
    assert 'id="stale-banner"' not in html and 'role="alert"' not in html
    assert HEADLINE not in completed.stdout + completed.stderr
    summary = _run("summary", marts, tmp_path)
    assert summary.returncode == 0, summary.stderr
    assert HEADLINE not in summary.stdout and _banner_lines(summary.stdout) == []
