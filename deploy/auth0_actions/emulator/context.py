"""What an endpoint module may use of the emulator app, so it never imports app.py.

The app (:class:`auth0_actions.emulator.app.Emulator`) builds the route table
(:mod:`auth0_actions.emulator.routes`), which imports every endpoint module;
the endpoint modules see the app only through :class:`EmulatorApp`, so no
module imports one that imports it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from auth0_actions.emulator.auth import TokenAuthority
from auth0_actions.emulator.builds import DependencyBuilds
from auth0_actions.emulator.http import Router
from auth0_actions.emulator.store import Store


@dataclass
class Settings:
    build_seconds: float = 0.0  # pending -> building -> built takes this long
    versions_kept: int = 50
    # Rules are read-only since their end of life (handlers/rules_eol.py); True
    # models a tenant created before the cut-off, whose rules can still be written.
    legacy_rules: bool = False


class EmulatorApp(Protocol):
    """One local tenant, as its endpoint modules see it."""

    store: Store
    domain: str
    settings: Settings
    authority: TokenAuthority
    router: Router
    public_base_url: str | None  # set by whoever serves the app
    # Hung on the app by the endpoint modules that own them:
    export_failures: list[str]  # jobs: each message fails the next export that completes
    exchange_code: Callable[[dict[str, Any]], dict[str, Any]] | None  # login: code grant
    login_flow: Any  # login: transactions in flight
    actions_sandbox: Any  # actions: the sandbox pool of POST .../test
    dependency_builds: DependencyBuilds  # npm installs of the actions' dependencies
