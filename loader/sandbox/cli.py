"""`usage-loader sandbox`: parses options, starts the server, prints the ready line."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from loader.sandbox.app import SandboxApp
from loader.sandbox.config import (
    FaultSettings,
    OAuth2Settings,
    SandboxConfig,
    SandboxCredentials,
)
from loader.sandbox.contract_book import DEFAULT_BOOK_DIR, ContractBookError
from loader.sandbox.oauth2 import load_public_key
from loader.sandbox.server import SandboxHTTPServer

READY_PREFIX = "sandbox listening on "


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file holding records, jobs, idempotency keys and nonces [default: in memory].",
)
@click.option(
    "--account-id",
    default=None,
    help="Account id the realm must name [default: $NETSUITE_ACCOUNT_ID, else TSTDRV1234567_SB1].",
)
@click.option(
    "--concurrency-limit",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Requests in flight before 429 CONCURRENCY_LIMIT_EXCEEDED; 0 means no limit.",
)
@click.option(
    "--latency-ms",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Time each request holds its concurrency slot.",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of record requests answered 503 before any write.",
)
@click.option(
    "--burst-429",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Answer the next N record requests 429.",
)
@click.option(
    "--drop-after-commit-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of record writes that commit and then lose their response.",
)
@click.option(
    "--job-delay-ms",
    type=click.IntRange(min=0),
    default=None,
    help="How long an asynchronous job stays pending [default: 3 x latency].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random faults.")
@click.option(
    "--oauth2-public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM public key or certificate of the OAuth 2.0 client credentials mapping; "
    "enables the token endpoint.",
)
@click.option(
    "--oauth2-client-id",
    default=None,
    help="Client id the JWT's iss must name [default: $NETSUITE_CLIENT_ID, else "
    "sandbox-client-id].",
)
@click.option(
    "--oauth2-certificate-id",
    default=None,
    help="Certificate id the JWT's kid must name [default: $NETSUITE_CERTIFICATE_ID, else "
    "sandbox-certificate-id].",
)
@click.option(
    "--oauth2-token-lifetime",
    type=click.IntRange(min=1),
    default=3600,
    show_default=True,
    help="Seconds an access token is accepted.",
)
@click.option(
    "--contract-book",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="USAGE_SANDBOX_CONTRACT_BOOK",
    default=None,
    help="Contract-book folder whose six NetSuite-held CSVs the sandbox serves as NetSuite's "
    "tables over SuiteQL [default: $USAGE_SANDBOX_CONTRACT_BOOK, else the project's "
    "seeds/contract_book].",
)
def sandbox(
    host: str,
    port: int,
    state_file: Path | None,
    account_id: str | None,
    concurrency_limit: int,
    latency_ms: int,
    error_rate: float,
    burst_429: int,
    drop_after_commit_rate: float,
    job_delay_ms: int | None,
    seed: int,
    oauth2_public_key: Path | None,
    oauth2_client_id: str | None,
    oauth2_certificate_id: str | None,
    oauth2_token_lifetime: int,
    contract_book: Path | None,
) -> None:
    """Run the local NetSuite sandbox: REST usage records, async jobs and SuiteQL, with faults.

    Credentials are read from NETSUITE_ACCOUNT_ID, NETSUITE_CONSUMER_KEY,
    NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID and NETSUITE_TOKEN_SECRET; any that is not set
    falls back to a documented sandbox default (see loader/sandbox/config.py).
    """
    logging.basicConfig(level=logging.INFO, format="sandbox %(levelname)s %(message)s")
    credentials, defaulted = SandboxCredentials.from_env(os.environ, account_id)
    config = SandboxConfig(
        host=host,
        port=port,
        state_file=state_file,
        credentials=credentials,
        faults=FaultSettings(
            concurrency_limit=concurrency_limit,
            latency_ms=latency_ms,
            error_rate=error_rate,
            burst_429=burst_429,
            drop_after_commit_rate=drop_after_commit_rate,
            job_delay_ms=job_delay_ms,
            seed=seed,
        ),
        oauth2=_oauth2_settings(
            oauth2_public_key, oauth2_client_id, oauth2_certificate_id, oauth2_token_lifetime
        ),
        contract_book=_contract_book_folder(contract_book),
    )
    if defaulted:
        click.echo(f"sandbox: using sandbox defaults for {', '.join(defaulted)}", err=True)
    if config.oauth2 is not None:
        click.echo("sandbox: OAuth 2.0 client credentials token endpoint enabled", err=True)
    click.echo(f"sandbox: account {credentials.account_id}", err=True)
    try:
        app = SandboxApp(config)
    except ContractBookError as error:
        raise click.ClickException(f"cannot serve the contract book: {error}") from error
    try:
        server = SandboxHTTPServer(config.host, config.port, app)
    except OSError as error:
        app.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
    signal.signal(signal.SIGTERM, _stop)
    app.start()
    click.echo(f"{READY_PREFIX}{server.base_url}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()


def _oauth2_settings(
    public_key: Path | None, client_id: str | None, certificate_id: str | None, lifetime: int
) -> OAuth2Settings | None:
    if public_key is None:
        return None
    pem = public_key.read_text(encoding="ascii")
    try:
        load_public_key(pem)
    except ValueError as error:
        raise click.BadParameter(
            f"{public_key} is not a PEM public key or certificate ({error})",
            param_hint="--oauth2-public-key",
        ) from None
    return OAuth2Settings(
        client_id=client_id or os.environ.get("NETSUITE_CLIENT_ID") or "sandbox-client-id",
        certificate_id=certificate_id
        or os.environ.get("NETSUITE_CERTIFICATE_ID")
        or "sandbox-certificate-id",
        public_key_pem=pem,
        token_lifetime_seconds=lifetime,
    )


def _contract_book_folder(given: Path | None) -> Path | None:
    """The folder named, else the project's seeds/contract_book when it is there."""
    if given is not None:
        if not given.is_dir():
            raise click.BadParameter(f"{given} is not a folder", param_hint="--contract-book")
        return given
    return DEFAULT_BOOK_DIR if DEFAULT_BOOK_DIR.is_dir() else None
