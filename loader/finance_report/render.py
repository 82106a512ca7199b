"""Turns the report's content into one self-contained HTML page (styles, script and charts
inline; no external asset, font or network request), and writes it."""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from loader.finance_report import labels
from loader.finance_report.content import FinanceReport
from loader.finance_report.money import (
    day,
    factor,
    instant,
    long_day,
    money,
    month_name,
    quantity,
    sort_key,
)

PACKAGE = "loader.finance_report"
TEMPLATE = "report.html.j2"
RAW_CONTENT_LIMIT = 400


def render_html(report: FinanceReport) -> str:
    """The page, as text."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(PACKAGE, "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        {
            "money": money,
            "qty": quantity,
            "factor": factor,
            "sortkey": sort_key,
            "day": day,
            "longday": long_day,
            "monthname": month_name,
            "instant": instant,
            "source": labels.source,
            "sources": labels.sources,
            "component": labels.revenue_component,
            "ratingline": labels.rating_line,
            "clip": _clip,
        }
    )
    static = resources.files(PACKAGE) / "static"
    css = (static / "report.css").read_text(encoding="utf-8")
    script = (static / "report.js").read_text(encoding="utf-8")
    return environment.get_template(TEMPLATE).render(
        report=report, css=Markup(css), script=Markup(script)
    )


def write_html(html: str, out: Path) -> Path:
    """Write the page atomically (a reader never sees half a page) and return its path."""
    out = out.expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(html)
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def _clip(text: str | None) -> str:
    if not text:
        return "(empty)"
    if len(text) <= RAW_CONTENT_LIMIT:
        return text
    return text[:RAW_CONTENT_LIMIT] + f" … ({len(text) - RAW_CONTENT_LIMIT:,} more characters)"
