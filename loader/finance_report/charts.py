"""Daily usage of one subscription line over its billing period, drawn as inline SVG.

The lower panel shows each day's usage; for metrics billed on a total (`sum`, `count`) the upper
panel shows the running total of each segment against the tier thresholds it is rated with, so a
reader sees when usage crossed into the next tier. Tiers are rated per segment (SPEC 3.2, 3.5),
so the running total starts again where a plan change starts a new segment. For metrics billed
on one value of the same unit as the day's (`max`, `latest`) the billed quantity of each segment
is drawn over the daily values; for `unique_count` (distinct users, against events a day) it
gets an upper panel and an axis of its own. Labels sit above the plot (each segment's plan,
factor and billed quantity) or in the right margin (tier thresholds), never on the bars. Floats
only position marks on the drawing; every number the page states comes from the marts as exact
decimals.
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
    """Everything one chart shows.

    `billed_axis_label` set: the billed quantity counts something else than the daily bars (for
    `unique_count`, distinct users against events a day), so it gets an upper panel of its own.
    """

    model_config = ConfigDict(frozen=True)

    chart_id: str
    title: str
    period_start: date
    period_end: date
    daily: dict[date, Decimal]
    value_label: str
    cumulative: bool
    segments: tuple[ChartSegment, ...]
    billed_axis_label: str | None = None

    @property
    def days(self) -> list[date]:
        count = (self.period_end - self.period_start).days + 1
        return [self.period_start + timedelta(days=offset) for offset in range(count)]

    @property
    def has_upper_panel(self) -> bool:
        return self.cumulative or self.billed_axis_label is not None


class _LineLabel(BaseModel):
    """The name of a horizontal line, written in the right margin beside the plot, where it
    cannot cover a bar."""

    model_config = ConfigDict(frozen=True)

    value: float
    text: str
    color: str


def render_svg(chart: UsageChart) -> str:
    """The chart as an `<svg>` element to place in the page (no XML prolog, titled)."""
    with rc_context({**_STYLE, "svg.hashsalt": chart.chart_id}):
        figure = Figure(figsize=(8.0, 3.9 if chart.has_upper_panel else 2.7), layout="constrained")
        if chart.has_upper_panel:
            ratios = [3, 2] if chart.cumulative else [2, 3]
            upper, daily = figure.subplots(2, 1, sharex=True, height_ratios=ratios)
            axes: list[Axes] = [upper, daily]
        else:
            daily = figure.subplots()
            upper = daily
            axes = [daily]
        days = chart.days
        positions = mdates.date2num(days)
        values = [chart.daily.get(day, Decimal(0)) for day in days]
        _mark_segments(axes, chart)
        daily.bar(positions, [float(value) for value in values], width=0.75, color=BAR)
        daily.set_ylabel(chart.value_label)
        if chart.cumulative:
            line_labels = _draw_running_totals(upper, chart, values)
        else:
            line_labels = _draw_billed_quantities(upper, chart)
            if chart.billed_axis_label is not None:
                upper.set_ylabel(chart.billed_axis_label)
        for axis in axes:
            axis.yaxis.set_major_formatter(FuncFormatter(_tick))
            axis.grid(axis="y", color="#dddddd", linewidth=0.6)
            axis.set_axisbelow(True)
            axis.set_xlim(positions[0] - 0.6, positions[-1] + 0.6)
            axis.set_ylim(bottom=0)
        _leave_headroom(upper, chart, line_labels)
        _write_line_labels(upper, line_labels, figure)
        daily.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=4, maxticks=10))
        daily.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _titled(buffer.getvalue(), chart)


def _draw_running_totals(axis: Axes, chart: UsageChart, values: list[Decimal]) -> list[_LineLabel]:
    labels: list[_LineLabel] = []
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
        labels += _draw_thresholds(axis, chart, segment)
    axis.set_ylabel("running total")
    return labels


def _draw_billed_quantities(axis: Axes, chart: UsageChart) -> list[_LineLabel]:
    """Each segment's billed quantity as a dotted line over its days; its value is written in the
    segment's heading above the plot (`_mark_segments`), not on the bars."""
    labels: list[_LineLabel] = []
    for segment in chart.segments:
        if segment.billed_quantity is None:
            continue
        left, right = _bounds(segment)
        axis.hlines(
            float(segment.billed_quantity), left, right, colors=BILLED, linestyles=":", linewidth=2
        )
        labels += _draw_thresholds(axis, chart, segment)
    return labels


def _draw_thresholds(axis: Axes, chart: UsageChart, segment: ChartSegment) -> list[_LineLabel]:
    left, right = _bounds(segment)
    named = sum(1 for other in chart.segments if other.thresholds) > 1
    labels = []
    for threshold in segment.thresholds:
        value = float(threshold.value)
        axis.hlines(value, left, right, colors=THRESHOLD, linestyles="--", linewidth=1.2)
        text = threshold.short_label
        if named:
            text = f"from {segment.start.day} {segment.start:%b}: {text}"
        labels.append(_LineLabel(value=value, text=text, color=THRESHOLD))
    return labels


def _leave_headroom(axis: Axes, chart: UsageChart, labels: list[_LineLabel]) -> None:
    """Room above the highest billed quantity or threshold, so no line runs along the frame."""
    heights = [label.value for label in labels]
    if not chart.cumulative:
        heights += [
            float(segment.billed_quantity)
            for segment in chart.segments
            if segment.billed_quantity is not None
        ]
    if heights and max(heights) * 1.1 > axis.get_ylim()[1]:
        axis.set_ylim(top=max(heights) * 1.1)


def _write_line_labels(axis: Axes, labels: list[_LineLabel], figure: Figure) -> None:
    """Write the labels in the right margin at their line's height, moved apart where two would
    overlap, and kept within the panel's height."""
    if not labels:
        return
    bottom, top = axis.get_ylim()
    height_points = figure.get_figheight() * 72 * (0.55 if len(figure.axes) > 1 else 0.75)
    gap = 11 / height_points
    wanted = sorted(
        (min(max((label.value - bottom) / (top - bottom), 0.0), 1.0), label) for label in labels
    )
    placed: list[float] = []
    for position, _ in wanted:
        placed.append(max(position, placed[-1] + gap) if placed else position)
    overflow = placed[-1] - 1.0
    if overflow > 0:
        placed = [position - overflow for position in placed]
    for (_, label), position in zip(wanted, placed, strict=True):
        axis.annotate(
            label.text,
            xy=(1.0, position),
            xycoords="axes fraction",
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            color=label.color,
            fontsize=8,
            annotation_clip=False,
        )


def _mark_segments(axes: list[Axes], chart: UsageChart) -> None:
    top = axes[0]
    label_position = blended_transform_factory(top.transData, top.transAxes)
    billed_in_heading = not chart.cumulative
    for index, segment in enumerate(chart.segments):
        left, right = _bounds(segment)
        for axis in axes:
            if index % 2 == 1:
                axis.axvspan(left, right, color=SHADE, zorder=0)
            if index > 0:
                axis.axvline(left, color=BOUNDARY, linestyle="--", linewidth=1)
        parts = []
        if len(chart.segments) > 1 or segment.proration_factor != 1:
            parts.append(
                f"{segment.price_plan_id or 'plan'} · f = {factor(segment.proration_factor)}"
            )
        if billed_in_heading and segment.billed_quantity is not None:
            parts.append(f"billed {quantity(segment.billed_quantity)}")
        if parts:
            top.text(
                (left + right) / 2,
                1.01,
                "\n".join(parts),
                transform=label_position,
                ha="center",
                va="bottom",
                fontsize=8,
                color=BILLED if billed_in_heading and len(parts) == 1 else BOUNDARY,
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
