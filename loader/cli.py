"""Command line of usage-loader: parses options and prints; the work lives in the modules."""

from __future__ import annotations

import click

from loader.sample_data.cli import sample_data
from loader.sandbox.cli import sandbox


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="usage-loader")
def main() -> None:
    """Usage billing for NetSuite SuiteBilling: load the usage-record mart exactly once."""


main.add_command(sample_data)
main.add_command(sandbox)
