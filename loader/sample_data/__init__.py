"""Deterministic sample raw usage (`usage-loader sample-data`) for the demo contract book in
`seeds/contract_book/`, or for a generated book of thousands of accounts derived from it;
`--append-day` adds one more day of received records as new files.

A tool, not the product: `make demo`, `make test`, the benchmark and the Python tests run it to
have raw files to build; the loader's core never imports it."""
