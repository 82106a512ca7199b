"""The one table of currencies' minor units: the ISO 4217 seed, read by the loader."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from loader.core.money import (
    CURRENCIES_FILE,
    UnknownCurrency,
    minor_unit,
    minor_units,
    round_to_minor_unit,
)
from loader.finance_report.money import money


def test_the_minor_units_are_the_seed_file_dbt_loads() -> None:
    with CURRENCIES_FILE.open(encoding="utf-8", newline="") as file:
        seed = {row["currency"]: int(row["minor_unit"]) for row in csv.DictReader(file)}
    assert minor_units() == seed
    assert len(seed) > 150


@pytest.mark.parametrize(
    ("currency", "places"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_minor_unit_of_a_currency(currency: str, places: int) -> None:
    assert minor_unit(currency) == places
    assert minor_unit(currency.lower()) == places


@pytest.mark.parametrize("currency", ["ABX", "", None, "US"])
def test_an_unknown_currency_is_an_error_never_two_places(currency: str | None) -> None:
    with pytest.raises(UnknownCurrency, match="is not an ISO 4217 currency") as raised:
        minor_unit(currency)
    assert "currencies.csv" in str(raised.value)
    with pytest.raises(UnknownCurrency):
        money(Decimal("12.5"), currency)
    with pytest.raises(UnknownCurrency):
        round_to_minor_unit(Decimal("12.5"), currency or "")


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("12.345", "USD", "12.35"),
        ("-12.345", "USD", "-12.35"),
        ("6278.5", "JPY", "6279"),
        ("1.0005", "KWD", "1.001"),
        ("0.004", "EUR", "0.00"),
    ],
)
def test_rounding_is_half_away_from_zero_to_the_minor_unit(
    amount: str, currency: str, rounded: str
) -> None:
    assert str(round_to_minor_unit(Decimal(amount), currency)) == rounded


def test_a_bad_seed_row_names_its_line(tmp_path: Path) -> None:
    seed = tmp_path / "currencies.csv"
    seed.write_text("currency,minor_unit\nUSD,2\nEURO,2\n", encoding="utf-8")
    with pytest.raises(UnknownCurrency, match=r"line 3: currency"):
        minor_units(seed)
    seed.write_text("currency,minor_unit\nUSD,2\nUSD,2\n", encoding="utf-8")
    with pytest.raises(UnknownCurrency, match="USD is listed twice"):
        minor_units(seed)
    with pytest.raises(UnknownCurrency, match="cannot be read"):
        minor_units(tmp_path / "absent.csv")
