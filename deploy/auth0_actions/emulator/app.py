"""The emulator application: state, token authority, routes and fault injection together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from auth0_actions.emulator import routes
from auth0_actions.emulator.auth import TokenAuthority
from auth0_actions.emulator.builds import DependencyBuilds
from auth0_actions.emulator.context import Settings
from auth0_actions.emulator.faults import FaultInjector
from auth0_actions.emulator.http import ApiError, Request, Response, Router
from auth0_actions.emulator.store import Store

__all__ = ["DEFAULT_DOMAIN", "Emulator", "Settings"]

DEFAULT_DOMAIN = "local.auth0-actions.test"


class Emulator:
    """One local tenant; :mod:`auth0_actions.emulator.routes` adds its endpoints."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        domain: str = DEFAULT_DOMAIN,
        state_dir: Path | None = None,
        settings: Settings | None = None,
        dependency_cache: Path | None = None,
    ) -> None:
        self.store = store or Store()
        self.domain = domain
        self.settings = settings or Settings()
        self.injector = FaultInjector()
        self.authority = TokenAuthority(
            f"https://{domain}/", state_dir / "signing-key.pem" if state_dir else None
        )
        self.router = Router()
        self.public_base_url: str | None = None  # set by whoever serves the app
        self.export_failures: list[str] = []
        self.exchange_code: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.login_flow: Any = None
        self.actions_sandbox: Any = None
        self.flows: Any = None  # set by the route table (emulator/flows)
        # Where builds install the actions' npm dependencies: the project's
        # cache (LocalTenant), else one under the state directory; none in memory.
        if dependency_cache is None and state_dir is not None:
            dependency_cache = state_dir / "deps"
        self.dependency_builds = DependencyBuilds(dependency_cache)
        routes.register(self)

    def close(self) -> None:
        """Stop the sandbox workers the app started, then close its state."""
        routes.close(self)
        self.dependency_builds.close()
        self.store.close()

    def dispatch(self, request: Request) -> tuple[Response, dict[str, str]]:
        headers = self.injector.before(request.method, request.path)
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
