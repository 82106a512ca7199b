"""Builds the dbt project for real on the sample data, once per test session, in a temporary
folder (its own raw files, DuckDB file and dbt target), so tests can read the marts it makes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
AS_OF_DATE = "2026-04-20"
SEED = 7
# The scheduled run's build (README, "Scheduling"): every data test, no unit tests.
SCHEDULED_BUILD = ("--exclude-resource-type", "unit_test")
# SPEC's eight quarantine reasons: the sample data brings every one of them.
QUARANTINE_REASONS = (
    "malformed_record",
    "missing_field",
    "invalid_quantity",
    "invalid_timestamp",
    "unknown_customer",
    "unknown_metric",
    "no_active_line",
    "late_after_line_end",
)


@dataclass(frozen=True)
class BuiltPipeline:
    raw_dir: Path
    db_path: Path
    target_dir: Path
    build_log: str


def write_sample_data(raw_dir: Path, *extra: str) -> None:
    """Run `usage-loader sample-data` into raw_dir (extra options appended)."""
    subprocess.run(
        [
            Path(sys.executable).parent / "usage-loader",
            "sample-data",
            "--out",
            raw_dir,
            "--seed",
            str(SEED),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def build_pipeline(workdir: Path) -> BuiltPipeline:
    """Write the sample data and run `dbt build` on it; raise with dbt's log when it fails."""
    raw_dir = workdir / "raw"
    write_sample_data(raw_dir)
    return run_dbt_build(workdir, raw_dir, full_refresh=True)


def run_dbt(
    workdir: Path,
    raw_dir: Path,
    *arguments: str,
    db_name: str = "usage_billing.duckdb",
    seeds_dir: Path | None = None,
    as_of_date: str = AS_OF_DATE,
    variables: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """One dbt command (`build`, `test`, ... with its options) on raw_dir into workdir (its own
    DuckDB file and target), with the contract book of seeds_dir (default: the project's seeds/)
    as of as_of_date, and other project `variables`. Returns the finished process, whatever its
    exit code."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "USAGE_RAW_DIR": str(raw_dir),
        "USAGE_DUCKDB_PATH": str(workdir / db_name),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
    }
    if seeds_dir is not None:
        # relative to the project: dbt writes compiled seed SQL at the seed's path under target/
        env["USAGE_SEEDS_DIR"] = os.path.relpath(seeds_dir, PROJECT_DIR)
    return subprocess.run(
        [
            bin_dir / "dbt",
            *arguments,
            "--project-dir",
            PROJECT_DIR,
            "--target-path",
            workdir / "target",
            "--log-path",
            workdir / "logs",
            "--vars",
            json.dumps({"as_of_date": as_of_date, **(variables or {})}),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )


def run_dbt_build(
    workdir: Path,
    raw_dir: Path,
    *,
    full_refresh: bool,
    db_name: str = "usage_billing.duckdb",
    seeds_dir: Path | None = None,
    as_of_date: str = AS_OF_DATE,
    scheduled: bool = False,
    variables: Mapping[str, str] | None = None,
) -> BuiltPipeline:
    """`dbt build` of the project on raw_dir into workdir; raise with dbt's log when it fails.
    `scheduled`: as the scheduled run builds (README, "Scheduling"), without the unit tests."""
    completed = run_dbt(
        workdir,
        raw_dir,
        "build",
        *(["--full-refresh"] if full_refresh else []),
        *(SCHEDULED_BUILD if scheduled else ()),
        db_name=db_name,
        seeds_dir=seeds_dir,
        as_of_date=as_of_date,
        variables=variables,
    )
    if completed.returncode != 0:
        raise AssertionError(f"dbt build failed:\n{completed.stdout[-6000:]}\n{completed.stderr}")
    return BuiltPipeline(raw_dir, workdir / db_name, workdir / "target", completed.stdout)
