"""The NetSuite Usage Record payload of a mart record: its rules, its exact JSON and its hash.
The plan builds one per record, the push sends it, the ledger keeps its hash, and the finance
report compares that hash to tell whether a record is loaded."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from loader.core.marts import UsageRecord

EXTERNAL_ID_PATTERN = re.compile(r"^UR-[A-Za-z0-9_-]+-\d{8}(-ADJ-\d{8})?$")
EXTERNAL_ID_MAX_LENGTH = 255


class Ref(BaseModel):
    """A NetSuite record reference: `{"id": "..."}`."""

    model_config = ConfigDict(frozen=True)

    id: str


class UsagePayload(BaseModel):
    """The body of `PUT /record/v1/usage/eid:{externalId}`, NetSuite's field names as they are."""

    model_config = ConfigDict(frozen=True)

    externalId: str
    customer: Ref
    usageSubscription: Ref
    usageSubscriptionLine: Ref
    subscriptionPlan: Ref
    item: Ref
    usageDate: str
    usageQuantity: Annotated[Decimal, Field(allow_inf_nan=True)]
    memo: str

    def to_json(self) -> bytes:
        """Canonical JSON: sorted keys, no spaces, the quantity as an exact decimal number."""
        fields: dict[str, str] = {}
        for name, value in self.model_dump(exclude={"usageQuantity"}).items():
            fields[name] = json.dumps(value, sort_keys=True, separators=(",", ":"))
        fields["usageQuantity"] = decimal_text(self.usageQuantity)
        body = ",".join(f"{json.dumps(name)}:{fields[name]}" for name in sorted(fields))
        return ("{" + body + "}").encode("utf-8")

    def content_hash(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()


def decimal_text(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros: `1500.000000000` → `1500`.

    Never `normalize()`: it rounds to the context's 28 digits, and a decimal(38, 9) has 38.
    """
    if not value.is_finite():
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def record_problems(record: UsageRecord) -> list[str]:
    """The payload rules a record breaks; such a record is never sent."""
    problems: list[str] = []
    eid = record.external_id
    if len(eid) > EXTERNAL_ID_MAX_LENGTH or not EXTERNAL_ID_PATTERN.match(eid):
        problems.append(
            "external_id does not match UR-<line>-<YYYYMMDD>[-ADJ-<YYYYMMDD>] "
            "(letters, digits, _ and - only)"
        )
    references = {
        "netsuite_customer_id": record.netsuite_customer_id,
        "subscription_id": record.subscription_id,
        "subscription_line_id": record.subscription_line_id,
        "subscription_plan_id": record.subscription_plan_id,
        "item_id": record.item_id,
    }
    for column, value in references.items():
        if value is None or not value.strip():
            problems.append(f"missing reference {column}")
    quantity = record.quantity
    if quantity is None:
        problems.append("quantity is null")
    elif not quantity.is_finite():
        problems.append(f"quantity {quantity} is not finite")
    elif quantity < 0:
        problems.append(f"quantity {decimal_text(quantity)} is negative")
    start, end, used = record.billing_period_start, record.billing_period_end, record.usage_date
    if used is None:
        problems.append("usage_date is null")
    elif start is None or end is None:
        problems.append("billing period bounds are null")
    elif not start <= used <= end:
        problems.append(f"usage_date {used} is outside its billing period {start} – {end}")
    return problems


def build_payload(record: UsageRecord) -> UsagePayload:
    """The payload of a record that has no problems (see `record_problems`)."""
    if record_problems(record) or record.usage_date is None or record.quantity is None:
        raise ValueError(f"record {record.external_id} breaks the payload rules")
    return UsagePayload(
        externalId=record.external_id,
        customer=Ref(id=str(record.netsuite_customer_id)),
        usageSubscription=Ref(id=str(record.subscription_id)),
        usageSubscriptionLine=Ref(id=str(record.subscription_line_id)),
        subscriptionPlan=Ref(id=str(record.subscription_plan_id)),
        item=Ref(id=str(record.item_id)),
        usageDate=record.usage_date.isoformat(),
        usageQuantity=record.quantity,
        memo=record.memo or "",
    )
