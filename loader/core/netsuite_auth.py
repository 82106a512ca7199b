"""The `Authorization` header of each request, by either of NetSuite's authentications.

Token-based authentication signs every request anew (OAuth 1.0, HMAC-SHA256, realm = the account
id). OAuth 2.0 client credentials signs a JWT with the certificate mapping's private key, posts it
to the token endpoint, caches the access token and gets a new one before it expires; a 401 drops
the cached token so that the retry asks for a new one.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

import httpx
import jwt
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from oauthlib.oauth1 import Client as OAuthClient

from loader.core.config import ClientCredentialsAuth, NetSuiteCredentials, TokenBasedAuth

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "rest_webservices"
ASSERTION_SECONDS = 300
RENEW_MARGIN_SECONDS = 60.0
RETRYABLE_TOKEN_STATUS = frozenset({429, 500, 502, 503, 504})


class TokenRefused(Exception):
    """The token endpoint refused the client credentials (4xx): stops the run."""


class TokenEndpointBusy(Exception):
    """The token endpoint answered 429 or 5xx: retried as any request is."""


class Authenticator(Protocol):
    def authorization(self, method: str, url: str) -> str:
        """The `Authorization` header value for one attempt of one request."""
        ...

    def refused(self) -> None:
        """NetSuite answered 401 to a request sent with the current authorization."""
        ...


def authenticator_for(
    credentials: NetSuiteCredentials, http: httpx.Client, clock: Callable[[], float] = time.time
) -> Authenticator:
    if credentials.oauth2 is not None:
        return ClientCredentialsSession(credentials.oauth2, credentials.token_url, http, clock)
    if credentials.tba is not None:
        return TokenBasedSigner(credentials.tba, credentials.realm)
    raise ValueError("credentials hold no authentication")


class TokenBasedSigner:
    """OAuth 1.0 with HMAC-SHA256: a fresh nonce and timestamp for every attempt."""

    def __init__(self, tba: TokenBasedAuth, realm: str) -> None:
        self._tba = tba
        self._realm = realm

    def authorization(self, method: str, url: str) -> str:
        tba = self._tba
        signer = OAuthClient(
            tba.consumer_key.get_secret_value(),
            client_secret=tba.consumer_secret.get_secret_value(),
            resource_owner_key=tba.token_id.get_secret_value(),
            resource_owner_secret=tba.token_secret.get_secret_value(),
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=self._realm,
        )
        _, headers, _ = signer.sign(url, http_method=method)
        return str(headers["Authorization"])

    def refused(self) -> None:
        return None


class ClientCredentialsSession:
    """OAuth 2.0 client credentials: one access token at a time, shared by the workers."""

    def __init__(
        self,
        auth: ClientCredentialsAuth,
        token_url: str,
        http: httpx.Client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._auth = auth
        self._token_url = token_url
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.tokens_fetched = 0

    def authorization(self, method: str, url: str) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch()
            return f"Bearer {self._token}"

    def refused(self) -> None:
        with self._lock:
            self._token = None

    def assertion(self) -> str:
        """The JWT of the client credentials grant, signed with the mapping's private key."""
        auth = self._auth
        issued = int(self._clock())
        claims = {
            "iss": auth.client_id,
            "scope": SCOPE,
            "aud": self._token_url,
            "iat": issued,
            "exp": issued + ASSERTION_SECONDS,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(
            claims,
            auth.private_key_pem.get_secret_value(),
            algorithm=auth.algorithm,
            headers={"typ": "JWT", "kid": auth.certificate_id},
        )

    def _fetch(self) -> None:
        """The caller holds the lock."""
        requested = self._clock()
        response = self._http.post(
            self._token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.assertion(),
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code in RETRYABLE_TOKEN_STATUS:
            raise TokenEndpointBusy(f"token endpoint answered HTTP {response.status_code}")
        body = _json_object(response)
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            error = body.get("error") or response.reason_phrase or "no access token"
            raise TokenRefused(
                f"NetSuite's token endpoint {self._token_url} refused the client credentials "
                f"(HTTP {response.status_code} {error}): check NETSUITE_CLIENT_ID (the integration "
                "record's client id, with the client credentials grant enabled), "
                "NETSUITE_CERTIFICATE_ID (the certificate mapping's id) and that "
                "NETSUITE_PRIVATE_KEY_FILE is the private key of that certificate"
            )
        lifetime = _seconds(body.get("expires_in"), default=3600.0)
        margin = min(RENEW_MARGIN_SECONDS, lifetime / 4)
        self._token = token
        self._renew_at = requested + lifetime - margin
        self.tokens_fetched += 1


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _seconds(value: object, *, default: float) -> float:
    try:
        seconds = float(str(value))
    except ValueError:
        return default
    return seconds if seconds > 0 else default
