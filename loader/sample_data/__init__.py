"""Deterministic sample raw usage (`usage-loader sample-data`) for the demo contract book in
`seeds/`, or for a generated book of thousands of accounts derived from it; `--append-day`
adds one more day of received records as new files."""
