"""Command-line options shared by the commands that read the marts: the core's commands in
`loader/cli.py` and the finance report's `usage-loader report`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def mart_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where the mart is (as dbt finds it) and where the ledger lives."""
    options = [
        click.option(
            "--project-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("."),
            show_default="the current directory",
            envvar="DBT_PROJECT_DIR",
            help="The dbt project (holds dbt_project.yml and target/).",
        ),
        click.option(
            "--profiles-dir",
            type=click.Path(file_okay=False, path_type=Path),
            envvar="DBT_PROFILES_DIR",
            help="Folder of profiles.yml [default: DBT_PROFILES_DIR, else the project "
            "directory when it holds profiles.yml, else ~/.dbt].",
        ),
        click.option(
            "--target", envvar="DBT_TARGET", help="dbt target [default: the profile's target]."
        ),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The DuckDB file of the marts, instead of the profile's.",
        ),
        click.option(
            "--state-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Where the ledger lives [default: .usage-loader/ in the project directory].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
