"""OAuth 2.0 client credentials as NetSuite's token endpoint answers them.

`POST /services/rest/auth/oauth2/v1/token` with `grant_type=client_credentials`,
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and the JWT in
`client_assertion`. The JWT is checked against the configured public key (the certificate the
integration's mapping holds): header `typ` JWT, `alg` PS256/384/512 or ES256/384/512, `kid` the
certificate id; claims `iss` the client id, `scope` naming `rest_webservices`, `aud` the token
URL, `iat` and `exp` at most an hour apart and not past. The answer is a Bearer access token that
expires after the configured lifetime; an expired or unknown token is answered 401.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from loader.sandbox.config import OAuth2Settings
from loader.sandbox.replies import Reply, json_reply

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
MAX_ASSERTION_SECONDS = 3600

log = logging.getLogger(__name__)


class GrantRefused(Exception):
    """The grant is refused; the reason is for the sandbox's log only."""

    def __init__(self, error: str, reason: str) -> None:
        super().__init__(reason)
        self.error = error


def load_public_key(pem: str) -> Any:
    """A PEM public key, or the public key of a PEM X.509 certificate."""
    data = pem.encode("ascii")
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


class TokenIssuer:
    """Issues and checks access tokens; tokens live in memory (a restart forgets them)."""

    def __init__(self, settings: OAuth2Settings, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._public_key = load_public_key(settings.public_key_pem)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}

    def token(self, body: bytes, content_type: str, token_url: str) -> Reply:
        """Answer one token request: 200 with a token, or 400/401 with an OAuth error."""
        if not content_type.lower().startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request")
        form = {
            name: values[-1]
            for name, values in parse_qs(body.decode("utf-8", errors="replace")).items()
        }
        try:
            self._check_grant(form, token_url)
        except GrantRefused as refusal:
            log.warning("token endpoint refused the grant: %s", refusal)
            status = 401 if refusal.error == "invalid_client" else 400
            return _oauth_error(status, refusal.error)
        token = secrets.token_urlsafe(32)
        lifetime = self._settings.token_lifetime_seconds
        with self._lock:
            now = self._clock()
            self._tokens = {key: until for key, until in self._tokens.items() if until > now}
            self._tokens[token] = now + lifetime
        return json_reply(
            200, {"access_token": token, "expires_in": str(lifetime), "token_type": "Bearer"}
        )

    def accepts(self, token: str) -> bool:
        with self._lock:
            until = self._tokens.get(token)
        return until is not None and until > self._clock()

    def _check_grant(self, form: dict[str, str], token_url: str) -> None:
        if form.get("grant_type") != "client_credentials":
            raise GrantRefused("unsupported_grant_type", "grant_type is not client_credentials")
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise GrantRefused("invalid_request", "client_assertion_type is not jwt-bearer")
        assertion = form.get("client_assertion", "")
        settings = self._settings
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError as error:
            raise GrantRefused("invalid_request", f"malformed JWT: {error}") from None
        if header.get("typ") != "JWT":
            raise GrantRefused("invalid_request", "JWT header typ is not JWT")
        if header.get("alg") not in ALGORITHMS:
            raise GrantRefused("invalid_request", f"JWT alg {header.get('alg')} is not allowed")
        if header.get("kid") != settings.certificate_id:
            raise GrantRefused("invalid_client", "kid is not the certificate id of the mapping")
        try:
            claims = jwt.decode(
                assertion,
                self._public_key,
                algorithms=ALGORITHMS,
                audience=token_url,
                options={"require": ["iss", "aud", "iat", "exp"]},
                leeway=0,
            )
        except jwt.InvalidSignatureError:
            raise GrantRefused("invalid_grant", "JWT signature does not verify") from None
        except (jwt.InvalidTokenError, TypeError, ValueError) as error:
            # A key of another type than the certificate's (EC against RSA) is a TypeError.
            raise GrantRefused("invalid_grant", f"JWT refused: {error}") from None
        if claims.get("iss") != settings.client_id:
            raise GrantRefused("invalid_client", "iss is not the integration's client id")
        if int(claims["exp"]) - int(claims["iat"]) > MAX_ASSERTION_SECONDS:
            raise GrantRefused("invalid_grant", "exp is more than an hour after iat")
        scope = claims.get("scope")
        scopes = scope if isinstance(scope, list) else str(scope or "").split(",")
        if "rest_webservices" not in {str(item).strip() for item in scopes}:
            raise GrantRefused("invalid_scope", "scope does not name rest_webservices")


def _oauth_error(status: int, error: str) -> Reply:
    return json_reply(status, {"error": error})
