"""Reads the usage-record mart `fct_usage_records` from DuckDB, read-only: for the plan (through
the gates), for `reconcile`, and for the finance report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from loader.core.config import MART_TABLE, ConfigError, MartLocation

REQUIRED_COLUMNS = (
    "external_id",
    "netsuite_customer_id",
    "subscription_id",
    "subscription_line_id",
    "subscription_line_number",
    "subscription_plan_id",
    "item_id",
    "billing_period_start",
    "billing_period_end",
    "usage_date",
    "quantity",
    "is_period_closed",
    "is_billed",
    "requires_approval",
    "is_approved",
    "memo",
    "dbt_invocation_id",
    "segment_amendment_id",
    "segment_amendment_date",
)
OPTIONAL_COLUMNS = (
    "billing_account_id",
    "charge_type",
    "metric",
    "segment_start",
    "segment_end",
    "price_plan_id",
    "proration_factor",
    "rated_amount",
    "currency",
    "event_count",
    "is_adjustment",
    "adjusts_period_start",
)


class MartUnavailable(Exception):
    """The DuckDB file is held by a writer (a `dbt build` in progress): try again later."""


class UsageRecord(BaseModel):
    """One row of `fct_usage_records`: one NetSuite Usage Record."""

    model_config = ConfigDict(frozen=True)

    external_id: str
    netsuite_customer_id: str | None
    subscription_id: str | None
    subscription_line_id: str | None
    subscription_line_number: int | None
    subscription_plan_id: str | None
    item_id: str | None
    billing_period_start: date | None
    billing_period_end: date | None
    usage_date: date | None
    quantity: Annotated[Decimal | None, Field(allow_inf_nan=True)]
    is_period_closed: bool | None
    is_billed: bool | None
    requires_approval: bool | None
    is_approved: bool | None
    memo: str | None
    dbt_invocation_id: str | None
    billing_account_id: str | None = None
    charge_type: str | None = None
    metric: str | None = None
    segment_start: date | None = None
    segment_end: date | None = None
    price_plan_id: str | None = None
    proration_factor: Decimal | None = None
    rated_amount: Decimal | None = None
    currency: str | None = None
    event_count: int | None = None
    is_adjustment: bool | None = None
    adjusts_period_start: date | None = None
    segment_amendment_id: str | None = None
    segment_amendment_date: date | None = None


class MartSnapshot(BaseModel):
    """Every record of the mart at one moment, and where they were read from."""

    model_config = ConfigDict(frozen=True)

    relation: str
    records: tuple[UsageRecord, ...]

    @property
    def invocation_ids(self) -> set[str]:
        return {record.dbt_invocation_id or "" for record in self.records}


def connect_read_only(location: MartLocation) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the marts' DuckDB file; a clear error when it is missing, held
    by a running build, or not a DuckDB file."""
    if not location.db_path.is_file():
        raise ConfigError(
            f"DuckDB file {location.db_path} ({location.described_by}) does not exist: "
            "run dbt build first, or name the file with --db PATH"
        )
    try:
        return duckdb.connect(str(location.db_path), read_only=True)
    except duckdb.IOException as error:
        raise MartUnavailable(
            f"DuckDB file {location.db_path} cannot be opened read-only ({error}); "
            "wait for the running dbt build to finish and run again"
        ) from error
    except duckdb.Error as error:
        raise ConfigError(f"{location.db_path} is not a readable DuckDB file: {error}") from error


def read_mart(location: MartLocation) -> MartSnapshot:
    """Read every record of `fct_usage_records`, ordered by External ID."""
    connection = connect_read_only(location)
    try:
        schema = find_schema(connection, location)
        columns = _columns(connection, schema)
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ConfigError(
                f"{schema}.{MART_TABLE} in {location.db_path} lacks columns: "
                + ", ".join(missing)
                + ": it was built by an older version of the dbt project; run dbt build to "
                "rebuild it, then run the loader again"
            )
        selected = [*REQUIRED_COLUMNS, *(name for name in OPTIONAL_COLUMNS if name in columns)]
        select_list = ", ".join(f'"{name}"' for name in selected)
        rows = connection.execute(
            f'select {select_list} from "{schema}"."{MART_TABLE}" order by external_id'
        ).fetchall()
    finally:
        connection.close()
    records = tuple(UsageRecord(**dict(zip(selected, row, strict=True))) for row in rows)
    return MartSnapshot(relation=f"{location.db_path}:{schema}.{MART_TABLE}", records=records)


def find_schema(connection: duckdb.DuckDBPyConnection, location: MartLocation) -> str:
    """The schema holding `fct_usage_records`: the profile's, else the only one there is."""
    found = [
        row[0]
        for row in connection.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_name = ? and table_catalog = current_database() order by 1",
            [MART_TABLE],
        ).fetchall()
    ]
    if location.schema_name and location.schema_name in found:
        return location.schema_name
    if len(found) == 1:
        return found[0]
    where = f"schema {location.schema_name}" if location.schema_name else "any schema"
    if not found:
        raise ConfigError(
            f"{MART_TABLE} is not in {where} of {location.db_path} "
            f"({location.described_by}): run dbt build, or check --target / --db"
        )
    raise ConfigError(
        f"{MART_TABLE} is in several schemas of {location.db_path} ({', '.join(found)}) and "
        f"not in {where}: choose the target with --target"
    )


def _columns(connection: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = connection.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? and table_catalog = current_database()",
        [schema, MART_TABLE],
    ).fetchall()
    return {row[0] for row in rows}
