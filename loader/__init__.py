"""usage-loader: exactly-once upsert of usage records into NetSuite SuiteBilling."""

__version__ = "0.1.0"
