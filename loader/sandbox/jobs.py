"""Asynchronous requests: accepted jobs wait in the state file and one worker runs them in order.

A job stays pending until its `run_at` (acceptance plus the job delay), so a client polling it
sees `pending` at least once whenever a delay or latency is configured. Jobs still pending when
the sandbox is killed run after it restarts.
"""

from __future__ import annotations

import logging
import threading
import time

from loader.sandbox.faults import FaultInjector
from loader.sandbox.records import UsageService
from loader.sandbox.replies import ErrorDetail, StoredReply, error_reply
from loader.sandbox.store import SandboxStore

ASYNC_JOB_PATH = "/services/rest/async/v1/job"
# A job's one task has an id of its own, as in NetSuite: a client must read it from the job's
# task list (`job/{id}/task`), never assume it equals the job id.
TASK_ID_OFFSET = 7_000_000
_IDLE_POLL_SECONDS = 0.5

log = logging.getLogger(__name__)


def job_url(base_url: str, job_id: int) -> str:
    return f"{base_url}{ASYNC_JOB_PATH}/{job_id}"


def job_path(job_id: int) -> str:
    """The job's `Location` as NetSuite answers it: a path relative to the host."""
    return f"{ASYNC_JOB_PATH}/{job_id}"


def task_id(job_id: int) -> int:
    return job_id + TASK_ID_OFFSET


class JobRunner:
    """Accepts asynchronous writes and runs them on one background thread."""

    def __init__(self, store: SandboxStore, usage: UsageService, faults: FaultInjector) -> None:
        self._store = store
        self._usage = usage
        self._faults = faults
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name="sandbox-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def submit(
        self,
        *,
        method: str,
        external_id: str | None,
        body: bytes,
        base_url: str,
        idempotency_key: str | None,
    ) -> tuple[int, bool]:
        """Queue a write: (job id, True), or (the earlier job's id, False) for a known key."""
        job_id, created = self._store.submit_job(
            method=method,
            external_id=external_id,
            body=body,
            base_url=base_url,
            run_at=time.time() + self._faults.job_delay_seconds(),
            idempotency_key=idempotency_key,
        )
        if created:
            self._wake.set()
        return job_id, created

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                self._run_next()
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("asynchronous job worker error")
                self._wake.wait(_IDLE_POLL_SECONDS)

    def _run_next(self) -> None:
        self._wake.clear()
        job = self._store.next_pending_job()
        if job is None:
            self._wake.wait(_IDLE_POLL_SECONDS)
            return
        wait = job.run_at - time.time()
        if wait > 0:
            self._wake.wait(min(wait, _IDLE_POLL_SECONDS))
            return
        try:
            reply = self._usage.run_job(job)
        except Exception:
            log.exception("asynchronous job %s failed unexpectedly", job.id)
            unexpected = ErrorDetail(
                detail="An unexpected error occurred.", error_code="UNEXPECTED_ERROR"
            )
            reply = error_reply(500, [unexpected])
        if reply.status >= 400:
            self._store.finish_job(job.id, "failed", StoredReply.of(reply))
