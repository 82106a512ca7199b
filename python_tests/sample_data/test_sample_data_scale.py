"""Sample data at scale: `usage-loader sample-data --accounts M --seeds-out DIR` writes a
generated contract book next to the raw files, and `--append-day` adds one day as new files.

The generated book and raw files are read back with DuckDB and checked against each other
independently of the generator; one test builds the dbt project on them and reads the marts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from loader.cli import main
from loader.sample_data.append import day_files
from loader.sample_data.book import SEED_TABLES
from loader.sample_data.fault_plan import FAULT_RATES
from loader.sample_data.generate import generate_sample_data
from loader.sample_data.models import GenerationSettings, GenerationSummary
from python_tests.support.pipeline_build import QUARANTINE_REASONS
from python_tests.support.seed_integrity import SEED_INTEGRITY_CHECKS, SEED_KEYS

REPO = Path(__file__).resolve().parents[2]
DEMO_SEEDS = REPO / "seeds" / "contract_book"
AS_OF_DATE = "2026-04-20"
SEED = 5
ACCOUNTS = 120
EVENTS = 40_000
DAY = date(2026, 4, 20)
DEMO_ACCOUNTS = tuple(
    line.split(",")[0]
    for line in (DEMO_SEEDS / "billing_accounts.csv").read_text().splitlines()[1:]
)
GENERATED = "billing_account_id not in (" + ", ".join(f"'{a}'" for a in DEMO_ACCOUNTS) + ")"
# a line that is not UTF-8 (the deliberate `not_utf8` one) is skipped
TEXT_READER = (
    "columns = {'line': 'VARCHAR'}, header = false, auto_detect = false, "
    "delim = '\x1f', quote = '', escape = '', filename = true, ignore_errors = true"
)


def _digests(*roots: Path) -> dict[str, str]:
    return {
        f"{root.name}/{path.relative_to(root)}": hashlib.sha256(path.read_bytes()).hexdigest()
        for root in roots
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _generate(root: Path, seed: int = SEED, accounts: int = ACCOUNTS) -> GenerationSummary:
    return generate_sample_data(
        GenerationSettings(
            out_dir=root / "raw",
            seed=seed,
            events=EVENTS,
            accounts=accounts,
            seeds_out=root / "seeds",
        )
    )


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    root = tmp_path_factory.mktemp("scaled")
    return root, _generate(root)


def _seed_types() -> dict[str, dict[str, str]]:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    seeds = project["seeds"]["usage_billing"]
    return {name: seeds[name]["+column_types"] for name in SEED_TABLES}


def _load_book(con: duckdb.DuckDBPyConnection, seeds_dir: Path) -> None:
    for name, columns in _seed_types().items():
        types = "{" + ", ".join(f"'{c}': '{t}'" for c, t in columns.items()) + "}"
        con.execute(
            f"""
            create table {name} as
            select * from read_csv(
                '{seeds_dir / f"{name}.csv"}', header = true, auto_detect = false,
                columns = {types}
            )
            """
        )


def _load_raw(con: duckdb.DuckDBPyConnection, raw: Path) -> None:
    """Raw records as (source, record key, customer key, source metric, occurred, usage date,
    received, quantity text) for the records that parse; enough to locate usage."""
    con.execute(
        f"""
        create view raw_usage as
        select
            'telemetry' as source_system,
            line ->> '$.event_id' as record_key,
            line ->> '$.account_key' as customer_key,
            line ->> '$.event_type' as source_metric,
            try_cast(line ->> '$.occurred_at' as timestamptz) as occurred_at,
            null::date as usage_date,
            try_cast(line ->> '$.received_at' as timestamptz) as received_at,
            coalesce(line ->> '$.quantity', '1') as quantity_text,
            parse_filename(filename) as file_name,
            line
        from read_csv('{raw}/telemetry/*', {TEXT_READER})
        where json_valid(line) and json_type(line, '$.account_key') = 'VARCHAR'
        union all
        select
            'stripe', identifier, stripe_customer_id, event_name,
            to_timestamp(try_cast("timestamp" as bigint)), null,
            to_timestamp(try_cast(created as bigint)), value, parse_filename(filename), null
        from read_csv(
            '{raw}/stripe/*.csv', header = true, all_varchar = true, ignore_errors = true,
            filename = true
        )
        union all
        select
            'salesforce', "Id", "Account__c", "Metric__c", null,
            try_strptime("Usage_Date__c", '%Y-%m-%d')::date,
            try_cast("LastModifiedDate" as timestamptz), "Quantity__c",
            parse_filename(filename), null
        from read_csv(
            '{raw}/salesforce/*.csv', header = true, all_varchar = true, ignore_errors = true,
            filename = true
        )
        union all
        select
            'metering', record_id, customer_id, meter_api_name, window_start, null,
            exported_at, value::varchar, parse_filename(filename), null
        from read_parquet('{raw}/metering/*.parquet', filename = true);

        create view usage_located as
        select
            u.*,
            m.billing_account_id,
            mm.metric,
            coalesce(u.usage_date, timezone(a.timezone, u.occurred_at)::date) as local_date
        from raw_usage as u
        inner join customer_mappings as m
            on m.source_system = u.source_system and m.source_customer_key = u.customer_key
        inner join billing_accounts as a on a.billing_account_id = m.billing_account_id
        inner join metric_mappings as mm
            on mm.source_system = u.source_system and mm.source_metric = u.source_metric;
        """
    )


@pytest.fixture(scope="module")
def db(scaled: tuple[Path, GenerationSummary]) -> Iterator[duckdb.DuckDBPyConnection]:
    root, _ = scaled
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    _load_book(con, root / "seeds")
    _load_raw(con, root / "raw")
    yield con
    con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- the book


def test_twenty_accounts_are_the_demo_book_and_the_demo_bytes(tmp_path: Path) -> None:
    demo = generate_sample_data(GenerationSettings(out_dir=tmp_path / "demo", seed=3, events=2000))
    book = generate_sample_data(
        GenerationSettings(
            out_dir=tmp_path / "raw",
            seed=3,
            events=2000,
            accounts=20,
            seeds_out=tmp_path / "seeds",
        )
    )
    assert book.faults_at_scale == {}
    assert (book.bulk_faults, book.handwritten) == (demo.bulk_faults, demo.handwritten)
    demo_files = _digests(tmp_path / "demo")
    assert demo_files
    assert {name.split("/", 1)[1]: digest for name, digest in demo_files.items()} == {
        name.split("/", 1)[1]: digest for name, digest in _digests(tmp_path / "raw").items()
    }
    for name in SEED_TABLES:
        assert (tmp_path / "seeds" / f"{name}.csv").read_bytes() == (
            DEMO_SEEDS / f"{name}.csv"
        ).read_bytes(), name


def test_generation_is_deterministic(
    scaled: tuple[Path, GenerationSummary], tmp_path: Path
) -> None:
    root, summary = scaled
    again = _generate(tmp_path)
    assert again == summary.model_copy(
        update={
            "out_dir": tmp_path / "raw",
            "book": summary.book.model_copy(update={"seeds_dir": tmp_path / "seeds"}),
        }
    )
    assert _digests(root / "raw", root / "seeds") == _digests(tmp_path / "raw", tmp_path / "seeds")


def test_another_seed_draws_other_usage_for_the_same_book(
    scaled: tuple[Path, GenerationSummary], tmp_path: Path
) -> None:
    root, _ = scaled
    _generate(tmp_path, seed=SEED + 1)
    for name in SEED_TABLES:
        same = (root / "seeds" / f"{name}.csv").read_bytes() == (
            tmp_path / "seeds" / f"{name}.csv"
        ).read_bytes()
        # approvals of the approved-invoice clones are computed from the drawn usage
        assert same == (name != "usage_approvals"), name
    assert _digests(root / "raw").keys() == _digests(tmp_path / "raw").keys()
    assert _digests(root / "raw") != _digests(tmp_path / "raw")


def test_book_keys_are_unique_and_references_resolve(db: duckdb.DuckDBPyConnection) -> None:
    for table, key in SEED_KEYS.items():
        assert _rows(db, f"select {key} from {table} group by all having count(*) > 1") == [], table
    for name, sql in SEED_INTEGRITY_CHECKS.items():
        assert _rows(db, sql) == [], name
    assert _rows(db, "select count(*) from billing_accounts") == [(ACCOUNTS,)]
    assert _rows(
        db,
        "select count(*) from billing_accounts where not regexp_full_match("
        "netsuite_customer_id, '[0-9]+') or not regexp_full_match(billing_account_id, "
        "'[A-Za-z0-9-]+')",
    ) == [(0,)]


def test_book_cycles_through_the_demo_books_settings(db: duckdb.DuckDBPyConnection) -> None:
    demo = duckdb.connect()
    _load_book(demo, DEMO_SEEDS)
    queries = {
        "time zones": "select distinct timezone from billing_accounts",
        "bill cycle days": "select distinct bill_cycle_day from billing_accounts",
        "currencies": "select distinct currency from billing_accounts",
        "proration methods": "select distinct proration_method from subscriptions",
        "charge types": "select distinct charge_type from subscription_lines",
        "pricing models": """
            select distinct p.pricing_model, p.prorate_tiers
            from subscription_lines as l join price_plans as p using (price_plan_id)""",
        "aggregations": """
            select distinct m.aggregation
            from subscription_lines as l join metrics as m using (metric)""",
        "amendments": "select distinct change_type from amendments",
        "price plans": "select * from price_plans",
        "price plan tiers": "select * from price_plan_tiers",
        "metrics": "select * from metrics",
        "metric mappings": "select * from metric_mappings",
        "holidays": "select * from holidays",
    }
    for name, sql in queries.items():
        assert set(_rows(db, sql)) == set(_rows(demo, sql)), name
    demo.close()
    # Generated accounts vary time zone, bill cycle day and proration independently of their
    # template, so they hold combinations the demo book does not.
    combinations = _rows(
        db,
        """
        select count(distinct (a.timezone, a.bill_cycle_day, s.proration_method))
        from billing_accounts as a join subscriptions as s using (billing_account_id)
        """,
    )[0][0]
    assert combinations > 20


def test_billing_runs_bill_periods_in_order_from_the_first(db: duckdb.DuckDBPyConnection) -> None:
    rows = _rows(
        db,
        """
        select s.subscription_id, s.start_date, a.bill_cycle_day, a.timezone,
            list(b.billing_period_start order by b.billing_period_start),
            list(b.billed_at order by b.billing_period_start)
        from billing_runs as b
        join subscriptions as s using (subscription_id)
        join billing_accounts as a using (billing_account_id)
        group by all
        """,
    )
    assert len(rows) > ACCOUNTS // 10
    for subscription, start, cycle_day, zone, starts, billed in rows:
        first = date(start.year, start.month, cycle_day)
        if start.day < cycle_day:
            first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, cycle_day)
        expected = [first]
        while len(expected) < len(starts):
            last = expected[-1]
            expected.append(date(last.year + last.month // 12, last.month % 12 + 1, cycle_day))
        assert starts == expected, subscription
        for period_start, billed_at in zip(starts, billed, strict=True):
            end = date(
                period_start.year + period_start.month // 12,
                period_start.month % 12 + 1,
                cycle_day,
            )
            closes = datetime.combine(end, datetime.min.time(), tzinfo=ZoneInfo(zone))
            assert closes < billed_at < datetime(2026, 4, 20, tzinfo=UTC), subscription


def test_each_account_metric_is_fed_by_one_source_system(db: duckdb.DuckDBPyConnection) -> None:
    assert (
        _rows(
            db,
            """
            select billing_account_id, metric
            from usage_located
            group by all
            having count(distinct source_system) > 1
            """,
        )
        == []
    )
    unfed = _rows(
        db,
        """
        select l.subscription_line_id
        from subscription_lines as l
        join subscriptions as s using (subscription_id)
        where l.charge_type <> 'recurring'
          and not exists (
              select 1 from usage_located as u
              where u.billing_account_id = s.billing_account_id and u.metric = l.metric
          )
        """,
    )
    assert unfed == []


def test_faults_at_scale_cover_the_demo_mix(scaled: tuple[Path, GenerationSummary]) -> None:
    _, summary = scaled
    kinds = {kind for rates in FAULT_RATES.values() for kind in rates}
    assert set(summary.faults_at_scale) == kinds
    assert all(count > 0 for count in summary.faults_at_scale.values())
    total = sum(summary.faults_at_scale.values())
    assert 0.001 * EVENTS < total < 0.02 * EVENTS
    for kind in ("duplicate_delivery", "reexport", "edit", "deletion", "correction"):
        assert summary.bulk_faults.get(kind, 0) > 0, kind


def test_late_usage_arrives_after_its_period_was_billed(db: duckdb.DuckDBPyConnection) -> None:
    late = dict(
        _rows(
            db,
            f"""
            select u.source_system, count(*)
            from usage_located as u
            join subscriptions as s on s.billing_account_id = u.billing_account_id
            join billing_runs as b on b.subscription_id = s.subscription_id
            where u.{GENERATED}
              and u.local_date >= b.billing_period_start
              and u.local_date < b.billing_period_start + interval 1 month
              and u.received_at > b.billed_at
            group by all
            """,
        )
    )
    assert set(late) == {"telemetry", "stripe", "salesforce", "metering"}, late


def test_approved_invoices_equal_the_usage_in_the_raw_files(
    db: duckdb.DuckDBPyConnection,
) -> None:
    approvals = _rows(
        db,
        f"""
        select u.billing_account_id, u.billing_period_start, u.approved_amount::varchar,
            t.unit_price::varchar, m.source_customer_key
        from usage_approvals as u
        join subscriptions as s using (billing_account_id)
        join subscription_lines as l using (subscription_id)
        join price_plan_tiers as t on t.price_plan_id = l.price_plan_id and t.tier = 1
        join customer_mappings as m
            on m.billing_account_id = u.billing_account_id and m.source_system = 'stripe'
        where u.{GENERATED} and u.approved_amount <> 21000
        """,
    )
    assert len(approvals) == ACCOUNTS // 20 - 1
    for account, start, amount, unit_price, key in approvals:
        (quantity,) = _rows(
            db,
            f"""
            select coalesce(sum(try_cast(quantity_text as decimal(38, 0))), 0)::varchar
            from (
                select * from raw_usage
                where source_system = 'stripe' and customer_key = '{key}'
                  and source_metric = 'api_request' and occurred_at is not null
                  and try_cast(quantity_text as double) >= 0
                qualify row_number() over (
                    partition by record_key order by received_at) = 1
            )
            where occurred_at >= '{start}'::timestamptz
              and occurred_at < '{start}'::timestamptz + interval 1 month
            """,
        )[0]
        expected = (Decimal(quantity) * Decimal(unit_price)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert Decimal(amount) == expected, account
        assert expected >= 10_000, account


# --------------------------------------------------------------------------- an appended day


@pytest.fixture(scope="module")
def appended(
    scaled: tuple[Path, GenerationSummary], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], str]:
    """A copy of the scaled raw folder with DAY appended: (root, digests before, output)."""
    root = tmp_path_factory.mktemp("appended")
    shutil.copytree(scaled[0] / "raw", root / "raw")
    shutil.copytree(scaled[0] / "seeds", root / "seeds")
    before = _digests(root / "raw", root / "seeds")
    result = CliRunner().invoke(main, _append_args(root, DAY))
    assert result.exit_code == 0, result.output
    return root, before, result.output


def _append_args(root: Path, day: date, accounts: int = ACCOUNTS) -> list[str]:
    return [
        "sample-data",
        "--out",
        str(root / "raw"),
        "--seed",
        str(SEED),
        "--events",
        "4000",
        "--accounts",
        str(accounts),
        "--seeds-out",
        str(root / "seeds"),
        "--append-day",
        day.isoformat(),
    ]


def test_append_day_writes_new_files_only(appended: tuple[Path, dict[str, str], str]) -> None:
    root, before, output = appended
    after = _digests(root / "raw", root / "seeds")
    assert {name: after[name] for name in before} == before
    new = set(after) - set(before)
    assert new == {f"raw/{folder}/{name}" for folder, name in day_files(DAY).items()}
    for word in ("usage", "late_usage", "delayed_delivery", "duplicate_delivery", "reexport"):
        assert word in output


def test_append_day_is_deterministic(
    scaled: tuple[Path, GenerationSummary],
    appended: tuple[Path, dict[str, str], str],
    tmp_path: Path,
) -> None:
    shutil.copytree(scaled[0] / "raw", tmp_path / "raw")
    shutil.copytree(scaled[0] / "seeds", tmp_path / "seeds")
    assert CliRunner().invoke(main, _append_args(tmp_path, DAY)).exit_code == 0
    assert _digests(tmp_path / "raw") == _digests(appended[0] / "raw")


def test_append_day_twice_is_refused_and_changes_nothing(
    appended: tuple[Path, dict[str, str], str],
) -> None:
    root, _, _ = appended
    before = _digests(root / "raw", root / "seeds")
    result = CliRunner().invoke(main, _append_args(root, DAY))
    assert result.exit_code == 2
    assert "appended before" in result.output
    assert _digests(root / "raw", root / "seeds") == before


def test_append_day_refuses_a_book_of_another_size(
    appended: tuple[Path, dict[str, str], str],
) -> None:
    root, _, _ = appended
    before = _digests(root / "raw")
    result = CliRunner().invoke(main, _append_args(root, DAY + timedelta(days=1), accounts=40))
    assert result.exit_code == 2
    assert "does not hold the generated book of 40 accounts" in result.output
    assert _digests(root / "raw") == before


def test_appended_day_holds_its_usage_late_usage_and_redeliveries(
    appended: tuple[Path, dict[str, str], str],
) -> None:
    root, _, _ = appended
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    _load_book(con, root / "seeds")
    _load_raw(con, root / "raw")
    names = day_files(DAY)
    day = con.execute(
        """
        select
            source_system,
            count(*) filter (where local_date = ?),
            count(*) filter (where local_date < ?),
            count(*) filter (where local_date > ?)
        from usage_located
        where file_name in ?
        group by all
        """,
        [DAY, DAY, DAY, list(names.values())],
    ).fetchall()
    on_day = {source: (today, earlier, later) for source, today, earlier, later in day}
    assert set(on_day) == {"telemetry", "stripe", "salesforce", "metering"}
    for source, (today, earlier, later) in on_day.items():
        assert today > 0 and earlier > 0, source
        assert later == 0, source
    # records received on the day for periods billed before it (late usage, SPEC 3.8)
    (late,) = con.execute(
        """
        select count(*)
        from usage_located as u
        join subscriptions as s on s.billing_account_id = u.billing_account_id
        join billing_runs as b on b.subscription_id = s.subscription_id
        where u.file_name in ?
          and u.local_date >= b.billing_period_start
          and u.local_date < b.billing_period_start + interval 1 month
        """,
        [list(names.values())],
    ).fetchone()
    assert late > 0
    # redeliveries: the same telemetry line, the same Stripe identifier created later, the
    # same Salesforce Id modified later, the same metering window exported later
    copies = dict(
        con.execute(
            """
            select new.source_system, count(*)
            from raw_usage as new
            join raw_usage as old
              on old.source_system = new.source_system and old.record_key = new.record_key
             and old.file_name not in ?
            where new.file_name in ?
              and (new.line = old.line or new.received_at > old.received_at)
            group by all
            """,
            [list(names.values()), list(names.values())],
        ).fetchall()
    )
    assert set(copies) == {"telemetry", "stripe", "salesforce", "metering"}, copies
    (identical,) = con.execute(
        """
        select count(*) from raw_usage as new
        join raw_usage as old on old.line = new.line and old.file_name <> new.file_name
        where new.source_system = 'telemetry' and new.file_name = ?
        """,
        [names["telemetry"]],
    ).fetchone()
    assert identical > 0
    watermarks = con.execute(
        f"select source_system, complete_through from read_csv('{root}/raw/watermarks/"
        f"{names['watermarks']}', header = true, all_varchar = true)"
    ).fetchall()
    assert {source for source, _ in watermarks} == {"telemetry", "stripe", "salesforce", "metering"}
    con.close()


def test_append_day_for_the_demo_book(tmp_path: Path) -> None:
    runner = CliRunner()
    raw = tmp_path / "raw"
    assert (
        runner.invoke(main, ["sample-data", "--out", str(raw), "--events", "2000"]).exit_code == 0
    )
    before = _digests(raw)
    result = runner.invoke(
        main, ["sample-data", "--out", str(raw), "--append-day", "2026-04-21", "--events", "1000"]
    )
    assert result.exit_code == 0, result.output
    after = _digests(raw)
    assert {name: after[name] for name in before} == before
    assert len(after) == len(before) + 5


# --------------------------------------------------------------------------- command line


def test_accounts_and_seeds_out_go_together(tmp_path: Path) -> None:
    runner = CliRunner()
    lone = runner.invoke(main, ["sample-data", "--out", str(tmp_path), "--accounts", "50"])
    assert lone.exit_code == 2 and "go together" in lone.output
    too_few = runner.invoke(
        main,
        ["sample-data", "--out", str(tmp_path), "--accounts", "19", "--seeds-out", str(tmp_path)],
    )
    assert too_few.exit_code == 2
    missing = runner.invoke(
        main, ["sample-data", "--out", str(tmp_path / "nowhere"), "--append-day", "2026-04-20"]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not (tmp_path / "nowhere").exists()


def test_command_prints_the_book_and_the_faults_at_scale(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "sample-data",
            "--out",
            str(tmp_path / "raw"),
            "--events",
            "5000",
            "--accounts",
            "45",
            "--seeds-out",
            str(tmp_path / "seeds"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Contract book of 45 accounts" in result.output
    assert "Faults at scale by kind" in result.output
    assert sorted(path.name for path in (tmp_path / "seeds").iterdir()) == sorted(
        f"{name}.csv" for name in SEED_TABLES
    )


def test_thousands_of_accounts_generate_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    summary = generate_sample_data(
        GenerationSettings(
            out_dir=tmp_path / "raw",
            seed=SEED,
            events=500_000,
            accounts=2000,
            seeds_out=tmp_path / "seeds",
        )
    )
    seconds = time.perf_counter() - started
    by_source = summary.records_by_source()
    assert sum(by_source[s] for s in ("telemetry", "stripe", "salesforce", "metering")) >= 500_000
    assert summary.book is not None and summary.book.rows["billing_accounts"] == 2000
    assert seconds < 60


# --------------------------------------------------------------------------- dbt build


@pytest.fixture(scope="module")
def built(appended: tuple[Path, dict[str, str], str]) -> Iterator[tuple[Path, str]]:
    """`dbt build` of the project on the appended folder and its generated book."""
    root, _, _ = appended
    seeds_before = _digests(root / "seeds")
    env = {
        **os.environ,
        # relative to the project: dbt writes a seed's compiled SQL under target/run/ joined
        # with the seed path, which an absolute path would turn into the seed file itself
        "USAGE_SEEDS_DIR": os.path.relpath(root / "seeds", REPO),
        "USAGE_RAW_DIR": str(root / "raw"),
        "USAGE_DUCKDB_PATH": str(root / "usage_billing.duckdb"),
        "DBT_PROFILES_DIR": str(REPO),
    }
    completed = subprocess.run(
        [
            Path(sys.executable).parent / "dbt",
            "build",
            "--project-dir",
            REPO,
            "--target-path",
            root / "target",
            "--log-path",
            root / "logs",
            "--vars",
            f'{{as_of_date: "{AS_OF_DATE}"}}',
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr
    assert _digests(root / "seeds") == seeds_before
    yield root / "usage_billing.duckdb", completed.stdout


def test_generated_book_builds_and_passes_every_data_test(built: tuple[Path, str]) -> None:
    db_path, log = built
    assert "ERROR=0" in log and "SKIP=0" in log
    with duckdb.connect(str(db_path), read_only=True) as marts:
        reasons = {
            row[0]
            for row in marts.execute(
                "select quarantine_reason from fct_usage_quarantine"
            ).fetchall()
        }
        assert reasons == set(QUARANTINE_REASONS)
        assert marts.execute(
            "select bool_and(is_balanced) from rpt_source_reconciliation"
        ).fetchone() == (True,)
        (accounts, adjustments) = marts.execute(
            f"""
            select count(distinct billing_account_id),
                count(*) filter (where is_adjustment and {GENERATED})
            from fct_usage_records
            """
        ).fetchone()
        assert accounts == ACCOUNTS and adjustments > 0
        approvals = marts.execute(
            """
            select u.approved_amount = 21000 as is_stale, bool_and(r.is_approved),
                bool_or(r.is_approved), count(*)
            from usage_approvals as u
            join fct_usage_records as r
              on r.billing_account_id = u.billing_account_id
             and r.billing_period_start = u.billing_period_start
            group by all
            """
        ).fetchall()
        assert {(stale, every, some) for stale, every, some, _ in approvals} == {
            (False, True, True),
            (True, False, False),
        }
        day = marts.execute(
            """
            select record_outcome, count(*)
            from int_usage_records_classified
            where file_name like '%2026-04-20%'
            group by all
            """
        ).fetchall()
        assert dict(day).get("used", 0) > 4000
