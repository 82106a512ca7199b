"""Run the NetSuite sandbox as a real subprocess from tests, and talk to it.

`SandboxServer` starts `python -m loader.sandbox` (the same code as `usage-loader sandbox`) on
a free loopback port with its own SQLite state file, and waits for its ready line::

    from python_tests.support.sandbox_server import SandboxServer

    with SandboxServer(latency_ms=50, concurrency_limit=2) as sandbox:
        env = {**os.environ, **sandbox.loader_env}   # NETSUITE_* and NETSUITE_BASE_URL
        subprocess.run(["usage-loader", "push"], env=env, check=True)
        assert len(sandbox.records()) == 12
        sandbox.set_faults(schedule=["500", "drop", "ok"], invalid_refs={"item": ["BAD"]})
        sandbox.kill()       # SIGKILL, as a crash would
        sandbox.restart()    # same port, same state file: committed writes are still there
        print(sandbox.stats()["by_status"])

What it offers:

- `base_url`: `http://127.0.0.1:PORT`, the value for `NETSUITE_BASE_URL`.
- `credentials`: the five `NETSUITE_*` variables (account, consumer key and secret, token id
  and secret) the sandbox accepts. Random per server unless given; never printed.
- `loader_env`: `credentials` plus `NETSUITE_BASE_URL`.
- `oauth2_env(private_key_file)`: the loader's OAuth 2.0 client credentials variables (account,
  base URL, client id, certificate id, key file) for a server started with
  `oauth2_public_key=PEM_PATH` (and `oauth2_token_lifetime=SECONDS`, default 3600).
- `set_faults(**kw)`: `POST /_sandbox/faults`. Keys: `concurrency_limit`, `latency_ms`,
  `error_rate`, `burst_429`, `drop_after_commit_rate`, `timeout_seconds`, `job_delay_ms`,
  `seed`, `schedule` (a list applied to the next record requests in order: `"ok"`, `"drop"`
  (run it, a write commits, then close the connection unanswered), `"timeout"` (hold it
  `timeout_seconds`, write nothing, close unanswered) or a status such as `"500"`, `"429"`),
  and `invalid_refs` (e.g. `{"item": ["BAD-ITEM"]}`: those ids are answered 400
  `INVALID_KEY_OR_REF`). Returns the settings now in force.
- `stats()`: `GET /_sandbox/stats`: `requests`, `by_status` (status code as text, `dropped`
  for connections closed unanswered), `max_in_flight`, `in_flight`, `records`, `writes`,
  `write_requests` (record requests asking for a change, answered or not).
  Only requests under `/services/rest` are counted.
- `reset()`: `POST /_sandbox/reset`: forgets records, jobs, idempotency keys and stats, and
  puts the fault settings back to those the server started with.
- `void(external_id)`: `POST /_sandbox/void`: the record's `status` becomes `VOIDED`, as a
  NetSuite user voids it in the UI; an update of it is then answered 400.
- `contract_book=DIR` (constructor): the contract-book folder whose six NetSuite-held CSVs the
  sandbox serves as NetSuite's SuiteBilling tables (default: the project's seeds/contract_book).
  `remove_change_order(external_id)` removes one change order (its lines and the price interval
  it started); `edit_contract_book(table, record, column, value)` sets one column of one record.
  `set_faults(suiteql_schedule=["ok", "500", ...])` answers the next SuiteQL requests in order.
- `records()`: every usage row, read from the state file (not through the API, so it does not
  count as a request), as `UsageRow` models ordered by internal id.
- `client()`: a `SignedClient` that signs requests with OAuth 1.0 HMAC-SHA256 as the loader
  does, e.g. to create a record without external id (`POST record/v1/usage`) for reconcile.
- `kill()` (SIGKILL), `stop()` (SIGTERM), `start()`, `restart()` (same port and state file),
  `log_text()` (the server's stderr: one line per request, reasons for 401s).

As NetSuite does, SuiteQL answers every value as a string and leaves empty values out, and a
usage record read with GET leaves out empty fields. Async jobs stay pending for `job_delay_ms`
(default three times `latency_ms`). The control endpoints need no OAuth and answer loopback
clients only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from loader.sandbox import jsonio
from loader.sandbox.cli import READY_PREFIX
from loader.sandbox.config import (
    ENV_ACCOUNT_ID,
    ENV_CONSUMER_KEY,
    ENV_CONSUMER_SECRET,
    ENV_TOKEN_ID,
    ENV_TOKEN_SECRET,
    SANDBOX_DEFAULTS,
)
from loader.sandbox.models import UsageRow
from loader.sandbox.store import read_usage_rows

ENV_BASE_URL = "NETSUITE_BASE_URL"
_UNSET = object()


def random_credentials(account_id: str = SANDBOX_DEFAULTS[ENV_ACCOUNT_ID]) -> dict[str, str]:
    """A fresh set of the five NETSUITE_* variables."""
    return {
        ENV_ACCOUNT_ID: account_id,
        ENV_CONSUMER_KEY: secrets.token_hex(32),
        ENV_CONSUMER_SECRET: secrets.token_hex(32),
        ENV_TOKEN_ID: secrets.token_hex(32),
        ENV_TOKEN_SECRET: secrets.token_hex(32),
    }


class SignedClient:
    """Sends requests signed with OAuth 1.0 (HMAC-SHA256, realm = account id) via httpx."""

    def __init__(
        self, base_url: str, credentials: Mapping[str, str], *, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = dict(credentials)
        self._http = httpx.Client(timeout=timeout, trust_env=False)

    def __enter__(self) -> SignedClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def authorization(
        self,
        method: str,
        url: str,
        *,
        nonce: str | None = None,
        timestamp: int | None = None,
        realm: str | None = None,
    ) -> str:
        """The `Authorization` header for one request (a fresh nonce unless given)."""
        credentials = self.credentials
        signer = Client(
            credentials[ENV_CONSUMER_KEY],
            client_secret=credentials[ENV_CONSUMER_SECRET],
            resource_owner_key=credentials[ENV_TOKEN_ID],
            resource_owner_secret=credentials[ENV_TOKEN_SECRET],
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=realm if realm is not None else credentials[ENV_ACCOUNT_ID],
            nonce=nonce,
            timestamp=None if timestamp is None else str(timestamp),
        )
        _, headers, _ = signer.sign(url, http_method=method)
        return str(headers["Authorization"])

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        nonce: str | None = None,
        timestamp: int | None = None,
        realm: str | None = None,
    ) -> httpx.Response:
        """Sign and send; `json` may hold `Decimal` values, written as exact numbers."""
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params)
        sent_headers = dict(headers or {})
        if json is not _UNSET:
            content = jsonio.dumps_bytes(json)
            sent_headers.setdefault("Content-Type", "application/json")
        sent_headers["Authorization"] = self.authorization(
            method, url, nonce=nonce, timestamp=timestamp, realm=realm
        )
        return self._http.request(method, url, content=content, headers=sent_headers)

    def suiteql(self, query: str, *, limit: int = 1000, offset: int = 0) -> httpx.Response:
        return self.request(
            "POST",
            "/services/rest/query/v1/suiteql",
            json={"q": query},
            params={"limit": limit, "offset": offset},
            headers={"Prefer": "transient"},
        )


class SandboxServer:
    """The sandbox as a subprocess for one test or module; see the module docstring."""

    def __init__(
        self,
        state_file: Path | None = None,
        *,
        credentials: Mapping[str, str] | None = None,
        concurrency_limit: int = 4,
        latency_ms: int = 0,
        error_rate: float = 0.0,
        burst_429: int = 0,
        drop_after_commit_rate: float = 0.0,
        job_delay_ms: int | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 30.0,
        oauth2_public_key: Path | None = None,
        oauth2_token_lifetime: int = 3600,
        contract_book: Path | None = None,
    ) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="netsuite-sandbox-"))
        self.state_file = Path(state_file) if state_file else self._workdir / "sandbox.sqlite"
        self.credentials: dict[str, str] = dict(credentials or random_credentials())
        self.host = host
        self.port = port
        self._startup_timeout = startup_timeout
        self._options = [
            "--concurrency-limit",
            str(concurrency_limit),
            "--latency-ms",
            str(latency_ms),
            "--error-rate",
            str(error_rate),
            "--burst-429",
            str(burst_429),
            "--drop-after-commit-rate",
            str(drop_after_commit_rate),
            "--seed",
            str(seed),
        ]
        if job_delay_ms is not None:
            self._options += ["--job-delay-ms", str(job_delay_ms)]
        if contract_book is not None:
            self._options += ["--contract-book", str(contract_book)]
        self.oauth2_client_id = secrets.token_hex(16)
        self.oauth2_certificate_id = secrets.token_urlsafe(24)
        if oauth2_public_key is not None:
            self._options += [
                "--oauth2-public-key",
                str(oauth2_public_key),
                "--oauth2-client-id",
                self.oauth2_client_id,
                "--oauth2-certificate-id",
                self.oauth2_certificate_id,
                "--oauth2-token-lifetime",
                str(oauth2_token_lifetime),
            ]
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0
        self._control = httpx.Client(timeout=30.0, trust_env=False)

    # lifecycle

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> SandboxServer:
        if self.is_running:
            return self
        self._starts += 1
        stdout_path = self._workdir / f"stdout-{self._starts}.log"
        self._stderr_path = self._workdir / f"stderr-{self._starts}.log"
        env = {
            name: value for name, value in os.environ.items() if not name.startswith("NETSUITE_")
        }
        env.update(self.credentials)
        env["PYTHONUNBUFFERED"] = "1"
        command = [
            sys.executable,
            "-m",
            "loader.sandbox",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--state-file",
            str(self.state_file),
            *self._options,
        ]
        with stdout_path.open("wb") as stdout, self._stderr_path.open("wb") as stderr:
            self._process = subprocess.Popen(
                command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env
            )
        self.port = self._await_ready(stdout_path)
        return self

    def _await_ready(self, stdout_path: Path) -> int:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            for line in stdout_path.read_text(errors="replace").splitlines():
                if line.startswith(READY_PREFIX):
                    return int(line.rsplit(":", 1)[1])
            if process.poll() is not None:
                raise RuntimeError(
                    f"sandbox exited with {process.returncode} before it was ready:\n"
                    + self.log_text()
                )
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("sandbox did not print its ready line in time:\n" + self.log_text())

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a crash or an OOM kill would end it."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in 10 seconds."""
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> SandboxServer:
        """Stop (SIGKILL if still running) and start again on the same port and state file."""
        self.kill()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its temporary directory (a given state file stays)."""
        self.stop()
        self._control.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    # addresses and credentials

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def loader_env(self) -> dict[str, str]:
        return {**self.credentials, ENV_BASE_URL: self.base_url}

    def oauth2_env(self, private_key_file: Path) -> dict[str, str]:
        """The loader's variables for OAuth 2.0 client credentials against this sandbox (no
        token-based ones: setting both is a configuration error)."""
        return {
            ENV_ACCOUNT_ID: self.credentials[ENV_ACCOUNT_ID],
            ENV_BASE_URL: self.base_url,
            "NETSUITE_CLIENT_ID": self.oauth2_client_id,
            "NETSUITE_CERTIFICATE_ID": self.oauth2_certificate_id,
            "NETSUITE_PRIVATE_KEY_FILE": str(private_key_file),
        }

    def client(self, **kw: Any) -> SignedClient:
        return SignedClient(self.base_url, self.credentials, **kw)

    def log_text(self) -> str:
        path = getattr(self, "_stderr_path", None)
        return path.read_text(errors="replace") if path and path.exists() else ""

    # control endpoints and state

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        response = self._control.post(f"{self.base_url}/_sandbox/faults", json=changes)
        response.raise_for_status()
        return dict(response.json())

    def stats(self) -> dict[str, Any]:
        response = self._control.get(f"{self.base_url}/_sandbox/stats")
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        self._control.post(f"{self.base_url}/_sandbox/reset").raise_for_status()

    def void(self, external_id: str) -> None:
        """Void a usage record, as a NetSuite user does in the UI (`POST /_sandbox/void`)."""
        response = self._control.post(
            f"{self.base_url}/_sandbox/void", json={"external_id": external_id}
        )
        response.raise_for_status()

    def remove_change_order(self, external_id: str) -> dict[str, int]:
        """The change order, its lines and the price interval it started are gone from NetSuite's
        tables (`POST /_sandbox/contract_book/remove_change_order`); rows per table after."""
        response = self._control.post(
            f"{self.base_url}/_sandbox/contract_book/remove_change_order",
            json={"external_id": external_id},
        )
        response.raise_for_status()
        return dict(response.json()["rows"])

    def edit_contract_book(
        self, table: str, record: str, column: str, value: str | None
    ) -> dict[str, int]:
        """Set one column of one NetSuite record (by internal id or External ID), as a user
        edits it (`POST /_sandbox/contract_book/edit`); rows per table after."""
        response = self._control.post(
            f"{self.base_url}/_sandbox/contract_book/edit",
            json={"table": table, "record": record, "column": column, "value": value},
        )
        response.raise_for_status()
        return dict(response.json()["rows"])

    def records(self) -> list[UsageRow]:
        return read_usage_rows(self.state_file)
