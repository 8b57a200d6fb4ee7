"""Rules as Auth0 answers them since their end of life: readable, never written.

Rules (and Hooks) are not available to tenants created from 2023-10-16 and
reached end of life on 2026-11-18 (https://auth0.com/docs/customize/rules,
https://auth0.com/docs/customize/actions/migrate/migrate-from-rules-to-actions).
A new tenant therefore lists no rules, and creating, changing or deleting a
rule or a rules-config is refused with a 403 naming the deprecated feature.
Clients detect it: Auth0's deploy CLI treats a 403 (or a message with
"deprecated feature") from the rules endpoints as "rules are gone" and goes
on (``isDeprecatedError`` in its ``src/tools/utils.ts``).

``Settings.legacy_rules`` turns writes back on, for a tenant that models one
created before the cut-off (the recorded rules traffic is replayed that way).
"""

from __future__ import annotations

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Route

DEPRECATED = "Insufficient privileges to use this deprecated feature"
PREFIXES = ("/api/v2/rules", "/api/v2/rules-configs")


def read_only(app: EmulatorApp, request: Request, route: Route) -> None:
    """Refuse every rule write before anything else about it is looked at.

    A gate, not a handler: the tenant lacks the feature, so a write is
    refused whatever its body (a0deploy always sends ``stage``, which the
    document would refuse first).
    """
    if (
        route.method != "GET"
        and route.template.startswith(PREFIXES)
        and not app.settings.legacy_rules
    ):
        raise ApiError(403, DEPRECATED)
