"""The route table: every endpoint of the local tenant, in one list.

Each line of :data:`ROUTES` is ``Endpoint(method, path template, handler,
scopes)``: the handler is a module-level function of ``(app, request)`` in
:mod:`auth0_actions.emulator.handlers` that parses the request, calls the
area's backend (``app.backends.*``) or flow (``app.flows``,
``app.login_flow``, ``app.oauth``) and renders the answer. For a Management
API path the scopes are those of the operation's ``security`` in Auth0's
OpenAPI document (a test holds every ``/api/v2`` line equal to it), any one of
which the bearer token must carry; none means no token is needed (the
Authentication API, OIDC discovery, the login pages, the export download,
whose link is its own credential). Request bodies are validated by the app's
dispatch from the same document, so a line here is all a new endpoint needs
besides its handler and backend method (docs/local-tenant-internals.md).

The table covers the Management API, the Authentication API (``/oauth/token``,
``/dbconnections/*``), OIDC discovery, JWKS, ``/userinfo`` and logout, the
login pages (``/authorize``, ``/u/login``, ``/u/signup``,
``/u/reset-password``, ``/u/mfa-otp-challenge``, ``/continue``) and the
users-export download. :data:`GATES` are checked after the token and before
the body: features the tenant lacks (rule writes since the rules' end of life).

The first route matching a request wins, so the new-tenant defaults come
last, generated from their table (:mod:`auth0_actions.emulator.backends.tenant_defaults`):
a resource type that gets real handlers shadows its default. The settings
objects among them are written by the ``PATCH``/``PUT`` lines generated from
:data:`auth0_actions.emulator.backends.settings.WRITES`, and their ``GET``
answers the written value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from auth0_actions.emulator.backends.settings import WRITES
from auth0_actions.emulator.backends.tenant_defaults import DEFAULTS, route_scopes
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.handlers import (
    actions,
    client_grants,
    clients,
    connections,
    flows,
    jobs,
    login,
    logs,
    mfa,
    modules,
    oauth,
    resource_servers,
    rules,
    rules_eol,
    settings,
    tenant_defaults,
    users,
)
from auth0_actions.emulator.http import Request, Response, Route

AppHandler = Callable[[EmulatorApp, Request], Response]
Gate = Callable[[EmulatorApp, Request, Route], None]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: AppHandler
    scopes: tuple[str, ...] = ()


_READ_ACTIONS = ("read:actions",)
_CREATE_ACTIONS = ("create:actions",)
_UPDATE_ACTIONS = ("update:actions",)
_API = "/api/v2"
_MODULES = f"{_API}/actions/modules"
_READ_LOGS = ("read:logs", "read:logs_users")
_READ_CONNECTIONS = ("read:connections",)
_UPDATE_CONNECTIONS = ("update:connections",)

_READ_CLIENTS = (
    "read:clients",
    "read:client_keys",
    "read:client_credentials",
    "read:client_summary",
)
_UPDATE_CLIENTS = (
    "update:clients",
    "update:client_keys",
    "update:client_credentials",
    "update:client_token_vault_privileged_access",
)

ROUTES: tuple[Endpoint, ...] = (
    # the Authentication API: the token endpoint, OIDC discovery, JWKS, /userinfo, logout
    Endpoint("POST", "/oauth/token", oauth.token),
    Endpoint("GET", "/.well-known/jwks.json", oauth.jwks),
    Endpoint("GET", "/.well-known/openid-configuration", oauth.discovery),
    Endpoint("GET", "/userinfo", oauth.userinfo),
    Endpoint("POST", "/userinfo", oauth.userinfo),
    Endpoint("GET", "/v2/logout", oauth.logout),
    Endpoint("GET", "/oidc/logout", oauth.logout),
    # applications, APIs and the grants between them
    Endpoint("GET", f"{_API}/clients", clients.list_clients, _READ_CLIENTS),
    Endpoint("POST", f"{_API}/clients", clients.create_client, ("create:clients",)),
    Endpoint("GET", f"{_API}/clients/{{id}}", clients.get_client, _READ_CLIENTS),
    Endpoint("PATCH", f"{_API}/clients/{{id}}", clients.update_client, _UPDATE_CLIENTS),
    Endpoint("DELETE", f"{_API}/clients/{{id}}", clients.delete_client, ("delete:clients",)),
    Endpoint(
        "POST",
        f"{_API}/clients/{{id}}/rotate-secret",
        clients.rotate_secret,
        ("update:client_keys",),
    ),
    Endpoint(
        "GET", f"{_API}/resource-servers", resource_servers.list_apis, ("read:resource_servers",)
    ),
    Endpoint(
        "POST",
        f"{_API}/resource-servers",
        resource_servers.create_api,
        ("create:resource_servers",),
    ),
    Endpoint(
        "GET",
        f"{_API}/resource-servers/{{id}}",
        resource_servers.get_api,
        ("read:resource_servers",),
    ),
    Endpoint(
        "PATCH",
        f"{_API}/resource-servers/{{id}}",
        resource_servers.update_api,
        ("update:resource_servers",),
    ),
    Endpoint(
        "DELETE",
        f"{_API}/resource-servers/{{id}}",
        resource_servers.delete_api,
        ("delete:resource_servers",),
    ),
    Endpoint("GET", f"{_API}/client-grants", client_grants.list_grants, ("read:client_grants",)),
    Endpoint(
        "POST", f"{_API}/client-grants", client_grants.create_grant, ("create:client_grants",)
    ),
    Endpoint(
        "GET", f"{_API}/client-grants/{{id}}", client_grants.get_grant, ("read:client_grants",)
    ),
    Endpoint(
        "PATCH",
        f"{_API}/client-grants/{{id}}",
        client_grants.update_grant,
        ("update:client_grants",),
    ),
    Endpoint(
        "DELETE",
        f"{_API}/client-grants/{{id}}",
        client_grants.delete_grant,
        ("delete:client_grants",),
    ),
    # actions, versions, triggers and bindings
    Endpoint("GET", f"{_API}/actions/actions", actions.list_actions, _READ_ACTIONS),
    Endpoint("POST", f"{_API}/actions/actions", actions.create_action, _CREATE_ACTIONS),
    Endpoint("GET", f"{_API}/actions/actions/{{id}}", actions.get_action, _READ_ACTIONS),
    Endpoint("PATCH", f"{_API}/actions/actions/{{id}}", actions.update_action, _UPDATE_ACTIONS),
    Endpoint(
        "DELETE", f"{_API}/actions/actions/{{id}}", actions.delete_action, ("delete:actions",)
    ),
    Endpoint(
        "POST", f"{_API}/actions/actions/{{id}}/deploy", actions.deploy_action, _CREATE_ACTIONS
    ),
    Endpoint("POST", f"{_API}/actions/actions/{{id}}/test", actions.test_action, _CREATE_ACTIONS),
    Endpoint(
        "GET",
        f"{_API}/actions/actions/{{actionId}}/versions",
        actions.list_versions,
        _READ_ACTIONS,
    ),
    Endpoint(
        "GET",
        f"{_API}/actions/actions/{{actionId}}/versions/{{id}}",
        actions.get_version,
        _READ_ACTIONS,
    ),
    Endpoint(
        "POST",
        f"{_API}/actions/actions/{{actionId}}/versions/{{id}}/deploy",
        actions.deploy_version,
        _CREATE_ACTIONS,
    ),
    Endpoint("GET", f"{_API}/actions/triggers", actions.list_triggers, _READ_ACTIONS),
    Endpoint(
        "GET",
        f"{_API}/actions/triggers/{{triggerId}}/bindings",
        actions.get_bindings,
        _READ_ACTIONS,
    ),
    Endpoint(
        "PATCH",
        f"{_API}/actions/triggers/{{triggerId}}/bindings",
        actions.update_bindings,
        _UPDATE_ACTIONS,
    ),
    # users
    Endpoint("POST", f"{_API}/users", users.create_user, ("create:users",)),
    Endpoint("GET", f"{_API}/users", users.search_users, ("read:users", "read:user_idp_tokens")),
    Endpoint("GET", f"{_API}/users-by-email", users.users_by_email, ("read:users",)),
    Endpoint(
        "GET",
        f"{_API}/users/{{id}}",
        users.get_user,
        ("read:users", "read:current_user", "read:user_idp_tokens"),
    ),
    Endpoint(
        "PATCH",
        f"{_API}/users/{{id}}",
        users.update_user,
        ("update:users", "update:users_app_metadata", "update:current_user_metadata"),
    ),
    Endpoint(
        "DELETE", f"{_API}/users/{{id}}", users.delete_user, ("delete:users", "delete:current_user")
    ),
    # rules and rules-configs
    Endpoint("GET", f"{_API}/rules", rules.list_rules, ("read:rules",)),
    Endpoint("POST", f"{_API}/rules", rules.create_rule, ("create:rules",)),
    Endpoint("GET", f"{_API}/rules/{{id}}", rules.get_rule, ("read:rules",)),
    Endpoint("PATCH", f"{_API}/rules/{{id}}", rules.update_rule, ("update:rules",)),
    Endpoint("DELETE", f"{_API}/rules/{{id}}", rules.delete_rule, ("delete:rules",)),
    Endpoint("GET", f"{_API}/rules-configs", rules.list_configs, ("read:rules_configs",)),
    Endpoint("PUT", f"{_API}/rules-configs/{{key}}", rules.set_config, ("update:rules_configs",)),
    Endpoint(
        "DELETE", f"{_API}/rules-configs/{{key}}", rules.delete_config, ("delete:rules_configs",)
    ),
    # users-export jobs; the download link is its own credential (no token)
    Endpoint("POST", f"{_API}/jobs/users-exports", jobs.create_export, ("read:users",)),
    Endpoint("GET", f"{_API}/jobs/{{id}}", jobs.get_job, ("create:users", "read:users")),
    Endpoint("GET", "/exports/{token}/{name}", jobs.download_export),
    # the log the flows and the login leave, and the actions' executions
    Endpoint("GET", f"{_API}/logs", logs.list_logs, _READ_LOGS),
    Endpoint("GET", f"{_API}/logs/{{id}}", logs.get_log, _READ_LOGS),
    Endpoint("GET", f"{_API}/actions/executions/{{id}}", logs.get_execution, _READ_ACTIONS),
    # actions modules
    Endpoint("GET", f"{_MODULES}", modules.list_modules, _READ_ACTIONS),
    Endpoint("POST", f"{_MODULES}", modules.create_module, _CREATE_ACTIONS),
    Endpoint("GET", f"{_MODULES}/{{id}}", modules.get_module, _READ_ACTIONS),
    Endpoint("PATCH", f"{_MODULES}/{{id}}", modules.update_module, _UPDATE_ACTIONS),
    Endpoint("DELETE", f"{_MODULES}/{{id}}", modules.delete_module, ("delete:actions",)),
    Endpoint("GET", f"{_MODULES}/{{id}}/actions", modules.module_actions, _READ_ACTIONS),
    Endpoint("GET", f"{_MODULES}/{{id}}/versions", modules.module_versions, _READ_ACTIONS),
    Endpoint("POST", f"{_MODULES}/{{id}}/versions", modules.publish_module, _UPDATE_ACTIONS),
    Endpoint(
        "GET",
        f"{_MODULES}/{{id}}/versions/{{versionId}}",
        modules.get_module_version,
        _READ_ACTIONS,
    ),
    Endpoint("POST", f"{_MODULES}/{{id}}/rollback", modules.rollback_module, _UPDATE_ACTIONS),
    # connections
    Endpoint("GET", f"{_API}/connections", connections.list_connections, _READ_CONNECTIONS),
    Endpoint("POST", f"{_API}/connections", connections.create_connection, ("create:connections",)),
    Endpoint("GET", f"{_API}/connections/{{id}}", connections.get_connection, _READ_CONNECTIONS),
    Endpoint(
        "PATCH", f"{_API}/connections/{{id}}", connections.update_connection, _UPDATE_CONNECTIONS
    ),
    Endpoint(
        "DELETE",
        f"{_API}/connections/{{id}}",
        connections.delete_connection,
        ("delete:connections",),
    ),
    Endpoint(
        "GET", f"{_API}/connections/{{id}}/clients", connections.enabled_clients, _READ_CONNECTIONS
    ),
    Endpoint(
        "PATCH",
        f"{_API}/connections/{{id}}/clients",
        connections.set_enabled_clients,
        _UPDATE_CONNECTIONS,
    ),
    # the login: /authorize, the login form, /continue after a redirect, the MFA step
    Endpoint("GET", "/authorize", login.authorize),
    Endpoint("POST", "/u/login", login.login),
    Endpoint("GET", "/continue", login.resume),
    Endpoint("POST", "/continue", login.resume),
    Endpoint("GET", mfa.PATH, mfa.show),
    Endpoint("POST", mfa.PATH, mfa.verify),
    # signup and password change (the Authentication API, the ticket, the pages)
    Endpoint("POST", "/dbconnections/signup", flows.api_signup),
    Endpoint("POST", "/dbconnections/change_password", flows.api_change_password),
    Endpoint(
        "POST", f"{_API}/tickets/password-change", flows.create_ticket, ("create:user_tickets",)
    ),
    Endpoint("GET", "/u/login", flows.login_form),
    Endpoint("GET", "/u/signup", flows.signup_form),
    Endpoint("POST", "/u/signup", flows.signup_submit),
    Endpoint("GET", "/u/reset-password", flows.reset_form),
    Endpoint("POST", "/u/reset-password", flows.reset_submit),
    # the settings singletons' PATCH and PUT (backends/settings.py); their GETs are below
    *(
        Endpoint(w.method, _API + w.path, functools.partial(settings.write, w), (w.scope,))
        for w in WRITES
    ),
    # last: what a new tenant answers for the resource types nothing above models
    *(
        Endpoint(
            "GET", _API + d.path, functools.partial(tenant_defaults.answer, d), route_scopes(d)
        )
        for d in DEFAULTS
    ),
)

# Checked after the token and before the body: features this tenant lacks.
GATES: tuple[Gate, ...] = (rules_eol.read_only,)


def _bind(app: EmulatorApp, handler: AppHandler) -> Callable[[Request], Response]:
    @functools.wraps(handler)
    def bound(request: Request) -> Response:
        return handler(app, request)

    return bound


def _bind_gate(app: EmulatorApp, gate: Gate) -> Callable[[Request, Route], None]:
    @functools.wraps(gate)
    def bound(request: Request, route: Route) -> None:
        gate(app, request, route)

    return bound


def register(app: EmulatorApp) -> None:
    """Add every endpoint of the table to the app's router, in order, and the gates."""
    for endpoint in ROUTES:
        app.router.add(
            endpoint.method, endpoint.path, _bind(app, endpoint.handler), endpoint.scopes
        )
    app.gates.extend(_bind_gate(app, gate) for gate in GATES)
