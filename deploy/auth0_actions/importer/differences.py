"""A later environment's live actions against that environment's render, one by one.

The first import made the templates from one tenant. In another
environment the same actions may run different code (a hotfix made by hand,
a release not promoted yet): each is compared with what the templates render
for that environment, code exactly and runtime, dependencies and secret
names as plan compares them. Identical ones can be recorded as owned; the
others are reported and left to `apply --adopt` after review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auth0_actions.config import Project
from auth0_actions.importer.live import LiveUnit
from auth0_actions.plan.diffs import structured_changes, unified_diff
from auth0_actions.render import RenderedFile


@dataclass(frozen=True)
class Difference:
    """How one live action differs from the environment's render."""

    name: str
    trigger: str
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {live, desired}
    diff: str | None = None  # live code -> rendered code

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trigger": self.trigger,
            "fields": self.fields,
            "diff": self.diff,
        }


def _fields(runtime: str, dependencies: Any, secrets: Any) -> dict[str, Any]:
    return {
        "dependencies": sorted([n, v] for n, v in dependencies),
        "runtime": runtime,
        "secrets": sorted(secrets),
    }


def difference(
    tenant: Project, environment: str, unit: LiveUnit, rendered: RenderedFile
) -> Difference | None:
    """None when the live action is exactly what the environment renders."""
    spec = next(a for a in tenant.config.actions if a.name == unit.name)
    view = tenant.environment(environment)
    desired = _fields(
        spec.runtime,
        [(d.name, d.version) for d in spec.dependencies],
        view.secret_env_vars(spec.secrets),
    )
    live = _fields(unit.runtime, unit.dependencies, unit.secret_names)
    changed = structured_changes(live, desired)
    if spec.trigger != unit.trigger:
        changed["trigger"] = {"live": unit.trigger, "desired": spec.trigger}
    diff = unified_diff(
        unit.code, rendered.text, f"a/{unit.name} (live, {environment})", f"b/{rendered.path}"
    )
    if not changed and diff is None:
        return None
    return Difference(unit.name, unit.trigger, changed, diff)
