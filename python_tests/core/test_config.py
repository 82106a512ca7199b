"""Finding the mart as dbt does, and reading NetSuite's settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from loader.core.config import (
    ConfigError,
    credentials_from_env,
    default_base_url,
    locate_mart,
    resolve_profiles_dir,
)
from python_tests.support.mart_project import DbtProject

CREDENTIALS = {
    "NETSUITE_ACCOUNT_ID": "1234567_SB1",
    "NETSUITE_CONSUMER_KEY": "ck-value",
    "NETSUITE_CONSUMER_SECRET": "cs-value",
    "NETSUITE_TOKEN_ID": "tk-value",
    "NETSUITE_TOKEN_SECRET": "ts-value",
}


def test_profile_path_is_rendered_with_env_var_default(project: DbtProject) -> None:
    location = locate_mart(project.root, env={})
    assert location.db_path == project.db_path
    assert location.schema_name == "main"
    assert location.project_name == "usage_billing"
    assert location.target_dir == project.root / "target"
    assert location.report_dir == project.root / "target" / "loader"


def test_profile_path_comes_from_the_environment(project: DbtProject, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.duckdb"
    location = locate_mart(project.root, env={"USAGE_DUCKDB_PATH": str(elsewhere)})
    assert location.db_path == elsewhere
    relative = locate_mart(project.root, env={"USAGE_DUCKDB_PATH": "data/x.duckdb"})
    assert relative.db_path == project.root / "data" / "x.duckdb"


def test_profiles_dir_rule(project: DbtProject, tmp_path: Path, monkeypatch) -> None:
    assert resolve_profiles_dir(project.root, None) == project.root
    assert resolve_profiles_dir(project.root, tmp_path) == tmp_path
    (project.root / "profiles.yml").rename(tmp_path / "profiles.yml")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_profiles_dir(project.root, None) == tmp_path / "home" / ".dbt"
    with pytest.raises(ConfigError, match="no profiles.yml"):
        locate_mart(project.root, env={})
    assert locate_mart(project.root, profiles_dir=tmp_path, env={}).db_path == project.db_path


def test_target_option_selects_the_output(project: DbtProject) -> None:
    profiles = project.root / "profiles.yml"
    profiles.write_text(
        profiles.read_text(encoding="utf-8")
        + "    ci:\n      type: duckdb\n      path: /tmp/ci.duckdb\n      schema: billing\n",
        encoding="utf-8",
    )
    location = locate_mart(project.root, target="ci", env={})
    assert (location.db_path, location.schema_name) == (Path("/tmp/ci.duckdb"), "billing")
    with pytest.raises(ConfigError, match="target 'prod' is not an output"):
        locate_mart(project.root, target="prod", env={})


def test_required_env_var_without_default_is_named(project: DbtProject) -> None:
    profiles = project.root / "profiles.yml"
    profiles.write_text(
        profiles.read_text(encoding="utf-8").replace(
            "env_var('USAGE_DUCKDB_PATH', 'target/usage_billing.duckdb')",
            "env_var('USAGE_DUCKDB_PATH')",
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="USAGE_DUCKDB_PATH"):
        locate_mart(project.root, env={})


def test_memory_path_is_refused(project: DbtProject) -> None:
    with pytest.raises(ConfigError, match="not a DuckDB file"):
        locate_mart(project.root, env={"USAGE_DUCKDB_PATH": ":memory:"})


def test_db_option_needs_no_dbt_project(tmp_path: Path, project: DbtProject) -> None:
    location = locate_mart(tmp_path, db=project.db_path, env={})
    assert location.db_path == project.db_path
    assert location.project_name is None
    with pytest.raises(ConfigError, match="no dbt_project.yml"):
        locate_mart(tmp_path, env={})


def test_db_option_reads_the_mart_directly(project: DbtProject, tmp_path: Path) -> None:
    moved = tmp_path / "copy.duckdb"
    project.db_path.rename(moved)
    assert project.run("plan").exit_code == 4
    result = project.run("plan", "--json", "--db", str(moved))
    assert result.exit_code == 0, result.stdout
    assert result.report["mart"].startswith(str(moved))


def test_missing_project_dir_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        locate_mart(tmp_path / "nowhere", env={})


def test_credentials_and_base_url() -> None:
    credentials = credentials_from_env(CREDENTIALS)
    assert credentials.realm == "1234567_SB1"
    assert credentials.base_url == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert "cs-value" not in repr(credentials)
    assert "ts-value" not in str(credentials.model_dump())
    override = credentials_from_env({**CREDENTIALS, "NETSUITE_BASE_URL": "http://127.0.0.1:9/"})
    assert override.base_url == "http://127.0.0.1:9"
    assert default_base_url("tstdrv123") == "https://tstdrv123.suitetalk.api.netsuite.com"


def test_missing_credentials_are_named_never_shown() -> None:
    with pytest.raises(ConfigError) as error:
        credentials_from_env({**CREDENTIALS, "NETSUITE_TOKEN_SECRET": "", "NETSUITE_TOKEN_ID": ""})
    message = str(error.value)
    assert "NETSUITE_TOKEN_ID" in message and "NETSUITE_TOKEN_SECRET" in message
    assert "cs-value" not in message and "ck-value" not in message
