"""Plain-language names for the codes the marts use, as a finance reader says them."""

from __future__ import annotations

SOURCES = {
    "telemetry": "Product telemetry",
    "stripe": "Stripe meter events",
    "salesforce": "Salesforce usage entries",
    "metering": "Metering platform",
    "watermarks": "Period-close signals",
}

QUARANTINE_REASONS = {
    "malformed_record": (
        "Unreadable record",
        "the line or row cannot be parsed, or a field has the wrong type",
    ),
    "missing_field": ("Required field missing", "a field every record must carry is empty"),
    "invalid_quantity": (
        "Quantity not usable",
        "the quantity is empty, negative, not a number or infinite",
    ),
    "invalid_timestamp": ("Date or time not readable", "the timestamp cannot be read"),
    "unknown_customer": (
        "Customer not mapped",
        "the source's customer key maps to no billing account",
    ),
    "unknown_metric": ("Metric not mapped", "the source's metric maps to no billed metric"),
    "no_active_line": (
        "No active subscription line",
        "no usage line of the account for that metric is in force on the usage date",
    ),
    "late_after_line_end": (
        "Late, and the line has ended",
        "arrived after its period was billed, with no later period of the line to carry it",
    ),
}

HOLD_REASONS = {
    "amendment_not_in_netsuite": (
        "price change {amendment} is not in NetSuite yet: held until its change order is "
        "committed, so NetSuite never bills this usage on the old plan"
    ),
}

APPROVAL_STATES = {
    "not_required": "not needed",
    "approved": "approved",
    "pending": "needs approval",
    "stale": "approval is stale",
}

REVENUE_COMPONENTS = {
    "usage": "Usage",
    "recurring": "Recurring fee",
    "prepaid_drawdown": "Prepaid pool drawn",
    "prepaid_breakage": "Prepaid pool expired unused",
}

RATING_SCOPES = {
    "now": "as rated now",
    "billed": "as billed (frozen at billing)",
    "now_minus_billed": "late usage: rated now less rated at billing",
}

AGGREGATIONS = {
    "sum": "units per day",
    "count": "events per day",
    "unique_count": "events per day",
    "max": "daily maximum",
    "latest": "last value of day",
}


def source(name: str) -> str:
    return SOURCES.get(name, name)


def sources(names: str | None) -> str:
    """`stripe, telemetry` → `Stripe meter events and Product telemetry`."""
    parts = [source(part.strip()) for part in (names or "").split(",") if part.strip()]
    if not parts:
        return "its sources"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def quarantine_reason(code: str) -> tuple[str, str]:
    return QUARANTINE_REASONS.get(code, (code.replace("_", " ").capitalize(), ""))


def approval_state(code: str) -> str:
    return APPROVAL_STATES.get(code, code.replace("_", " "))


def revenue_component(code: str) -> str:
    return REVENUE_COMPONENTS.get(code, code.replace("_", " ").capitalize())


def rating_scope(code: str | None) -> str:
    return RATING_SCOPES.get(code or "", code or "")


def rating_line(kind: str, tier: int | None) -> str:
    if kind == "tier":
        return f"Tier {tier}" if tier is not None else "Tier"
    if kind == "minimum_top_up":
        return "Minimum charge top-up"
    if kind == "rounding":
        return "Rounding to the currency's minor unit"
    return kind.replace("_", " ").capitalize()
