"""The route table: every endpoint module of the local tenant, registered in order.

The one place that knows which modules serve which part of the API (as
moto's ``urls.py`` does); the app calls :func:`register` once and
:func:`close` when it shuts down.
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
from auth0_actions.emulator.flows.hub import Flows
from auth0_actions.emulator.handlers.flows import CREATE_TICKETS, FlowHandlers
from auth0_actions.emulator.handlers.logs import READ_EXECUTIONS, READ_LOGS, LogHandlers


def register(app: EmulatorApp) -> None:
    """Add every endpoint to the app's router (the token endpoint first)."""
    routes_auth.register(app)
    routes_actions.register(app)
    routes_users.register(app)
    routes_rules.register(app)
    routes_jobs.register(app)
    routes_login.register(app)
    _flows(app)


def _flows(app: EmulatorApp) -> None:
    """Signup, password change, their pages, and the log they and the login leave."""
    flows = app.flows = Flows(app)
    handlers, logs = FlowHandlers(app, flows), LogHandlers(flows.logs)
    add = app.router.add
    add("POST", "/dbconnections/signup", handlers.api_signup)
    add("POST", "/dbconnections/change_password", handlers.api_change_password)
    add("POST", "/api/v2/tickets/password-change", handlers.create_ticket, CREATE_TICKETS)
    add("GET", "/u/login", handlers.login_form)
    add("GET", "/u/signup", handlers.signup_form)
    add("POST", "/u/signup", handlers.signup_submit)
    add("GET", "/u/reset-password", handlers.reset_form)
    add("POST", "/u/reset-password", handlers.reset_submit)
    add("GET", "/api/v2/logs", logs.list_logs, READ_LOGS)
    add("GET", "/api/v2/logs/{id}", logs.get_log, READ_LOGS)
    add("GET", "/api/v2/actions/executions/{id}", logs.get_execution, READ_EXECUTIONS)


def close(app: EmulatorApp) -> None:
    """Stop what the endpoint modules started (their sandbox pools)."""
    routes_actions.close(app)
    routes_login.close(app)
    if app.flows is not None:
        app.flows.close()
