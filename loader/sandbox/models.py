"""Typed rows of the sandbox's state: usage records and asynchronous jobs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from loader.sandbox.replies import StoredReply

JobProgress = Literal["pending", "succeeded", "failed"]

OPTIONAL_FIELDS = ("subscriptionPlan", "memo")


class UsageFields(BaseModel):
    """The validated fields of a usage record as a client sent them.

    `provided` names the optional fields (`subscriptionPlan`, `memo`) present in the request:
    an update leaves an optional field that was not sent as it was.
    """

    model_config = ConfigDict(frozen=True)

    external_id: str | None
    customer: str
    usage_subscription: str
    usage_subscription_line: str
    subscription_plan: str | None
    item: str
    usage_date: date
    usage_quantity: Decimal
    memo: str | None
    provided: frozenset[str] = frozenset(OPTIONAL_FIELDS)


class UsageRow(BaseModel):
    """One usage record as the sandbox holds it; `id` is NetSuite's internal id."""

    model_config = ConfigDict(frozen=True)

    id: int
    external_id: str | None
    customer: str
    usage_subscription: str
    usage_subscription_line: str
    subscription_plan: str | None
    item: str
    usage_date: date
    usage_quantity: Decimal
    memo: str | None
    status: str = "ACTIVE"


class Job(BaseModel):
    """An asynchronous request: what to run, when, and the reply it produced."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    id: int
    method: str
    external_id: str | None
    body: bytes
    base_url: str
    created_at: float
    run_at: float
    progress: JobProgress
    result: StoredReply | None = None
