"""Outbound HTTP of action code: answered by stubs in the host, never the network.

Action code's ``fetch`` and ``http``/``https`` requests (and the libraries
built on them: axios, the ``auth0`` SDK) reach the host through the worker's
authenticated channel (deploy/auth0_actions/sandbox/js/outbound.js). The host,
not the worker, matches each request against the stubs, records it and
decides the answer: the record of what was sent is the host's own, and action
code can only ever receive a stub the scenario declared.

A stub (``HttpStub``) names a method (any by default), a URL (exact, ``*``
wildcards, or ``url_regex``), and the answer: status, headers, body (text, or
a mapping/list sent as JSON), an optional delay and how many ``times`` it
answers. The first stub that matches answers. A request no stub matches fails
in the action like a network error and is kept in ``Exchange.unmatched``, so
the scenario fails naming its method and URL.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from auth0_actions.errors import ConfigError

# A stub's delay may exceed any trigger's limit (that is the timeout path),
# but not by more than this: a day-long timer would only hide a typo.
MAX_DELAY_MS = 10 * 60 * 1000
_METHOD = re.compile(r"^[A-Za-z]+$")
_STUB_KEYS = frozenset(
    {"method", "url", "url_regex", "status", "headers", "body", "delay_ms", "times"}
)


@dataclass(frozen=True)
class HttpStub:
    """One declared answer to the requests that match it."""

    url: str | None = None  # exact, or with * wildcards
    url_regex: str | None = None
    method: str | None = None  # None: any method
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay_ms: int = 0
    times: int | None = None  # None: any number of requests

    def __post_init__(self) -> None:
        pattern = self.url_regex if self.url_regex is not None else _glob(self.url or "")
        object.__setattr__(self, "_pattern", re.compile(pattern))

    def matches(self, method: str, url: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        pattern: re.Pattern[str] = getattr(self, "_pattern")  # noqa: B009 - set in __post_init__
        return pattern.fullmatch(url) is not None

    def describe(self) -> str:
        target = self.url if self.url is not None else f"~{self.url_regex}"
        return f"{self.method or '*'} {target}"


def _glob(url: str) -> str:
    return ".*".join(re.escape(part) for part in url.split("*"))


def parse_stubs(data: Any, where: str = "http") -> list[HttpStub]:
    """Stubs from YAML/JSON data; a bad one is an error naming ``where[i].field``."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"{where}: must be a list of http stubs")
    return [parse_stub(item, f"{where}[{index}]") for index, item in enumerate(data)]


def parse_stub(data: Any, where: str) -> HttpStub:
    if isinstance(data, HttpStub):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: an http stub must be a mapping")
    unknown = sorted(set(map(str, data)) - _STUB_KEYS)
    if unknown:
        known = ", ".join(sorted(_STUB_KEYS))
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {known}")
    url, url_regex = data.get("url"), data.get("url_regex")
    if (url is None) == (url_regex is None):
        raise ConfigError(f"{where}: give exactly one of url and url_regex")
    if url is not None and (not isinstance(url, str) or not url):
        raise ConfigError(f"{where}.url: must be a non-empty string")
    if url_regex is not None:
        if not isinstance(url_regex, str):
            raise ConfigError(f"{where}.url_regex: must be a string")
        try:
            re.compile(url_regex)
        except re.error as exc:
            raise ConfigError(f"{where}.url_regex: not a valid regular expression: {exc}") from None
    method = data.get("method")
    if method is not None and (not isinstance(method, str) or not _METHOD.match(method)):
        raise ConfigError(f"{where}.method: must be an HTTP method such as GET or POST")
    status = data.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        # fetch's Response cannot carry a 1xx status; Auth0's runtime is plain Node.
        raise ConfigError(f"{where}.status: must be an integer from 200 to 599")
    headers = _headers(data.get("headers"), f"{where}.headers")
    body, json_body = _body(data.get("body"), f"{where}.body")
    if json_body and not any(name.lower() == "content-type" for name, _ in headers):
        headers = (*headers, ("content-type", "application/json"))
    return HttpStub(
        url=url,
        url_regex=url_regex,
        method=method.upper() if method else None,
        status=status,
        headers=headers,
        body=body,
        delay_ms=_count(data.get("delay_ms", 0), f"{where}.delay_ms", 0, MAX_DELAY_MS),
        times=None if data.get("times") is None else _count(data["times"], f"{where}.times", 1),
    )


def _headers(data: Any, where: str) -> tuple[tuple[str, str], ...]:
    if data is None:
        return ()
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: must be a mapping of header name to value")
    pairs = []
    for name, value in data.items():
        if not isinstance(name, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
            raise ConfigError(f"{where}: {name!r} is not a valid header name")
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ConfigError(f"{where}.{name}: must be a string (or a list of strings)")
            if "\n" in str(item) or "\r" in str(item):
                raise ConfigError(f"{where}.{name}: a header value cannot span lines")
            pairs.append((name, str(item)))
    return tuple(pairs)


def _body(data: Any, where: str) -> tuple[bytes, bool]:
    """The body's bytes, and whether it was given as JSON."""
    if data is None:
        return b"", False
    if isinstance(data, str):
        return data.encode(), False
    if isinstance(data, Mapping | list):
        try:
            return json.dumps(data, separators=(",", ":")).encode(), True
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: cannot be sent as JSON: {exc}") from None
    raise ConfigError(f"{where}: must be text, or a mapping or list sent as JSON")


def _count(value: Any, where: str, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{where}: must be an integer of at least {low}")
    if high is not None and value > high:
        raise ConfigError(f"{where}: must be at most {high}")
    return value


@dataclass
class Exchange:
    """The stubs of one run (a scenario, a ``sandbox run``) and the requests it saw.

    ``answer`` is the worker's callback: it runs in the host for each request
    action code sends, records it, and returns the channel's reply.
    """

    stubs: list[HttpStub] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._used: dict[int, int] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, data: Any, where: str = "http") -> Exchange:
        return data if isinstance(data, Exchange) else cls(parse_stubs(data, where))

    def problems(self) -> list[str]:
        """Why the run fails, one line per request no stub matched."""
        return [f"no http stub matches {request}" for request in self.unmatched]

    def answer(self, message: Mapping[str, Any]) -> dict[str, Any]:
        try:
            method, url, headers, body = _sent(message)
        except (TypeError, ValueError, binascii.Error):
            return {"http_error": "the sandbox could not read this request"}
        with self._lock:
            self.requests.append(_record(method, url, headers, body))
            stub = self._match(method, url)
            if stub is None:
                self.unmatched.append(f"{method} {url}")
                return {"http_error": f"no http stub matches {method} {url}"}
        reason = _reason(stub.status)
        return {
            "http_reply": {
                "status": stub.status,
                "status_text": reason,
                "headers": [list(pair) for pair in stub.headers],
                "body": base64.b64encode(stub.body).decode(),
                "delay_ms": stub.delay_ms,
            }
        }

    def _match(self, method: str, url: str) -> HttpStub | None:
        for index, stub in enumerate(self.stubs):
            if stub.times is not None and self._used.get(index, 0) >= stub.times:
                continue
            if stub.matches(method, url):
                self._used[index] = self._used.get(index, 0) + 1
                return stub
        return None


def _sent(message: Mapping[str, Any]) -> tuple[str, str, list[tuple[str, str]], bytes | None]:
    method, url = message.get("method"), message.get("url")
    if not isinstance(method, str) or not isinstance(url, str):
        raise ValueError("method and url must be strings")
    pairs = message.get("headers") or []
    if not isinstance(pairs, list):
        raise ValueError("headers must be a list")
    headers = [(str(pair[0]), str(pair[1])) for pair in pairs if isinstance(pair, list)]
    raw = message.get("body")
    body = None if raw is None else base64.b64decode(str(raw), validate=True)
    return method.upper(), url, headers, body


def _record(
    method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes | None
) -> dict[str, Any]:
    """One request as a scenario's ``expect: requests`` names it."""
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    entry: dict[str, Any] = {"method": method, "url": url, "headers": joined, "body": None}
    if body is not None:
        text = body.decode("utf-8", "replace")
        entry["body"] = text
        with contextlib.suppress(ValueError):
            entry["json"] = json.loads(text)
    return entry


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
