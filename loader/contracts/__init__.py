"""The contract book from NetSuite: `usage-loader contracts pull` (SPEC 7)."""
