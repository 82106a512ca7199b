"""Counters of what the sandbox served, and the concurrency gate that feeds `max_in_flight`."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel


class StatsSnapshot(BaseModel):
    """Body of `GET /_sandbox/stats`."""

    requests: int
    by_status: dict[str, int]
    max_in_flight: int
    in_flight: int
    records: int
    writes: int
    write_requests: int


class SandboxStats:
    """Requests under /services/rest, their outcomes, and committed usage writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._by_status: Counter[str] = Counter()
        self._writes = 0
        self._write_requests = 0
        self._in_flight = 0
        self._max_in_flight = 0

    def count_request(self) -> None:
        with self._lock:
            self._requests += 1

    def count_outcome(self, outcome: str) -> None:
        """`outcome` is the status code as text, or `dropped` for a connection closed unanswered."""
        with self._lock:
            self._by_status[outcome] += 1

    def count_write_request(self) -> None:
        """A request that asks to change a record (PUT, POST, PATCH, DELETE on record/v1)."""
        with self._lock:
            self._write_requests += 1

    def count_write(self) -> None:
        with self._lock:
            self._writes += 1

    def try_enter(self, limit: int) -> bool:
        """Take a concurrency slot; False when `limit` requests are already in flight."""
        with self._lock:
            if limit and self._in_flight >= limit:
                return False
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def snapshot(self, records: Callable[[], int]) -> StatsSnapshot:
        record_count = records()
        with self._lock:
            return StatsSnapshot(
                requests=self._requests,
                by_status=dict(sorted(self._by_status.items())),
                max_in_flight=self._max_in_flight,
                in_flight=self._in_flight,
                records=record_count,
                writes=self._writes,
                write_requests=self._write_requests,
            )

    def reset(self) -> None:
        """Zero every counter; requests still in flight keep their slots."""
        with self._lock:
            self._requests = 0
            self._by_status.clear()
            self._writes = 0
            self._write_requests = 0
            self._max_in_flight = self._in_flight
