"""The local tenant as a real HTTP(S) server on loopback.

Runs in a background thread for the embedded tenant and tests, or in the
foreground for ``auth0-actions emulator serve``. Every request passes the
fault injector (latency, rate limits, faults, holds), the bearer-token and
scope checks of its route, then its handler; every error leaves as an
Auth0-shaped JSON body.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from auth0_actions import clock
from auth0_actions.emulator.faults import DropConnection
from auth0_actions.emulator.http import MAX_BODY_BYTES, ApiError, Request, Response
from auth0_actions.emulator.request_log import LoggedRequest
from auth0_actions.emulator.wire import HeaderError, read_headers, response_bytes

POLL_INTERVAL_S = 0.02  # how soon a stopped server notices


def answer(
    app: Any,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes | Callable[[], bytes],
) -> tuple[Response, dict[str, str]]:
    """One request through the app: (the response, every header to send with it).

    The fault injector sees it and logs it, whatever happens; ``body`` may be
    a reader, so a body that cannot be read is answered (and logged) like any
    other error. Raises :class:`DropConnection` when the answer must be lost.
    ``headers`` are lower-case.
    """
    if target.startswith("/"):
        path, _, query_string = target.partition("?")
    else:  # absolute form (a proxy's request line)
        parts = urlsplit(target)
        path, query_string = parts.path, parts.query
    entry = LoggedRequest(
        method, path, parse_qs(query_string) if query_string else {}, None, at=clock.now_s()
    )
    sent: dict[str, str] = {}
    try:
        raw = body() if callable(body) else body
        entry.size = len(raw)
        request = Request(
            method=method,
            path=path,
            query=parse_qs(query_string, keep_blank_values=True) if query_string else {},
            headers=headers,
            body=raw,
        )
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            entry.body = json.loads(raw) if raw else None
        response, sent = app.dispatch(request)
        # Handled: an "after" fault or hold may still lose or replace the answer.
        app.injector.after(method, path, sent)
    except DropConnection:
        entry.status = -1
        app.injector.record(entry)
        raise
    except ApiError as error:
        response = Response(error.status, error.body(), dict(error.headers))
    except Exception:  # a bug: never a stack trace on the wire
        response = Response(500, ApiError(500, "Internal Server Error").body())
    entry.status = response.status
    sent = {**sent, **response.headers}
    entry.headers = {k: v for k, v in sent.items() if k.startswith("x-ratelimit-")}
    app.injector.record(entry)
    return response, sent


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"
    # Responses leave in one write, but a keep-alive client's delayed ACK must
    # never hold one back (~40 ms each with Nagle on).
    disable_nagle_algorithm = True
    headers: Any  # a dict of lower-case names here (wire.read_headers), not an email Message
    raw_requestline: bytes

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the fault injector's request log is the record; stderr stays quiet

    def parse_request(self) -> bool:
        """The request line and headers, without the ``email`` parser (wire.read_headers)."""
        self.command = None  # type: ignore[assignment]  # as the base class: none yet
        self.request_version = "HTTP/0.9"
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if not words:
            return False
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0"):
            # HTTP/0.9, HTTP/2 or noise: the standard library's checks and answers.
            return super().parse_request()
        self.command, path, self.request_version = words
        # As the standard library does (gh-87389): "//host" is not a path.
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        try:
            self.headers = read_headers(self.rfile)
        except HeaderError as error:
            self.send_error(error.status, str(error))
            return False
        connection = self.headers.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if self.headers.get("expect", "").lower() == "100-continue" and (
            self.request_version == "HTTP/1.1"
        ):
            return self.handle_expect_100()
        return True

    def _serve(self) -> None:
        app = self.server.app
        with app.injector.handling():
            try:
                response, sent = answer(app, self.command, self.path, self.headers, self._body)
            except DropConnection:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            payload = response.payload()
            fields = [("content-length", str(len(payload)))]
            if response.body is not None:
                fields.insert(0, ("content-type", response.content_type))
            fields.extend(sent.items())
            if sent.get("connection", "").lower() == "close":
                self.close_connection = True
            elif self.close_connection:
                fields.append(("connection", "close"))
            elif self.request_version == "HTTP/1.0":  # 1.0 closes unless told otherwise
                fields.append(("connection", "keep-alive"))
            if self.command == "HEAD":
                payload = b""
            self.wfile.write(response_bytes(response.status, fields, payload))

    def _body(self) -> bytes:
        """The request body; a body that cannot be read in sync ends the connection."""
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._chunked()
        try:
            length = int(self.headers.get("content-length") or "0")
        except ValueError:
            length = -1
        if length < 0:
            raise _unreadable(400, "Invalid request: bad Content-Length")
        if length > MAX_BODY_BYTES:
            # Read it (up to a bound) so the client sees the 413, not a reset.
            left = min(length, 16 * MAX_BODY_BYTES)
            with contextlib.suppress(OSError):
                while left > 0:
                    chunk = self.rfile.read(min(left, 65536))
                    if not chunk:
                        break
                    left -= len(chunk)
            raise _unreadable(413, "Payload Too Large: the request exceeds 1 MB")
        return self.rfile.read(length) if length else b""

    def _chunked(self) -> bytes:
        body = bytearray()
        seen = 0  # an oversized body is read on (up to a bound) so the 413 arrives
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                size = -1
            if size < 0:
                raise _unreadable(400, "Invalid request: bad chunked body")
            seen += size
            if size == 0 or seen > 16 * MAX_BODY_BYTES:
                if seen > MAX_BODY_BYTES:
                    raise _unreadable(413, "Payload Too Large: the request exceeds 1 MB")
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            chunk = self.rfile.read(size)
            if seen <= MAX_BODY_BYTES:
                body += chunk
            self.rfile.readline(1024)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


def _unreadable(status: int, message: str) -> ApiError:
    """An error after which the connection closes (its stream may be out of sync)."""
    code = "payload_too_large" if status == 413 else "invalid_body"
    return ApiError(status, message, code, headers={"connection": "close"})


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a client opening ten
    # connections at once (apply's concurrent writes): each retries a second later.
    request_queue_size = 128

    def __init__(self, app: Any, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        super().__init__((host, port), _Handler)
        self.app = app
        if tls is not None:
            # The handshake happens in the request's thread, not in accept():
            # one client that connects and says nothing must not stall the server.
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failed handshake or a vanished client is the client's affair: no traceback."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class ServerThread:
    """Serve an app on loopback in a background thread."""

    def __init__(self, app: Any, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.httpd = EmulatorHTTPServer(app, "127.0.0.1", port, tls)
        self.scheme = "https" if tls else "http"
        # serve_forever checks for shutdown every poll interval (0.5 s by default):
        # every command that opens the embedded local tenant would pay it on close.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": POLL_INTERVAL_S}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context
