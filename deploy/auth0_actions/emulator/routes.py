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
from auth0_actions.emulator.handlers import mfa


def register(app: EmulatorApp) -> None:
    """Add every endpoint to the app's router (the token endpoint first)."""
    routes_auth.register(app)
    routes_actions.register(app)
    routes_users.register(app)
    routes_rules.register(app)
    routes_jobs.register(app)
    routes_login.register(app)
    mfa.register(app)


def close(app: EmulatorApp) -> None:
    """Stop what the endpoint modules started (their sandbox pools)."""
    routes_actions.close(app)
    routes_login.close(app)
