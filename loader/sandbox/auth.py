"""OAuth 1.0 token-based authentication as NetSuite checks it (HMAC-SHA256, realm = account).

The signature is recomputed with oauthlib over the exact method, the URL the client used
(scheme, host, port, path and query) and the OAuth parameters of the `Authorization` header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import urlsplit

from oauthlib.common import Request
from oauthlib.oauth1.rfc5849 import signature, utils

from loader.sandbox.config import SandboxCredentials

SIGNATURE_METHOD = "HMAC-SHA256"
_REQUIRED = (
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
)


class AuthenticationError(Exception):
    """The request is not authenticated; the reason is for the sandbox's log only."""


class NonceLedger(Protocol):
    def claim_nonce(self, consumer_key: str, token_id: str, nonce: str, timestamp: int) -> bool:
        """Record the nonce; False when it was used before."""
        ...


class OAuthVerifier:
    """Checks the OAuth 1.0 signature, realm, keys, timestamp and nonce of one request."""

    def __init__(
        self,
        credentials: SandboxCredentials,
        nonces: NonceLedger,
        *,
        max_clock_skew_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._nonces = nonces
        self._max_skew = max_clock_skew_seconds
        self._clock = clock

    def verify(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
        """Raise `AuthenticationError` unless the request is signed by the known token."""
        header = headers.get("authorization")
        if not header or not header.lower().startswith("oauth "):
            raise AuthenticationError("no OAuth Authorization header")
        try:
            header_params = utils.parse_authorization_header(header)
            oauth_params = signature.collect_parameters(
                headers={"Authorization": header}, exclude_oauth_signature=False, with_realm=True
            )
        except ValueError as error:
            raise AuthenticationError("malformed Authorization header") from error
        names = [name for name, _ in header_params]
        if len(names) != len(set(names)):
            raise AuthenticationError("repeated OAuth parameter")
        params = dict(oauth_params)
        missing = [name for name in _REQUIRED if not params.get(name)]
        if missing:
            raise AuthenticationError(f"missing OAuth parameters: {', '.join(missing)}")
        self._check_identity(params)
        timestamp = self._check_timestamp(params["oauth_timestamp"])
        self._check_body_hash(params.get("oauth_body_hash"), body)
        self._check_signature(method, url, header, headers, body, params["oauth_signature"])
        claimed = self._nonces.claim_nonce(
            params["oauth_consumer_key"], params["oauth_token"], params["oauth_nonce"], timestamp
        )
        if not claimed:
            raise AuthenticationError("nonce already used")

    def _check_identity(self, params: Mapping[str, str]) -> None:
        credentials = self._credentials
        if params.get("oauth_version", "1.0") != "1.0":
            raise AuthenticationError("unsupported oauth_version")
        if params["oauth_signature_method"] != SIGNATURE_METHOD:
            raise AuthenticationError("signature method is not HMAC-SHA256")
        if params.get("realm") != credentials.account_id:
            raise AuthenticationError("realm is not the account id")
        if not hmac.compare_digest(params["oauth_consumer_key"], credentials.consumer_key):
            raise AuthenticationError("unknown consumer key")
        if not hmac.compare_digest(params["oauth_token"], credentials.token_id):
            raise AuthenticationError("unknown token")

    def _check_timestamp(self, value: str) -> int:
        if not value.isdigit():
            raise AuthenticationError("timestamp is not a number")
        timestamp = int(value)
        if abs(self._clock() - timestamp) > self._max_skew:
            raise AuthenticationError("timestamp outside the allowed window")
        return timestamp

    @staticmethod
    def _check_body_hash(body_hash: str | None, body: bytes) -> None:
        if body_hash is None:
            return
        expected = base64.b64encode(hashlib.sha1(body).digest()).decode("ascii")
        if not hmac.compare_digest(body_hash, expected):
            raise AuthenticationError("oauth_body_hash does not match the body")

    def _check_signature(
        self,
        method: str,
        url: str,
        header: str,
        headers: Mapping[str, str],
        body: bytes,
        given_signature: str,
    ) -> None:
        form_body: str | None = None
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            form_body = body.decode("utf-8", errors="replace")
        try:
            request = Request(url, http_method=method, body=form_body)
            request.params = signature.collect_parameters(
                uri_query=urlsplit(url).query,
                body=form_body,
                headers={"Authorization": header},
                exclude_oauth_signature=True,
                with_realm=False,
            )
        except ValueError as error:
            raise AuthenticationError("request parameters cannot be decoded") from error
        request.signature = given_signature
        credentials = self._credentials
        valid = signature.verify_hmac_sha256(
            request,
            client_secret=credentials.consumer_secret.get_secret_value(),
            resource_owner_secret=credentials.token_secret.get_secret_value(),
        )
        if not valid:
            raise AuthenticationError("signature does not match")
