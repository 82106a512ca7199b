"""The contract book as its twelve seed tables (SPEC 2.2): read from a seeds folder, written to one.

Values stay text exactly as the CSV holds them (blank means null), so a book read and written
again is the same bytes. `DEMO_SEEDS_DIR` is the demo book of the project (`seeds/`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

DEMO_SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds" / "contract_book"

SEED_TABLES: tuple[str, ...] = (
    "billing_accounts",
    "subscriptions",
    "subscription_lines",
    "price_plans",
    "price_plan_tiers",
    "amendments",
    "metrics",
    "metric_mappings",
    "customer_mappings",
    "holidays",
    "billing_runs",
    "usage_approvals",
)


class BookError(ValueError):
    """A seeds folder that does not hold a readable contract book."""


class SeedTable(BaseModel):
    """One seed: its header and its rows, every value as the CSV text."""

    model_config = ConfigDict(frozen=True)

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @model_validator(mode="after")
    def _rows_fit_the_header(self) -> SeedTable:
        width = len(self.header)
        for number, row in enumerate(self.rows, start=2):
            if len(row) != width:
                raise ValueError(f"{self.name}.csv line {number}: {len(row)} of {width} fields")
        return self

    def records(self) -> list[dict[str, str]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.header, row, strict=True)) for row in self.rows]

    def with_rows(self, rows: list[dict[str, str]]) -> SeedTable:
        """This table with `rows` (dicts, missing columns blank) appended."""
        extra = tuple(tuple(row.get(column, "") for column in self.header) for row in rows)
        return self.model_copy(update={"rows": self.rows + extra})

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue()


class ContractBook(BaseModel):
    """The twelve seed tables of one contract book."""

    model_config = ConfigDict(frozen=True)

    tables: dict[str, SeedTable]

    @model_validator(mode="after")
    def _has_every_seed(self) -> ContractBook:
        missing = [name for name in SEED_TABLES if name not in self.tables]
        if missing:
            raise ValueError(f"contract book without {', '.join(missing)}")
        return self

    def records(self, name: str) -> list[dict[str, str]]:
        return self.tables[name].records()

    def extended(self, rows: dict[str, list[dict[str, str]]]) -> ContractBook:
        """This book with rows appended to the named tables."""
        tables = dict(self.tables)
        for name, extra in rows.items():
            tables[name] = tables[name].with_rows(extra)
        return ContractBook(tables=tables)

    def count(self, name: str) -> int:
        return len(self.tables[name].rows)


def read_book(seeds_dir: Path) -> ContractBook:
    """Read the twelve seed CSVs of `seeds_dir`."""
    tables = {}
    for name in SEED_TABLES:
        path = seeds_dir / f"{name}.csv"
        if not path.is_file():
            raise BookError(f"{path} is missing: {seeds_dir} holds no contract book")
        with path.open(newline="", encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle)) or [[]]
        try:
            tables[name] = SeedTable(name=name, header=tuple(header), rows=tuple(map(tuple, rows)))
        except ValidationError as error:
            raise BookError(f"{path} is not a seed CSV: {error.errors()[0]['msg']}") from error
    return ContractBook(tables=tables)


def write_book(book: ContractBook, seeds_dir: Path) -> list[Path]:
    """Write the twelve seed CSVs into `seeds_dir` (created when missing); returns the paths."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SEED_TABLES:
        path = seeds_dir / f"{name}.csv"
        path.write_text(book.tables[name].to_csv(), encoding="utf-8")
        written.append(path)
    return written
