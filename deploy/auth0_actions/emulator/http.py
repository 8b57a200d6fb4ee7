"""Requests, responses, Auth0-shaped errors and a small router.

Every failure a client can cause becomes an :class:`ApiError`, rendered as
Auth0 renders it: ``{"statusCode", "error", "message", "errorCode"?}``
(docs/reference/management-api.md §5). Nothing else ever reaches a client:
an unexpected exception is a generic 500 body, never a stack trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

MAX_BODY_BYTES = 1024 * 1024  # every Management API endpoint accepts at most 1 MB


class ApiError(Exception):
    """An error response in Auth0's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        error_code: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "statusCode": self.status,
            "error": HTTPStatus(self.status).phrase,
            "message": self.message,
        }
        if self.error_code:
            out["errorCode"] = self.error_code
        out.update(self.extra)
        return out


def bad_request(message: str, error_code: str = "invalid_body") -> ApiError:
    return ApiError(400, message, error_code)


def not_found(message: str, error_code: str | None = None) -> ApiError:
    return ApiError(404, message, error_code)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern
    client_id: str | None = None  # set once the bearer token is verified
    scopes: frozenset[str] = frozenset()
    # The parsed body, once parsed: dispatch validates it, the handler reads it.
    _parsed: list[Any] = field(default_factory=list, repr=False)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def int_arg(self, name: str, default: int, *, low: int = 0, high: int = 1_000_000) -> int:
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise bad_request(
                "Query validation error: 'Expected type integer but found type string' "
                f"on property {name}.",
                "invalid_query_string",
            ) from None
        if not low <= value <= high:
            raise bad_request(
                f"Query validation error: 'Value {value} is out of range' on property {name}.",
                "invalid_query_string",
            )
        return value

    def bool_arg(self, name: str) -> bool | None:
        raw = self.arg(name)
        if raw is None or raw == "":
            return None
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise bad_request(
            "Query validation error: 'Expected type boolean but found type string' "
            f"on property {name}.",
            "invalid_query_string",
        )

    def json(self) -> Any:
        """The JSON body (form bodies are accepted where Auth0 accepts them), parsed once."""
        if not self._parsed:
            self._parsed.append(self._parse())
        return self._parsed[0]

    def _parse(self) -> Any:
        if not self.body:
            return {}
        content_type = self.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in content_type:
            return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("Invalid request payload JSON format", "invalid_body") from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise bad_request(
                "Payload validation error: 'Expected type object but found type array'."
            )
        return data


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes with a content type
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode()


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored document without its private ("_"-prefixed) fields."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def project(doc: Mapping[str, Any], fields: str | None, include: bool | None) -> dict[str, Any]:
    """Apply Auth0's ``fields`` / ``include_fields`` to one object."""
    out = public(doc)
    if not fields:
        return out
    names = {f.strip() for f in fields.split(",") if f.strip()}
    if include is False:
        return {k: v for k, v in out.items() if k not in names}
    return {k: v for k, v in out.items() if k in names}


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    scopes: tuple[str, ...]  # any of these grants access; empty: no token needed
    prefix: str = ""  # the template's literal start: a cheap test before the pattern


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, template: str, handler: Handler, scopes: tuple[str, ...] = ()
    ) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "/?$"
        prefix = template.split("{", 1)[0]
        self.routes.append(Route(method, re.compile(regex), template, handler, scopes, prefix))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            if not path.startswith(route.prefix):
                continue
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method != method:
                allowed = True
                continue
            params = found.groupdict()
            return route, {k: unquote(v) if "%" in v else v for k, v in params.items()}
        if allowed:
            raise ApiError(405, "Method Not Allowed")
        raise ApiError(404, "Not Found")
