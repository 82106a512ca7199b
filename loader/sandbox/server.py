"""HTTP transport of the sandbox: a threading HTTP/1.1 server on loopback.

The standard library server is used because it owns the socket: a fault can commit a write
and then close the connection without sending a single byte, as a network failure would.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from loader.sandbox.app import CONTROL_PREFIX, REST_PREFIX, IncomingRequest, SandboxApp
from loader.sandbox.replies import Drop, ErrorDetail, Outcome, Reply, error_reply, json_reply

MAX_BODY_BYTES = 10 * 1024 * 1024
IDLE_CONNECTION_SECONDS = 120

log = logging.getLogger(__name__)


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection; `app` answers the requests."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: SandboxApp) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        super().__init__((host, port), SandboxRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which may wait on DNS; not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    @property
    def base_url(self) -> str:
        host = self.server_name
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_port}"


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "NetSuiteSandbox/1.0"
    sys_version = ""
    timeout = IDLE_CONNECTION_SECONDS
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        app = self.server.app
        body = self._read_body()
        if body is None:
            return
        request = self._incoming(body)
        counted = request.path.startswith(REST_PREFIX)
        try:
            if counted:
                outcome = app.handle_rest(request)
            elif request.path.startswith(CONTROL_PREFIX):
                outcome = app.handle_control(request)
            else:
                outcome = json_reply(404, {"error": f"nothing at {request.path}"})
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.path)
            unexpected = ErrorDetail(
                detail="An unexpected error occurred.", error_code="UNEXPECTED_ERROR"
            )
            outcome = error_reply(500, [unexpected])
        if counted:
            # Counted before the answer leaves, so a client that reads the stats after its
            # answer always finds it counted.
            app.stats.count_outcome("dropped" if isinstance(outcome, Drop) else str(outcome.status))
        self._send(outcome)

    def _incoming(self, body: bytes) -> IncomingRequest:
        split = urlsplit(self.path)
        host = self.headers.get("Host") or f"{self.server.server_name}:{self.server.server_port}"
        return IncomingRequest(
            method=self.command,
            target=self.path,
            path=unquote(split.path),
            query=split.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            base_url=f"http://{host}",
            client_host=str(self.client_address[0]),
        )

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self._refuse(411, "Send the request body with a Content-Length header.")
            return None
        length_text = self.headers.get("Content-Length", "0").strip() or "0"
        if not length_text.isdigit():
            self._refuse(400, "The Content-Length header is not a number.")
            return None
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self._refuse(413, "The request body is too large.")
            return None
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int, detail: str) -> None:
        self.close_connection = True
        reply = error_reply(status, [ErrorDetail(detail=detail, error_code="INVALID_REQUEST")])
        self._send(reply, extra=(("Connection", "close"),))

    def _send(self, outcome: Outcome, extra: tuple[tuple[str, str], ...] = ()) -> None:
        if isinstance(outcome, Drop):
            self._drop()
            return
        reply: Reply = outcome
        try:
            self.send_response(reply.status)
            for name, value in (*reply.headers, *extra):
                self.send_header(name, value)
            if reply.status != 204 and reply.status >= 200:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if reply.body and reply.status != 204:
                self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        """Close the socket without a response: the client sees the connection go away."""
        self.close_connection = True
        self.log_message('"%s" dropped without a response', self.requestline)
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"sandbox {self.address_string()} {format % args}\n")
