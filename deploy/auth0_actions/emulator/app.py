"""The emulator application: state, token authority, routes and fault injection together.

:meth:`Emulator.dispatch` is where every request is checked once, in Auth0's
order, before a handler sees it: a bearer token for any ``/api/v2`` path
(401 before a 404, as Auth0 authenticates before it routes), the route's
scopes (403), then the body against the operation's schema in Auth0's
OpenAPI document (400, :mod:`auth0_actions.emulator.openapi`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from auth0_actions.emulator import routes
from auth0_actions.emulator.auth import TokenAuthority
from auth0_actions.emulator.backends import Backends
from auth0_actions.emulator.backends.host import Settings
from auth0_actions.emulator.builds import DependencyBuilds
from auth0_actions.emulator.faults import FaultInjector
from auth0_actions.emulator.flows.hub import Flows
from auth0_actions.emulator.flows.login import LoginFlow
from auth0_actions.emulator.http import ApiError, Request, Response, Route, Router
from auth0_actions.emulator.management_access import check_call
from auth0_actions.emulator.oauth import AuthorizationServer
from auth0_actions.emulator.openapi import API_PREFIX, RequestSchemas
from auth0_actions.emulator.store import Store

__all__ = ["DEFAULT_DOMAIN", "Emulator", "Settings"]

DEFAULT_DOMAIN = "local.auth0-actions.test"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SCHEMAS: list[RequestSchemas] = []  # the packaged document, read once per process


def request_schemas() -> RequestSchemas:
    if not _SCHEMAS:
        _SCHEMAS.append(RequestSchemas.packaged())
    return _SCHEMAS[0]


class Emulator:
    """One local tenant: its state, backends and flows, and the route table's endpoints."""

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
        self.gates: list[Callable[[Request, Route], None]] = []
        self.public_base_url: str | None = None  # set by whoever serves the app
        self.export_failures: list[str] = []
        self.actions_sandbox: Any = None
        # Where builds install the actions' npm dependencies: the project's
        # cache (LocalTenant), else one under the state directory; none in memory.
        if dependency_cache is None and state_dir is not None:
            dependency_cache = state_dir / "deps"
        self.dependency_builds = DependencyBuilds(dependency_cache)
        self.backends = Backends.build(self)
        self.oauth = AuthorizationServer(
            self.authority,
            self.backends.clients,
            self.backends.resource_servers,
            self.backends.client_grants,
        )
        # Signup, password change, trigger runs and the log (emulator/flows).
        self.flows = Flows(self)
        # The login's transactions in flight and codes not yet exchanged.
        self.login_flow = LoginFlow(self)
        routes.register(self)

    def close(self) -> None:
        """Stop the sandbox workers the app started, then close its state."""
        self.backends.close()
        self.login_flow.close()
        self.flows.close()
        self.dependency_builds.close()
        self.store.close()

    def dispatch(self, request: Request) -> tuple[Response, dict[str, str]]:
        headers = self.injector.before(request.method, request.path)
        try:
            try:
                route, params = self.router.match(request.method, request.path)
            except ApiError:
                if request.path.startswith(API_PREFIX + "/"):
                    # Auth0 authenticates before it routes: no token, no 404.
                    self.authority.verify(request.headers.get("authorization"))
                raise
            request.params = params
            if route.scopes or route.template.startswith(API_PREFIX + "/"):
                # Every Management API call needs a token (a route listed without
                # scopes fails closed: no scope of a token matches none).
                principal = self.authority.principal(request.headers.get("authorization"))
                check_call(principal, route, request)
                request.client_id, request.scopes = principal.client_id, principal.scopes
            for gate in self.gates:  # a feature the tenant lacks, whatever the body
                gate(request, route)
            if request.method in _BODY_METHODS and route.template.startswith(API_PREFIX + "/"):
                # The document is the Management API's; the Authentication API
                # (/oauth/token, /dbconnections/*) answers bad bodies in its own shape.
                request_schemas().check(request.method, route.template, request.json())
            return route.handler(request), headers
        except ApiError as error:
            error.headers = {**headers, **error.headers}
            raise
