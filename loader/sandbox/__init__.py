"""A local NetSuite sandbox: the REST API for usage records, on loopback, with fault injection.

`usage-loader sandbox` runs it; `loader.sandbox.testing.SandboxServer` runs it for tests.
"""
