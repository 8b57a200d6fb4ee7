"""HTTP/1.1 on the wire: the local tenant's own header parsing and response framing.

Raw sockets, so what is checked is what any client (keep-alive agents, SDKs,
curl) gets: RFC 9112 framing, connection reuse, ``Connection: close``,
HTTP/1.0, ``Expect: 100-continue``, HEAD, and the standard library's limits.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import BinaryIO, cast

import pytest

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.http import Request, Response
from auth0_actions.emulator.server import ServerThread
from auth0_actions.emulator.wire import MAX_HEADERS


@pytest.fixture
def served() -> Iterator[tuple[Emulator, int]]:
    app = Emulator()

    def echo(request: Request) -> Response:
        return Response(200, {"headers": dict(request.headers), "body": request.body.decode()})

    app.router.add("GET", "/echo", echo)
    app.router.add("POST", "/echo", echo)
    app.router.add("HEAD", "/echo", echo)
    server = ServerThread(app).start()
    try:
        yield app, server.port
    finally:
        server.stop()
        app.close()


def _read_head(reader: BinaryIO) -> tuple[int, dict[str, str]]:
    status = int(reader.readline().split()[1])
    headers: dict[str, str] = {}
    while line := reader.readline().decode("latin-1").rstrip("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def _read_response(reader: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    status, headers = _read_head(reader)
    length = int(headers.get("content-length", "0"))
    return status, headers, reader.read(length) if length else b""


def _connect(port: int) -> tuple[socket.socket, BinaryIO]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock, cast(BinaryIO, sock.makefile("rb"))


def test_one_keep_alive_connection_carries_many_requests(served: tuple[Emulator, int]) -> None:
    _, port = served
    sock, reader = _connect(port)
    with sock:
        for n in range(50):
            body = json.dumps({"n": n}).encode()
            sock.sendall(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nX-Seq: {n}\r\n\r\n".encode()
                + body
            )
            status, headers, payload = _read_response(reader)
            assert status == 200
            assert headers["content-type"] == "application/json; charset=utf-8"
            assert "date" in headers
            echoed = json.loads(payload)
            assert echoed["headers"]["x-seq"] == str(n)  # names reach handlers lower-case
            assert json.loads(echoed["body"]) == {"n": n}


def test_header_fields_repeated_folded_and_spaced(served: tuple[Emulator, int]) -> None:
    _, port = served
    sock, reader = _connect(port)
    with sock:
        sock.sendall(
            b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Twice: first\r\nX-TWICE: second\r\n"
            b"X-Folded: one\r\n  two\r\nX-Spaced:   padded   \r\n\r\n"
        )
        status, _, payload = _read_response(reader)
    seen = json.loads(payload)["headers"]
    assert status == 200
    assert seen["x-twice"] == "second"
    assert seen["x-folded"] == "one two"
    assert seen["x-spaced"] == "padded"


def test_connection_close_and_http_1_0_end_the_connection(served: tuple[Emulator, int]) -> None:
    _, port = served
    for request in (
        b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /echo HTTP/1.0\r\n\r\n",
    ):
        sock, reader = _connect(port)
        with sock:
            sock.sendall(request)
            status, headers, _ = _read_response(reader)
            assert status == 200
            assert headers["connection"] == "close"
            assert reader.read() == b""  # closed by the server


def test_http_1_0_keep_alive_is_honoured(served: tuple[Emulator, int]) -> None:
    _, port = served
    sock, reader = _connect(port)
    with sock:
        for _ in range(2):
            sock.sendall(b"GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, headers, _ = _read_response(reader)
            assert (status, headers["connection"]) == (200, "keep-alive")


def test_expect_100_continue_and_head(served: tuple[Emulator, int]) -> None:
    _, port = served
    sock, reader = _connect(port)
    with sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        assert reader.readline().split()[1] == b"100"
        assert reader.readline() == b"\r\n"
        sock.sendall(b"{}")
        status, _, payload = _read_response(reader)
        assert status == 200
        assert json.loads(payload)["body"] == "{}"
        sock.sendall(b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers = _read_head(reader)
        assert status == 200
        assert int(headers["content-length"]) > 0  # the GET's length, no body follows
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(reader)[0] == 200  # the stream is still in step


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"X-Long: " + b"a" * 70_000 + b"\r\n", 431),
        (b"".join(b"X-%d: v\r\n" % n for n in range(MAX_HEADERS + 1)), 431),
        (b"no colon here\r\n", 400),
    ],
    ids=["line-too-long", "too-many-headers", "malformed"],
)
def test_unreadable_headers_are_refused_and_the_connection_closed(
    served: tuple[Emulator, int], head: bytes, status: int
) -> None:
    app, port = served
    sock, reader = _connect(port)
    with sock:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n")
        answered, headers, _ = _read_response(reader)
        assert answered == status
        assert headers["connection"] == "close"
    assert app.injector.requests() == []  # never reached the tenant


def test_a_bad_request_line_gets_a_400_and_a_closed_connection(
    served: tuple[Emulator, int],
) -> None:
    _, port = served
    sock, reader = _connect(port)
    with sock:
        sock.sendall(b"GET /echo extra HTTP/1.1\r\n\r\n")
        status, headers, _ = _read_response(reader)
        assert (status, headers["connection"]) == (400, "close")
