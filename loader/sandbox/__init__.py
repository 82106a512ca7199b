"""A local NetSuite sandbox: the REST API for usage records, on loopback, with fault injection.

A program of its own: `usage-loader sandbox` runs it for `make demo` and anyone trying the loader
without a NetSuite account; the Python tests start it as a real process
(`python_tests/support/sandbox_server.py`).
"""
