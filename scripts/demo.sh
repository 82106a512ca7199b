#!/usr/bin/env bash
# The main job end to end on the embedded defaults: sample data -> the local NetSuite sandbox ->
# contract book pulled from it -> dbt build on the pulled book -> summary -> push -> reconcile ->
# push again (nothing re-sent).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
AS_OF_DATE=${AS_OF_DATE:-2026-04-20}
export DBT_PROFILES_DIR=${DBT_PROFILES_DIR:-$PWD}
export USAGE_RAW_DIR=${USAGE_RAW_DIR:-data/raw}

# Bold headings on a terminal; plain text in a pipe or a log file.
if [ -t 1 ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi

step "Sample data: raw usage of four source systems and watermarks in $USAGE_RAW_DIR"
$BIN/usage-loader sample-data --out "$USAGE_RAW_DIR" --seed "${SEED:-7}"

step "Local NetSuite sandbox (a fresh account for the demo)"
# The sandbox's own test credentials (see loader/sandbox/README.md): not a real account's.
export NETSUITE_ACCOUNT_ID=TSTDRV1234567_SB1
export NETSUITE_CONSUMER_KEY=sandbox-consumer-key
export NETSUITE_CONSUMER_SECRET=sandbox-consumer-secret
export NETSUITE_TOKEN_ID=sandbox-token-id
export NETSUITE_TOKEN_SECRET=sandbox-token-secret
rm -rf target/sandbox .usage-loader
mkdir -p target/sandbox
$BIN/usage-loader sandbox --port 0 --state-file target/sandbox/netsuite.sqlite \
    --contract-book seeds/contract_book --latency-ms 20 > target/sandbox/sandbox.log 2>&1 &
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

step "usage-loader contracts pull: the contract book from the sandbox's NetSuite tables"
# The sandbox serves seeds/contract_book as NetSuite's tables; the pulled book must be the same
# bytes. The hand-kept files (metrics, mappings, holidays, billing runs, approvals) are copied.
PULLED=target/contract_book_pulled
rm -rf "$PULLED"
mkdir -p "$PULLED"
for name in metrics metric_mappings customer_mappings holidays billing_runs usage_approvals; do
    cp "seeds/contract_book/$name.csv" "$PULLED/"
done
$BIN/usage-loader contracts pull --out "$PULLED" > target/sandbox/contracts-pull.log
head -n 1 target/sandbox/contracts-pull.log
if ! diff -r seeds/contract_book "$PULLED" > target/sandbox/contract_book.diff; then
    cat target/sandbox/contract_book.diff
    echo "the pulled contract book differs from seeds/contract_book" >&2
    exit 1
fi
echo "the pulled book is seeds/contract_book, byte for byte; dbt builds from $PULLED"
export USAGE_SEEDS_DIR=$PULLED

step "dbt build (as of $AS_OF_DATE): models, data tests and unit tests"
$BIN/dbt build --full-refresh --vars "{as_of_date: \"$AS_OF_DATE\"}" --quiet
# What this build ran, counted from its own results (target/run_results.json) by resource type.
$BIN/python - "${DBT_TARGET_PATH:-target}/run_results.json" "$AS_OF_DATE" <<'PY'
import json, sys
from collections import Counter
results = json.load(open(sys.argv[1], encoding="utf-8"))["results"]
ran = Counter(result["unique_id"].split(".")[0] for result in results)
kinds = (("seed", "seeds"), ("model", "models"), ("test", "data tests"), ("unit_test", "unit tests"))
counts = ", ".join(f"{ran[kind]} {name}" for kind, name in kinds)
print(f"dbt build passed: {counts} (as of {sys.argv[2]})")
PY

step "Summary of the marts"
$BIN/usage-loader summary

step "usage-loader plan: what push would do, record by record"
$BIN/usage-loader plan | tail -n 25

step "usage-loader push: closed and approved periods; open or unapproved ones are held"
$BIN/usage-loader push

step "usage-loader reconcile: NetSuite against the mart (as of $AS_OF_DATE)"
# Clean means nothing missing, extra, different or duplicated. Records still held after their
# period ended (a source not in yet, an approval not given) are listed: that is the point.
reconcile_status=0
$BIN/usage-loader reconcile --as-of "$AS_OF_DATE" || reconcile_status=$?
if [ "$reconcile_status" -gt 1 ]; then exit "$reconcile_status"; fi
.venv/bin/python - <<'PY'
import glob, json, sys
report = json.load(open(sorted(glob.glob("target/loader/reconcile-*.json"))[-1]))
wrong = {kind: count for kind, count in report["counts"].items()
         if kind != "pending_after_period_end" and count}
if wrong:
    sys.exit(f"reconcile is not clean: {wrong}")
held = [r for r in report["details"]["not_sendable"] if r["period_ended"]]
print("reconcile is clean: NetSuite holds exactly the sendable records, each once;",
      len(held), "held records are pending after their period")
PY

step "usage-loader push again: nothing is re-sent"
$BIN/usage-loader push

if $BIN/usage-loader report --help > /dev/null 2>&1; then
    step "Finance report"
    $BIN/usage-loader report --out target/report/index.html
fi
