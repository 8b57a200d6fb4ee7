"""The emulator application: state, token authority, routes and fault injection together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auth0_actions.emulator import routes
from auth0_actions.emulator.auth import TokenAuthority
from auth0_actions.emulator.backends.client_grants import ClientGrants
from auth0_actions.emulator.backends.clients import Clients
from auth0_actions.emulator.backends.resource_servers import ResourceServers
from auth0_actions.emulator.builds import DependencyBuilds
from auth0_actions.emulator.context import Settings
from auth0_actions.emulator.faults import FaultInjector
from auth0_actions.emulator.http import ApiError, Request, Response, Router
from auth0_actions.emulator.management_access import check_call
from auth0_actions.emulator.oauth import AuthorizationServer
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
        self.clients = Clients(self.store, domain)
        self.resource_servers = ResourceServers(self.store, domain)
        self.client_grants = ClientGrants(self.store, self.clients, self.resource_servers)
        self.oauth = AuthorizationServer(
            self.authority, self.clients, self.resource_servers, self.client_grants
        )
        self.router = Router()
        self.public_base_url: str | None = None  # set by whoever serves the app
        self.export_failures: list[str] = []
        self.login_flow: Any = None
        self.actions_sandbox: Any = None
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
                principal = self.authority.principal(request.headers.get("authorization"))
                check_call(principal, route, request)
                request.client_id, request.scopes = principal.client_id, principal.scopes
            return route.handler(request), headers
        except ApiError as error:
            error.headers = {**headers, **error.headers}
            raise
