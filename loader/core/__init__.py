"""The loader itself: finds the marts, checks dbt's gates, plans, and upserts Usage Records into
NetSuite exactly once (config, marts, gates, plan, payload, netsuite, ledger, push, reconcile,
export, run report, console). `loader/cli.py` runs its commands; the finance report reads the
marts and the ledger through it. It never imports the sandbox, the sample-data generator or the
finance report (`python_tests/core/test_layout.py` checks)."""
