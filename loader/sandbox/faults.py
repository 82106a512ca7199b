"""Fault injection: the deterministic schedule, 429 bursts, random 503s and dropped writes."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from loader.sandbox.config import FaultSettings, FaultUpdate

FaultKind = Literal["ok", "status", "drop", "timeout"]


@dataclass(frozen=True)
class FaultAction:
    """What to do with the next record request, decided before it runs.

    `status`: answer that error status at once, before any write. `drop`: run the request
    (a write commits) and then close the connection without a response. `timeout`: hold the
    request `hold_seconds`, write nothing, then close the connection.
    """

    kind: FaultKind
    status: int = 0
    hold_seconds: float = 0.0


_OK = FaultAction("ok")


class FaultInjector:
    """The current fault settings and the random source, shared by all request threads."""

    def __init__(self, initial: FaultSettings) -> None:
        self._initial = initial
        self._lock = threading.Lock()
        self._settings = initial.model_copy(deep=True)
        self._random = random.Random(initial.seed)

    def settings(self) -> FaultSettings:
        with self._lock:
            return self._settings.model_copy(deep=True)

    def update(self, change: FaultUpdate) -> FaultSettings:
        given = change.model_dump(exclude_unset=True)
        with self._lock:
            merged = self._settings.model_dump() | given
            self._settings = FaultSettings.model_validate(merged)
            if "seed" in given:
                self._random = random.Random(self._settings.seed)
            return self._settings.model_copy(deep=True)

    def reset(self) -> None:
        """Back to the settings the sandbox started with."""
        with self._lock:
            self._settings = self._initial.model_copy(deep=True)
            self._random = random.Random(self._initial.seed)

    def concurrency_limit(self) -> int:
        with self._lock:
            return self._settings.concurrency_limit

    def latency_seconds(self) -> float:
        with self._lock:
            return self._settings.latency_ms / 1000

    def job_delay_seconds(self) -> float:
        """How long an accepted asynchronous job stays pending: `job_delay_ms`, else 3 × latency."""
        with self._lock:
            delay_ms = self._settings.job_delay_ms
            if delay_ms is None:
                delay_ms = 3 * self._settings.latency_ms
            return delay_ms / 1000

    def invalid_refs(self) -> Mapping[str, frozenset[str]]:
        with self._lock:
            return {field: frozenset(ids) for field, ids in self._settings.invalid_refs.items()}

    def suiteql_max_results(self) -> int:
        with self._lock:
            return self._settings.suiteql_max_results

    def date_format(self) -> str:
        """The account's date preference: how SuiteQL shows a date not formatted by TO_CHAR."""
        with self._lock:
            return self._settings.date_format

    def missing_permissions(self) -> frozenset[str]:
        """Permissions the role of the token lacks: requests needing them are answered 403."""
        with self._lock:
            return frozenset(self._settings.missing_permissions)

    def next_suiteql_status(self) -> int | None:
        """Consume one step of `suiteql_schedule`: an error status to answer, or None (`ok`)."""
        with self._lock:
            if not self._settings.suiteql_schedule:
                return None
            step = self._settings.suiteql_schedule.pop(0)
            return None if step == "ok" else int(step)

    def next_record_request(self) -> FaultAction:
        """Consume the schedule, then a 429 burst, then draw against the error rate."""
        with self._lock:
            settings = self._settings
            if settings.schedule:
                step = settings.schedule.pop(0)
                if step == "ok":
                    return _OK
                if step == "drop":
                    return FaultAction("drop")
                if step == "timeout":
                    return FaultAction("timeout", hold_seconds=settings.timeout_seconds)
                return FaultAction("status", status=int(step))
            if settings.burst_429 > 0:
                settings.burst_429 -= 1
                return FaultAction("status", status=429)
            if settings.error_rate > 0 and self._random.random() < settings.error_rate:
                return FaultAction("status", status=503)
            return _OK

    def drop_after_commit(self) -> bool:
        """Whether a write that just committed loses its response."""
        with self._lock:
            rate = self._settings.drop_after_commit_rate
            return rate > 0 and self._random.random() < rate
