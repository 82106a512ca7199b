"""Daily usage of one subscription line over its billing period, drawn as inline SVG.

The lower panel shows each day's usage; for metrics billed on a total (`sum`, `count`) the upper
panel shows the running total of each segment against the tier thresholds it is rated with, so a
reader sees when usage crossed into the next tier. Tiers are rated per segment (SPEC 3.2, 3.5),
so the running total starts again where a plan change starts a new segment. For metrics billed
on one value (`max`, `latest`, `unique_count`) the billed quantity of each segment is drawn
beside the daily values instead. Floats only position marks on the drawing; every number the
page states comes from the marts as exact decimals.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

import matplotlib.dates as mdates
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory
from pydantic import BaseModel, ConfigDict

from loader.finance_report.money import factor, quantity

BAR = "#4c78a8"
RUNNING = "#e45756"
THRESHOLD = "#54a24b"
BILLED = "#b279a2"
BOUNDARY = "#555555"
SHADE = "#eef2f7"
TEXT = "#222222"
_STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["Helvetica", "Arial", "Liberation Sans", "DejaVu Sans"],
    "font.size": 9,
    "axes.edgecolor": "#999999",
    "axes.labelcolor": TEXT,
    "xtick.color": TEXT,
    "ytick.color": TEXT,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


class Threshold(BaseModel):
    """A tier bound of one segment: where tier `tier` starts (`starts`) or ends."""

    model_config = ConfigDict(frozen=True)

    value: Decimal
    tier: int
    starts: bool

    @property
    def short_label(self) -> str:
        return f"tier {self.tier} starts" if self.starts else f"tier {self.tier} ends"

    @property
    def label(self) -> str:
        return f"{self.short_label} at {quantity(self.value)}"


class ChartSegment(BaseModel):
    """A period segment: one price plan over some days of the period."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    price_plan_id: str | None
    proration_factor: Decimal | None
    billed_quantity: Decimal | None
    thresholds: tuple[Threshold, ...] = ()


class UsageChart(BaseModel):
    """Everything one chart shows."""

    model_config = ConfigDict(frozen=True)

    chart_id: str
    title: str
    period_start: date
    period_end: date
    daily: dict[date, Decimal]
    value_label: str
    cumulative: bool
    segments: tuple[ChartSegment, ...]

    @property
    def days(self) -> list[date]:
        count = (self.period_end - self.period_start).days + 1
        return [self.period_start + timedelta(days=offset) for offset in range(count)]


def render_svg(chart: UsageChart) -> str:
    """The chart as an `<svg>` element to place in the page (no XML prolog, titled)."""
    with rc_context({**_STYLE, "svg.hashsalt": chart.chart_id}):
        figure = Figure(figsize=(8.0, 3.9 if chart.cumulative else 2.7), layout="constrained")
        if chart.cumulative:
            running, daily = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
            axes: list[Axes] = [running, daily]
        else:
            daily = figure.subplots()
            running = None
            axes = [daily]
        days = chart.days
        positions = mdates.date2num(days)
        values = [chart.daily.get(day, Decimal(0)) for day in days]
        _mark_segments(axes, chart)
        daily.bar(positions, [float(value) for value in values], width=0.75, color=BAR)
        daily.set_ylabel(chart.value_label)
        if running is not None:
            _draw_running_totals(running, chart, values)
        else:
            _draw_billed_quantities(daily, chart)
        for axis in axes:
            axis.yaxis.set_major_formatter(FuncFormatter(_tick))
            axis.grid(axis="y", color="#dddddd", linewidth=0.6)
            axis.set_axisbelow(True)
            axis.set_xlim(positions[0] - 0.6, positions[-1] + 0.6)
            axis.set_ylim(bottom=0)
        daily.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
        daily.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _titled(buffer.getvalue(), chart)


def _draw_running_totals(axis: Axes, chart: UsageChart, values: list[Decimal]) -> None:
    for segment in chart.segments:
        inside = [
            (day, value)
            for day, value in zip(chart.days, values, strict=True)
            if segment.start <= day <= segment.end
        ]
        if not inside:
            continue
        positions = mdates.date2num([day for day, _ in inside])
        totals = list(accumulate(value for _, value in inside))
        axis.plot(
            positions, [float(total) for total in totals], color=RUNNING, linewidth=2, marker="."
        )
        _draw_thresholds(axis, segment)
    axis.set_ylabel("running total")


def _draw_billed_quantities(axis: Axes, chart: UsageChart) -> None:
    for segment in chart.segments:
        if segment.billed_quantity is None:
            continue
        left, right = _bounds(segment)
        axis.hlines(
            float(segment.billed_quantity), left, right, colors=BILLED, linestyles=":", linewidth=2
        )
        axis.annotate(
            f"billed {quantity(segment.billed_quantity)}",
            (left, float(segment.billed_quantity)),
            xytext=(3, 3),
            textcoords="offset points",
            color=BILLED,
            fontsize=8,
        )
        _draw_thresholds(axis, segment)


def _draw_thresholds(axis: Axes, segment: ChartSegment) -> None:
    left, right = _bounds(segment)
    for threshold in segment.thresholds:
        value = float(threshold.value)
        axis.hlines(value, left, right, colors=THRESHOLD, linestyles="--", linewidth=1.2)
        axis.annotate(
            threshold.short_label,
            (right, value),
            xytext=(-3, 3),
            textcoords="offset points",
            ha="right",
            color=THRESHOLD,
            fontsize=8,
        )


def _mark_segments(axes: list[Axes], chart: UsageChart) -> None:
    top = axes[0]
    label_position = blended_transform_factory(top.transData, top.transAxes)
    for index, segment in enumerate(chart.segments):
        left, right = _bounds(segment)
        for axis in axes:
            if index % 2 == 1:
                axis.axvspan(left, right, color=SHADE, zorder=0)
            if index > 0:
                axis.axvline(left, color=BOUNDARY, linestyle="--", linewidth=1)
        if len(chart.segments) > 1 or segment.proration_factor != 1:
            plan = segment.price_plan_id or "plan"
            top.text(
                (left + right) / 2,
                1.01,
                f"{plan} · f = {factor(segment.proration_factor)}",
                transform=label_position,
                ha="center",
                va="bottom",
                fontsize=8,
                color=BOUNDARY,
            )


def _bounds(segment: ChartSegment) -> tuple[float, float]:
    return (
        float(mdates.date2num(segment.start)) - 0.5,
        float(mdates.date2num(segment.end)) + 0.5,
    )


def _tick(value: float, _position: object) -> str:
    return format(value, ",.6g")


def _titled(svg: str, chart: UsageChart) -> str:
    """Drop the XML prolog and give the drawing an accessible title."""
    element = svg[svg.index("<svg") :]
    head_end = element.index(">") + 1
    title_id = f"{chart.chart_id}-title"
    opening = element[:head_end].replace(
        "<svg ", f'<svg role="img" aria-labelledby="{title_id}" class="usage-chart" ', 1
    )
    title = f'<title id="{title_id}">{_escape(chart.title)}</title>'
    return opening + title + element[head_end:]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
