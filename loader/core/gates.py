"""The gates: whether a run may send at all, and which records it holds back. `plan.py` applies
them before every plan (`plan`, `push`, `export-csv`); `reconcile.py` reports their state.

Whole-run gates refuse with exit 3: dbt's latest results must show `fct_usage_records` built and
tested in the very invocation that built the mart, and no record of a billed period may differ
from what was already sent for it. Per-record holds keep back records of open periods and records
that need an approval they do not have.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from loader.core.config import MART_TABLE
from loader.core.ledger import LedgerEntry
from loader.core.marts import UsageRecord

SUCCEEDED = frozenset({"success", "pass"})
TOLERATED = frozenset({"success", "pass", "warn", "no-op"})
REBUILD = "run `dbt build` (it must build and test fct_usage_records) and then run the loader again"


class GateRefused(Exception):
    """The run refuses as a whole (exit 3); the message says what to do."""


class HoldReason(StrEnum):
    PERIOD_OPEN = "period_open"
    APPROVAL_REQUIRED = "approval_required"
    # Decided by `push` against NetSuite (loader/core/amendments.py), not by `hold_reasons`.
    AMENDMENT_NOT_IN_NETSUITE = "amendment_not_in_netsuite"


class DbtBuild(BaseModel):
    """What dbt's latest invocation left in `target/`: its id and each node's status."""

    model_config = ConfigDict(frozen=True)

    invocation_id: str
    generated_at: str | None
    statuses: dict[str, str]
    mart_node: str | None
    mart_tests: tuple[str, ...]


def read_dbt_build(target_dir: Path, project_name: str | None) -> DbtBuild:
    """Read `run_results.json` and `manifest.json`; refuse when they cannot prove a good build."""
    results_path = target_dir / "run_results.json"
    if not results_path.is_file():
        raise GateRefused(f"no dbt results at {results_path}: {REBUILD}")
    results = _load_json(results_path)
    metadata = results.get("metadata") or {}
    invocation_id = str(metadata.get("invocation_id") or "")
    if not invocation_id:
        raise GateRefused(f"{results_path} has no metadata.invocation_id: {REBUILD}")
    statuses = {
        str(result.get("unique_id")): str(result.get("status", "")).lower()
        for result in results.get("results") or []
        if isinstance(result, dict)
    }
    manifest_path = target_dir / "manifest.json"
    manifest = _load_json(manifest_path) if manifest_path.is_file() else None
    mart_node = _mart_node(statuses, manifest, project_name)
    tests = _attached_tests(mart_node, manifest, statuses) if mart_node else ()
    return DbtBuild(
        invocation_id=invocation_id,
        generated_at=metadata.get("generated_at"),
        statuses=statuses,
        mart_node=mart_node,
        mart_tests=tests,
    )


def check_dbt_build(build: DbtBuild) -> None:
    """The latest invocation built `fct_usage_records`, ran its tests, and nothing failed."""
    if build.mart_node is None or build.mart_node not in build.statuses:
        raise GateRefused(
            f"dbt's latest invocation ({build.invocation_id}) did not build {MART_TABLE}: "
            + REBUILD
        )
    status = build.statuses[build.mart_node]
    if status not in SUCCEEDED:
        raise GateRefused(f"{build.mart_node} has status {status} in dbt's results: {REBUILD}")
    if not build.mart_tests:
        raise GateRefused(
            f"no data test is attached to {MART_TABLE} in dbt's manifest: the loader sends "
            "only a tested mart; add its tests and " + REBUILD
        )
    not_run = [test for test in build.mart_tests if test not in build.statuses]
    if not_run:
        raise GateRefused(
            f"the tests of {MART_TABLE} did not run in dbt's latest invocation "
            f"({_sample(not_run)}): " + REBUILD
        )
    failed = [
        f"{test} ({build.statuses[test]})"
        for test in build.mart_tests
        if build.statuses[test] not in SUCCEEDED
    ]
    if failed:
        raise GateRefused(
            f"tests of {MART_TABLE} did not pass: {_sample(failed)}; fix the data and " + REBUILD
        )
    broken = [
        f"{node} ({status})"
        for node, status in sorted(build.statuses.items())
        if status not in TOLERATED
    ]
    if broken:
        raise GateRefused(
            f"dbt's latest invocation has nodes that did not succeed: {_sample(broken)}; " + REBUILD
        )


def check_invocation(build: DbtBuild, mart_invocation_ids: set[str]) -> None:
    """The mart was built by the invocation whose results passed, not by a later, crashed one."""
    if not mart_invocation_ids:
        return
    if mart_invocation_ids != {build.invocation_id}:
        found = ", ".join(sorted(value or "(null)" for value in mart_invocation_ids))
        raise GateRefused(
            f"{MART_TABLE} was built by dbt invocation {found}, but dbt's latest results belong "
            f"to invocation {build.invocation_id}: the mart's tests have not passed on this "
            "build; " + REBUILD
        )


class BuildVerdict(BaseModel):
    """Whether dbt's latest results vouch for the mart as it stands: the dbt gates of a push
    (`read_dbt_build`, `check_dbt_build`, `check_invocation`), decided the same way for the
    commands that only read the mart (`report`, `summary`, `reconcile`). `refusal` is what a push
    would say; None when the mart is the tested build."""

    model_config = ConfigDict(frozen=True)

    refusal: str | None
    results_invocation_id: str | None
    results_generated_at: str | None
    mart_invocation_ids: tuple[str, ...]

    @property
    def is_current(self) -> bool:
        return self.refusal is None


def judge_dbt_build(
    target_dir: Path, project_name: str | None, mart_invocation_ids: set[str]
) -> BuildVerdict:
    """The dbt gates on the mart built by `mart_invocation_ids`, as a verdict instead of a raise."""
    build: DbtBuild | None = None
    refusal: str | None = None
    try:
        build = read_dbt_build(target_dir, project_name)
        check_dbt_build(build)
        check_invocation(build, mart_invocation_ids)
    except GateRefused as error:
        refusal = str(error)
    return BuildVerdict(
        refusal=refusal,
        results_invocation_id=build.invocation_id if build else None,
        results_generated_at=build.generated_at if build else None,
        mart_invocation_ids=tuple(sorted(mart_invocation_ids)),
    )


def check_billed_history(
    billed_hashes: Mapping[str, str], ledger: Mapping[str, LedgerEntry]
) -> None:
    """A record of a billed period must equal every payload already sent for it."""
    changed = [
        external_id
        for external_id, payload_hash in sorted(billed_hashes.items())
        if external_id in ledger and ledger[external_id].sent_hashes() - {payload_hash}
    ]
    if changed:
        raise GateRefused(
            f"{len(changed)} record(s) of billed periods differ from what was already sent to "
            f"NetSuite ({_sample(changed)}): an invoiced period must not change. Late usage "
            "belongs in an adjustment record of the first unbilled period; find what changed "
            "the billed records, fix the dbt project and run dbt build again"
        )


def hold_reasons(record: UsageRecord, *, include_open_periods: bool) -> list[HoldReason]:
    """Why a valid record is kept back this run (empty: sendable)."""
    reasons: list[HoldReason] = []
    if not record.is_period_closed and not include_open_periods:
        reasons.append(HoldReason.PERIOD_OPEN)
    if record.requires_approval and not record.is_approved:
        reasons.append(HoldReason.APPROVAL_REQUIRED)
    return reasons


def _mart_node(
    statuses: Mapping[str, str], manifest: Mapping[str, Any] | None, project_name: str | None
) -> str | None:
    if project_name:
        return f"model.{project_name}.{MART_TABLE}"
    candidates = {
        node for node in statuses if node.startswith("model.") and node.endswith(f".{MART_TABLE}")
    }
    if manifest:
        candidates |= {
            node_id
            for node_id, node in (manifest.get("nodes") or {}).items()
            if node.get("resource_type") == "model" and node.get("name") == MART_TABLE
        }
    return sorted(candidates)[0] if len(candidates) == 1 else None


def _attached_tests(
    mart_node: str, manifest: Mapping[str, Any] | None, statuses: Mapping[str, str]
) -> tuple[str, ...]:
    """Data tests and unit tests on the mart: `attached_node` or a dependency on the model."""
    if manifest is None:
        return tuple(
            sorted(
                node
                for node in statuses
                if node.startswith(("test.", "unit_test.")) and MART_TABLE in node
            )
        )
    tests: set[str] = set()
    nodes: Iterable[tuple[str, Any]] = (manifest.get("nodes") or {}).items()
    for node_id, node in nodes:
        if node.get("resource_type") != "test":
            continue
        depends = (node.get("depends_on") or {}).get("nodes") or []
        if node.get("attached_node") == mart_node or mart_node in depends:
            tests.add(node_id)
    for test_id, unit_test in (manifest.get("unit_tests") or {}).items():
        depends = (unit_test.get("depends_on") or {}).get("nodes") or []
        if mart_node in depends:
            tests.add(test_id)
    return tuple(sorted(tests))


def _load_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise GateRefused(f"cannot read {path} ({error}): {REBUILD}") from error
    if not isinstance(loaded, dict):
        raise GateRefused(f"{path} is not a dbt artifact: {REBUILD}")
    return loaded


def _sample(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
