"""dbt-duckdb plugins of the product: Python functions the dbt project calls from its SQL."""
