import click


@click.command("sandbox")
def sandbox() -> None:
    """Run the local NetSuite sandbox."""
    raise click.ClickException("not implemented yet")
