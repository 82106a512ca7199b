"""JSON in and out without binary floating point: numbers are read and written as decimals."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

_NON_FINITE = {
    "NaN": Decimal("NaN"),
    "Infinity": Decimal("Infinity"),
    "-Infinity": Decimal("-Infinity"),
}


def loads(data: bytes | str) -> Any:
    """Parse JSON; fractional numbers become `Decimal`, NaN and infinities non-finite decimals."""
    return json.loads(data, parse_float=Decimal, parse_constant=_NON_FINITE.__getitem__)


def decimal_text(value: Decimal) -> str:
    """Plain decimal notation of a finite number, without exponent or trailing zeros."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def dumps(value: Any) -> str:
    """Serialize to JSON, writing a `Decimal` as the exact number it holds."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, float):
        return decimal_text(Decimal(repr(value)))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        members = (
            f"{json.dumps(str(key), ensure_ascii=False)}:{dumps(item)}"
            for key, item in value.items()
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    raise TypeError(f"cannot serialize {type(value).__name__} to JSON")


def dumps_bytes(value: Any) -> bytes:
    return dumps(value).encode("utf-8")
