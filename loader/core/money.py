"""The minor units of currencies (ISO 4217), read from the project's seed
`seeds/reference/currencies.csv` (the same file dbt loads as the `currencies` table), and rounding
to them.

A currency the seed does not list is an error, never a guess of two places: add it to the seed.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CURRENCIES_FILE = Path(__file__).resolve().parents[2] / "seeds" / "reference" / "currencies.csv"


class UnknownCurrency(ValueError):
    """A currency code the ISO 4217 seed does not list."""


class CurrencyRow(BaseModel):
    """One row of the seed: an ISO 4217 code and the decimal places of its minor unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    minor_unit: Annotated[int, Field(ge=0, le=4)]


@cache
def minor_units(path: Path = CURRENCIES_FILE) -> dict[str, int]:
    """Every currency of the seed file and its minor unit; a clear error when the file is missing
    or a row is not a currency code with its minor unit."""
    try:
        with path.open(encoding="utf-8", newline="") as file:
            lines = list(csv.DictReader(file))
    except OSError as error:
        raise UnknownCurrency(
            f"the currency seed {path} cannot be read ({error.strerror}): the loader reads "
            "ISO 4217 minor units from seeds/reference/currencies.csv of its project"
        ) from error
    units: dict[str, int] = {}
    for number, line in enumerate(lines, start=2):
        try:
            row = CurrencyRow.model_validate(line)
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(part) for part in problem["loc"])
            raise UnknownCurrency(f"{path}, line {number}: {field}: {problem['msg']}") from error
        if row.currency in units:
            raise UnknownCurrency(f"{path}, line {number}: {row.currency} is listed twice")
        units[row.currency] = row.minor_unit
    return units


def minor_unit(currency: str | None) -> int:
    """Decimal places of the currency's minor unit: `USD` → 2, `JPY` → 0, `KWD` → 3."""
    code = (currency or "").strip().upper()
    units = minor_units()
    if code not in units:
        shown = f"'{currency}'" if currency else "an empty currency"
        raise UnknownCurrency(
            f"{shown} is not an ISO 4217 currency of {CURRENCIES_FILE}: add it with its minor "
            "unit, or correct the currency of the billing account"
        )
    return units[code]


def round_to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    """Round half away from zero to the currency's minor unit: `12.345` USD → `12.35`."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)
