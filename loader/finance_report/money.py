"""Numbers as a finance reader reads them, exactly as the marts hold them.

Money shows the currency's minor unit, as the ISO 4217 seed lists it (`loader.core.money`: 0
places for JPY, 3 for KWD, 2 for USD); a currency the seed does not list is an error, not two
places. Nothing is ever rounded for display: a value with more digits than its minor unit (a tier
line before the record's rounding) shows all of them, so every number on the page equals the
mart's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, localcontext

from loader.core.money import minor_unit

EXACT_DIGITS = 80
NOTHING = "–"


def plain(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros: `1500.000000000` → `1500`."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "", "-") else text


def money(amount: Decimal | None, currency: str | None) -> str:
    """`1234.5` USD → `1,234.50`, `6279` JPY → `6,279`; extra digits are kept, never rounded."""
    if amount is None:
        return NOTHING
    places = minor_unit(currency)
    exact = plain(amount)
    whole, _, fraction = exact.partition(".")
    fraction = fraction.ljust(places, "0")
    return _group(whole) + ("." + fraction if fraction else "")


def quantity(value: Decimal | None) -> str:
    """A quantity with thousands separators and every significant digit: `19352.000` → `19,352`."""
    if value is None:
        return NOTHING
    whole, _, fraction = plain(value).partition(".")
    return _group(whole) + ("." + fraction if fraction else "")


def factor(value: Decimal | None) -> str:
    """A proration factor, exact: `1.000000` → `1`, `0.272727272727272727` as it is."""
    return NOTHING if value is None else plain(value)


def sort_key(value: Decimal | None) -> str:
    """The value a table sorts by (plain decimal text; empty sorts first)."""
    return "" if value is None else plain(value)


def day(value: date | None) -> str:
    return NOTHING if value is None else value.isoformat()


def long_day(value: date) -> str:
    """`2026-03-01` → `1 Mar 2026`."""
    return f"{value.day} {value.strftime('%b %Y')}"


def month_name(value: date) -> str:
    """`2026-03-01` → `March 2026`."""
    return value.strftime("%B %Y")


def instant(value: datetime | None) -> str:
    """An instant in UTC to the minute: `2026-04-01 04:00 UTC`."""
    if value is None:
        return NOTHING
    moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if moment.second or moment.microsecond:
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def add(values: list[Decimal]) -> Decimal:
    """Exact sum of decimals (no context rounding at 28 digits)."""
    with localcontext(prec=EXACT_DIGITS):
        return sum(values, Decimal(0))


def _group(whole: str) -> str:
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    return sign + f"{int(digits):,}"
