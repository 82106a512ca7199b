#!/usr/bin/env bash
# The main job end to end on the embedded defaults: sample data -> dbt build -> summary ->
# the local NetSuite sandbox -> push -> reconcile -> push again (nothing re-sent).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
AS_OF_DATE=${AS_OF_DATE:-2026-04-20}
export DBT_PROFILES_DIR=${DBT_PROFILES_DIR:-$PWD}
export USAGE_RAW_DIR=${USAGE_RAW_DIR:-data/raw}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Sample data: raw usage of four source systems and watermarks in $USAGE_RAW_DIR"
$BIN/usage-loader sample-data --out "$USAGE_RAW_DIR" --seed "${SEED:-7}"

step "dbt build (as of $AS_OF_DATE): models, data tests and unit tests"
$BIN/dbt build --full-refresh --vars "{as_of_date: \"$AS_OF_DATE\"}" --quiet
echo "dbt build passed"

step "Summary of the marts"
$BIN/usage-loader summary

step "Local NetSuite sandbox (a fresh account for the demo)"
rm -rf target/sandbox .usage-loader
mkdir -p target/sandbox
$BIN/usage-loader sandbox --port 0 --state-file target/sandbox/netsuite.sqlite \
    --latency-ms 20 > target/sandbox/sandbox.log 2>&1 &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true; wait $SANDBOX_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    if grep -q "sandbox listening on" target/sandbox/sandbox.log; then break; fi
    if ! kill -0 $SANDBOX_PID 2>/dev/null; then cat target/sandbox/sandbox.log; exit 1; fi
    sleep 0.1
done
NETSUITE_BASE_URL=$(grep -o "http://[0-9.:]*" target/sandbox/sandbox.log | head -1)
export NETSUITE_BASE_URL
echo "sandbox listening on $NETSUITE_BASE_URL"

step "usage-loader plan: what push would do, record by record"
$BIN/usage-loader plan | tail -n 25

step "usage-loader push: closed and approved periods; open or unapproved ones are held"
$BIN/usage-loader push

step "usage-loader reconcile: NetSuite against the mart"
$BIN/usage-loader reconcile

step "usage-loader push again: nothing is re-sent"
$BIN/usage-loader push

if $BIN/usage-loader report --help > /dev/null 2>&1; then
    step "Finance report"
    $BIN/usage-loader report --out target/report/index.html
fi
