"""Where the mart lives and how to reach NetSuite.

The mart is found the way dbt finds it: the project's `dbt_project.yml` names the profile, the
profiles directory holds `profiles.yml`, the target's output names the DuckDB file and schema.
NetSuite is reached with one of its two authentications, chosen by the variables set: OAuth 2.0
client credentials (`NETSUITE_CLIENT_ID`, `NETSUITE_CERTIFICATE_ID`, `NETSUITE_PRIVATE_KEY_FILE`)
or OAuth 1.0 token-based authentication (`NETSUITE_CONSUMER_KEY`, `NETSUITE_CONSUMER_SECRET`,
`NETSUITE_TOKEN_ID`, `NETSUITE_TOKEN_SECRET`), with `NETSUITE_ACCOUNT_ID` in both.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import BaseModel, ConfigDict, SecretStr

MART_TABLE = "fct_usage_records"
DEFAULT_SCHEMA = "main"
TBA_VARS = (
    "NETSUITE_CONSUMER_KEY",
    "NETSUITE_CONSUMER_SECRET",
    "NETSUITE_TOKEN_ID",
    "NETSUITE_TOKEN_SECRET",
)
OAUTH2_VARS = ("NETSUITE_CLIENT_ID", "NETSUITE_CERTIFICATE_ID", "NETSUITE_PRIVATE_KEY_FILE")
CREDENTIAL_VARS = ("NETSUITE_ACCOUNT_ID", *TBA_VARS)
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
MIN_RSA_BITS = 3072
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_KEY_HELP = (
    "make one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out key.pem` "
    "or `openssl ecparam -name prime256v1 -genkey -noout -out key.pem`, upload its certificate "
    "in NetSuite's OAuth 2.0 Client Credentials Setup and set NETSUITE_CERTIFICATE_ID"
)


class ConfigError(Exception):
    """A setting is missing or wrong: the run cannot start (exit 4)."""


class MartLocation(BaseModel):
    """The DuckDB file and schema holding `fct_usage_records`, and the dbt artifacts folder."""

    model_config = ConfigDict(frozen=True)

    project_dir: Path
    project_name: str | None
    target_dir: Path
    db_path: Path
    schema_name: str | None
    described_by: str

    @property
    def report_dir(self) -> Path:
        return self.target_dir / "loader"


class TokenBasedAuth(BaseModel):
    """OAuth 1.0 token-based authentication: an integration record and an access token."""

    model_config = ConfigDict(frozen=True)

    consumer_key: SecretStr
    consumer_secret: SecretStr
    token_id: SecretStr
    token_secret: SecretStr


class ClientCredentialsAuth(BaseModel):
    """OAuth 2.0 client credentials (machine to machine): the integration's client id and the
    certificate mapping's id and private key, which signs the JWT sent to the token endpoint."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    certificate_id: str
    private_key_file: Path
    private_key_pem: SecretStr
    algorithm: str


class NetSuiteCredentials(BaseModel):
    """How to reach one NetSuite account: exactly one of the two authentications.

    Never printed: secrets stay secret."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    base_url: str
    tba: TokenBasedAuth | None = None
    oauth2: ClientCredentialsAuth | None = None

    @property
    def realm(self) -> str:
        return self.account_id.upper()

    @property
    def token_url(self) -> str:
        return f"{self.base_url}{TOKEN_PATH}"

    def secret_values(self) -> list[str]:
        """The values that must never appear in any output, log or report."""
        values: list[str] = []
        if self.tba is not None:
            values += [
                self.tba.consumer_key.get_secret_value(),
                self.tba.consumer_secret.get_secret_value(),
                self.tba.token_id.get_secret_value(),
                self.tba.token_secret.get_secret_value(),
            ]
        if self.oauth2 is not None:
            values += _pem_secrets(self.oauth2.private_key_pem.get_secret_value())
        return [value for value in values if value]


def default_base_url(account_id: str) -> str:
    """NetSuite's REST host: account id lowercased, `_` written as `-` (`123_SB1` → `123-sb1`)."""
    host = account_id.strip().lower().replace("_", "-")
    return f"https://{host}.suitetalk.api.netsuite.com"


def credentials_from_env(env: Mapping[str, str]) -> NetSuiteCredentials:
    """Read `NETSUITE_ACCOUNT_ID`, one authentication's variables and `NETSUITE_BASE_URL`
    (optional) from `env`. Both authentications complete, or neither, is a configuration error
    that names the variables."""
    given = {name: env.get(name, "").strip() for name in (*TBA_VARS, *OAUTH2_VARS)}
    tba_set = [name for name in TBA_VARS if given[name]]
    oauth2_set = [name for name in OAUTH2_VARS if given[name]]
    tba_complete = len(tba_set) == len(TBA_VARS)
    oauth2_complete = len(oauth2_set) == len(OAUTH2_VARS)
    if tba_complete and oauth2_complete:
        raise ConfigError(
            "both NetSuite authentications are set: keep either OAuth 2.0 client credentials "
            f"({', '.join(OAUTH2_VARS)}) or token-based authentication ({', '.join(TBA_VARS)}), "
            "and unset the other"
        )
    if not tba_complete and not oauth2_complete:
        if oauth2_set or not tba_set:
            missing = [name for name in OAUTH2_VARS if not given[name]]
            message = "set " + ", ".join(missing) + " (OAuth 2.0 client credentials"
            if not oauth2_set:
                message += ", or " + ", ".join(TBA_VARS) + " for token-based authentication"
            raise ConfigError("NetSuite credentials are incomplete: " + message + ")")
        missing = [name for name in TBA_VARS if not given[name]]
        raise ConfigError(
            "NetSuite credentials are incomplete: set " + ", ".join(missing) + " (token-based "
            "authentication of an integration record and an access token)"
        )
    partial = oauth2_set if tba_complete else tba_set
    if partial:
        raise ConfigError(
            "NetSuite credentials mix the two authentications: unset " + ", ".join(partial)
        )
    account_id = env.get("NETSUITE_ACCOUNT_ID", "").strip()
    if not account_id:
        raise ConfigError("NetSuite credentials are incomplete: set NETSUITE_ACCOUNT_ID")
    base_url = env.get("NETSUITE_BASE_URL", "").strip() or default_base_url(account_id)
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("NETSUITE_BASE_URL must start with http:// or https://")
    if tba_complete:
        return NetSuiteCredentials(
            account_id=account_id,
            base_url=base_url.rstrip("/"),
            tba=TokenBasedAuth(
                consumer_key=SecretStr(given["NETSUITE_CONSUMER_KEY"]),
                consumer_secret=SecretStr(given["NETSUITE_CONSUMER_SECRET"]),
                token_id=SecretStr(given["NETSUITE_TOKEN_ID"]),
                token_secret=SecretStr(given["NETSUITE_TOKEN_SECRET"]),
            ),
        )
    key_file = Path(given["NETSUITE_PRIVATE_KEY_FILE"]).expanduser()
    pem, algorithm = read_private_key(key_file)
    return NetSuiteCredentials(
        account_id=account_id,
        base_url=base_url.rstrip("/"),
        oauth2=ClientCredentialsAuth(
            client_id=given["NETSUITE_CLIENT_ID"],
            certificate_id=given["NETSUITE_CERTIFICATE_ID"],
            private_key_file=key_file,
            private_key_pem=SecretStr(pem),
            algorithm=algorithm,
        ),
    )


def read_private_key(path: Path) -> tuple[str, str]:
    """The PEM text of the certificate mapping's private key and the JWT algorithm it signs
    with: PS256 for RSA of at least 3072 bits, ES256/384/512 for EC P-256/384/521."""
    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"NETSUITE_PRIVATE_KEY_FILE: cannot read {path} ({type(error).__name__}): name the "
            "PEM file of the private key of the certificate mapped to the integration"
        ) from None
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except TypeError:
        raise ConfigError(
            f"NETSUITE_PRIVATE_KEY_FILE: {path} is encrypted; store the key unencrypted, "
            "readable by the loader alone (chmod 600)"
        ) from None
    except ValueError:
        raise ConfigError(
            f"NETSUITE_PRIVATE_KEY_FILE: {path} is not a PEM private key: {_KEY_HELP}"
        ) from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(
                f"NETSUITE_PRIVATE_KEY_FILE: {path} holds a {key.key_size}-bit RSA key; NetSuite "
                f"needs RSA of {MIN_RSA_BITS} bits or more (or EC P-256/384/521): {_KEY_HELP}"
            )
        return pem, "PS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALGORITHMS:
        return pem, _EC_ALGORITHMS[key.curve.name]
    raise ConfigError(
        f"NETSUITE_PRIVATE_KEY_FILE: {path} holds a key NetSuite does not take; it needs RSA of "
        f"{MIN_RSA_BITS} bits or more or EC P-256/384/521: {_KEY_HELP}"
    )


def secret_values_from_env(env: Mapping[str, str]) -> list[str]:
    """Every secret the environment names, to keep out of any output: the token-based
    secrets and the private key's PEM text (read from its file, when it can be)."""
    values = [env[name].strip() for name in TBA_VARS if env.get(name, "").strip()]
    key_file = env.get("NETSUITE_PRIVATE_KEY_FILE", "").strip()
    if key_file:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            values += _pem_secrets(Path(key_file).expanduser().read_text(encoding="ascii"))
    return values


def _pem_secrets(pem: str) -> list[str]:
    """The PEM text, and each line of its body, so that no part of the key shows either."""
    body = [
        line.strip()
        for line in pem.splitlines()
        if line.strip() and not line.startswith("-----") and len(line.strip()) >= 16
    ]
    return [pem.strip(), *body]


def resolve_profiles_dir(project_dir: Path, profiles_dir: Path | None) -> Path:
    """dbt's rule: `--profiles-dir` (or `DBT_PROFILES_DIR`), else the project directory when it
    holds `profiles.yml`, else `~/.dbt`."""
    if profiles_dir is not None:
        return profiles_dir
    if (project_dir / "profiles.yml").is_file():
        return project_dir
    return Path.home() / ".dbt"


def locate_mart(
    project_dir: Path,
    *,
    profiles_dir: Path | None = None,
    target: str | None = None,
    db: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> MartLocation:
    """Find the DuckDB file and schema of the mart, as `dbt build` would write it."""
    env = os.environ if env is None else env
    project_dir = project_dir.expanduser().resolve()
    if not project_dir.is_dir():
        raise ConfigError(f"project directory {project_dir} does not exist (--project-dir)")
    project = _read_dbt_project(project_dir, env, required=db is None)
    project_name = _as_str(project.get("name")) or None
    target_path = env.get("DBT_TARGET_PATH") or _as_str(project.get("target-path")) or "target"
    target_dir = _under(project_dir, target_path)

    if db is not None:
        db_path = _under(Path.cwd(), str(db))
        schema_name = _schema_if_resolvable(project, project_dir, profiles_dir, target, env)
        return MartLocation(
            project_dir=project_dir,
            project_name=project_name,
            target_dir=target_dir,
            db_path=db_path,
            schema_name=schema_name,
            described_by=f"--db {db_path}",
        )

    output, profile_name, target_name = _read_output(
        project, project_dir, profiles_dir, target, env
    )
    adapter = _as_str(output.get("type"))
    if adapter != "duckdb":
        raise ConfigError(
            f"target '{target_name}' of profile '{profile_name}' has type: {adapter}; "
            "usage-loader reads the mart from DuckDB: choose a duckdb target with --target "
            "or name the DuckDB file with --db PATH"
        )
    raw_path = _as_str(output.get("path")) or ":memory:"
    if raw_path == ":memory:" or raw_path.startswith(("md:", "motherduck:")):
        raise ConfigError(
            f"target '{target_name}' of profile '{profile_name}' has path: {raw_path}, "
            "which is not a DuckDB file; set path to a file or pass --db PATH"
        )
    return MartLocation(
        project_dir=project_dir,
        project_name=project_name,
        target_dir=target_dir,
        db_path=_under(project_dir, raw_path),
        schema_name=_as_str(output.get("schema")) or DEFAULT_SCHEMA,
        described_by=f"profile '{profile_name}', target '{target_name}'",
    )


def _read_dbt_project(project_dir: Path, env: Mapping[str, str], *, required: bool) -> dict:
    path = project_dir / "dbt_project.yml"
    if not path.is_file():
        if required:
            raise ConfigError(
                f"no dbt_project.yml in {project_dir}: pass --project-dir (the dbt project) "
                "or name the DuckDB file with --db PATH"
            )
        return {}
    project = _load_yaml(path)
    return {key: _render(project.get(key), env) for key in ("name", "profile", "target-path")}


def _read_output(
    project: dict,
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    env: Mapping[str, str],
) -> tuple[dict, str, str]:
    profile_name = _as_str(project.get("profile"))
    if not profile_name:
        raise ConfigError(f"dbt_project.yml in {project_dir} names no profile (profile:)")
    profiles_home = resolve_profiles_dir(project_dir, profiles_dir)
    profiles_path = profiles_home / "profiles.yml"
    if not profiles_path.is_file():
        raise ConfigError(
            f"no profiles.yml in {profiles_home}: set --profiles-dir or DBT_PROFILES_DIR"
        )
    profiles = _load_yaml(profiles_path)
    profile = profiles.get(profile_name)
    if not isinstance(profile, dict):
        raise ConfigError(f"profile '{profile_name}' is not in {profiles_path}")
    target_name = target or _as_str(_render(profile.get("target"), env))
    if not target_name:
        raise ConfigError(f"profile '{profile_name}' names no target: pass --target")
    outputs = profile.get("outputs") or {}
    output = outputs.get(target_name)
    if not isinstance(output, dict):
        known = ", ".join(sorted(str(name) for name in outputs)) or "none"
        raise ConfigError(
            f"target '{target_name}' is not an output of profile '{profile_name}' "
            f"(outputs: {known}): check --target"
        )
    rendered = {
        key: _render(output.get(key), env) for key in ("type", "path", "schema") if key in output
    }
    return rendered, profile_name, target_name


def _schema_if_resolvable(
    project: dict,
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    env: Mapping[str, str],
) -> str | None:
    """With `--db`, the profile still names the schema when it can be read; else discover it."""
    if not project.get("profile"):
        return None
    try:
        output, _, _ = _read_output(project, project_dir, profiles_dir, target, env)
    except ConfigError:
        return None
    return _as_str(output.get("schema")) or None


def _load_yaml(path: Path) -> dict:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} is not a YAML mapping")
    return loaded


def _render(value: Any, env: Mapping[str, str]) -> Any:
    """Render dbt's `{{ env_var('NAME', 'default') }}` in a profile or project value."""
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is not None:
            return str(default)
        raise ConfigError(f"environment variable {name} is required by the dbt profile")

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    try:
        return environment.from_string(value).render(env_var=env_var)
    except jinja2.TemplateError as error:
        raise ConfigError(f"cannot render dbt setting {value!r}: {error}") from error


def _as_str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _under(base: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else (base / candidate).resolve()
