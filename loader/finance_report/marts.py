"""Reads the marts the finance report is built from, read-only, from the mart's DuckDB file.

Every query names its mart; each row arrives as a pydantic model. The seeds `billing_accounts`
(names, time zones), `usage_approvals` (approved amounts) and `metrics` (aggregations) live in the
same schema; the report reads them when they are there and does without them when not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from loader.core.config import MART_TABLE, ConfigError, MartLocation
from loader.core.marts import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    UsageRecord,
    connect_read_only,
    find_schema,
)

REQUIRED_MARTS = (
    MART_TABLE,
    "rpt_period_close_status",
    "rpt_period_close_sources",
    "fct_invoice_preview",
    "fct_rated_usage_tiers",
    "fct_usage_event_lineage",
    "fct_usage_quarantine",
    "rpt_credit_memo_candidates",
    "rpt_source_reconciliation",
    "fct_revenue_schedule",
    "rpt_revenue_rollforward",
)
QUARANTINE_EXAMPLES = 3
# A record the loader holds back (SPEC 3.7, 3.9): its period is open, or it awaits an approval.
HELD = "not is_period_closed or (requires_approval and not is_approved)"

Row = TypeVar("Row", bound=BaseModel)


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PeriodStatus(_Row):
    """`rpt_period_close_status`: one account × billing period."""

    billing_account_id: str
    billing_period_start: date
    billing_period_end: date
    period_end_at: datetime | None
    is_period_closed: bool
    missing_sources: str | None
    usage_record_count: int
    adjustment_count: int | None = None
    usage_amount: Decimal | None = None
    invoice_total: Decimal
    currency: str
    is_billed: bool | None = None
    requires_approval: bool
    has_current_approval: bool | None = None
    has_stale_approval: bool | None = None
    approval_state: str
    is_ready_to_load: bool


class SourceWatermark(_Row):
    """`rpt_period_close_sources`: one account × period × source system."""

    billing_account_id: str
    billing_period_start: date
    billing_period_end: date
    period_end_at: datetime | None
    source_system: str
    complete_through: datetime | None
    is_source_complete: bool


class HeldCount(_Row):
    billing_period_start: date
    held_records: int


class InvoiceLine(_Row):
    """`fct_invoice_preview`: one line of the invoice NetSuite should show."""

    invoice_line_id: str
    billing_account_id: str
    billing_period_start: date
    billing_period_end: date
    subscription_id: str | None
    subscription_line_id: str
    item_id: str | None
    charge_type: str | None
    line_kind: str
    metric: str | None
    segment_start: date | None
    segment_end: date | None
    price_plan_id: str | None
    proration_factor: Decimal | None
    quantity: Decimal | None
    amount: Decimal
    currency: str
    invoice_total: Decimal


class TierLine(_Row):
    """`fct_rated_usage_tiers`: one line of a record's rating (a tier, a minimum, the rounding)."""

    rated_usage_tier_id: str
    external_id: str
    billing_period_start: date
    segment_start: date | None
    segment_end: date | None
    is_adjustment: bool | None
    adjusts_period_start: date | None
    rating_scope: str | None
    price_plan_id: str | None
    pricing_model: str | None
    proration_factor: Decimal | None
    rated_quantity: Decimal | None
    rating_line_kind: str
    tier: int | None
    tier_lower_bound: Decimal | None
    tier_upper_bound: Decimal | None
    units: Decimal | None
    unit_price: Decimal | None
    flat_amount: Decimal | None
    amount: Decimal
    record_rated_amount: Decimal
    currency: str


class LineageCount(_Row):
    external_id: str
    source_events: int


class DailyUsage(_Row):
    """Used events of one subscription line on one local date."""

    subscription_line_id: str
    usage_date: date
    total_quantity: Decimal
    event_count: int
    max_quantity: Decimal
    latest_quantity: Decimal


class PeriodRecords(_Row):
    """`fct_usage_records` counted per billing period start (a record held for two reasons, an
    open period and a missing approval, counts once as held)."""

    billing_period_start: date
    records: int
    adjustments: int
    closed: int
    held: int


class QuarantineReason(_Row):
    quarantine_reason: str
    records: int
    sources: str | None = None


class QuarantineExample(_Row):
    quarantine_reason: str
    source_system: str | None
    file_name: str | None
    record_number: int | None
    raw_record: str | None


class CreditMemoCandidate(_Row):
    """`rpt_credit_memo_candidates`: a billed segment whose usage went down after billing."""

    original_external_id: str
    billing_account_id: str
    subscription_line_id: str
    item_id: str | None
    billing_period_start: date
    segment_start: date | None
    segment_end: date | None
    billed_at: datetime | None
    billed_quantity: Decimal | None
    current_quantity: Decimal | None
    billed_rated_amount: Decimal | None
    current_rated_amount: Decimal | None
    credit_amount: Decimal
    currency: str


class SourceBalance(_Row):
    """`rpt_source_reconciliation`: one source system's raw records and where they ended."""

    source_system: str
    records_read: int
    records_used: int
    records_duplicate: int
    records_conflicting: int
    records_withdrawn: int
    records_quarantined: int
    is_balanced: bool


class RevenueLine(_Row):
    """`fct_revenue_schedule`: one line × month × component."""

    billing_account_id: str
    subscription_line_id: str
    item_id: str | None
    revenue_month: date
    component: str
    is_prior_period_adjustment: bool
    recognized_amount: Decimal
    currency: str


class Rollforward(_Row):
    """`rpt_revenue_rollforward`: one account × month."""

    billing_account_id: str
    revenue_month: date
    currency: str
    deferred_revenue_opening: Decimal
    deferred_revenue_invoiced: Decimal
    deferred_revenue_recognized: Decimal
    deferred_revenue_closing: Decimal
    contract_asset_opening: Decimal
    usage_recognized: Decimal
    usage_prior_period_adjustments: Decimal
    usage_invoiced: Decimal
    contract_asset_closing: Decimal
    recurring_recognized: Decimal
    total_recognized: Decimal


class Account(_Row):
    billing_account_id: str
    account_name: str | None
    currency: str | None
    timezone: str | None


class Approval(_Row):
    billing_account_id: str
    billing_period_start: date
    approved_amount: Decimal
    currency: str | None
    approved_by: str | None
    approved_at: datetime | None


class MetricRule(_Row):
    metric: str
    aggregation: str
    unit: str | None = None


class MartReader:
    """A read-only connection to the mart's DuckDB file and the schema the marts are in."""

    def __init__(self, location: MartLocation) -> None:
        self.db_path = location.db_path
        self._connection = connect_read_only(location)
        try:
            self._connection.execute("set TimeZone = 'UTC'")
            self.schema = find_schema(self._connection, location)
            self._tables = self._table_names()
            missing = [name for name in REQUIRED_MARTS if name not in self._tables]
            if missing:
                raise ConfigError(
                    f"schema {self.schema} of {location.db_path} lacks "
                    + ", ".join(missing)
                    + ": run dbt build (the whole project) first"
                )
        except BaseException:
            self._connection.close()
            raise

    def __enter__(self) -> MartReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def relation(self, table: str) -> str:
        """The schema-qualified name of a mart, as a reader types it into a SQL console."""
        return f"{self.schema}.{table}"

    def has(self, table: str) -> bool:
        return table in self._tables

    # the whole book

    def period_statuses(self) -> list[PeriodStatus]:
        return self._rows(
            PeriodStatus,
            "select * from {rpt_period_close_status} "
            "order by billing_period_start, billing_account_id",
        )

    def held_counts(self) -> list[HeldCount]:
        return [
            HeldCount(billing_period_start=row.billing_period_start, held_records=row.held)
            for row in self.period_records()
        ]

    def period_records(self) -> list[PeriodRecords]:
        return self._rows(
            PeriodRecords,
            f"""
            select
                billing_period_start,
                count(*) as records,
                count(*) filter (where is_adjustment) as adjustments,
                count(*) filter (where is_period_closed) as closed,
                count(*) filter (where {HELD}) as held
            from {{fct_usage_records}}
            group by 1 order by 1
            """,
        )

    def quarantine_reasons(self) -> list[QuarantineReason]:
        return self._rows(
            QuarantineReason,
            """
            select quarantine_reason, count(*) as records,
                string_agg(distinct source_system, ', ' order by source_system) as sources
            from {fct_usage_quarantine}
            group by 1 order by 2 desc, 1
            """,
        )

    def quarantine_examples(self) -> list[QuarantineExample]:
        return self._rows(
            QuarantineExample,
            f"""
            select quarantine_reason, source_system, file_name, record_number, raw_record
            from {{fct_usage_quarantine}}
            qualify row_number() over (
                partition by quarantine_reason
                order by source_system, file_name, record_number, raw_record_id
            ) <= {QUARANTINE_EXAMPLES}
            order by quarantine_reason, source_system, file_name, record_number
            """,
        )

    def credit_memo_candidates(self) -> list[CreditMemoCandidate]:
        return self._rows(
            CreditMemoCandidate,
            "select * from {rpt_credit_memo_candidates} "
            "order by billing_period_start desc, billing_account_id, original_external_id",
        )

    def source_balances(self) -> list[SourceBalance]:
        return self._rows(
            SourceBalance, "select * from {rpt_source_reconciliation} order by source_system"
        )

    def accounts(self) -> list[Account]:
        if not self.has("billing_accounts"):
            return []
        return self._rows(
            Account,
            "select billing_account_id, account_name, currency, timezone "
            "from {billing_accounts} order by billing_account_id",
        )

    def metric_rules(self) -> list[MetricRule]:
        if not self.has("metrics"):
            return []
        unit = ", unit" if "unit" in self._columns("metrics") else ""
        return self._rows(MetricRule, f"select metric, aggregation{unit} from {{metrics}}")

    def invocation_ids(self) -> set[str]:
        """The dbt invocations that built `fct_usage_records`' rows (one after a good build)."""
        rows = self._connection.execute(
            self._sql("select distinct dbt_invocation_id from {fct_usage_records}")
        ).fetchall()
        return {row[0] or "" for row in rows}

    def invocation_id(self) -> str | None:
        rows = self._connection.execute(
            self._sql("select max(dbt_invocation_id) from {fct_usage_records}")
        ).fetchall()
        return rows[0][0] if rows else None

    # one billing period

    def source_watermarks(self, period: date) -> list[SourceWatermark]:
        return self._rows(
            SourceWatermark,
            "select * from {rpt_period_close_sources} where billing_period_start = ? "
            "order by billing_account_id, source_system",
            [period],
        )

    def usage_records(self, period: date) -> list[UsageRecord]:
        columns = self._columns(MART_TABLE)
        lacking = [name for name in REQUIRED_COLUMNS if name not in columns]
        if lacking:
            raise ConfigError(
                f"{self.schema}.{MART_TABLE} in {self.db_path} lacks columns: "
                + ", ".join(lacking)
                + ": it was built by an older version of the dbt project; run dbt build to "
                "rebuild it"
            )
        selected = [*REQUIRED_COLUMNS, *(name for name in OPTIONAL_COLUMNS if name in columns)]
        cursor = self._connection.execute(
            self._sql(
                "select " + ", ".join(f'"{name}"' for name in selected) + " "
                "from {fct_usage_records} where billing_period_start = ? "
                "order by billing_account_id, subscription_line_id, segment_start, external_id"
            ),
            [period],
        )
        return [UsageRecord(**dict(zip(selected, row, strict=True))) for row in cursor.fetchall()]

    def invoice_lines(self, period: date) -> list[InvoiceLine]:
        return self._rows(
            InvoiceLine,
            """
            select * from {fct_invoice_preview} where billing_period_start = ?
            order by billing_account_id, subscription_line_id, segment_start,
                line_kind <> 'usage', invoice_line_id
            """,
            [period],
        )

    def tier_lines(self, period: date) -> list[TierLine]:
        return self._rows(
            TierLine,
            """
            select * from {fct_rated_usage_tiers} where billing_period_start = ?
            order by external_id,
                case rating_line_kind when 'tier' then 0 when 'minimum_top_up' then 1 else 2 end,
                tier, rated_usage_tier_id
            """,
            [period],
        )

    def lineage_counts(self, period: date) -> list[LineageCount]:
        """Per Usage Record of the period: the source events whose `external_id` is it."""
        return self._rows(
            LineageCount,
            """
            select records.external_id, count(lineage.lineage_id) as source_events
            from {fct_usage_records} as records
            left join {fct_usage_event_lineage} as lineage
                on lineage.external_id = records.external_id
            where records.billing_period_start = ?
            group by 1
            """,
            [period],
        )

    def daily_usage(self, period: date) -> list[DailyUsage]:
        """Used events of the period per line and local date of the account.

        The event's local date is the lineage's `usage_local_date`; where a source carries only
        an instant, it is the instant's date in the billing account's time zone (SPEC 3.1). The
        latest value of a day is the event that occurred last (ties: received last, SPEC 3.4).
        """
        if self.has("billing_accounts"):
            local_date = (
                "coalesce(lineage.usage_local_date, "
                "cast(timezone(accounts.timezone, lineage.occurred_at) as date))"
            )
            accounts = (
                "left join {billing_accounts} as accounts "
                "on accounts.billing_account_id = lineage.billing_account_id"
            )
        else:
            local_date = "coalesce(lineage.usage_local_date, cast(lineage.occurred_at as date))"
            accounts = ""
        return self._rows(
            DailyUsage,
            f"""
            select
                lineage.subscription_line_id,
                {local_date} as usage_date,
                sum(lineage.billing_quantity) as total_quantity,
                count(*) as event_count,
                max(lineage.billing_quantity) as max_quantity,
                arg_max(
                    lineage.billing_quantity, (lineage.occurred_at, lineage.received_at)
                ) as latest_quantity
            from {{fct_usage_event_lineage}} as lineage
            {accounts}
            where lineage.event_outcome = 'used'
                and lineage.billing_period_start = ?
                and lineage.subscription_line_id is not null
            group by 1, 2
            having usage_date is not null
            order by 1, 2
            """,
            [period],
        )

    def approvals(self, period: date) -> list[Approval]:
        if not self.has("usage_approvals"):
            return []
        return self._rows(
            Approval,
            "select * from {usage_approvals} where billing_period_start = ? "
            "order by billing_account_id, approved_at",
            [period],
        )

    # one calendar month

    def revenue_lines(self, month: date) -> list[RevenueLine]:
        return self._rows(
            RevenueLine,
            """
            select * from {fct_revenue_schedule} where revenue_month = ?
            order by billing_account_id, subscription_line_id, component,
                is_prior_period_adjustment
            """,
            [month],
        )

    def rollforwards(self, month: date) -> list[Rollforward]:
        return self._rows(
            Rollforward,
            "select * from {rpt_revenue_rollforward} where revenue_month = ? "
            "order by billing_account_id",
            [month],
        )

    # plumbing

    def _sql(self, text: str) -> str:
        names = {name: f'"{self.schema}"."{name}"' for name in self._tables}
        return text.format(**names)

    def _rows(self, model: type[Row], sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self._connection.execute(self._sql(sql), list(params))
        names = [column[0] for column in cursor.description]
        return [model(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def _table_names(self) -> set[str]:
        rows = self._connection.execute(
            "select table_name from information_schema.tables "
            "where table_schema = ? and table_catalog = current_database()",
            [self.schema],
        ).fetchall()
        return {row[0] for row in rows}

    def _columns(self, table: str) -> set[str]:
        rows = self._connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? and table_catalog = current_database()",
            [self.schema, table],
        ).fetchall()
        return {row[0] for row in rows}
