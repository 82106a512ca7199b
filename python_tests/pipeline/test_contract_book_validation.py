"""The contract book's validation (SPEC 2.2) built for real: a copy of the shipped book broken
on purpose, one broken row per rule, fails every rule's test, and each failing test's rows name
the seed, the row's key and the rule; the shipped book passes every one of them. Only the seeds,
the contract book's staging models and their tests are built."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from python_tests.support.pipeline_build import PROJECT_DIR, run_dbt

CONTRACT_BOOK = PROJECT_DIR / "seeds" / "contract_book"
VALIDATION_BUILD = (
    "build",
    "--select",
    "+path:models/staging/contract_book",
    "--indirect-selection",
    "cautious",
)

# Rows appended to the shipped book's files, as CSV lines: each breaks one rule (some break
# a further one too). The two first are the bug report's: a lower-case jpy on an account and its
# plan, and Graduated with a capital G; SL-BAD-PLAN names a plan that does not exist.
BROKEN_ROWS: dict[str, str] = {
    "billing_accounts": """\
BA-BAD-JPY,4901,Lower Yen KK,jpy,Asia/Tokyo,1
BA-BAD-TZ,4902,Lower Zone Inc.,USD,america/new_york,1
BA-BAD-DAY,4903,Late Cycle Inc.,USD,UTC,29
BA-001,4904,Acme twice,USD,UTC,1
,4905,No id,USD,UTC,1
""",
    "subscriptions": """\
SUB-BAD-JPY,BA-BAD-JPY,SP-X,2026-01-01,,calendar_days
SUB-BAD-ACCOUNT,BA-NOPE,SP-X,2026-01-01,,calendar_days
SUB-BAD-PRORATION,BA-001,SP-X,2026-01-01,,Calendar_Days
SUB-1001,BA-001,SP-X,2026-01-01,,none
,BA-001,SP-X,2026-01-01,,none
""",
    "price_plans": """\
PP-BAD-GRADUATED,USD,Graduated,,,true
PP-BAD-JPY,jpy,per_unit,,,false
PP-BAD-PRORATE,USD,per_unit,,,TRUE
PP-BAD-PACKAGE,USD,package,0,,false
PP-BAD-MINIMUM,USD,per_unit,,-5,false
PP-BAD-NO-TIERS,USD,per_unit,,,false
PP-BAD-EUR,EUR,per_unit,,,false
PP-A-USD,USD,graduated,,,true
,USD,per_unit,,,false
PP-BAD-GAP,USD,graduated,,,true
PP-BAD-OPEN,USD,graduated,,,true
PP-BAD-DOWN,USD,graduated,,,true
PP-BAD-NEGATIVE,USD,graduated,,,true
PP-BAD-TWICE,USD,graduated,,,true
""",
    "price_plan_tiers": """\
PP-BAD-GRADUATED,1,,0.01,0
PP-BAD-JPY,1,,0.01,0
PP-BAD-PRORATE,1,,0.01,0
PP-BAD-PACKAGE,1,,0.01,0
PP-BAD-MINIMUM,1,,0.01,0
PP-BAD-EUR,1,,0.01,0
PP-NOPE,1,,0.01,0
PP-BAD-GAP,1,100,0.01,0
PP-BAD-GAP,3,,0.01,0
PP-BAD-OPEN,1,,0.01,0
PP-BAD-OPEN,2,,0.01,0
PP-BAD-DOWN,1,100,0.01,0
PP-BAD-DOWN,2,50,0.01,0
PP-BAD-DOWN,3,,0.01,0
PP-BAD-NEGATIVE,1,-10,-0.01,-1
PP-BAD-NEGATIVE,2,,0.01,0
PP-BAD-TWICE,1,,0.01,0
PP-BAD-TWICE,1,,0.02,0
""",
    "subscription_lines": """\
SL-BAD-JPY,SUB-BAD-JPY,9,ITEM-API-CALLS,usage,api_calls,PP-BAD-JPY,2026-01-01,,consumption,,
SL-BAD-PLAN,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-NOPE,2026-01-01,,consumption,,
SL-BAD-SUBSCRIPTION,SUB-NOPE,9,ITEM-API-CALLS,usage,api_calls,PP-A-USD,2026-01-01,,consumption,,
SL-BAD-CHARGE,SUB-1001,9,ITEM-API-CALLS,Usage,api_calls,PP-A-USD,2026-01-01,,consumption,,
SL-BAD-REVENUE,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-A-USD,2026-01-01,,Consumption,,
SL-BAD-RATABLE-USAGE,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-A-USD,2026-01-01,,ratable,,
SL-BAD-NO-METRIC,SUB-1001,9,ITEM-API-CALLS,usage,,PP-A-USD,2026-01-01,,consumption,,
SL-BAD-METRIC,SUB-1001,9,ITEM-API-CALLS,usage,api_callz,PP-A-USD,2026-01-01,,consumption,,
SL-BAD-PREPAID,SUB-1001,9,ITEM-API-CALLS,prepaid,api_calls,PP-A-USD,2026-01-01,,consumption,,100
SL-BAD-NEGATIVE-POOL,SUB-1001,9,ITEM-API-CALLS,prepaid,api_calls,PP-A-USD,2026-01-01,,consumption,-1000,-100
SL-BAD-CURRENCY,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-BAD-EUR,2026-01-01,,consumption,,
SL-BAD-FLAT,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-PLATFORM-USD,2026-01-01,,consumption,,
SL-BAD-START,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-A-USD,,,consumption,,
SL-1001-1,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-A-USD,2026-01-01,,consumption,,
,SUB-1001,9,ITEM-API-CALLS,usage,api_calls,PP-A-USD,2026-01-01,,consumption,,
""",
    "amendments": """\
AMD-BAD-LINE,SL-NOPE,price_change,2026-03-15,PP-B-USD,,2026-03-01T00:00:00Z
AMD-BAD-CHANGE,SL-1001-1,Price_Change,2026-03-15,PP-B-USD,,2026-03-01T00:00:00Z
AMD-BAD-PLAN,SL-1001-1,price_change,2026-03-15,PP-NOPE,,2026-03-01T00:00:00Z
AMD-BAD-NO-PLAN,SL-1001-1,price_change,2026-03-15,,,2026-03-01T00:00:00Z
AMD-BAD-CURRENCY,SL-1001-1,price_change,2026-03-15,PP-BAD-EUR,,2026-03-01T00:00:00Z
AMD-BAD-EXTENSION,SL-1001-1,extension,2026-03-15,,,2026-03-01T00:00:00Z
AMD-BAD-EFFECTIVE,SL-1001-1,price_change,,PP-B-USD,,2026-03-01T00:00:00Z
AMD-0001,SL-1001-1,price_change,2026-03-15,PP-B-USD,,2026-03-01T00:00:00Z
,SL-1001-1,price_change,2026-03-15,PP-B-USD,,2026-03-01T00:00:00Z
""",
    "metrics": """\
bad_aggregation,Sum,,x
bad_unique,unique_count,,user
api_calls,sum,,call
,sum,,x
""",
    "metric_mappings": """\
telemetry,api.request,api_calls,1
telemetry,bad.metric,no_such_metric,1
telemetry,bad.multiplier,api_calls,-1
""",
    "customer_mappings": """\
telemetry,acme-prod,BA-001
telemetry,ghost-customer,BA-NOPE
""",
    "holidays": """\
2026-01-01,"New Year's Day, twice"
,A holiday without its date
""",
    "billing_runs": """\
SUB-NOPE,2026-01-01,2026-02-04T09:00:00Z
SUB-1001,2026-02-01,
""",
    "usage_approvals": """\
BA-NOPE,2026-03-01,10.00,USD,x,
BA-001,2026-02-01,10.00,usd,x,
BA-002,2026-02-01,10.00,EUR,x,
BA-003,2026-02-01,-10.00,USD,x,
""",
}

# Each rule's test and a row it must name: (seed, text in row_key, value as written or None).
EXPECTED_FAILURES: dict[str, tuple[str, str, str | None]] = {
    "billing_accounts__billing_account_id_is_present": (
        "billing_accounts",
        "billing_account_id=(blank)",
        None,
    ),
    "billing_accounts__billing_account_id_is_unique": (
        "billing_accounts",
        "billing_account_id=BA-001",
        None,
    ),
    "billing_accounts__currency_is_an_upper_case_iso_4217_code_with_a_minor_unit": (
        "billing_accounts",
        "billing_account_id=BA-BAD-JPY",
        "jpy",
    ),
    "billing_accounts__timezone_is_an_iana_time_zone": (
        "billing_accounts",
        "billing_account_id=BA-BAD-TZ",
        "america/new_york",
    ),
    "billing_accounts__bill_cycle_day_is_between_1_and_28": (
        "billing_accounts",
        "billing_account_id=BA-BAD-DAY",
        "29",
    ),
    "subscriptions__subscription_id_is_present": ("subscriptions", "subscription_id=(blank)", None),
    "subscriptions__subscription_id_is_unique": ("subscriptions", "subscription_id=SUB-1001", None),
    "subscriptions__billing_account_id_is_a_billing_account": (
        "subscriptions",
        "subscription_id=SUB-BAD-ACCOUNT",
        "BA-NOPE",
    ),
    "subscriptions__proration_method_is_one_of_calendar_days_business_days_half_month_none": (
        "subscriptions",
        "subscription_id=SUB-BAD-PRORATION",
        "Calendar_Days",
    ),
    "subscription_lines__subscription_line_id_is_present": (
        "subscription_lines",
        "subscription_line_id=(blank)",
        None,
    ),
    "subscription_lines__subscription_line_id_is_unique": (
        "subscription_lines",
        "subscription_line_id=SL-1001-1",
        None,
    ),
    "subscription_lines__subscription_id_is_a_subscription": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-SUBSCRIPTION",
        "SUB-NOPE",
    ),
    "subscription_lines__price_plan_id_is_a_price_plan": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-PLAN",
        "PP-NOPE",
    ),
    "subscription_lines__price_plan_currency_is_the_account_currency": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-CURRENCY",
        "PP-BAD-EUR",
    ),
    "subscription_lines__price_plan_is_flat_exactly_for_recurring_lines": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-FLAT",
        "PP-PLATFORM-USD",
    ),
    "subscription_lines__charge_type_is_one_of_usage_prepaid_recurring": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-CHARGE",
        "Usage",
    ),
    "subscription_lines__metric_is_present_for_usage_and_prepaid_and_blank_for_recurring": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-NO-METRIC",
        "(blank)",
    ),
    "subscription_lines__metric_is_a_metric": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-METRIC",
        "api_callz",
    ),
    "subscription_lines__start_date_is_present": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-START",
        "(blank)",
    ),
    "subscription_lines__rev_rec_rule_is_one_of_consumption_ratable": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-REVENUE",
        "Consumption",
    ),
    "subscription_lines__rev_rec_rule_is_consumption_for_usage_and_prepaid_ratable_for_recurring": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-RATABLE-USAGE",
        "ratable",
    ),
    "subscription_lines__prepaid_quantity_and_prepaid_amount_are_present_for_prepaid": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-PREPAID",
        None,
    ),
    "subscription_lines__prepaid_quantity_is_not_negative": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-NEGATIVE-POOL",
        None,
    ),
    "subscription_lines__prepaid_amount_is_not_negative": (
        "subscription_lines",
        "subscription_line_id=SL-BAD-NEGATIVE-POOL",
        None,
    ),
    "price_plans__price_plan_id_is_present": ("price_plans", "price_plan_id=(blank)", None),
    "price_plans__price_plan_id_is_unique": ("price_plans", "price_plan_id=PP-A-USD", None),
    "price_plans__price_plan_has_tiers": ("price_plans", "price_plan_id=PP-BAD-NO-TIERS", None),
    "price_plans__currency_is_an_upper_case_iso_4217_code_with_a_minor_unit": (
        "price_plans",
        "price_plan_id=PP-BAD-JPY",
        "jpy",
    ),
    "price_plans__pricing_model_is_one_of_per_unit_graduated_volume_package_flat": (
        "price_plans",
        "price_plan_id=PP-BAD-GRADUATED",
        "Graduated",
    ),
    "price_plans__package_size_is_greater_than_0_for_package_plans": (
        "price_plans",
        "price_plan_id=PP-BAD-PACKAGE",
        None,
    ),
    "price_plans__minimum_amount_is_not_negative": (
        "price_plans",
        "price_plan_id=PP-BAD-MINIMUM",
        None,
    ),
    "price_plans__prorate_tiers_is_one_of_true_false": (
        "price_plans",
        "price_plan_id=PP-BAD-PRORATE",
        "TRUE",
    ),
    "price_plan_tiers__price_plan_id_is_a_price_plan": (
        "price_plan_tiers",
        "price_plan_id=PP-NOPE, tier=1",
        "PP-NOPE",
    ),
    "price_plan_tiers__tiers_are_numbered_1_to_n": (
        "price_plan_tiers",
        "price_plan_id=PP-BAD-GAP, tier=3",
        "3",
    ),
    "price_plan_tiers__up_to_is_blank_only_on_the_last_tier": (
        "price_plan_tiers",
        "price_plan_id=PP-BAD-OPEN, tier=1",
        "(blank)",
    ),
    "price_plan_tiers__up_to_increases_tier_by_tier": (
        "price_plan_tiers",
        "price_plan_id=PP-BAD-DOWN, tier=2",
        None,
    ),
    "price_plan_tiers__up_to_is_not_negative": (
        "price_plan_tiers",
        "price_plan_id=PP-BAD-NEGATIVE, tier=1",
        None,
    ),
    "price_plan_tiers__unit_price_is_not_negative": (
        "price_plan_tiers",
        "price_plan_id=PP-BAD-NEGATIVE, tier=1",
        None,
    ),
    "price_plan_tiers__flat_amount_is_not_negative": (
        "price_plan_tiers",
        "price_plan_id=PP-BAD-NEGATIVE, tier=1",
        None,
    ),
    "price_plan_tiers__price_plan_id_tier_is_unique": (
        "price_plan_tiers",
        "price_plan_id=PP-BAD-TWICE, tier=1",
        None,
    ),
    "amendments__amendment_id_is_present": ("amendments", "amendment_id=(blank)", None),
    "amendments__amendment_id_is_unique": ("amendments", "amendment_id=AMD-0001", None),
    "amendments__subscription_line_id_is_a_subscription_line": (
        "amendments",
        "amendment_id=AMD-BAD-LINE",
        "SL-NOPE",
    ),
    "amendments__change_type_is_one_of_price_change_termination_extension": (
        "amendments",
        "amendment_id=AMD-BAD-CHANGE",
        "Price_Change",
    ),
    "amendments__effective_date_is_present": (
        "amendments",
        "amendment_id=AMD-BAD-EFFECTIVE",
        "(blank)",
    ),
    "amendments__new_price_plan_id_is_present_for_price_changes": (
        "amendments",
        "amendment_id=AMD-BAD-NO-PLAN",
        "(blank)",
    ),
    "amendments__new_price_plan_id_is_a_price_plan": (
        "amendments",
        "amendment_id=AMD-BAD-PLAN",
        "PP-NOPE",
    ),
    "amendments__new_price_plan_currency_is_the_account_currency": (
        "amendments",
        "amendment_id=AMD-BAD-CURRENCY",
        "PP-BAD-EUR",
    ),
    "amendments__new_end_date_is_present_for_extensions": (
        "amendments",
        "amendment_id=AMD-BAD-EXTENSION",
        "(blank)",
    ),
    "metrics__metric_is_present": ("metrics", "metric=(blank)", None),
    "metrics__metric_is_unique": ("metrics", "metric=api_calls", None),
    "metrics__aggregation_is_one_of_sum_count_unique_count_max_latest": (
        "metrics",
        "metric=bad_aggregation",
        "Sum",
    ),
    "metrics__unique_property_is_present_for_unique_count": (
        "metrics",
        "metric=bad_unique",
        "(blank)",
    ),
    "metric_mappings__metric_is_a_metric": (
        "metric_mappings",
        "source_metric=bad.metric",
        "no_such_metric",
    ),
    "metric_mappings__multiplier_is_present_and_not_negative": (
        "metric_mappings",
        "source_metric=bad.multiplier",
        None,
    ),
    "metric_mappings__source_system_source_metric_is_unique": (
        "metric_mappings",
        "source_system=telemetry, source_metric=api.request",
        None,
    ),
    "customer_mappings__billing_account_id_is_a_billing_account": (
        "customer_mappings",
        "source_customer_key=ghost-customer",
        "BA-NOPE",
    ),
    "customer_mappings__source_system_source_customer_key_is_unique": (
        "customer_mappings",
        "source_customer_key=acme-prod",
        None,
    ),
    "holidays__holiday_date_is_present": ("holidays", "holiday_date=(blank)", None),
    "holidays__holiday_date_is_unique": ("holidays", "holiday_date=2026-01-01", None),
    "billing_runs__subscription_id_is_a_subscription": (
        "billing_runs",
        "subscription_id=SUB-NOPE",
        "SUB-NOPE",
    ),
    "billing_runs__billed_at_is_present": (
        "billing_runs",
        "subscription_id=SUB-1001, billing_period_start=2026-02-01",
        "(blank)",
    ),
    "usage_approvals__billing_account_id_is_a_billing_account": (
        "usage_approvals",
        "billing_account_id=BA-NOPE",
        "BA-NOPE",
    ),
    "usage_approvals__approved_amount_is_not_negative": (
        "usage_approvals",
        "billing_account_id=BA-003",
        None,
    ),
    "usage_approvals__currency_is_an_upper_case_iso_4217_code_with_a_minor_unit": (
        "usage_approvals",
        "billing_account_id=BA-001",
        "usd",
    ),
    "usage_approvals__currency_is_the_account_currency": (
        "usage_approvals",
        "billing_account_id=BA-002",
        "EUR",
    ),
}


def _break_book(book: Path) -> None:
    """Append BROKEN_ROWS to the copy of the book in `book`."""
    for seed, rows in BROKEN_ROWS.items():
        with (book / f"{seed}.csv").open("a", encoding="utf-8", newline="") as handle:
            handle.write(rows)


def _validate(workdir: Path, book: Path) -> dict[str, dict]:
    """Build the seeds, the contract book's staging models and their tests on `book`; the
    results of the contract book's tests by name (without the contract_book__ prefix)."""
    raw = workdir / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    completed = run_dbt(workdir, raw, *VALIDATION_BUILD, seeds_dir=book)
    results = json.loads((workdir / "target" / "run_results.json").read_text(encoding="utf-8"))
    tests = {
        result["unique_id"].split(".")[2].removeprefix("contract_book__"): result
        for result in results["results"]
        if result["unique_id"].startswith("test.usage_billing.contract_book__")
    }
    assert tests, f"no contract book test ran:\n{completed.stdout[-4000:]}"
    return {"returncode": completed.returncode, "stdout": completed.stdout, "tests": tests}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict:
    workdir = tmp_path_factory.mktemp("broken_book")
    book = workdir / "contract_book"
    shutil.copytree(CONTRACT_BOOK, book)
    _break_book(book)
    validated = _validate(workdir, book)
    with duckdb.connect(str(workdir / "usage_billing.duckdb"), read_only=True) as connection:
        validated["rows"] = {
            name: connection.sql(
                f"select seed, row_key, column_name, value, rule from {result['relation_name']}"
            ).fetchall()
            for name, result in validated["tests"].items()
            if result["status"] == "fail"
        }
    return validated


def test_the_shipped_contract_book_passes_every_rule(tmp_path: Path) -> None:
    validated = _validate(tmp_path, CONTRACT_BOOK)
    assert validated["returncode"] == 0, validated["stdout"][-4000:]
    assert {name: result["status"] for name, result in validated["tests"].items()} == {
        name: "pass" for name in EXPECTED_FAILURES
    }


def test_a_broken_contract_book_fails_the_build(broken: dict) -> None:
    assert broken["returncode"] != 0
    # the names say the seed and the rule in dbt's output
    assert (
        "contract_book__price_plans__pricing_model_is_one_of_per_unit_graduated_volume_package_flat"
        in broken["stdout"]
    )


@pytest.mark.parametrize("rule", sorted(EXPECTED_FAILURES))
def test_each_rule_fails_and_names_the_seed_and_the_row(broken: dict, rule: str) -> None:
    seed, key, value = EXPECTED_FAILURES[rule]
    assert broken["tests"][rule]["status"] == "fail", broken["tests"][rule].get("message")
    rows = broken["rows"][rule]
    named = [row for row in rows if row[0] == seed and key in row[1]]
    assert named, f"{rule}: no failing row names {seed} {key}: {rows}"
    assert all(row[4] for row in rows), f"{rule}: a failing row without its rule: {rows}"
    if value is not None:
        assert value in {row[3] for row in named}, f"{rule}: {named}"


def test_every_rule_has_a_broken_row(broken: dict) -> None:
    """Every contract book test is one of the rules broken above: none is left untried."""
    assert set(broken["tests"]) == set(EXPECTED_FAILURES)


def test_the_bug_report_rows_fail_their_own_rules_only(broken: dict) -> None:
    rows = broken["rows"]
    # Graduated (capital G) and a lower-case jpy on an account and its plan
    pricing_model = rows[
        "price_plans__pricing_model_is_one_of_per_unit_graduated_volume_package_flat"
    ]
    assert ("price_plans", "price_plan_id=PP-BAD-GRADUATED", "Graduated") in {
        (row[0], row[1], row[3]) for row in pricing_model
    }
    currency_rule = "currency_is_an_upper_case_iso_4217_code_with_a_minor_unit"
    assert ("billing_account_id=BA-BAD-JPY", "jpy") in {
        (row[1], row[3]) for row in rows[f"billing_accounts__{currency_rule}"]
    }
    assert ("price_plan_id=PP-BAD-JPY", "jpy") in {
        (row[1], row[3]) for row in rows[f"price_plans__{currency_rule}"]
    }
    # a plan that does not exist fails the reference, never a currency rule
    for rule, failing in rows.items():
        if "currency" in rule:
            assert not any("SL-BAD-PLAN" in row[1] for row in failing), rule
    assert any(
        "SL-BAD-PLAN" in row[1] for row in rows["subscription_lines__price_plan_id_is_a_price_plan"]
    )


def test_a_broken_book_stops_the_build_before_rating(tmp_path: Path) -> None:
    """The whole build on the broken book (no raw files): the contract book's tests fail and
    nothing after them is built, rating included."""
    book = tmp_path / "contract_book"
    shutil.copytree(CONTRACT_BOOK, book)
    _break_book(book)
    raw = tmp_path / "raw"
    for source in ("telemetry", "stripe", "salesforce", "metering", "watermarks"):
        (raw / source).mkdir(parents=True)
    completed = run_dbt(tmp_path, raw, "build", "--full-refresh", seeds_dir=book)
    assert completed.returncode != 0
    results = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))
    status = {result["unique_id"].split(".")[-1]: result["status"] for result in results["results"]}
    for model in (
        "int_subscription_lines_amended",
        "int_rating_requests_rated",
        "fct_usage_records",
    ):
        assert status[model] == "skipped", (model, status[model])
