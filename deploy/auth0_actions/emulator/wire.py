"""HTTP/1.1 header parsing and response framing for the local tenant's server.

The standard library's request handler parses headers with the ``email``
package and sends a response in two writes (headers, then body); on a
keep-alive connection that was most of a cheap request's cost. Here headers
are read line by line into a dict (lower-case names, as every handler sees
them) with the standard library's limits, and a response leaves as one
buffer.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Protocol

MAX_LINE = 65536  # http.client's _MAXLINE
MAX_HEADERS = 100  # http.client's _MAXHEADERS
SERVER = "auth0-actions-local-tenant"


class Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class HeaderError(Exception):
    """Headers that cannot be read: answered with ``status``, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_headers(rfile: Lines) -> dict[str, str]:
    """The request's header fields up to the blank line; a repeated name keeps its last value."""
    headers: dict[str, str] = {}
    last = ""
    for _ in range(MAX_HEADERS + 1):
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HeaderError(431, "Line too long")
        if line in (b"\r\n", b"\n", b""):
            return headers
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and last:  # obsolete line folding: continues the last field
            headers[last] += " " + text.strip()
            continue
        name, sep, value = text.partition(":")
        name = name.strip().lower()
        if not sep or not name:
            raise HeaderError(400, "Bad request: malformed header line")
        headers[name] = value.strip()
        last = name
    raise HeaderError(431, "Too many headers")


_date: tuple[int, str] = (0, "")


def http_date() -> str:
    """The Date header's value, formatted once per second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]


def response_bytes(status: int, headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """Status line, ``headers`` (with Server and Date first) and the payload, as one buffer."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {status} {phrase}", f"server: {SERVER}", f"date: {http_date()}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + payload
