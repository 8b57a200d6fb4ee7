"""Helpers for emulator tests: a served tenant, and replaying real recordings.

``ServedTenant`` starts an :class:`Emulator` on loopback with a registered client
and a bearer token. ``replay`` sends a recording's requests in order to the
emulator, substituting the ids the emulator returned for the recorded ones,
and compares what matters across runs (tests/conformance/README.md): status
codes, key sets, value types, enum values and list envelopes -- not ids or
timestamps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import yaml

from auth0_actions.emulator.app import Emulator, Settings
from auth0_actions.emulator.auth import MANAGEMENT_SCOPES
from auth0_actions.emulator.server import ServerThread

RECORDINGS = Path(__file__).resolve().parent / "conformance" / "recordings"


@dataclass
class ServedTenant:
    """An emulator served on 127.0.0.1 with one client holding ``scopes``."""

    settings: Settings = field(default_factory=Settings)
    scopes: tuple[str, ...] = MANAGEMENT_SCOPES
    app: Emulator = field(init=False)
    server: ServerThread = field(init=False)
    client_id: str = field(init=False)
    client_secret: str = field(init=False)
    token: str = field(init=False)

    def __post_init__(self) -> None:
        self.app = Emulator(settings=self.settings)
        self.server = ServerThread(self.app).start()
        client = self.app.oauth.register(scopes=self.scopes)
        self.client_id, self.client_secret = client.client_id, client.client_secret
        self.token = self.issue_token()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_url(self) -> str:
        return f"{self.server.base_url}/api/v2"

    def issue_token(self, scopes: tuple[str, ...] | None = None) -> str:
        client = self.app.oauth.register(scopes=scopes) if scopes is not None else None
        data = {
            "grant_type": "client_credentials",
            "client_id": client.client_id if client else self.client_id,
            "client_secret": client.client_secret if client else self.client_secret,
            "audience": f"https://{self.app.domain}/api/v2/",
        }
        response = httpx.post(f"{self.base_url}/oauth/token", data=data)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )

    def stop(self) -> None:
        self.server.stop()


def management_token(
    app: Emulator, base_url: str, scopes: tuple[str, ...] = MANAGEMENT_SCOPES
) -> str:
    """A Management API token, from ``POST /oauth/token``, for a new client granted ``scopes``."""
    client = app.oauth.register(scopes=scopes)
    answer = httpx.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "audience": f"https://{app.domain}/api/v2/",
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def store_deployed(app: Emulator, trigger_id: str, codes: Mapping[str, str]) -> None:
    """Actions deployed and bound to ``trigger_id`` in order, written straight to the store
    (for tests about what runs, not about how the API deploys)."""
    bindings = []
    for number, (name, code) in enumerate(codes.items()):
        app.store.put(
            "action",
            name,
            {
                "id": name,
                "name": name,
                "code": code,
                "deployed_version": {"id": f"v-{name}", "code": code, "number": 1},
            },
        )
        bindings.append({"id": f"b{number}", "action_id": name, "display_name": name})
    app.store.put("bindings", trigger_id, {"trigger_id": trigger_id, "bindings": bindings})


def login_client(
    app: Emulator,
    callbacks: Iterable[str],
    *,
    client_id: str = "app",
    app_type: str = "spa",
) -> dict[str, Any]:
    """An application that may start logins returning to ``callbacks`` (public: no secret).

    Auth0's /authorize refuses unknown clients and unregistered callback URLs,
    so every test that logs in registers the application it plays first.
    """
    return app.backends.clients.create(
        {"name": "Test application", "app_type": app_type, "callbacks": list(callbacks)},
        client_id=client_id,
    )


def load_recording(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((RECORDINGS / name).read_text(encoding="utf-8"))
    return list(data["interactions"])


def _body(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass
class Shape:
    """What a comparison tolerates: keys that depend on timing, and enum values."""

    optional_keys: frozenset[str] = frozenset()
    enums: Mapping[str, frozenset[Any]] = field(default_factory=dict)

    def compare(self, recorded: Any, actual: Any, path: str = "$") -> list[str]:
        problems: list[str] = []
        if _kind(recorded) != _kind(actual):
            return [f"{path}: type {_kind(actual)}, recorded {_kind(recorded)}"]
        if isinstance(recorded, dict):
            missing = set(recorded) - set(actual) - self.optional_keys
            extra = set(actual) - set(recorded) - self.optional_keys
            if missing:
                problems.append(f"{path}: missing keys {sorted(missing)}")
            if extra:
                problems.append(f"{path}: extra keys {sorted(extra)}")
            for key in set(recorded) & set(actual):
                allowed = self.enums.get(key)
                scalar = not isinstance(recorded[key], (dict, list))
                if allowed is not None and scalar and actual[key] not in allowed:
                    problems.append(f"{path}.{key}: {actual[key]!r} is not one of the enum")
                problems += self.compare(recorded[key], actual[key], f"{path}.{key}")
        elif isinstance(recorded, list):
            for index, (left, right) in enumerate(zip(recorded, actual, strict=False)):
                problems += self.compare(left, right, f"{path}[{index}]")
        return problems


def _pair_ids(recorded: Any, actual: Any, ids: dict[str, str]) -> None:
    """Learn recorded id -> emulator id from two responses of the same shape."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key, value in recorded.items():
            other = actual.get(key)
            is_id = key == "id" or key.endswith("_id")
            if is_id and isinstance(value, str) and isinstance(other, str) and value != other:
                ids.setdefault(value, other)
            else:
                _pair_ids(value, other, ids)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for left, right in zip(recorded, actual, strict=False):
            _pair_ids(left, right, ids)


def _substitute(text: str, ids: Mapping[str, str]) -> str:
    for old, new in ids.items():
        text = text.replace(old, new)
        text = text.replace(quote(old, safe=""), quote(new, safe=""))
    return text


@dataclass
class Step:
    index: int
    method: str
    path: str
    recorded_status: int
    status: int
    recorded: Any
    actual: Any
    problems: list[str]


def replay(
    client: httpx.Client,
    interactions: Iterable[Mapping[str, Any]],
    shape: Shape,
    *,
    before: Callable[[int, Mapping[str, Any]], None] | None = None,
) -> list[Step]:
    """Send each recorded request to the emulator; compare each answer's shape."""
    ids: dict[str, str] = {}
    steps = []
    for index, interaction in enumerate(interactions):
        if before is not None:
            before(index, interaction)
        request, response = interaction["request"], interaction["response"]
        parts = urlsplit(request["url"])
        target = _substitute(parts.path + (f"?{parts.query}" if parts.query else ""), ids)
        body = request.get("body") or ""
        content = _substitute(body, ids).encode() if body else None
        headers = {"content-type": "application/json"} if content else {}
        answer = client.request(request["method"], target, content=content, headers=headers)
        recorded = _body(response.get("body"))
        actual = _body(answer.text)
        _pair_ids(recorded, actual, ids)
        problems = []
        if answer.status_code != response["code"]:
            problems.append(f"status {answer.status_code}, recorded {response['code']}")
        elif recorded is not None or actual is not None:
            problems += shape.compare(recorded, actual)
        steps.append(
            Step(
                index,
                request["method"],
                target,
                response["code"],
                answer.status_code,
                recorded,
                actual,
                problems,
            )
        )
    return steps


def report(steps: Iterable[Step]) -> str:
    """The failing steps, one per line (empty when all conform)."""
    return "\n".join(
        f"#{s.index} {s.method} {s.path}: {'; '.join(s.problems)}" for s in steps if s.problems
    )


def writes(app: Emulator) -> list[tuple[str, str]]:
    """Management API writes the app received (the token request is not one)."""
    return [
        (e.method, e.path)
        for e in app.injector.requests()
        if e.method in ("POST", "PATCH", "DELETE") and e.path.startswith("/api/v2/")
    ]


def edit_template(project: Path, name: str, extra: str, cli: Any) -> None:
    """Append to a template and render the local environment again."""
    path = project / "rules_templates" / f"{name}.js.j2"
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert cli("render", "--env", "local").code == 0
