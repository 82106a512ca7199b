# usage billing for NetSuite SuiteBilling: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The sample data's world: the last period in the marts is the one containing this date.
AS_OF_DATE ?= 2026-04-20
SEED ?= 7
DBT_VARS := '{as_of_date: "$(AS_OF_DATE)"}'

export DBT_PROFILES_DIR := $(CURDIR)
export USAGE_RAW_DIR ?= data/raw

.PHONY: help venv sample-data build summary demo test lint test-python docs clean

help:
	@echo "make demo   sample data -> dbt build -> summary -> push to the local NetSuite sandbox"
	@echo "make test   dbt build (data + unit tests), sqlfluff, ruff, pytest"
	@echo "make bench  docs/benchmarks.md at 1M, 10M and 30M events (about an hour, a quiet machine;"
	@echo "            BENCH_SIZES=100000 make bench: a quick run, about 10 minutes, the loader's 5 included)"

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

venv: $(INSTALLED)

profiles.yml: profiles.example.yml
	cp -n profiles.example.yml profiles.yml || true
	touch profiles.yml

sample-data: $(INSTALLED)
	$(BIN)/usage-loader sample-data --out $(USAGE_RAW_DIR) --seed $(SEED)

build: $(INSTALLED) profiles.yml
	$(BIN)/dbt build --vars $(DBT_VARS)

summary: $(INSTALLED) profiles.yml
	$(BIN)/usage-loader summary

demo: $(INSTALLED) profiles.yml
	bash scripts/demo.sh

# The SQL is linted as a first (full) build renders it: against a scratch DuckDB file, so that
# the result does not depend on what the warehouse holds (is_incremental() reads it).
lint: $(INSTALLED) profiles.yml
	rm -f target/lint.duckdb
	USAGE_DUCKDB_PATH=target/lint.duckdb $(BIN)/sqlfluff lint models macros tests --processes 2
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-python: $(INSTALLED)
	$(BIN)/pytest

# Needs Debian's Chromium for the finance report's tests: checked first, never installed here
# (scripts/ensure_chromium.sh says how; .ci/run installs it).
test: $(INSTALLED) profiles.yml
	bash scripts/ensure_chromium.sh
	$(BIN)/usage-loader sample-data --out $(USAGE_RAW_DIR) --seed $(SEED)
	$(BIN)/dbt build --full-refresh --vars $(DBT_VARS)
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest

docs: $(INSTALLED) profiles.yml
	$(BIN)/dbt docs generate --vars $(DBT_VARS)

clean:
	rm -rf target logs .usage-loader

.PHONY: bench bench-loader
# Not part of `make test`, and for a quiet machine: generates 1M, 10M and 30M events (30M is about
# 5 GB of raw files under /tmp), runs each build and the floor (scripts/bench_floor.sql) three
# times with the default profile, judges the targets and rewrites docs/benchmarks.md. About an
# hour on 2 cores: 1M about 4 minutes, 10M about 15, 30M about 40, the loader about 5.
# BENCH_SIZES=100000 (comma-separated event counts) measures other volumes, e.g. a quick check.
bench: $(INSTALLED) profiles.yml
	$(BIN)/python scripts/bench.py

# The loader's figures alone (about 5 minutes): docs/benchmarks.md written again with them and the
# last run's pipeline figures (target/bench/results.json; without them, its loader section only).
bench-loader: $(INSTALLED) profiles.yml
	$(BIN)/python scripts/bench.py --loader-only

# Apache Spark: the same dbt project on a local Spark session (dbt-spark, method session).
# Needs Java 17 or newer on PATH; `make spark-venv` installs the `spark` extra (dbt-spark, pyspark).
.PHONY: spark-venv build-spark test-spark

SPARK_INSTALLED := $(VENV)/.installed-spark

$(SPARK_INSTALLED): $(INSTALLED) pyproject.toml
	$(BIN)/pip install --quiet -e ".[spark]"
	touch $@

spark-venv: $(SPARK_INSTALLED)

# dbt build on Spark (seeds, models, data tests, unit tests) into target/spark. dbt runs through
# loader.dbt_plugins.spark_session, which registers the raw-file checks on the Spark session.
build-spark: $(SPARK_INSTALLED) profiles.yml
	$(BIN)/python -m loader.dbt_plugins.spark_session build --target spark --vars $(DBT_VARS)

# The raw-file checks on a local Spark session (python_tests/spark, marked `spark`), then the
# sample data built on DuckDB and on Spark, every data and unit test on both, with three unreadable
# files beside it, and fct_usage_records, fct_usage_quarantine, fct_invoice_preview and
# rpt_source_reconciliation compared row for row; then the unreadable files replaced or removed and
# both built again without --full-refresh, and compared again (report:
# target/compare/engine_comparison.json). About 10 minutes on 2 cores.
test-spark: $(SPARK_INSTALLED)
	$(BIN)/pytest -m spark python_tests/spark
	$(BIN)/python scripts/compare_engines.py --seed $(SEED) --as-of-date $(AS_OF_DATE)
