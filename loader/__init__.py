"""usage-loader: exactly-once upsert of the usage-record mart into NetSuite SuiteBilling.

Four parts, each a subpackage:
- `loader.core`: the loader itself (config, marts, gates, plan, payload, NetSuite client, ledger,
  push, reconcile, export, run report), the product that runs in production;
- `loader.sandbox`: a local fake NetSuite, a program of its own for the demo and the tests;
- `loader.sample_data`: the generator of sample raw usage for the demo and the tests;
- `loader.finance_report`: the finance report (`usage-loader report`) and the pipeline summary
  (`usage-loader summary`), read-only views of the marts for finance readers.

`loader/cli.py` is the command `usage-loader`: it wires the core's commands and the three tools.
The core imports none of the other three parts."""

__version__ = "0.1.0"
