"""What a handler may use of the emulator app, so it never imports app.py.

The app (:class:`auth0_actions.emulator.app.Emulator`) builds the route table
(:mod:`auth0_actions.emulator.routes`), which imports every handler module;
the handlers see the app only through :class:`EmulatorApp`, so no module
imports one that imports it back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from auth0_actions.emulator.auth import TokenAuthority
from auth0_actions.emulator.backends import Backends
from auth0_actions.emulator.backends.host import Settings
from auth0_actions.emulator.builds import DependencyBuilds
from auth0_actions.emulator.http import Request, Route, Router
from auth0_actions.emulator.oauth import AuthorizationServer
from auth0_actions.emulator.store import Store

__all__ = ["EmulatorApp", "Settings"]


class EmulatorApp(Protocol):
    """One local tenant, as its handlers see it."""

    store: Store
    backends: Backends  # every area's state and Auth0's rules for it
    domain: str
    settings: Settings
    authority: TokenAuthority
    oauth: AuthorizationServer  # client authentication and grants
    router: Router
    # Checked after the token and before the body: features this tenant lacks.
    gates: list[Callable[[Request, Route], None]]
    public_base_url: str | None  # set by whoever serves the app
    # Built once with the app (Emulator.__init__):
    export_failures: list[str]  # jobs: each message fails the next export that completes
    login_flow: Any  # flows/login.py LoginFlow: transactions in flight, codes not yet exchanged
    actions_sandbox: Any  # actions: the sandbox pool of POST .../test
    dependency_builds: DependencyBuilds  # npm installs of the actions' dependencies
    flows: Any  # flows/hub.py Flows: signup, password change, trigger runs, the log
