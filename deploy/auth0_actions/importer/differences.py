"""A later environment's live actions and modules against that environment's render.

The first import made the templates from one tenant. In another
environment the same actions may run different code (a hotfix made by hand,
a release not promoted yet): each is compared with what the templates render
for that environment, code exactly and runtime, dependencies, secret names
and the modules it pins as plan compares them. A module is compared the
same way: the version the environment's actions pin (or its latest) against
its render, with its dependencies and secret names. Identical ones can be
recorded as owned; the others are reported and left to `apply --adopt`
after review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auth0_actions.config import Project
from auth0_actions.importer.kinds import MODULE
from auth0_actions.importer.live import LiveUnit
from auth0_actions.plan.diffs import comparable, structured_changes, unified_diff
from auth0_actions.render import RenderedFile


@dataclass(frozen=True)
class Difference:
    """How one live action (or module) differs from the environment's render."""

    name: str
    trigger: str  # an action's; "" for a module
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> {live, desired}
    diff: str | None = None  # live code -> rendered code
    kind: str = "action"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "trigger": self.trigger,
            "fields": self.fields,
            "diff": self.diff,
        }


def _compared(
    tenant: Project, environment: str, unit: LiveUnit
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """(live fields, desired fields, changes plan compares apart) of the unit's kind."""
    view = tenant.environment(environment)
    live = comparable(unit.dependencies, unit.secret_names)
    if unit.kind is MODULE:
        module = next(m for m in tenant.config.modules if m.name == unit.name)
        desired = comparable(
            [(d.name, d.version) for d in module.dependencies],
            view.secret_env_vars(module.secrets),
        )
        return live, desired, {}
    spec = next(a for a in tenant.config.actions if a.name == unit.name)
    desired = comparable(
        [(d.name, d.version) for d in spec.dependencies],
        view.secret_env_vars(spec.secrets),
        runtime=spec.runtime,
        modules=sorted(spec.modules),
    )
    live |= {"runtime": unit.runtime, "modules": sorted(unit.modules)}
    trigger = {}
    if spec.trigger != unit.trigger:
        trigger["trigger"] = {"live": unit.trigger, "desired": spec.trigger}
    return live, desired, trigger


def difference(
    tenant: Project, environment: str, unit: LiveUnit, rendered: RenderedFile
) -> Difference | None:
    """None when the live action (or module) is exactly what the environment renders."""
    live, desired, changed = _compared(tenant, environment, unit)
    changed |= structured_changes(live, desired)
    where = f"{unit.name} (live, {environment})"
    if unit.kind is MODULE:
        where = f"{unit.name} (live, {environment}, version {unit.version})"
    diff = unified_diff(unit.code, rendered.text, f"a/{where}", f"b/{rendered.path}")
    if not changed and diff is None:
        return None
    return Difference(unit.name, unit.trigger, changed, diff, unit.kind.name)
