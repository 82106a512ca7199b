"""OAuth 2.0 client credentials (machine to machine) end to end against the sandbox: a JWT signed
with a real RSA 3072 or EC P-256 key, a token endpoint that checks it, expiring Bearer tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from loader.core.config import credentials_from_env
from loader.core.netsuite_auth import ClientCredentialsSession
from python_tests.support.mart_project import DbtProject, sendable_ids
from python_tests.support.sandbox_server import SandboxServer

TOKEN_REQUEST = "POST /services/rest/auth/oauth2/v1/token"


def write_key_pair(directory: Path, name: str, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("keys")
    return {
        "rsa3072": write_key_pair(
            directory, "rsa3072", rsa.generate_private_key(public_exponent=65537, key_size=3072)
        ),
        "ec256": write_key_pair(directory, "ec256", ec.generate_private_key(ec.SECP256R1())),
        "other": write_key_pair(directory, "other", ec.generate_private_key(ec.SECP256R1())),
        "rsa2048": write_key_pair(
            directory, "rsa2048", rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
    }


@pytest.fixture
def oauth2_sandbox(
    tmp_path: Path, keys: dict[str, tuple[Path, Path]], request: pytest.FixtureRequest
) -> Iterator[SandboxServer]:
    kind, lifetime = getattr(request, "param", ("rsa3072", 3600))
    with SandboxServer(
        state_file=tmp_path / "netsuite.sqlite3",
        oauth2_public_key=keys[kind][1],
        oauth2_token_lifetime=lifetime,
    ) as server:
        yield server


def key_secrets(private_key: Path) -> list[str]:
    lines = private_key.read_text().splitlines()
    return [line for line in lines if line and not line.startswith("-----")]


@pytest.mark.parametrize("kind", ["rsa3072", "ec256"])
def test_push_and_reconcile_with_client_credentials(
    project: DbtProject, tmp_path: Path, keys: dict[str, tuple[Path, Path]], kind: str
) -> None:
    private_key, public_key = keys[kind]
    with SandboxServer(
        state_file=tmp_path / "netsuite.sqlite3", oauth2_public_key=public_key
    ) as sandbox:
        env = sandbox.oauth2_env(private_key)
        result = project.run("push", "--json", env=env)
        assert result.exit_code == 0, result.stdout + result.stderr
        assert {row.external_id for row in sandbox.records()} == sendable_ids(project.records)
        assert "401" not in sandbox.stats()["by_status"]
        assert sandbox.log_text().count(TOKEN_REQUEST) == 1
        again = project.run("reconcile", "--json", "--as-of", "2026-06-15", env=env)
        assert again.exit_code == 0, again.stdout
        assert again.report["details"]["netsuite_records"] == 8
    texts = result.stdout + result.stderr + again.stdout + again.stderr
    reports = b"".join(path.read_bytes() for path in project.report_dir.glob("*.json"))
    for secret in key_secrets(private_key):
        assert secret not in texts
        assert secret.encode() not in reports


@pytest.mark.parametrize("oauth2_sandbox", [("ec256", 2)], indirect=True)
def test_the_access_token_is_renewed_before_it_expires(
    project: DbtProject, oauth2_sandbox: SandboxServer, keys: dict[str, tuple[Path, Path]]
) -> None:
    sandbox = oauth2_sandbox
    sandbox.set_faults(latency_ms=450)
    env = sandbox.oauth2_env(keys["ec256"][0])
    result = project.run("push", "--json", "--concurrency", "1", env=env)
    assert result.exit_code == 0, result.stdout
    assert sandbox.log_text().count(TOKEN_REQUEST) >= 2
    assert "401" not in sandbox.stats()["by_status"]
    assert len(sandbox.records()) == 8


@pytest.mark.parametrize("oauth2_sandbox", [("ec256", 1)], indirect=True)
def test_an_expired_or_unknown_token_is_refused(
    oauth2_sandbox: SandboxServer, keys: dict[str, tuple[Path, Path]]
) -> None:
    sandbox = oauth2_sandbox
    credentials = credentials_from_env(sandbox.oauth2_env(keys["ec256"][0]))
    assert credentials.oauth2 is not None
    url = f"{sandbox.base_url}/services/rest/record/v1/usage/eid:UR-X-20260101"
    with httpx.Client(trust_env=False) as http:
        session = ClientCredentialsSession(credentials.oauth2, credentials.token_url, http)
        bearer = session.authorization("GET", url)
        assert http.get(url, headers={"Authorization": bearer}).status_code == 404
        time.sleep(1.2)
        assert http.get(url, headers={"Authorization": bearer}).status_code == 401
        unknown = http.get(url, headers={"Authorization": "Bearer not-a-token"})
        assert unknown.status_code == 401
        assert unknown.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def test_a_wrong_key_is_exit_4(
    project: DbtProject, oauth2_sandbox: SandboxServer, keys: dict[str, tuple[Path, Path]]
) -> None:
    env = oauth2_sandbox.oauth2_env(keys["other"][0])
    result = project.run("push", "--json", env=env)
    assert result.exit_code == 4, result.stdout
    report = result.report
    assert report["status"] == "authentication_failed"
    assert "/services/rest/auth/oauth2/v1/token" in report["message"]
    assert "NETSUITE_CERTIFICATE_ID" in report["message"]
    assert oauth2_sandbox.stats()["requests"] == 1
    assert oauth2_sandbox.records() == []


def test_a_wrong_certificate_id_is_exit_4(
    project: DbtProject, oauth2_sandbox: SandboxServer, keys: dict[str, tuple[Path, Path]]
) -> None:
    env = {
        **oauth2_sandbox.oauth2_env(keys["rsa3072"][0]),
        "NETSUITE_CERTIFICATE_ID": "another-certificate",
    }
    result = project.run("push", "--json", env=env)
    assert result.exit_code == 4
    assert "HTTP 401 invalid_client" in result.report["message"]


def test_an_rsa_key_under_3072_bits_is_refused(
    project: DbtProject, sandbox: SandboxServer, keys: dict[str, tuple[Path, Path]]
) -> None:
    env = sandbox.oauth2_env(keys["rsa2048"][0])
    result = project.run("push", env=env)
    assert result.exit_code == 4
    assert "2048-bit RSA key" in result.stderr
    assert "3072 bits or more" in result.stderr
    assert sandbox.stats()["requests"] == 0


def test_both_authentications_or_neither_are_exit_4(
    project: DbtProject, sandbox: SandboxServer, keys: dict[str, tuple[Path, Path]]
) -> None:
    both = project.run("push", env={**sandbox.loader_env, **sandbox.oauth2_env(keys["ec256"][0])})
    assert both.exit_code == 4
    assert "NETSUITE_CLIENT_ID" in both.stderr and "NETSUITE_TOKEN_ID" in both.stderr
    neither = project.run(
        "push",
        env={
            "NETSUITE_ACCOUNT_ID": sandbox.credentials["NETSUITE_ACCOUNT_ID"],
            "NETSUITE_BASE_URL": sandbox.base_url,
        },
    )
    assert neither.exit_code == 4
    assert "NETSUITE_PRIVATE_KEY_FILE" in neither.stderr
    assert "NETSUITE_CONSUMER_KEY" in neither.stderr
    half = project.run(
        "push",
        env={
            **sandbox.oauth2_env(keys["ec256"][0]),
            "NETSUITE_CERTIFICATE_ID": "",
        },
    )
    assert half.exit_code == 4
    assert "set NETSUITE_CERTIFICATE_ID" in half.stderr
    assert sandbox.stats()["requests"] == 0
