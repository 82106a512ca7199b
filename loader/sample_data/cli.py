import click


@click.command("sample-data")
def sample_data() -> None:
    """Write deterministic sample raw usage files."""
    raise click.ClickException("not implemented yet")
