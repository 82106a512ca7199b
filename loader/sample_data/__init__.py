"""Deterministic demo raw usage for the contract book in `seeds/` (`usage-loader sample-data`)."""
