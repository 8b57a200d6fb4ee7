"""Which secret values a plan sends again: a raised version, or ``--push-secrets``.

Auth0 never returns secret values, so a plan cannot see that one changed. The
version of each secret (``environments.<env>.secret_versions``) is recorded in
the provenance header of the rendered code; comparing the live code's header
(what was last pushed and shipped) with the rendered one says which values to
push. Actions and Actions Modules use the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auth0_actions.render.engine import header_secret_versions


def secret_push(
    names: Sequence[str], live_code: str, desired_code: str, push_secrets: frozenset[str]
) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
    """The secrets among ``names`` whose values to send again, and their version change.

    A secret no longer used (not in ``names``) is not pushed; the change is
    ``{"secret_values": {"live": {NAME: v}, "desired": {NAME: v}}}``, or empty
    when only ``push_secrets`` asked.
    """
    live_versions = header_secret_versions(live_code)
    desired_versions = header_secret_versions(desired_code)
    bumped = [n for n in names if live_versions.get(n) != desired_versions.get(n)]
    pushed = tuple(n for n in names if n in bumped or n in push_secrets)
    if not bumped:
        return pushed, {}
    return pushed, {
        "secret_values": {
            "live": {n: live_versions.get(n) for n in bumped},
            "desired": {n: desired_versions.get(n) for n in bumped},
        }
    }
