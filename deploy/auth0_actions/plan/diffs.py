"""How two states differ: a unified diff of code, and the structured fields that changed.

Shared by the planner (actions) and :mod:`.modules` (Actions Modules).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str | None:
    """A unified diff of two texts, or None when they are equal."""
    if old == new:
        return None
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_label, new_label, lineterm=""
    )
    return "\n".join(lines) + "\n"


def comparable(
    dependencies: Iterable[tuple[str, str]], secrets: Iterable[str], **more: Any
) -> dict[str, Any]:
    """The structured fields as plan compares them: dependencies and secret names as
    sorted lists (their order carries no meaning for Auth0), plus ``more`` as given."""
    return {
        "dependencies": sorted([n, v] for n, v in dependencies),
        "secrets": sorted(secrets),
        **more,
    }


def structured_changes(live: dict[str, Any], desired: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """field -> {"live", "desired"} for each structured field that differs.

    The fields are strings and sorted lists (JSON values), so equality is the
    whole comparison; a field only one side has counts as changed.
    """
    return {
        k: {"live": live.get(k), "desired": desired.get(k)}
        for k in sorted({*live, *desired})
        if live.get(k) != desired.get(k)
    }
