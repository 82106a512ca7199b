"""Small time helpers shared by the hand-written scenarios."""

from __future__ import annotations

from datetime import UTC, datetime


def at(text: str) -> datetime:
    """An aware datetime from ISO-8601 text (`Z` or an offset), normalised to UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def unix(text: str) -> int:
    """Unix seconds of an ISO-8601 instant."""
    return int(at(text).timestamp())


def month_file(prefix: str, moment: datetime, suffix: str) -> str:
    """The export file a record arriving at `moment` belongs to (one file per UTC month)."""
    return f"{prefix}{moment.astimezone(UTC):%Y-%m}{suffix}"
