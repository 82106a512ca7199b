"""The demo contract book (`seeds/`) and `usage-loader sample-data`.

The raw files are read back with DuckDB in the formats of SPEC 2.1 and checked against the seeds
independently of the generator: every fault is present, ordinary usage lies inside active lines,
late usage appears only where it is meant to, and the approved invoice adds up.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from loader.cli import main
from loader.sample_data.book import SEED_TABLES
from loader.sample_data.feeds import AS_OF_DATE, allocate_events, usage_feeds
from loader.sample_data.generate import generate_sample_data
from loader.sample_data.models import GenerationSettings, GenerationSummary
from loader.sample_data.scenarios import handwritten_records
from loader.sample_data.scenarios.stripe import (
    APPROVED_ACCOUNT,
    APPROVED_PERIOD_START,
    approved_invoice_total,
)
from python_tests.support.seed_integrity import SEED_INTEGRITY_CHECKS, SEED_KEYS

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds" / "contract_book"
SEED = 7
# Every line as text; DuckDB's reader refuses a line that is not UTF-8, which the deliberate
# `not_utf8` line is (test_a_line_that_is_not_utf8_is_written_as_its_bytes), so it skips it.
LINE_READER = (
    "header = false, columns = {'line': 'VARCHAR'}, delim = '\x1f', quote = '', escape = '', "
    "auto_detect = false, filename = true, ignore_errors = true"
)
STRIPE_COLUMNS = {
    "identifier": "VARCHAR",
    "event_name": "VARCHAR",
    "timestamp": "VARCHAR",
    "stripe_customer_id": "VARCHAR",
    "value": "VARCHAR",
    "created": "VARCHAR",
}
SALESFORCE_COLUMNS = {
    "Id": "VARCHAR",
    "Account__c": "VARCHAR",
    "Metric__c": "VARCHAR",
    "Quantity__c": "VARCHAR",
    "Usage_Date__c": "VARCHAR",
    "IsDeleted": "VARCHAR",
    "CreatedDate": "VARCHAR",
    "LastModifiedDate": "VARCHAR",
}
ISO_INSTANT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"
CATALOG = handwritten_records()


# --------------------------------------------------------------------------- fixtures


def _generate(out_dir: Path, seed: int = SEED, events: int = 20_000) -> GenerationSummary:
    return generate_sample_data(GenerationSettings(out_dir=out_dir, seed=seed, events=events))


@pytest.fixture(scope="module")
def generation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary, float]:
    out_dir = tmp_path_factory.mktemp("raw-seed-7")
    started = time.perf_counter()
    summary = _generate(out_dir)
    return out_dir, summary, time.perf_counter() - started


@pytest.fixture(scope="module")
def raw(generation: tuple[Path, GenerationSummary, float]) -> Path:
    return generation[0]


def _seed_types() -> dict[str, dict[str, str]]:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    seeds = project["seeds"]["usage_billing"]
    return {name: seeds[name]["+column_types"] for name in SEED_TABLES}


def _columns_sql(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def _load_seeds(con: duckdb.DuckDBPyConnection) -> None:
    for name, columns in _seed_types().items():
        con.execute(
            f"""
            create table {name} as
            select * from read_csv(
                '{SEEDS / f"{name}.csv"}', header = true, auto_detect = false,
                columns = {_columns_sql(columns)}
            )
            """
        )


def _raw_views(con: duckdb.DuckDBPyConnection, raw: Path) -> None:
    con.execute(
        f"""
        create view telemetry_lines as
        select filename, line from read_csv('{raw}/telemetry/*', {LINE_READER});

        create view telemetry as
        select
            filename,
            line,
            line ->> '$.event_id' as event_id,
            json_type(line, '$.event_id') as event_id_type,
            line ->> '$.account_key' as account_key,
            json_type(line, '$.account_key') as account_key_type,
            line ->> '$.event_type' as event_type,
            line ->> '$.occurred_at' as occurred_text,
            line ->> '$.received_at' as received_text,
            json_type(line, '$.quantity') as quantity_type,
            line ->> '$.quantity' as quantity_text,
            json_type(line, '$.properties') as properties_type
        from telemetry_lines
        where json_valid(line);

        create view telemetry_usage as
        select
            'telemetry' as source_system,
            event_id as record_key,
            account_key as customer_key,
            event_type as source_metric,
            try_cast(occurred_text as timestamptz) as occurred_at,
            null::date as usage_date,
            try_cast(received_text as timestamptz) as received_at,
            coalesce(quantity_text, '1') as quantity_text,
            false as is_deleted,
            line as content
        from telemetry
        where
            event_id_type = 'VARCHAR'
            and account_key_type = 'VARCHAR'
            and json_type(line, '$.event_type') = 'VARCHAR'
            and regexp_full_match(occurred_text, '{ISO_INSTANT}')
            and regexp_full_match(received_text, '{ISO_INSTANT}')
            and try_cast(occurred_text as timestamptz) is not null
            and try_cast(received_text as timestamptz) is not null
            and (quantity_type is null or quantity_type in ('BIGINT', 'UBIGINT', 'DOUBLE'))
            and coalesce(try_cast(quantity_text as double), 1) >= 0
            and (properties_type is null or properties_type = 'OBJECT');

        create view stripe as
        select * from read_csv(
            '{raw}/stripe/*.csv', header = true, auto_detect = false, ignore_errors = true,
            columns = {_columns_sql(STRIPE_COLUMNS)}, filename = true
        );

        create view stripe_usage as
        select
            'stripe' as source_system,
            identifier as record_key,
            stripe_customer_id as customer_key,
            event_name as source_metric,
            to_timestamp(try_cast("timestamp" as bigint)) as occurred_at,
            null::date as usage_date,
            to_timestamp(try_cast(created as bigint)) as received_at,
            value as quantity_text,
            false as is_deleted,
            concat_ws(',', identifier, "timestamp", value, created) as content
        from stripe
        where
            identifier is not null and stripe_customer_id is not null
            and event_name is not null
            and try_cast("timestamp" as bigint) is not null
            and try_cast(created as bigint) is not null
            and isfinite(try_cast(value as double)) and try_cast(value as double) >= 0;

        create view salesforce as
        select * from read_csv(
            '{raw}/salesforce/*.csv', header = true, auto_detect = false, ignore_errors = true,
            columns = {_columns_sql(SALESFORCE_COLUMNS)}, filename = true
        );

        create view salesforce_usage as
        select
            'salesforce' as source_system,
            "Id" as record_key,
            "Account__c" as customer_key,
            "Metric__c" as source_metric,
            null::timestamptz as occurred_at,
            try_strptime("Usage_Date__c", '%Y-%m-%d')::date as usage_date,
            try_cast("LastModifiedDate" as timestamptz) as received_at,
            "Quantity__c" as quantity_text,
            "IsDeleted" = 'true' as is_deleted,
            concat_ws(',', "Id", "Quantity__c", "IsDeleted", "LastModifiedDate") as content
        from salesforce
        where
            "Id" is not null and "Account__c" is not null and "Metric__c" is not null
            and try_strptime("Usage_Date__c", '%Y-%m-%d') is not null
            and "IsDeleted" in ('true', 'false')
            and try_cast("LastModifiedDate" as timestamptz) is not null
            and isfinite(try_cast("Quantity__c" as double))
            and try_cast("Quantity__c" as double) >= 0;

        create view metering as
        select * from read_parquet('{raw}/metering/*.parquet', filename = true);

        create view metering_usage as
        select
            'metering' as source_system,
            record_id as record_key,
            customer_id as customer_key,
            meter_api_name as source_metric,
            window_start as occurred_at,
            null::date as usage_date,
            exported_at as received_at,
            value::varchar as quantity_text,
            false as is_deleted,
            concat_ws(',', record_id, value, exported_at) as content
        from metering
        where
            record_id is not null and customer_id is not null and meter_api_name is not null
            and window_start is not null and exported_at is not null
            and isfinite(value) and value >= 0;

        create view usage as
        select * from telemetry_usage
        union all by name select * from stripe_usage
        union all by name select * from salesforce_usage
        union all by name select * from metering_usage;

        create view usage_located as
        select
            u.*,
            m.billing_account_id,
            a.timezone,
            a.bill_cycle_day,
            mm.metric,
            mm.multiplier,
            coalesce(u.usage_date, timezone(a.timezone, u.occurred_at)::date) as local_date
        from usage as u
        inner join customer_mappings as m
            on m.source_system = u.source_system and m.source_customer_key = u.customer_key
        inner join billing_accounts as a on a.billing_account_id = m.billing_account_id
        inner join metric_mappings as mm
            on mm.source_system = u.source_system and mm.source_metric = u.source_metric;

        create view line_ranges as
        with final_end as (
            select
                subscription_line_id,
                last(
                    case change_type
                        when 'termination' then effective_date - 1
                        else new_end_date
                    end
                    order by effective_date, entered_at
                ) as end_date
            from amendments
            where change_type in ('termination', 'extension')
            group by all
        )
        select
            l.subscription_line_id,
            s.billing_account_id,
            l.metric,
            l.start_date,
            coalesce(e.end_date, l.end_date, s.end_date, date '9999-12-31') as end_date
        from subscription_lines as l
        inner join subscriptions as s on s.subscription_id = l.subscription_id
        left join final_end as e on e.subscription_line_id = l.subscription_line_id;

        create view billed_periods as
        select
            s.billing_account_id,
            b.billing_period_start,
            (b.billing_period_start + interval 1 month - interval 1 day)::date
                as billing_period_end,
            b.billed_at
        from billing_runs as b
        inner join subscriptions as s on s.subscription_id = b.subscription_id;
        """
    )


@pytest.fixture(scope="module")
def db(raw: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    _load_seeds(con)
    _raw_views(con, raw)
    yield con
    con.close()


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _catalog_keys(*kinds: str, expected: str | None = None) -> set[tuple[str, str]]:
    return {
        (record.source_system, record.record_key)
        for record in CATALOG
        if record.kind in kinds
        and record.record_key is not None
        and (expected is None or record.expected == expected)
    }


def _file_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# --------------------------------------------------------------------------- seeds


def test_seed_headers_keep_the_pinned_columns_in_order() -> None:
    for name, columns in _seed_types().items():
        header = (SEEDS / f"{name}.csv").read_text().splitlines()[0]
        assert header.split(",") == list(columns), name
    seeds = yaml.safe_load((REPO / "dbt_project.yml").read_text())["seeds"]["usage_billing"]
    reference = sorted((REPO / "seeds" / "reference").glob("*.csv"))
    assert reference
    for path in reference:
        header = path.read_text().splitlines()[0]
        assert header.split(",") == list(seeds[path.stem]["+column_types"]), path.name


def test_seeds_load_with_their_pinned_types_and_hold_the_demo_world(
    db: duckdb.DuckDBPyConnection,
) -> None:
    counts = {name: _scalar(db, f"select count(*) from {name}") for name in _seed_types()}
    assert all(count > 0 for count in counts.values()), counts
    assert counts["billing_accounts"] == 20
    assert _scalar(db, "select count(distinct currency) from billing_accounts") == 3
    assert {row[0] for row in db.execute("select currency from billing_accounts").fetchall()} == {
        "USD",
        "EUR",
        "JPY",
    }
    assert _scalar(db, "select count(distinct timezone) from billing_accounts") >= 4
    days = {row[0] for row in db.execute("select bill_cycle_day from billing_accounts").fetchall()}
    assert {1, 15, 28} <= days
    assert _scalar(db, "select min(start_date) from subscriptions") >= date(2026, 1, 1)


def test_seed_references_resolve(db: duckdb.DuckDBPyConnection) -> None:
    for name, sql in SEED_INTEGRITY_CHECKS.items():
        assert db.execute(sql).fetchall() == [], name


def test_seed_keys_are_unique_and_ids_fit_external_ids(db: duckdb.DuckDBPyConnection) -> None:
    for table, key in SEED_KEYS.items():
        duplicates = db.execute(
            f"select {key}, count(*) from {table} group by all having count(*) > 1"
        ).fetchall()
        assert duplicates == [], table
    bad_ids = db.execute(
        """
        select subscription_line_id from subscription_lines
        where not regexp_full_match(subscription_line_id, '[A-Za-z0-9-]+')
        """
    ).fetchall()
    assert bad_ids == []
    assert (
        _scalar(
            db,
            "select count(*) from billing_accounts "
            "where not regexp_full_match(netsuite_customer_id, '[0-9]+')",
        )
        == 0
    )


def test_tiers_run_from_one_with_only_the_last_unbounded(db: duckdb.DuckDBPyConnection) -> None:
    broken = db.execute(
        """
        select price_plan_id
        from price_plan_tiers
        group by price_plan_id
        having
            list(tier order by tier) <> range(1, count(*) + 1)
            or count(*) filter (where up_to is null) <> 1
            or max(tier) <> max(tier) filter (where up_to is null)
            or bool_or(unit_price is null or flat_amount is null)
        """
    ).fetchall()
    assert broken == []


def test_seeds_cover_every_pricing_model_proration_and_aggregation(
    db: duckdb.DuckDBPyConnection,
) -> None:
    pairs = set(db.execute("select pricing_model, prorate_tiers from price_plans").fetchall())
    for model in ("per_unit", "graduated", "volume", "package", "flat"):
        # prorate_tiers is text as written (SPEC 2.2: `true`/`false`)
        assert (model, "true") in pairs and (model, "false") in pairs, model
    assert _scalar(db, "select count(*) from price_plans where minimum_amount > 0") >= 1
    assert _scalar(
        db, "select count(*) from price_plans where pricing_model = 'package' and package_size > 0"
    ) == _scalar(db, "select count(*) from price_plans where pricing_model = 'package'")
    methods = {
        row[0] for row in db.execute("select proration_method from subscriptions").fetchall()
    }
    assert methods == {"calendar_days", "business_days", "half_month", "none"}
    aggregations = dict(db.execute("select metric, aggregation from metrics").fetchall())
    assert set(aggregations.values()) == {"sum", "count", "unique_count", "max", "latest"}
    assert db.execute(
        "select unique_property from metrics where aggregation = 'unique_count'"
    ).fetchall() == [("user_id",)]
    used_metrics = {
        row[0]
        for row in db.execute(
            "select distinct metric from subscription_lines where metric is not null"
        ).fetchall()
    }
    assert {aggregations[metric] for metric in used_metrics} == set(aggregations.values())


def test_line_charge_types_and_revenue_rules_are_consistent(db: duckdb.DuckDBPyConnection) -> None:
    mismatched = db.execute(
        """
        select subscription_line_id
        from subscription_lines as l
        join price_plans as p using (price_plan_id)
        where
            (charge_type = 'recurring') <> (metric is null)
            or (charge_type = 'recurring') <> (rev_rec_rule = 'ratable')
            or (charge_type = 'recurring') <> (p.pricing_model = 'flat')
            or (charge_type = 'prepaid') <> (prepaid_quantity is not null)
            or (charge_type = 'prepaid') <> (prepaid_amount is not null)
        """
    ).fetchall()
    assert mismatched == []
    charge_types = {
        row[0] for row in db.execute("select charge_type from subscription_lines").fetchall()
    }
    assert charge_types == {"usage", "prepaid", "recurring"}


def test_amendments_cover_upgrade_downgrade_termination_extension_and_a_tie(
    db: duckdb.DuckDBPyConnection,
) -> None:
    kinds = {row[0] for row in db.execute("select change_type from amendments").fetchall()}
    assert kinds == {"price_change", "termination", "extension"}
    ties = db.execute(
        """
        select subscription_line_id, effective_date, list(amendment_id order by entered_at)
        from amendments
        group by all
        having count(*) > 1 and count(distinct entered_at) = count(*)
        """
    ).fetchall()
    assert ties, "two amendments of one line share an effective_date"
    # The later-entered amendment carries the smaller id: ordering by id would pick the wrong one.
    line, _, ordered = ties[0]
    assert ordered != sorted(ordered), line
    day_15 = db.execute(
        """
        select m.amendment_id
        from amendments as m
        join subscription_lines as l using (subscription_line_id)
        join subscriptions as s using (subscription_id)
        join billing_accounts as a using (billing_account_id)
        where m.change_type = 'price_change' and a.bill_cycle_day = 1
          and day(m.effective_date) = 15 and s.proration_method = 'calendar_days'
        """
    ).fetchall()
    assert day_15, "a price change on day 15 of a calendar_days period"
    directions = db.execute(
        """
        select
            sign(new_tier.unit_price + new_tier.flat_amount - old_tier.unit_price
                 - old_tier.flat_amount) as direction
        from amendments as m
        join subscription_lines as l using (subscription_line_id)
        join price_plan_tiers as old_tier on old_tier.price_plan_id = l.price_plan_id
            and old_tier.tier = 1
        join price_plan_tiers as new_tier on new_tier.price_plan_id = m.new_price_plan_id
            and new_tier.tier = 1
        where m.change_type = 'price_change'
        """
    ).fetchall()
    assert {(1,), (-1,)} <= set(directions), "an upgrade and a downgrade"


def test_multipliers_are_exact_decimals_and_every_source_is_mapped(
    db: duckdb.DuckDBPyConnection,
) -> None:
    text = (SEEDS / "metric_mappings.csv").read_text().splitlines()[1:]
    multipliers = {line.split(",")[3] for line in text}
    assert {"0.001", "0.000000001"} <= multipliers
    for value in multipliers:
        assert Decimal(value) * 10**9 == int(Decimal(value) * 10**9), value
    for table in ("metric_mappings", "customer_mappings"):
        sources = {row[0] for row in db.execute(f"select source_system from {table}").fetchall()}
        assert sources == {"telemetry", "stripe", "salesforce", "metering"}, table


def test_business_days_have_weekday_holidays(db: duckdb.DuckDBPyConnection) -> None:
    holidays = [row[0] for row in db.execute("select holiday_date from holidays").fetchall()]
    assert len(holidays) >= 3
    assert all(day.weekday() < 5 for day in holidays)
    in_demo = [day for day in holidays if date(2026, 1, 1) <= day <= AS_OF_DATE]
    assert len(in_demo) >= 2


def test_billing_runs_bill_january_and_one_february(db: duckdb.DuckDBPyConnection) -> None:
    runs = db.execute(
        "select billing_period_start, billed_at from billing_runs order by all"
    ).fetchall()
    starts = [start for start, _ in runs]
    assert starts.count(date(2026, 2, 1)) == 1
    assert starts.count(date(2026, 1, 1)) >= 3
    for start, billed_at in runs:
        next_start = date(start.year + start.month // 12, start.month % 12 + 1, start.day)
        assert billed_at > datetime.combine(next_start, datetime.min.time(), tzinfo=UTC)
        assert billed_at.astimezone(UTC).day <= 5


# --------------------------------------------------------------------------- usage profile


def test_every_feed_lies_inside_an_active_line_of_its_account(
    db: duckdb.DuckDBPyConnection,
) -> None:
    ranges = {
        row[0]: row[1:]
        for row in db.execute(
            "select subscription_line_id, billing_account_id, metric, start_date, end_date "
            "from line_ranges"
        ).fetchall()
    }
    mappings = dict(
        (tuple(row[:2]), row[2])
        for row in db.execute(
            "select source_system, source_customer_key, billing_account_id from customer_mappings"
        ).fetchall()
    )
    metrics = dict(
        (tuple(row[:2]), row[2])
        for row in db.execute(
            "select source_system, source_metric, metric from metric_mappings"
        ).fetchall()
    )
    zones = dict(db.execute("select billing_account_id, timezone from billing_accounts").fetchall())
    for feed in usage_feeds():
        account, metric, start, end = ranges[feed.subscription_line_id]
        assert mappings[(feed.source_system, feed.customer_key)] == feed.billing_account_id
        assert account == feed.billing_account_id, feed.feed_id
        assert metrics[(feed.source_system, feed.source_metric)] == metric, feed.feed_id
        assert start <= feed.first_date and feed.last_date <= end, feed.feed_id
        assert feed.last_date < AS_OF_DATE
        assert zones[account] == feed.timezone, feed.feed_id


def test_each_account_metric_is_fed_by_exactly_one_source(db: duckdb.DuckDBPyConnection) -> None:
    fed = db.execute(
        """
        select billing_account_id, metric, count(distinct source_system)
        from usage_located
        group by all
        having count(distinct source_system) > 1
        """
    ).fetchall()
    assert fed == []
    unfed = db.execute(
        """
        select subscription_line_id
        from subscription_lines as l
        join subscriptions as s using (subscription_id)
        where l.charge_type <> 'recurring'
          and not exists (
              select 1 from usage_located as u
              where u.billing_account_id = s.billing_account_id and u.metric = l.metric
          )
        """
    ).fetchall()
    assert unfed == []


def test_event_budget_is_split_by_weight_and_capped_by_metering_hours() -> None:
    feeds = usage_feeds()
    counts = allocate_events(feeds, 20_000)
    assert sum(counts.values()) == 20_000
    assert all(count >= 1 for count in counts.values())
    big = allocate_events(feeds, 10_000_000)
    assert sum(big.values()) == 10_000_000
    for feed in feeds:
        if feed.source_system == "metering":
            assert big[feed.feed_id] == feed.hours
    tyrell = next(feed for feed in feeds if feed.customer_key == "cust_tyrell")
    assert tyrell.hours == tyrell.days * 24 - 1  # 2026-03-08 has 23 hours in Los Angeles


# --------------------------------------------------------------------------- files


def test_generation_is_deterministic_per_seed(
    raw: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = tmp_path_factory.mktemp("raw-seed-7-again")
    _generate(again)
    assert _file_digests(again) == _file_digests(raw)
    other = tmp_path_factory.mktemp("raw-seed-8")
    _generate(other, seed=8)
    first, second = _file_digests(raw), _file_digests(other)
    common = sorted(first.keys() & second.keys())
    assert len(common) >= 15
    unchanged = [name for name in common if first[name] == second[name]]
    assert unchanged == ["watermarks/watermarks.csv"]  # hand-written, the same for every seed


def test_writes_every_raw_folder_in_its_spec_format(raw: Path) -> None:
    names = {path.relative_to(raw).as_posix() for path in raw.rglob("*") if path.is_file()}
    by_folder: dict[str, set[str]] = {}
    for name in names:
        folder, file_name = name.split("/")
        by_folder.setdefault(folder, set()).add(file_name)
    assert set(by_folder) == {"telemetry", "stripe", "salesforce", "metering", "watermarks"}
    assert all(n.endswith((".jsonl", ".jsonl.gz")) for n in by_folder["telemetry"])
    assert sum(n.endswith(".jsonl.gz") for n in by_folder["telemetry"]) == 1
    assert all(n.endswith(".csv") for n in by_folder["stripe"] | by_folder["salesforce"])
    assert all(n.endswith(".parquet") for n in by_folder["metering"])
    assert by_folder["watermarks"] == {"watermarks.csv"}


def test_telemetry_lines_are_spec_objects_except_the_broken_ones(
    db: duckdb.DuckDBPyConnection,
) -> None:
    total = _scalar(db, "select count(*) from telemetry_lines")
    broken = _scalar(db, "select count(*) from telemetry_lines where not json_valid(line)")
    assert total > 10_000
    expected_broken = sum(
        1 for r in CATALOG if r.source_system == "telemetry" and r.kind == "malformed_line"
    )
    assert broken == expected_broken
    in_gzip = _scalar(db, "select count(*) from telemetry_lines where filename like '%.jsonl.gz'")
    assert in_gzip > 10
    usable = _scalar(db, "select count(*) from telemetry_usage")
    assert usable / total > 0.99
    absent = _scalar(db, "select count(*) from telemetry_usage where content not like '%quantity%'")
    assert absent > 100
    offsets = _scalar(
        db,
        "select count(*) from telemetry where regexp_matches(occurred_text, '[+-]\\d{2}:\\d{2}$')",
    )
    assert offsets > 100


def test_csv_exports_parse_with_only_the_deliberate_bad_rows_rejected(
    raw: Path,
) -> None:
    for folder, columns in (("stripe", STRIPE_COLUMNS), ("salesforce", SALESFORCE_COLUMNS)):
        con = duckdb.connect()
        rows = con.execute(
            f"""
            select * from read_csv(
                '{raw}/{folder}/*.csv', header = true, auto_detect = false,
                columns = {_columns_sql(columns)}, store_rejects = true
            )
            """
        ).fetchall()
        rejected = con.execute("select distinct csv_line from reject_errors").fetchall()
        expected = [
            (record.line,)
            for record in CATALOG
            if record.source_system == folder and record.kind == "malformed_line"
        ]
        assert len(rows) > 500
        assert rejected == expected, folder
        con.close()


def test_metering_parquet_has_the_spec_schema(db: duckdb.DuckDBPyConnection) -> None:
    schema = db.execute("describe select * exclude (filename) from metering").fetchall()
    assert [(row[0], row[1]) for row in schema] == [
        ("record_id", "VARCHAR"),
        ("meter_api_name", "VARCHAR"),
        ("customer_id", "VARCHAR"),
        ("window_start", "TIMESTAMP WITH TIME ZONE"),
        ("window_end", "TIMESTAMP WITH TIME ZONE"),
        ("value", "DOUBLE"),
        ("exported_at", "TIMESTAMP WITH TIME ZONE"),
    ]
    hourly = _scalar(
        db,
        """
        select count(*) from metering
        where window_start is not null
          and (window_end - window_start <> interval 1 hour
               or date_part('minute', window_start) <> 0)
        """,
    )
    assert hourly == 0


def test_every_handwritten_record_is_in_its_file(raw: Path, db: duckdb.DuckDBPyConnection) -> None:
    text = {}
    for source in ("telemetry", "stripe", "salesforce"):
        text[source] = {
            (Path(name).name, line)
            for name, line in db.execute(
                f"select filename, line from read_csv('{raw}/{source}/*', {LINE_READER})"
            ).fetchall()
        }
    for record in CATALOG:
        if record.raw_line is not None:
            lines = (raw / record.source_system / record.file_name).read_bytes().split(b"\n")
            assert lines.count(record.raw_line) == 1, record.note
        elif record.row is None:
            assert (record.file_name, record.line) in text[record.source_system], record.note
        else:
            found = db.execute(
                "select count(*) from metering where record_id = ? and filename like ?",
                [record.row.record_id, f"%/{record.file_name}"],
            ).fetchone()
            assert found == (1,), record.note


def test_a_line_that_is_not_utf8_is_written_as_its_bytes(raw: Path) -> None:
    """The only lines of the raw files that are not UTF-8 are the deliberate ones, byte for byte;
    read as text, each shows U+FFFD where its bad bytes are, as the quarantine shows it."""
    deliberate = [record for record in CATALOG if record.kind == "not_utf8"]
    assert len(deliberate) == 1
    found = []
    for path in sorted(raw.glob("*/*")):
        content = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        if path.suffix in (".gz", ".jsonl", ".csv"):
            for line in content.split(b"\n"):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    found.append((path.relative_to(raw).as_posix(), line))
    assert found == [
        (f"{record.source_system}/{record.file_name}", record.raw_line) for record in deliberate
    ]
    (record,) = deliberate
    assert record.raw_line is not None and b"\xe9" in record.raw_line
    assert record.line == record.raw_line.decode("utf-8", errors="replace")
    assert "Ren\ufffde" in (record.line or "")


# --------------------------------------------------------------------------- faults


def test_every_fault_kind_is_present_in_the_files(db: duckdb.DuckDBPyConnection) -> None:
    checks = {
        "telemetry exact redelivery": """
            select count(*) from (
                select event_id from telemetry group by event_id, line having count(*) > 1)""",
        "telemetry redelivery replayed in gzip": """
            select count(*) from telemetry as g join telemetry as o using (event_id, line)
            where g.filename like '%.gz' and o.filename not like '%.gz'""",
        "telemetry conflicting copies": """
            select count(*) from (
                select event_id from telemetry group by event_id
                having count(distinct line) > 1)""",
        "telemetry broken JSON": "select count(*) from telemetry_lines where not json_valid(line)",
        "telemetry wrong type": """
            select count(*) from telemetry
            where quantity_type = 'VARCHAR' or properties_type not in ('OBJECT')
               or account_key_type not in ('VARCHAR')""",
        "telemetry missing field": """
            select count(*) from telemetry
            where event_id is null or account_key is null or event_type is null
               or occurred_text is null or received_text is null""",
        "telemetry negative quantity": """
            select count(*) from telemetry where try_cast(quantity_text as double) < 0""",
        "telemetry null quantity": "select count(*) from telemetry where quantity_type = 'NULL'",
        "telemetry unparsable timestamp": """
            select count(*) from telemetry
            where occurred_text is not null and try_cast(occurred_text as timestamptz) is null""",
        "telemetry timestamp without offset": f"""
            select count(*) from telemetry
            where try_cast(occurred_text as timestamptz) is not null
              and not regexp_full_match(occurred_text, '{ISO_INSTANT}')""",
        "stripe re-export": """
            select count(*) from (
                select record_key from stripe_usage group by record_key
                having count(distinct received_at) > 1 and count(distinct quantity_text) = 1)""",
        "stripe non-numeric value": """
            select count(*) from stripe
            where value is not null and try_cast(value as double) is null""",
        "stripe NaN value": "select count(*) from stripe where value = 'NaN'",
        "stripe negative value": "select count(*) from stripe where try_cast(value as double) < 0",
        "stripe missing field": """
            select count(*) from stripe where stripe_customer_id is null or event_name is null""",
        "stripe bad timestamp": """
            select count(*) from stripe where try_cast("timestamp" as bigint) is null""",
        "salesforce edit": """
            select count(*) from (
                select record_key from salesforce_usage group by record_key
                having count(distinct received_at) > 1 and count(distinct quantity_text) > 1)""",
        "salesforce deletion": "select count(*) from salesforce_usage where is_deleted",
        "salesforce wrong type": """
            select count(*) from salesforce where "IsDeleted" not in ('true', 'false')""",
        "salesforce non-numeric quantity": """
            select count(*) from salesforce where try_cast("Quantity__c" as double) is null""",
        "salesforce negative quantity": """
            select count(*) from salesforce where try_cast("Quantity__c" as double) < 0""",
        "salesforce bad date": """
            select count(*) from salesforce
            where try_strptime("Usage_Date__c", '%Y-%m-%d') is null""",
        "salesforce missing field": """
            select count(*) from salesforce where "Account__c" is null or "Metric__c" is null""",
        "metering correction": """
            select count(*) from (
                select record_id from metering group by record_id
                having count(distinct exported_at) > 1)""",
        "metering NaN": "select count(*) from metering where isnan(value)",
        "metering infinite": "select count(*) from metering where isinf(value)",
        "metering negative": "select count(*) from metering where value < 0",
        "metering missing field": """
            select count(*) from metering where customer_id is null or window_start is null""",
    }
    missing = [name for name, sql in checks.items() if _scalar(db, sql) == 0]
    assert missing == []


def test_every_customer_key_is_mapped_or_a_deliberate_unknown(
    db: duckdb.DuckDBPyConnection,
) -> None:
    unmapped = set(
        db.execute(
            """
            with keys as (
                select 'telemetry' as source_system, account_key as key from telemetry
                where account_key_type = 'VARCHAR'
                union select 'stripe', stripe_customer_id from stripe
                union select 'salesforce', "Account__c" from salesforce
                union select 'metering', customer_id from metering
            )
            select source_system, key from keys
            where key is not null
              and (source_system, key) not in (
                  select (source_system, source_customer_key) from customer_mappings)
            """
        ).fetchall()
    )
    deliberate = {
        (record.source_system, record.customer_key)
        for record in CATALOG
        if record.kind == "unknown_customer"
    }
    assert unmapped == deliberate
    assert {source for source, _ in deliberate} == {
        "telemetry",
        "stripe",
        "salesforce",
        "metering",
    }


def test_every_source_metric_is_mapped_or_a_deliberate_unknown(
    db: duckdb.DuckDBPyConnection,
) -> None:
    unmapped = set(
        db.execute(
            """
            select source_system, record_key from usage
            where (source_system, source_metric) not in (
                select (source_system, source_metric) from metric_mappings)
            """
        ).fetchall()
    )
    assert unmapped == _catalog_keys("unknown_metric")
    assert {source for source, _ in unmapped} == {"telemetry", "stripe", "salesforce", "metering"}


def test_only_the_deliberate_records_fall_outside_active_lines(
    db: duckdb.DuckDBPyConnection,
) -> None:
    outside = set(
        db.execute(
            """
            select u.source_system, u.record_key
            from usage_located as u
            where not exists (
                select 1 from line_ranges as l
                where l.billing_account_id = u.billing_account_id and l.metric = u.metric
                  and u.local_date between l.start_date and l.end_date
            )
            """
        ).fetchall()
    )
    # The half_month line of BA-016 starts 2026-01-20 but its segment snaps back to
    # 2026-01-12, so that record is outside the line's dates and still used (SPEC 3.3).
    assert outside == _catalog_keys("outside_active_line") | _catalog_keys("half_month_snap")


def test_late_usage_appears_only_where_intended(db: duckdb.DuckDBPyConnection) -> None:
    late = db.execute(
        """
        select u.source_system, u.record_key, u.received_at, u.quantity_text, b.billed_at
        from usage_located as u
        join billed_periods as b
          on b.billing_account_id = u.billing_account_id
         and u.local_date between b.billing_period_start and b.billing_period_end
        where u.received_at > b.billed_at
        """
    ).fetchall()
    keys = {(source, key) for source, key, *_ in late if source != "metering"}
    expected = (
        _catalog_keys("late_usage", "late_after_line_end")
        | _catalog_keys("late_edit", expected="used")
        | _catalog_keys("late_deletion", expected="withdrawn")
    )
    assert keys == expected
    corrections = [row for row in late if row[0] == "metering"]
    assert len(corrections) == 1
    _, record_id, exported_at, value, billed_at = corrections[0]
    versions = db.execute(
        "select exported_at, value from metering where record_id = ? order by exported_at",
        [record_id],
    ).fetchall()
    before = [v for at, v in versions if at <= billed_at]
    assert before and float(value) < before[-1], "the late correction lowers usage"
    on_time = _catalog_keys("billed_at_boundary")
    assert on_time and not (on_time & keys)


def test_late_after_line_end_has_no_unbilled_active_period(db: duckdb.DuckDBPyConnection) -> None:
    ((source, key),) = _catalog_keys("late_after_line_end")
    row = db.execute(
        """
        select l.end_date, max(b.billing_period_end)
        from usage_located as u
        join line_ranges as l
          on l.billing_account_id = u.billing_account_id and l.metric = u.metric
        join billed_periods as b on b.billing_account_id = u.billing_account_id
        where u.source_system = ? and u.record_key = ?
        group by all
        """,
        [source, key],
    ).fetchone()
    assert row is not None
    line_end, last_billed_day = row
    assert line_end <= last_billed_day


def test_timezone_boundaries_have_events_a_minute_either_side(
    db: duckdb.DuckDBPyConnection,
) -> None:
    rows = db.execute(
        """
        select timezone, local_time, bill_cycle_day
        from (
            select *, timezone(timezone, occurred_at) as local_time
            from usage_located
            where source_system = 'telemetry'
        )
        where hour(local_time) * 60 + minute(local_time) not between 2 and 1437
        """
    ).fetchall()
    sides: dict[str, set[str]] = {}
    for zone, local_time, cycle_day in rows:
        if local_time.hour == 0 and local_time.day == cycle_day:
            sides.setdefault(zone, set()).add("after")
        if local_time.hour == 23 and (local_time + timedelta(days=1)).day == cycle_day:
            sides.setdefault(zone, set()).add("before")
    both = [zone for zone, found in sides.items() if found == {"before", "after"}]
    assert len(both) >= 2, sides
    shifted = [
        zone for zone in both if ZoneInfo(zone).utcoffset(datetime(2026, 3, 1)) != timedelta(0)
    ]
    assert len(shifted) >= 2


# --------------------------------------------------------------------------- invoices


def _rated_per_unit(
    db: duckdb.DuckDBPyConnection, account: str, first: date, last: date
) -> Decimal:
    rows = db.execute(
        """
        with usage_once as (
            select * from usage_located
            where billing_account_id = ?
            qualify row_number() over (
                partition by source_system, record_key order by received_at) = 1
        )
        select u.quantity_text, u.multiplier::varchar, t.unit_price::varchar
        from usage_once as u
        join subscription_lines as l on l.metric = u.metric
        join subscriptions as s using (subscription_id)
        join price_plan_tiers as t on t.price_plan_id = l.price_plan_id and t.tier = 1
        join price_plans as p on p.price_plan_id = l.price_plan_id
        where s.billing_account_id = u.billing_account_id
          and p.pricing_model = 'per_unit' and u.local_date between ? and ?
        """,
        [account, first, last],
    ).fetchall()
    assert rows
    total = sum(
        (
            Decimal(quantity) * Decimal(multiplier) * Decimal(price)
            for quantity, multiplier, price in rows
        ),
        Decimal(0),
    )
    return total.quantize(Decimal("0.01"))


def test_approved_invoice_total_matches_its_approval(db: duckdb.DuckDBPyConnection) -> None:
    approved = db.execute(
        "select approved_amount::varchar, billing_period_start from usage_approvals "
        "where billing_account_id = ?",
        [APPROVED_ACCOUNT],
    ).fetchone()
    assert approved is not None
    amount, start = Decimal(approved[0]), approved[1]
    assert start == date.fromisoformat(APPROVED_PERIOD_START)
    march = _rated_per_unit(db, APPROVED_ACCOUNT, date(2026, 3, 1), date(2026, 3, 31))
    assert march == amount == approved_invoice_total() == Decimal("11156.25")
    threshold = Decimal(
        str(
            yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"][
                "approval_threshold_amount"
            ]
        )
    )
    assert march >= threshold
    for first, last in (
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 4, 1), date(2026, 4, 30)),
    ):
        assert _rated_per_unit(db, APPROVED_ACCOUNT, first, last) < threshold


def test_stale_approval_is_for_another_amount(db: duckdb.DuckDBPyConnection) -> None:
    stale = db.execute(
        "select billing_account_id, approved_amount::varchar from usage_approvals "
        "where billing_account_id <> ?",
        [APPROVED_ACCOUNT],
    ).fetchall()
    assert len(stale) == 1
    account, amount = stale[0]
    march = _rated_per_unit(db, account, date(2026, 3, 1), date(2026, 3, 31))
    assert march >= Decimal(10000)
    assert march != Decimal(amount)


def test_prepaid_pool_runs_out_in_the_third_period(db: duckdb.DuckDBPyConnection) -> None:
    line = db.execute(
        """
        select s.billing_account_id, l.metric, l.prepaid_quantity, a.bill_cycle_day
        from subscription_lines as l
        join subscriptions as s using (subscription_id)
        join billing_accounts as a using (billing_account_id)
        where l.charge_type = 'prepaid'
        """
    ).fetchall()
    assert len(line) == 1
    account, metric, pool, cycle_day = line[0]
    assert cycle_day == 28
    rows = db.execute(
        """
        select local_date, quantity_text, multiplier::varchar
        from usage_located
        where billing_account_id = ? and metric = ?
        qualify row_number() over (partition by record_key order by received_at desc) = 1
        """,
        [account, metric],
    ).fetchall()
    used = {}
    for local_date, quantity, multiplier in rows:
        used[local_date] = used.get(local_date, Decimal(0)) + Decimal(quantity) * Decimal(
            multiplier
        )
    through_second = sum((q for d, q in used.items() if d <= date(2026, 2, 27)), Decimal(0))
    through_third = sum((q for d, q in used.items() if d <= date(2026, 3, 27)), Decimal(0))
    assert through_second < pool < through_third


def test_watermark_file_closes_january_to_march_except_for_the_lagging_source(
    raw: Path, db: duckdb.DuckDBPyConnection
) -> None:
    rows = db.execute(
        f"""
        select source_system, complete_through::timestamptz, reported_at::timestamptz
        from read_csv('{raw}/watermarks/watermarks.csv', header = true, all_varchar = true)
        """
    ).fetchall()
    latest: dict[str, datetime] = {}
    reopening = set()
    for source, through, _ in sorted(rows, key=lambda row: row[2]):
        if source in latest and through < latest[source]:
            reopening.add(source)
        latest[source] = max(latest.get(source, through), through)
    assert set(latest) == {"telemetry", "stripe", "salesforce", "metering"}
    assert all(sum(row[0] == source for row in rows) >= 3 for source in latest)
    assert reopening, "a smaller complete_through reported later"

    accounts = db.execute(
        """
        select a.billing_account_id, a.timezone, a.bill_cycle_day, list(distinct m.source_system)
        from billing_accounts as a
        join customer_mappings as m using (billing_account_id)
        group by all
        """
    ).fetchall()
    open_march = []
    for account, zone, cycle_day, sources in accounts:
        watermark = min(latest[source] for source in sources)
        for month in (1, 2, 3, 4):
            start = date(2026, month, cycle_day)
            end = date(2026 + month // 12, month % 12 + 1, cycle_day)  # day after the last day
            end_instant = datetime.combine(end, datetime.min.time(), tzinfo=ZoneInfo(zone))
            closed = watermark >= end_instant
            if start <= AS_OF_DATE < end:
                assert not closed, (account, start)
            elif month <= 2:
                assert closed, (account, start)
            elif month == 3 and not closed:
                open_march.append((account, sources))
            elif month == 3:
                assert "salesforce" not in sources
    assert open_march and all("salesforce" in sources for _, sources in open_march)


# --------------------------------------------------------------------------- command line


def test_command_writes_files_prints_a_summary_and_replaces_old_files(tmp_path: Path) -> None:
    out_dir = tmp_path / "raw"
    (out_dir / "telemetry").mkdir(parents=True)
    (out_dir / "telemetry" / "left-over.jsonl").write_text("{}\n")
    (out_dir / "telemetry" / "notes.txt").write_text("kept")
    runner = CliRunner()
    result = runner.invoke(
        main, ["sample-data", "--out", str(out_dir), "--seed", "3", "--events", "2000"]
    )
    assert result.exit_code == 0, result.output
    assert not (out_dir / "telemetry" / "left-over.jsonl").exists()
    assert (out_dir / "telemetry" / "notes.txt").read_text() == "kept"
    for word in ("telemetry", "stripe", "salesforce", "metering", "watermarks"):
        assert word in result.output
    for kind in ("duplicate_delivery", "malformed_line", "late_usage", "unknown_customer"):
        assert kind in result.output
    assert "1 old files replaced" in result.output
    again = runner.invoke(
        main, ["sample-data", "--out", str(out_dir), "--seed", "3", "--events", "2000"]
    )
    assert again.exit_code == 0
    written = sum(1 for path in out_dir.rglob("*") if path.is_file()) - 1
    assert f"{written} old files replaced" in again.output


def test_command_rejects_a_tiny_event_budget(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sample-data", "--out", str(tmp_path), "--events", "10"])
    assert result.exit_code == 2


def test_default_generation_is_quick_and_counts_add_up(
    generation: tuple[Path, GenerationSummary, float],
) -> None:
    out_dir, summary, seconds = generation
    assert seconds < 20
    by_source = summary.records_by_source()
    bulk = sum(by_source[s] for s in ("telemetry", "stripe", "salesforce", "metering"))
    assert 20_000 <= bulk <= 21_000
    for written in summary.files:
        path = out_dir / written.relative_path
        assert path.is_file() and path.stat().st_size > 0


def test_event_volume_scales(tmp_path: Path) -> None:
    started = time.perf_counter()
    summary = _generate(tmp_path, seed=11, events=400_000)
    seconds = time.perf_counter() - started
    by_source = summary.records_by_source()
    bulk = sum(by_source[s] for s in ("telemetry", "stripe", "salesforce", "metering"))
    assert 400_000 <= bulk <= 420_000
    assert by_source["telemetry"] > by_source["stripe"] > by_source["salesforce"]
    assert seconds < 60
