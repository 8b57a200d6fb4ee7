"""What a backend may use of the tenant it belongs to, so no backend imports the app.

The backends own the tenant's state through the :class:`Store`; a few read
the tenant's knobs too (``settings.build_seconds``: how long builds and
export jobs take) or its npm builds. They see the app only through
:class:`BackendHost`, which the app and :class:`~auth0_actions.emulator.context.EmulatorApp`
both satisfy, so backends never import the app, the handlers or each other's callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from auth0_actions.emulator.builds import DependencyBuilds
from auth0_actions.emulator.store import Store


@dataclass
class Settings:
    build_seconds: float = 0.0  # pending -> building -> built takes this long
    versions_kept: int = 50
    # Rules are read-only since their end of life (handlers/rules_eol.py); True
    # models a tenant created before the cut-off, whose rules can still be written.
    legacy_rules: bool = False


class BackendHost(Protocol):
    """The parts of one local tenant its backends read."""

    store: Store
    domain: str  # the tenant's canonical domain (ids and audiences derive from it)
    settings: Settings  # read on every use: a test may replace it
    dependency_builds: DependencyBuilds  # npm installs of the actions' dependencies
    export_failures: list[str]  # jobs: each message fails the next export that completes
    actions_sandbox: Any  # the sandbox pool of POST .../test, started on first use
