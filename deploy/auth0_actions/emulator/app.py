"""The emulator application: state, token authority, routes and knobs together."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_actions.emulator.auth import TokenAuthority
from auth0_actions.emulator.http import ApiError, Request, Response, Router
from auth0_actions.emulator.knobs import Knobs
from auth0_actions.emulator.store import Store

DEFAULT_DOMAIN = "local.auth0-actions.test"


def now_iso() -> str:
    """Auth0's timestamps: UTC with nanosecond precision (2026-05-29T10:45:58.888947671Z)."""
    ns = time.time_ns()
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


@dataclass
class Settings:
    build_seconds: float = 0.0  # pending -> building -> built takes this long
    versions_kept: int = 50


class Emulator:
    """One local tenant. Modules add their routes in ``register``."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        domain: str = DEFAULT_DOMAIN,
        state_dir: Path | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.store = store or Store()
        self.domain = domain
        self.settings = settings or Settings()
        self.knobs = Knobs()
        self.authority = TokenAuthority(
            f"https://{domain}/", state_dir / "signing-key.pem" if state_dir else None
        )
        self.router = Router()
        self.public_base_url: str | None = None  # set by whoever serves the app
        from auth0_actions.emulator import routes_auth

        routes_auth.register(self)
        for module in _modules():
            module.register(self)

    def close(self) -> None:
        """Stop the sandbox workers the app started, then close its state."""
        for module in _modules():
            closer = getattr(module, "close", None)
            if closer is not None:
                closer(self)
        self.store.close()

    def dispatch(self, request: Request) -> tuple[Response, dict[str, str]]:
        headers = self.knobs.before(request.method, request.path)
        try:
            route, params = self.router.match(request.method, request.path)
            request.params = params
            if route.scopes:
                client_id, scopes = self.authority.verify(request.headers.get("authorization"))
                if not scopes.intersection(route.scopes):
                    raise ApiError(
                        403,
                        f"Insufficient scope, expected any of: {','.join(route.scopes)}",
                        "insufficient_scope",
                    )
                request.client_id, request.scopes = client_id, scopes
            return route.handler(request), headers
        except ApiError as error:
            error.headers = {**headers, **error.headers}
            raise


def _modules() -> list[Any]:
    """Endpoint modules present in this build, each with register(app)."""
    import importlib

    found = []
    for name in ("routes_actions", "routes_users", "routes_rules", "routes_jobs", "routes_login"):
        try:
            found.append(importlib.import_module(f"auth0_actions.emulator.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"auth0_actions.emulator.{name}":
                raise
    return found
