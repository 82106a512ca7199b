"""Settings of the sandbox: the credentials it accepts and the faults it injects.

Credentials come from the same environment variables the loader reads. When one is not set the
sandbox falls back to a fixed, documented default, so that a demo runs with nothing configured:

=========================  ===========================
variable                   sandbox default
=========================  ===========================
NETSUITE_ACCOUNT_ID        ``TSTDRV1234567_SB1``
NETSUITE_CONSUMER_KEY      ``sandbox-consumer-key``
NETSUITE_CONSUMER_SECRET   ``sandbox-consumer-secret``
NETSUITE_TOKEN_ID          ``sandbox-token-id``
NETSUITE_TOKEN_SECRET      ``sandbox-token-secret``
=========================  ===========================

These defaults protect nothing: they exist only for a local sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ENV_ACCOUNT_ID = "NETSUITE_ACCOUNT_ID"
ENV_CONSUMER_KEY = "NETSUITE_CONSUMER_KEY"
ENV_CONSUMER_SECRET = "NETSUITE_CONSUMER_SECRET"
ENV_TOKEN_ID = "NETSUITE_TOKEN_ID"
ENV_TOKEN_SECRET = "NETSUITE_TOKEN_SECRET"

SANDBOX_DEFAULTS: Mapping[str, str] = {
    ENV_ACCOUNT_ID: "TSTDRV1234567_SB1",
    ENV_CONSUMER_KEY: "sandbox-consumer-key",
    ENV_CONSUMER_SECRET: "sandbox-consumer-secret",
    ENV_TOKEN_ID: "sandbox-token-id",
    ENV_TOKEN_SECRET: "sandbox-token-secret",
}

DateFormat = Literal["M/D/YYYY", "D/M/YYYY", "DD.MM.YYYY", "YYYY-MM-DD"]
Permission = Literal["REST Web Services", "Usage", "SuiteAnalytics Workbook"]

RefField = Literal[
    "customer", "usageSubscription", "usageSubscriptionLine", "subscriptionPlan", "item"
]

_STATUS_STEP = re.compile(r"^[45][0-9]{2}$")


def _check_suiteql_step(step: str | int) -> str:
    text = str(step).strip().lower()
    if text == "ok" or _STATUS_STEP.match(text):
        return text
    raise ValueError(f"suiteql_schedule step {step!r} is not ok or a 4xx/5xx status")


def normalize_account_id(account_id: str) -> str:
    """NetSuite's realm form of an account id: uppercase, `_` before a sandbox suffix."""
    return account_id.strip().upper().replace("-", "_")


class SandboxCredentials(BaseModel):
    """The one integration (consumer) and access token the sandbox accepts."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    consumer_key: str = Field(min_length=1)
    consumer_secret: SecretStr
    token_id: str = Field(min_length=1)
    token_secret: SecretStr

    @field_validator("account_id")
    @classmethod
    def _realm_form(cls, value: str) -> str:
        normalized = normalize_account_id(value)
        if not normalized:
            raise ValueError("account id must not be empty")
        return normalized

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], account_id: str | None = None
    ) -> tuple[SandboxCredentials, list[str]]:
        """Credentials from the environment; also the names that fell back to defaults."""
        values: dict[str, str] = {}
        defaulted: list[str] = []
        for name, default in SANDBOX_DEFAULTS.items():
            given = env.get(name, "").strip()
            if name == ENV_ACCOUNT_ID and account_id:
                given = account_id
            if given:
                values[name] = given
            else:
                values[name] = default
                defaulted.append(name)
        credentials = cls(
            account_id=values[ENV_ACCOUNT_ID],
            consumer_key=values[ENV_CONSUMER_KEY],
            consumer_secret=SecretStr(values[ENV_CONSUMER_SECRET]),
            token_id=values[ENV_TOKEN_ID],
            token_secret=SecretStr(values[ENV_TOKEN_SECRET]),
        )
        return credentials, defaulted

    def as_env(self) -> dict[str, str]:
        """The five NETSUITE_* variables a client needs to authenticate against the sandbox."""
        return {
            ENV_ACCOUNT_ID: self.account_id,
            ENV_CONSUMER_KEY: self.consumer_key,
            ENV_CONSUMER_SECRET: self.consumer_secret.get_secret_value(),
            ENV_TOKEN_ID: self.token_id,
            ENV_TOKEN_SECRET: self.token_secret.get_secret_value(),
        }


def _check_schedule_step(step: str | int) -> str:
    text = str(step).strip().lower()
    if text in {"ok", "drop", "timeout"} or _STATUS_STEP.match(text):
        return text
    raise ValueError(f"schedule step {step!r} is not ok, drop, timeout or a 4xx/5xx status")


class FaultSettings(BaseModel):
    """Run-time behaviour of the sandbox: limits, latency and the faults it injects."""

    model_config = ConfigDict(extra="forbid")

    concurrency_limit: int = Field(default=4, ge=0)
    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    burst_429: int = Field(default=0, ge=0)
    drop_after_commit_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout_seconds: float = Field(default=10.0, ge=0.0)
    job_delay_ms: int | None = Field(default=None, ge=0)
    schedule: list[str] = Field(default_factory=list)
    suiteql_schedule: list[str] = Field(default_factory=list)
    invalid_refs: dict[RefField, list[str]] = Field(default_factory=dict)
    missing_permissions: list[Permission] = Field(default_factory=list)
    suiteql_max_results: int = Field(default=100_000, ge=1)
    date_format: DateFormat = "M/D/YYYY"
    seed: int = 0

    @field_validator("schedule", mode="before")
    @classmethod
    def _steps(cls, value: object) -> object:
        if isinstance(value, list):
            return [_check_schedule_step(step) for step in value]
        return value

    @field_validator("suiteql_schedule", mode="before")
    @classmethod
    def _suiteql_steps(cls, value: object) -> object:
        if isinstance(value, list):
            return [_check_suiteql_step(step) for step in value]
        return value


class FaultUpdate(BaseModel):
    """Body of `POST /_sandbox/faults`: every field optional, unknown fields refused."""

    model_config = ConfigDict(extra="forbid")

    concurrency_limit: int | None = Field(default=None, ge=0)
    latency_ms: int | None = Field(default=None, ge=0)
    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    burst_429: int | None = Field(default=None, ge=0)
    drop_after_commit_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    timeout_seconds: float | None = Field(default=None, ge=0.0)
    job_delay_ms: int | None = Field(default=None, ge=0)
    schedule: list[str] | None = None
    suiteql_schedule: list[str] | None = None
    invalid_refs: dict[RefField, list[str]] | None = None
    missing_permissions: list[Permission] | None = None
    suiteql_max_results: int | None = Field(default=None, ge=1)
    date_format: DateFormat | None = None
    seed: int | None = None

    @field_validator("schedule", mode="before")
    @classmethod
    def _steps(cls, value: object) -> object:
        if isinstance(value, list):
            return [_check_schedule_step(step) for step in value]
        return value

    @field_validator("suiteql_schedule", mode="before")
    @classmethod
    def _suiteql_steps(cls, value: object) -> object:
        if isinstance(value, list):
            return [_check_suiteql_step(step) for step in value]
        return value


class OAuth2Settings(BaseModel):
    """The OAuth 2.0 client credentials mapping the sandbox accepts: the integration's client id,
    the certificate id and the certificate's public key (PEM), and the access tokens' lifetime."""

    model_config = ConfigDict(frozen=True)

    client_id: str = Field(min_length=1)
    certificate_id: str = Field(min_length=1)
    public_key_pem: str = Field(min_length=1)
    token_lifetime_seconds: int = Field(default=3600, ge=1)


class SandboxConfig(BaseModel):
    """Everything the sandbox server needs to start."""

    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    state_file: Path | None = None
    credentials: SandboxCredentials
    faults: FaultSettings = Field(default_factory=FaultSettings)
    max_clock_skew_seconds: int = Field(default=300, ge=0)
    oauth2: OAuth2Settings | None = None
    contract_book: Path | None = None
