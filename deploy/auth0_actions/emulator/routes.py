"""The route table: every endpoint module of the local tenant, registered in order.

The one place that knows which modules serve which part of the API (as
moto's ``urls.py`` does); the app calls :func:`register` once and
:func:`close` when it shuts down. The first route matching a request wins,
so the new-tenant defaults come last: a resource type that gets real
handlers shadows its default.
"""

from __future__ import annotations

from auth0_actions.emulator import (
    routes_actions,
    routes_auth,
    routes_jobs,
    routes_login,
    routes_rules,
    routes_users,
)
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.handlers import connections, modules, rules_eol, tenant_defaults


def register(app: EmulatorApp) -> None:
    """Add every endpoint to the app's router (the token endpoint first)."""
    routes_auth.register(app)
    routes_actions.register(app)
    routes_users.register(app)
    routes_rules.register(app)
    rules_eol.make_read_only(app)
    routes_jobs.register(app)
    routes_login.register(app)
    for table in (modules.routes(app), connections.routes(app), tenant_defaults.routes(app)):
        for method, template, handler, scopes in table:
            app.router.add(method, template, handler, scopes)


def close(app: EmulatorApp) -> None:
    """Stop what the endpoint modules started (their sandbox pools)."""
    routes_actions.close(app)
    routes_login.close(app)
