"""What the sandbox answers: a response, NetSuite's error document, or a dropped connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from loader.sandbox import jsonio

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
ERROR_CONTENT_TYPE = "application/vnd.oracle.resource+json; type=error"

_RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-"
_ERROR_TYPES: dict[int, str] = {
    400: _RFC9110 + "15.5.1",
    401: _RFC9110 + "15.5.2",
    403: _RFC9110 + "15.5.4",
    404: _RFC9110 + "15.5.5",
    405: _RFC9110 + "15.5.6",
    408: _RFC9110 + "15.5.9",
    409: _RFC9110 + "15.5.10",
    411: _RFC9110 + "15.5.12",
    413: _RFC9110 + "15.5.14",
    415: _RFC9110 + "15.5.16",
    429: "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
    500: _RFC9110 + "15.6.1",
    501: _RFC9110 + "15.6.2",
    502: _RFC9110 + "15.6.3",
    503: _RFC9110 + "15.6.4",
    504: _RFC9110 + "15.6.5",
}


class ErrorDetail(BaseModel):
    """One entry of `o:errorDetails`."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    detail: str
    error_code: str = Field(alias="o:errorCode")
    error_path: str | None = Field(default=None, alias="o:errorPath")


@dataclass(frozen=True)
class Reply:
    """A complete HTTP response. `committed` marks a write that reached the state file."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    committed: bool = False

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class Drop:
    """Close the connection without sending any response."""


Outcome = Reply | Drop


class NetSuiteError(Exception):
    """An error answered with NetSuite's error document."""

    def __init__(
        self,
        status: int,
        details: Sequence[ErrorDetail],
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(details[0].detail if details else HTTPStatus(status).phrase)
        self.status = status
        self.details = tuple(details)
        self.headers = tuple(headers)

    @classmethod
    def of(
        cls,
        status: int,
        code: str,
        detail: str,
        path: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> NetSuiteError:
        return cls(status, [ErrorDetail(detail=detail, error_code=code, error_path=path)], headers)

    def reply(self) -> Reply:
        return error_reply(self.status, self.details, self.headers)


def error_document(status: int, details: Sequence[ErrorDetail]) -> dict[str, Any]:
    return {
        "type": _ERROR_TYPES.get(status, _RFC9110 + ("15.6" if status >= 500 else "15.5")),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "o:errorDetails": [
            detail.model_dump(by_alias=True, exclude_none=True) for detail in details
        ],
    }


def error_reply(
    status: int, details: Sequence[ErrorDetail], headers: Sequence[tuple[str, str]] = ()
) -> Reply:
    body = jsonio.dumps_bytes(error_document(status, details))
    return Reply(status, (("Content-Type", ERROR_CONTENT_TYPE), *headers), body)


def json_reply(status: int, document: Any, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    return Reply(
        status, (("Content-Type", JSON_CONTENT_TYPE), *headers), jsonio.dumps_bytes(document)
    )


@dataclass(frozen=True)
class StoredReply:
    """A reply kept in the state file, e.g. the result of an asynchronous job."""

    status: int
    location: str | None = None
    body: bytes = b""
    content_type: str | None = None

    @classmethod
    def of(cls, reply: Reply) -> StoredReply:
        return cls(
            status=reply.status,
            location=reply.header("Location"),
            body=reply.body,
            content_type=reply.header("Content-Type"),
        )

    def reply(self) -> Reply:
        headers: list[tuple[str, str]] = []
        if self.content_type:
            headers.append(("Content-Type", self.content_type))
        if self.location:
            headers.append(("Location", self.location))
        return Reply(self.status, tuple(headers), self.body)
