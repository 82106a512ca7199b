"""What the finance report says, assembled from the marts: the page's content, before HTML.

One billing period (a period start date, as `usage-loader push --period` takes it) is shown in
detail: its close checklist, held records, invoice previews with charts and tier breakdowns, and
the revenue of the calendar month it starts in. The whole book is summarized per period, and the
quarantine, source reconciliation and credit-memo candidates are shown for the whole book.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from loader.core.marts import UsageRecord
from loader.finance_report import labels
from loader.finance_report.charts import ChartSegment, Threshold, UsageChart, render_svg
from loader.finance_report.freshness import Freshness
from loader.finance_report.loaded import (
    LedgerView,
    LoadState,
    amendment_holds,
    load_states,
    read_ledger,
)
from loader.finance_report.marts import (
    Account,
    Approval,
    CreditMemoCandidate,
    DailyUsage,
    InvoiceLine,
    MartReader,
    MetricRule,
    PeriodStatus,
    QuarantineExample,
    RevenueLine,
    Rollforward,
    SourceBalance,
    SourceWatermark,
    TierLine,
)
from loader.finance_report.money import add, money

CUMULATIVE_AGGREGATIONS = {"sum", "count"}


class UnknownPeriod(ValueError):
    """The period asked for is not a billing period start in the marts."""


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Amount(_View):
    amount: Decimal
    currency: str


class PeriodSummary(_View):
    """One billing period start across every account that has a period starting then."""

    start: date
    end: date
    accounts: int
    closed: int
    ready: int
    needs_approval: int
    open_needing_approval: int
    waiting_on: tuple[str, ...]
    held_records: int
    totals: tuple[Amount, ...]
    is_selected: bool

    @property
    def is_ready(self) -> bool:
        return self.ready == self.accounts

    @property
    def state(self) -> str:
        if self.is_ready:
            return "ready to load"
        parts = []
        open_count = self.accounts - self.closed
        if open_count:
            on = labels.sources(", ".join(self.waiting_on))
            also = (
                f" ({self.open_needing_approval} of them also need approval)"
                if self.open_needing_approval
                else ""
            )
            parts.append(f"{open_count} open, waiting on {on}{also}")
        closed_needing_approval = self.needs_approval - self.open_needing_approval
        if closed_needing_approval:
            parts.append(f"{closed_needing_approval} need approval")
        return "; ".join(parts) or "waiting"


class AccountClose(_View):
    """The close checklist line of one account in the period."""

    status: PeriodStatus
    account_name: str
    watermarks: tuple[SourceWatermark, ...]
    approval: str

    @property
    def state(self) -> str:
        if self.status.is_ready_to_load:
            return "ready to load"
        waiting = f"waiting on {labels.sources(self.status.missing_sources)}"
        if not self.status.is_period_closed:
            if self.status.approval_state in ("pending", "stale"):
                return f"{waiting}; {self.approval}"
            return waiting
        return self.approval


class HeldRecord(_View):
    record: UsageRecord
    account_name: str
    reasons: tuple[str, ...]


class RecordDetail(_View):
    """How one Usage Record's amount was rated, and where its source events are."""

    record: UsageRecord
    tiers: tuple[TierLine, ...]
    source_events: int
    lineage_sql: str

    @property
    def rating_scope(self) -> str:
        scopes = {tier.rating_scope for tier in self.tiers if tier.rating_scope}
        return ", ".join(labels.rating_scope(scope) for scope in sorted(scopes))


class InvoiceRow(_View):
    line: InvoiceLine
    description: str
    load: LoadState | None
    detail: RecordDetail | None


class Chart(_View):
    line_id: str
    title: str
    svg: str
    notes: tuple[str, ...]


class Invoice(_View):
    """The invoice preview of one account for the period."""

    billing_account_id: str
    account_name: str
    currency: str
    status: PeriodStatus | None
    rows: tuple[InvoiceRow, ...]
    total: Decimal
    charts: tuple[Chart, ...]

    @property
    def usage_rows(self) -> list[InvoiceRow]:
        return [row for row in self.rows if row.detail is not None]

    @property
    def loaded(self) -> int:
        return sum(1 for row in self.usage_rows if row.load and row.load.is_loaded)

    @property
    def approval(self) -> str:
        return labels.approval_state(self.status.approval_state) if self.status else "–"

    @property
    def total_mismatch(self) -> bool:
        return self.status is not None and self.status.invoice_total != self.total


class QuarantineGroup(_View):
    reason: str
    title: str
    explanation: str
    records: int
    examples: tuple[QuarantineExample, ...]


class RevenueAccount(_View):
    rollforward: Rollforward
    account_name: str


class RevenueMonth(_View):
    month: date
    accounts: tuple[RevenueAccount, ...]
    lines: tuple[RevenueLine, ...]
    totals: tuple[Amount, ...]


class FinanceReport(_View):
    """Everything the page shows."""

    generated_at: datetime
    db_path: Path
    schema_name: str
    invocation_id: str | None
    freshness: Freshness
    period_start: date
    period_end: date
    is_default_period: bool
    periods: tuple[PeriodSummary, ...]
    close: tuple[AccountClose, ...]
    watermarks: tuple[SourceWatermark, ...]
    held: tuple[HeldRecord, ...]
    invoices: tuple[Invoice, ...]
    quarantine: tuple[QuarantineGroup, ...]
    quarantined_total: int
    source_balances: tuple[SourceBalance, ...]
    credit_memos: tuple[CreditMemoCandidate, ...]
    revenue: RevenueMonth
    ledger: LedgerView
    lineage_relation: str
    account_names: dict[str, str]

    @property
    def ready_count(self) -> int:
        return sum(1 for item in self.close if item.status.is_ready_to_load)

    @property
    def closed_count(self) -> int:
        return sum(1 for item in self.close if item.status.is_period_closed)

    @property
    def period_totals(self) -> tuple[Amount, ...]:
        return _totals((invoice.total, invoice.currency) for invoice in self.invoices)


def build_report(
    reader: MartReader,
    state_dir: Path,
    period: date | None,
    freshness: Freshness,
    *,
    now: datetime | None = None,
    report_dir: Path | None = None,
) -> FinanceReport:
    """Read the marts and the ledger, and assemble the page's content for one billing period;
    `freshness` says whether dbt's latest results vouch for the marts (the page's banner)."""
    statuses = reader.period_statuses()
    if not statuses:
        raise UnknownPeriod("the marts hold no billing period: run dbt build on usage data first")
    selected = _choose_period(statuses, period)
    accounts = {account.billing_account_id: account for account in reader.accounts()}
    names = {key: account.account_name or key for key, account in accounts.items()}
    held_counts = {row.billing_period_start: row.held_records for row in reader.held_counts()}
    in_period = [status for status in statuses if status.billing_period_start == selected]
    status_by_account = {status.billing_account_id: status for status in in_period}

    watermarks = reader.source_watermarks(selected)
    marks_by_account: dict[str, list[SourceWatermark]] = defaultdict(list)
    for mark in watermarks:
        marks_by_account[mark.billing_account_id].append(mark)
    records = reader.usage_records(selected)
    ledger, entries = read_ledger(state_dir)
    not_in_netsuite = (
        amendment_holds(report_dir, {record.dbt_invocation_id or "" for record in records})
        if report_dir is not None
        else set()
    )
    loads = load_states(records, entries)
    lineage_relation = reader.relation("fct_usage_event_lineage")
    details = _record_details(reader, selected, records, lineage_relation)
    charts = _charts(reader, selected, records, details, accounts)
    invoices = _invoices(
        reader.invoice_lines(selected), status_by_account, names, loads, details, charts
    )
    month = selected.replace(day=1)
    return FinanceReport(
        generated_at=now or datetime.now(UTC),
        db_path=reader.db_path,
        schema_name=reader.schema,
        invocation_id=reader.invocation_id(),
        freshness=freshness,
        period_start=selected,
        period_end=in_period[0].billing_period_end,
        is_default_period=period is None,
        periods=_period_summaries(statuses, held_counts, selected),
        close=tuple(
            AccountClose(
                status=status,
                account_name=names.get(status.billing_account_id, status.billing_account_id),
                watermarks=tuple(marks_by_account.get(status.billing_account_id, [])),
                approval=labels.approval_state(status.approval_state),
            )
            for status in in_period
        ),
        watermarks=tuple(watermarks),
        held=_held(records, status_by_account, reader.approvals(selected), names, not_in_netsuite),
        invoices=invoices,
        quarantine=_quarantine(reader),
        quarantined_total=sum(row.records for row in reader.quarantine_reasons()),
        source_balances=tuple(reader.source_balances()),
        credit_memos=tuple(reader.credit_memo_candidates()),
        revenue=_revenue(reader.rollforwards(month), reader.revenue_lines(month), names, month),
        ledger=ledger,
        lineage_relation=lineage_relation,
        account_names=names,
    )


def default_period(statuses: list[PeriodStatus]) -> date:
    """The period Billing Operations closes next: of the latest calendar month in which an account
    has closed, the billing period start with the most accounts closed (the later one on a tie);
    with none closed, the latest period."""
    closed = Counter(status.billing_period_start for status in statuses if status.is_period_closed)
    if not closed:
        return max(status.billing_period_start for status in statuses)
    month = max(start.replace(day=1) for start in closed)
    in_month = [start for start in closed if start.replace(day=1) == month]
    return max(in_month, key=lambda start: (closed[start], start))


def _choose_period(statuses: list[PeriodStatus], period: date | None) -> date:
    if period is None:
        return default_period(statuses)
    starts = sorted({status.billing_period_start for status in statuses})
    if period not in starts:
        known = ", ".join(start.isoformat() for start in starts[-12:])
        raise UnknownPeriod(
            f"no billing period starts on {period.isoformat()}; periods in the marts start on: "
            f"{known}"
        )
    return period


def _period_summaries(
    statuses: list[PeriodStatus], held_counts: dict[date, int], selected: date
) -> tuple[PeriodSummary, ...]:
    grouped: dict[date, list[PeriodStatus]] = defaultdict(list)
    for status in statuses:
        grouped[status.billing_period_start].append(status)
    summaries = []
    for start in sorted(grouped, reverse=True):
        rows = grouped[start]
        waiting = sorted(
            {
                source.strip()
                for row in rows
                if not row.is_period_closed
                for source in (row.missing_sources or "").split(",")
                if source.strip()
            }
        )
        summaries.append(
            PeriodSummary(
                start=start,
                end=max(row.billing_period_end for row in rows),
                accounts=len(rows),
                closed=sum(1 for row in rows if row.is_period_closed),
                ready=sum(1 for row in rows if row.is_ready_to_load),
                needs_approval=sum(1 for row in rows if _needs_approval(row)),
                open_needing_approval=sum(
                    1 for row in rows if _needs_approval(row) and not row.is_period_closed
                ),
                waiting_on=tuple(waiting),
                held_records=held_counts.get(start, 0),
                totals=_totals((row.invoice_total, row.currency) for row in rows),
                is_selected=start == selected,
            )
        )
    return tuple(summaries)


def _needs_approval(status: PeriodStatus) -> bool:
    return status.requires_approval and not status.has_current_approval


def hold_reasons(
    record: UsageRecord,
    status: PeriodStatus | None,
    approvals: list[Approval],
    not_in_netsuite: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """Why the loader holds a record back, in the words of the close checklist."""
    reasons = []
    if record.external_id in not_in_netsuite:
        reasons.append(
            labels.HOLD_REASONS["amendment_not_in_netsuite"].format(
                amendment=record.segment_amendment_id or ""
            )
        )
    if not record.is_period_closed:
        missing = status.missing_sources if status else None
        reasons.append(f"period open, waiting on {labels.sources(missing)}")
    if record.requires_approval and not record.is_approved:
        currency = record.currency or (status.currency if status else None)
        approved = [
            approval
            for approval in approvals
            if approval.billing_account_id == record.billing_account_id
        ]
        if approved and status is not None:
            latest = max(approved, key=lambda approval: approval.approved_at or datetime.min)
            reasons.append(
                f"approval is stale (approved {money(latest.approved_amount, currency)}, "
                f"invoice is {money(status.invoice_total, currency)})"
            )
        elif status is not None and status.has_stale_approval:
            reasons.append(
                f"approval is stale (invoice is {money(status.invoice_total, currency)})"
            )
        else:
            reasons.append("needs approval")
    return reasons


def _held(
    records: list[UsageRecord],
    statuses: dict[str, PeriodStatus],
    approvals: list[Approval],
    names: dict[str, str],
    not_in_netsuite: set[str],
) -> tuple[HeldRecord, ...]:
    held = []
    for record in records:
        account = record.billing_account_id or ""
        reasons = hold_reasons(record, statuses.get(account), approvals, not_in_netsuite)
        if reasons:
            held.append(
                HeldRecord(
                    record=record, account_name=names.get(account, account), reasons=tuple(reasons)
                )
            )
    return tuple(held)


def lineage_sql(relation: str, external_id: str) -> str:
    """The query that lists the source events behind one Usage Record."""
    quoted = external_id.replace("'", "''")
    return (
        "select source_system, file_name, record_number, occurred_at, billing_quantity, "
        f"is_late\nfrom {relation}\nwhere external_id = '{quoted}'\norder by occurred_at;"
    )


def _record_details(
    reader: MartReader, period: date, records: list[UsageRecord], relation: str
) -> dict[str, RecordDetail]:
    tiers: dict[str, list[TierLine]] = defaultdict(list)
    for tier in reader.tier_lines(period):
        tiers[tier.external_id].append(tier)
    counts = {row.external_id: row.source_events for row in reader.lineage_counts(period)}
    return {
        record.external_id: RecordDetail(
            record=record,
            tiers=tuple(tiers.get(record.external_id, [])),
            source_events=counts.get(record.external_id, 0),
            lineage_sql=lineage_sql(relation, record.external_id),
        )
        for record in records
    }


def _describe(line: InvoiceLine) -> str:
    if line.line_kind == "recurring_fee":
        return "Recurring fee"
    if line.line_kind == "late_usage_adjustment":
        return "Late usage adjustment"
    if line.charge_type == "prepaid":
        return "Prepaid pool overage"
    return "Usage"


def _invoices(
    lines: list[InvoiceLine],
    statuses: dict[str, PeriodStatus],
    names: dict[str, str],
    loads: dict[str, LoadState],
    details: dict[str, RecordDetail],
    charts: dict[str, list[Chart]],
) -> tuple[Invoice, ...]:
    by_account: dict[str, list[InvoiceLine]] = defaultdict(list)
    for line in lines:
        by_account[line.billing_account_id].append(line)
    invoices = []
    for account in sorted(set(by_account) | set(statuses)):
        account_lines = by_account.get(account, [])
        status = statuses.get(account)
        currency = (
            account_lines[0].currency if account_lines else (status.currency if status else "")
        )
        total = account_lines[0].invoice_total if account_lines else add([])
        rows = tuple(_invoice_row(line, loads, details) for line in account_lines)
        invoices.append(
            Invoice(
                billing_account_id=account,
                account_name=names.get(account, account),
                currency=currency,
                status=status,
                rows=rows,
                total=total,
                charts=tuple(charts.get(account, [])),
            )
        )
    return tuple(invoices)


def _invoice_row(
    line: InvoiceLine, loads: dict[str, LoadState], details: dict[str, RecordDetail]
) -> InvoiceRow:
    """An invoice line; a usage line's id is its Usage Record's External ID."""
    detail = details.get(line.invoice_line_id)
    description = _describe(line)
    if detail is not None and detail.record.adjusts_period_start is not None:
        description += f" for the period starting {detail.record.adjusts_period_start.isoformat()}"
    return InvoiceRow(
        line=line, description=description, load=loads.get(line.invoice_line_id), detail=detail
    )


def _charts(
    reader: MartReader,
    period: date,
    records: list[UsageRecord],
    details: dict[str, RecordDetail],
    accounts: dict[str, Account],
) -> dict[str, list[Chart]]:
    """One chart per usage or prepaid line of the period, by billing account."""
    rules = {rule.metric: rule for rule in reader.metric_rules()}
    daily: dict[str, list[DailyUsage]] = defaultdict(list)
    for row in reader.daily_usage(period):
        daily[row.subscription_line_id].append(row)
    segments: dict[str, list[UsageRecord]] = defaultdict(list)
    for record in records:
        if record.is_adjustment or not record.subscription_line_id:
            continue
        if record.charge_type not in (None, "usage", "prepaid"):
            continue
        segments[record.subscription_line_id].append(record)
    charts: dict[str, list[Chart]] = defaultdict(list)
    for number, line_id in enumerate(sorted(segments)):
        line_records = sorted(segments[line_id], key=lambda record: record.segment_start or period)
        first = line_records[0]
        rule = rules.get(first.metric or "")
        aggregation = rule.aggregation if rule else "sum"
        chart = _usage_chart(f"chart-{number + 1}", line_records, daily[line_id], rule, details)
        notes = _chart_notes(
            chart, line_records, aggregation, accounts.get(first.billing_account_id or "")
        )
        charts[first.billing_account_id or ""].append(
            Chart(line_id=line_id, title=chart.title, svg=render_svg(chart), notes=notes)
        )
    return charts


def _usage_chart(
    chart_id: str,
    records: list[UsageRecord],
    days: list[DailyUsage],
    rule: MetricRule | None,
    details: dict[str, RecordDetail],
) -> UsageChart:
    first = records[0]
    prepaid = first.charge_type == "prepaid"
    aggregation = rule.aggregation if rule else "sum"
    billed_axis_label = None
    if aggregation == "unique_count":
        counted = f"{rule.unit}s" if rule and rule.unit else "distinct values"
        billed_axis_label = f"{counted} billed (distinct)"
    return UsageChart(
        chart_id=chart_id,
        title=(
            f"Daily usage of line {first.subscription_line_id} ({first.item_id}, {first.metric}), "
            f"{first.billing_period_start} to {first.billing_period_end}"
        ),
        period_start=first.billing_period_start or date.min,
        period_end=first.billing_period_end or date.min,
        daily={row.usage_date: _day_value(row, aggregation) for row in days},
        value_label=labels.AGGREGATIONS.get(aggregation, "per day"),
        cumulative=aggregation in CUMULATIVE_AGGREGATIONS,
        billed_axis_label=billed_axis_label,
        segments=tuple(
            ChartSegment(
                start=record.segment_start or first.billing_period_start or date.min,
                end=record.segment_end or first.billing_period_end or date.min,
                price_plan_id=record.price_plan_id,
                proration_factor=record.proration_factor,
                billed_quantity=record.quantity,
                thresholds=() if prepaid else thresholds(details[record.external_id].tiers),
            )
            for record in records
        ),
    )


def thresholds(tiers: tuple[TierLine, ...]) -> tuple[Threshold, ...]:
    """The tier bounds a segment's rating reached: where each tier starts and where the last
    one reached ends (bounds as rated, so scaled by the proration factor where tiers prorate)."""
    found: dict[Decimal, Threshold] = {}
    for tier in tiers:
        if tier.rating_line_kind != "tier" or tier.tier is None:
            continue
        if tier.tier_lower_bound is not None and tier.tier_lower_bound > 0:
            found[tier.tier_lower_bound] = Threshold(
                value=tier.tier_lower_bound, tier=tier.tier, starts=True
            )
        if tier.tier_upper_bound is not None and tier.tier_upper_bound not in found:
            found[tier.tier_upper_bound] = Threshold(
                value=tier.tier_upper_bound, tier=tier.tier, starts=False
            )
    return tuple(found[value] for value in sorted(found))


def _day_value(row: DailyUsage, aggregation: str) -> Decimal:
    if aggregation in ("count", "unique_count"):
        return Decimal(row.event_count)
    if aggregation == "max":
        return row.max_quantity
    if aggregation == "latest":
        return row.latest_quantity
    return row.total_quantity


def _chart_notes(
    chart: UsageChart, records: list[UsageRecord], aggregation: str, account: Account | None
) -> tuple[str, ...]:
    notes = []
    where = f" ({account.timezone})" if account and account.timezone else ""
    notes.append(f"Days are the account's local dates{where}.")
    has_thresholds = any(segment.thresholds for segment in chart.segments)
    if aggregation in CUMULATIVE_AGGREGATIONS:
        against = " against its tier thresholds (dashed)" if has_thresholds else ""
        notes.append(
            f"Upper panel: running total of each segment{against}; tiers apply to each "
            "segment on its own, so the total starts again at a plan change."
        )
    elif chart.billed_axis_label is not None:
        dashed = ", the dashed lines its tier thresholds" if has_thresholds else ""
        notes.append(
            f"The line is billed on one value per segment ({aggregation.replace('_', ' ')}): "
            f"the upper panel, on an axis of its own, shows the quantity billed (dotted){dashed}; "
            "the bars below count the events of each day, which repeat what they count, so "
            "they do not add up to it."
        )
    else:
        dashed = ", the dashed lines its tier thresholds" if has_thresholds else ""
        notes.append(
            f"The line is billed on one value per segment ({aggregation.replace('_', ' ')}): "
            f"the dotted line is the quantity billed{dashed}."
        )
    if records[0].charge_type == "prepaid":
        notes.append("Prepaid pool: tiers apply only to usage beyond the pool, so none are drawn.")
    if any(record.is_billed for record in records):
        notes.append(
            "This period is billed: the bars include usage that arrived after billing, which "
            "is carried by an adjustment or a credit-memo candidate."
        )
    for segment in chart.segments:
        if segment.thresholds:
            bounds = "; ".join(threshold.label for threshold in segment.thresholds)
            notes.append(f"Tier thresholds {segment.start} to {segment.end}: {bounds}.")
    return tuple(notes)


def _quarantine(reader: MartReader) -> tuple[QuarantineGroup, ...]:
    examples: dict[str, list[QuarantineExample]] = defaultdict(list)
    for example in reader.quarantine_examples():
        examples[example.quarantine_reason].append(example)
    groups = []
    for row in reader.quarantine_reasons():
        title, explanation = labels.quarantine_reason(row.quarantine_reason)
        groups.append(
            QuarantineGroup(
                reason=row.quarantine_reason,
                title=title,
                explanation=explanation,
                records=row.records,
                examples=tuple(examples.get(row.quarantine_reason, [])),
            )
        )
    return tuple(groups)


def _revenue(
    rollforwards: list[Rollforward], lines: list[RevenueLine], names: dict[str, str], month: date
) -> RevenueMonth:
    return RevenueMonth(
        month=month,
        accounts=tuple(
            RevenueAccount(
                rollforward=row,
                account_name=names.get(row.billing_account_id, row.billing_account_id),
            )
            for row in rollforwards
        ),
        lines=tuple(lines),
        totals=_totals((row.total_recognized, row.currency) for row in rollforwards),
    )


def _totals(amounts: Iterable[tuple[Decimal, str]]) -> tuple[Amount, ...]:
    """Exact sums per currency, currencies in alphabetical order."""
    grouped: dict[str, list[Decimal]] = defaultdict(list)
    for amount, currency in amounts:
        grouped[currency].append(amount)
    return tuple(
        Amount(amount=add(grouped[currency]), currency=currency) for currency in sorted(grouped)
    )
