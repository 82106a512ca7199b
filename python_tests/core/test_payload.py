"""The Usage Record payload: exact quantities, stable hashes, and the rules a record must keep."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loader.core.marts import UsageRecord
from loader.core.payload import build_payload, decimal_text, record_problems
from python_tests.support.mart_project import sample_records, usage_record


def mart_record(**changes: object) -> UsageRecord:
    row = usage_record("SL-1001", date(2026, 5, 1), "4000.5", period_end=date(2026, 5, 31))
    return UsageRecord(**{**row, "dbt_invocation_id": "inv-1", **changes})


def test_payload_maps_mart_columns_to_netsuite_fields() -> None:
    payload = build_payload(mart_record())
    assert json.loads(payload.to_json()) == {
        "externalId": "UR-SL-1001-20260501",
        "customer": {"id": "CUST-1"},
        "usageSubscription": {"id": "SUB-1"},
        "usageSubscriptionLine": {"id": "SL-1001"},
        "subscriptionPlan": {"id": "PLAN-GROWTH"},
        "item": {"id": "ITEM-API"},
        "usageDate": "2026-05-31",
        "usageQuantity": 4000.5,
        "memo": "api_calls 2026-05",
    }


def test_quantity_is_sent_as_exact_decimal_text() -> None:
    payload = build_payload(mart_record(quantity=Decimal("12345678901234567890.123456789")))
    body = payload.to_json().decode()
    assert '"usageQuantity":12345678901234567890.123456789' in body
    parsed = json.loads(body, parse_float=Decimal)
    assert parsed["usageQuantity"] == Decimal("12345678901234567890.123456789")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1500.000000000", "1500"),
        ("0E-9", "0"),
        ("0.000000001", "0.000000001"),
        ("1000", "1000"),
        ("25000.125000000", "25000.125"),
    ],
)
def test_decimal_text_has_no_exponent_and_no_trailing_zeros(value: str, text: str) -> None:
    assert decimal_text(Decimal(value)) == text


@given(
    st.decimals(
        min_value=0, max_value=Decimal("1e28"), places=9, allow_nan=False, allow_infinity=False
    )
)
def test_any_mart_quantity_round_trips_exactly(quantity: Decimal) -> None:
    body = build_payload(mart_record(quantity=quantity)).to_json()
    assert json.loads(body, parse_float=Decimal, parse_int=Decimal)["usageQuantity"] == quantity


def test_hash_follows_the_payload() -> None:
    first, same = build_payload(mart_record()), build_payload(mart_record())
    changed = build_payload(mart_record(quantity=Decimal("4000.6")))
    assert first.content_hash() == same.content_hash()
    assert first.content_hash() != changed.content_hash()


def test_trailing_zeros_do_not_change_the_hash() -> None:
    short = build_payload(mart_record(quantity=Decimal("4000.5")))
    padded = build_payload(mart_record(quantity=Decimal("4000.500000000")))
    assert short.content_hash() == padded.content_hash()


def test_sample_records_keep_every_rule() -> None:
    for row in sample_records():
        assert record_problems(UsageRecord(**row, dbt_invocation_id="inv-1")) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"external_id": "UR-SL-1001-2026-05-01"}, "external_id"),
        ({"external_id": "UR-SL 1001-20260501"}, "external_id"),
        ({"external_id": "usage-SL-1001-20260501"}, "external_id"),
        ({"item_id": None}, "missing reference item_id"),
        ({"netsuite_customer_id": " "}, "missing reference netsuite_customer_id"),
        ({"subscription_line_id": None}, "missing reference subscription_line_id"),
        ({"quantity": Decimal("-1")}, "negative"),
        ({"quantity": Decimal("NaN")}, "not finite"),
        ({"quantity": Decimal("Infinity")}, "not finite"),
        ({"quantity": None}, "quantity is null"),
        ({"usage_date": date(2026, 6, 1)}, "outside its billing period"),
        ({"usage_date": date(2026, 4, 30)}, "outside its billing period"),
        ({"usage_date": None}, "usage_date is null"),
    ],
)
def test_a_record_breaking_a_rule_is_refused(changes: dict[str, object], problem: str) -> None:
    record = mart_record(**changes)
    problems = record_problems(record)
    assert any(problem in text for text in problems), problems
    with pytest.raises(ValueError):
        build_payload(record)
