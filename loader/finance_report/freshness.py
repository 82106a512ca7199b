"""Whether the figures the finance report and the summary show are the last good dbt build's.

The rule is the push's own (`loader.core.gates.judge_dbt_build`): dbt's latest
`target/run_results.json` must exist, have built and tested `fct_usage_records` with every node
passing, and belong to the invocation that built the mart (`dbt_invocation_id`). When it does
not, both commands still show the figures, under a banner that says why they may be stale and
how to mend it, and exit 3 (a gate refused) so that a script notices.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from loader.core.config import MartLocation
from loader.core.gates import BuildVerdict, judge_dbt_build
from loader.finance_report.money import instant

EXIT_STALE = 3
HEADLINE = "Stale figures: these marts are not the last good dbt build"


class Freshness(BaseModel):
    """The dbt gates' verdict on the marts a report or summary reads, in words."""

    model_config = ConfigDict(frozen=True)

    verdict: BuildVerdict
    figures_from: str

    @property
    def is_stale(self) -> bool:
        return not self.verdict.is_current

    @property
    def reason(self) -> str | None:
        return self.verdict.refusal

    @property
    def fix(self) -> str:
        """What to do, and which build the figures shown come from."""
        return f"Run `dbt build`; the figures below are from {self.figures_from}."

    def as_json(self) -> dict[str, object]:
        return {
            "stale": self.is_stale,
            "reason": self.reason,
            "fix": self.fix if self.is_stale else None,
            "figures_from": self.figures_from,
            "mart_invocation_ids": list(self.verdict.mart_invocation_ids),
            "results_invocation_id": self.verdict.results_invocation_id,
            "results_generated_at": self.verdict.results_generated_at,
        }


def check_freshness(location: MartLocation, mart_invocation_ids: set[str]) -> Freshness:
    """Judge the marts at `location`, built by `mart_invocation_ids`, as `push` would."""
    verdict = judge_dbt_build(location.target_dir, location.project_name, mart_invocation_ids)
    return Freshness(verdict=verdict, figures_from=_figures_from(verdict, location.db_path))


def _figures_from(verdict: BuildVerdict, db_path: Path) -> str:
    """`dbt invocation X of <time>`: the results' time when they are that invocation's, else the
    DuckDB file's last write (dbt's artifacts keep no time for an earlier invocation)."""
    ids = [value for value in verdict.mart_invocation_ids if value]
    if not ids:
        return f"{db_path} as last written {_file_time(db_path)} (no Usage Record names its build)"
    named = "dbt invocation " + ", ".join(ids)
    if ids == [verdict.results_invocation_id] and verdict.results_generated_at:
        return f"{named} of {_results_time(verdict.results_generated_at)}"
    return f"{named} (the DuckDB file last written {_file_time(db_path)})"


def _results_time(text: str) -> str:
    try:
        return instant(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return text


def _file_time(path: Path) -> str:
    try:
        return instant(datetime.fromtimestamp(path.stat().st_mtime, tz=UTC))
    except OSError:
        return "at an unknown time"
