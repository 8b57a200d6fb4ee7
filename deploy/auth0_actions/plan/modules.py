"""Actions Modules in a plan: their own changes, and the version each action pins.

A declared module is compared with the live one by name: its draft (code,
dependencies, secret names) against the rendered module (``module-update``),
and its latest published version against the same (``module-publish``). The
version an action pins is the one whose content is the rendered module: the
latest version when it already is, else the version apply publishes. An
action whose draft or deployed version pins another gets its own ``update``
(field ``modules``) and ``deploy`` (:func:`pin_values`, used by the planner).

Ownership: a live module with a declared name is ours only when its draft
carries the provenance header or its id is recorded under
``environments.<env>.adopted.modules``; any other is refused, naming it, so a
module this tool did not write is never replaced. An undeclared module that
is ours is an orphan: deleted with ``allow_delete`` once no action pins it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auth0_actions.errors import Auth0ActionsError
from auth0_actions.plan.changes import (
    MODULES,
    Change,
    Drift,
    ModuleCreate,
    ModuleDelete,
    ModulePublish,
    ModuleUpdate,
)
from auth0_actions.plan.diffs import comparable, structured_changes, unified_diff
from auth0_actions.plan.secret_push import secret_push
from auth0_actions.plan.state import (
    PROVENANCE_MARKER,
    DesiredAction,
    DesiredModule,
    DesiredState,
    LiveState,
)
from auth0_actions.tenant_client import Dependencies, LiveAction, LiveModule, ModulePin


class ModuleOwnershipError(Auth0ActionsError):
    """A declared module's name belongs to a live module this tool does not own."""


@dataclass(frozen=True)
class PlannedPin:
    """The module version an action should pin; ``version_id`` None until apply publishes it."""

    module: str
    number: int
    version_id: str | None

    @property
    def label(self) -> str:
        return f"{self.module} v{self.number}"


@dataclass
class ModulePlan:
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    pins: dict[str, PlannedPin] = field(default_factory=dict)  # module name -> pin
    live_ids: dict[str, str] = field(default_factory=dict)  # live module id -> name


def _content(code: str, dependencies: Dependencies, secrets: Sequence[str]) -> dict[str, Any]:
    return comparable(dependencies, secrets, code=code)


def _fields(live: dict[str, Any], desired: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Changed fields (code compared exactly, shown as a diff) and the structured values."""
    structured = structured_changes(
        {k: v for k, v in live.items() if k != "code"},
        {k: v for k, v in desired.items() if k != "code"},
    )
    code = ["code"] if live["code"] != desired["code"] else []
    return sorted([*code, *structured]), structured


def is_ours(module: LiveModule, adopted: Mapping[str, str]) -> bool:
    """Written by this tool (the header in its draft), or adopted by id in tenant.yaml."""
    return module.code.startswith(PROVENANCE_MARKER) or module.id in adopted.values()


def _module_changes(
    d: DesiredModule,
    live: LiveModule | None,
    plan: ModulePlan,
    push_secrets: frozenset[str] = frozenset(),
) -> None:
    desired = _content(d.code, d.dependencies, d.secret_names)
    if live is None:
        plan.changes += [
            ModuleCreate(
                MODULES, d.name, 0, dependencies=d.dependencies, secret_names=d.secret_names
            ),
            ModulePublish(
                MODULES,
                d.name,
                0,
                reason="new",
                diff=unified_diff("", d.code, "/dev/null", f"b/{d.path}"),
            ),
        ]
        plan.pins[d.name] = PlannedPin(d.name, 1, None)
        return
    latest = live.latest_version
    published = _content(latest.code, latest.dependencies, latest.secret_names) if latest else None
    draft = _content(live.code, live.dependencies, live.secret_names)
    if published is not None and draft != published and latest is not None:
        plan.drift.append(
            Drift(
                "module-draft-not-published",
                MODULES,
                d.name,
                f"the draft differs from published version {latest.number}: edited by hand, "
                "or never published",
                unified_diff(
                    latest.code,
                    live.code,
                    f"a/{d.name} (version {latest.number})",
                    f"b/{d.name} (draft)",
                ),
            )
        )
    fields, values = _fields(draft, desired)
    # Secret values to send again: a version raised since the published version, or asked.
    pushed, versions = secret_push(
        d.secret_names, latest.code if latest else live.code, d.code, push_secrets
    )
    if pushed:
        fields = sorted({*fields, "secret_values"})
        values = {**values, **versions}
    if fields:
        plan.changes.append(
            ModuleUpdate(
                MODULES,
                d.name,
                0,
                module_id=live.id,
                fields=tuple(fields),
                values=values,
                diff=unified_diff(live.code, d.code, f"a/{d.name} (draft)", f"b/{d.path}")
                if latest is None or live.code != latest.code
                else None,
                pushed=pushed,
            )
        )
    # A version carries its secrets: pushed values go live only in a new one.
    if latest is not None and published == desired and not pushed:
        plan.pins[d.name] = PlannedPin(d.name, latest.number, latest.id)
        return
    number = live.latest_version_number + 1
    plan.changes.append(
        ModulePublish(
            MODULES,
            d.name,
            0,
            module_id=live.id,
            live_version=latest.number if latest else None,
            version=number,
            reason=("changed" if published != desired else "secret-values")
            if latest
            else "not-published",
            diff=unified_diff(
                latest.code if latest else "",
                d.code,
                f"a/{d.name} (version {latest.number})" if latest else "/dev/null",
                f"b/{d.path}",
            ),
        )
    )
    plan.pins[d.name] = PlannedPin(d.name, number, None)


def plan_modules(
    desired: DesiredState,
    live: LiveState,
    *,
    allow_delete: bool,
    push_secrets: frozenset[str] = frozenset(),
) -> ModulePlan:
    """The modules' own changes and drift, and the pin of each declared module."""
    plan = ModulePlan(live_ids={m.id: m.name for m in live.modules})
    by_name = {m.name: m for m in live.modules}
    refused = [
        f"{m.name} ({m.id})"
        for d in desired.modules
        if (m := by_name.get(d.name)) is not None and not is_ours(m, desired.adopted_modules)
    ]
    if refused:
        raise ModuleOwnershipError(
            f"environment {desired.environment}: the tenant already has a module named "
            f"{', '.join(refused)} that auth0-actions did not deploy; nothing was changed. "
            "Bring it under management with `auth0-actions import`, or record its id under "
            f"environments.{desired.environment}.adopted.modules in tenant.yaml"
        )
    for d in desired.modules:
        _module_changes(d, by_name.get(d.name), plan, push_secrets)
    declared = set(desired.module_names)
    for module in live.modules:
        if module.name in declared or not is_ours(module, desired.adopted_modules):
            continue
        users = _users(module.id, live.actions, desired)
        if allow_delete and not users:
            plan.changes.append(ModuleDelete(MODULES, module.name, 0, module_id=module.id))
            continue
        why = f"still pinned by {', '.join(users)}" if users else "deleted only with --allow-delete"
        plan.drift.append(
            Drift(
                "module-orphan",
                MODULES,
                module.name,
                f"deployed by auth0-actions but no longer in tenant.yaml; {why}",
            )
        )
    return plan


def _users(module_id: str, actions: Sequence[LiveAction], desired: DesiredState) -> list[str]:
    """Actions that will still pin the module after apply (draft or deployed version).

    A declared action stops pinning an undeclared module when apply updates
    and deploys it; every other action keeps what it has.
    """
    ours = {a.name for a in desired.actions}
    users = []
    for action in actions:
        if action.name in ours:
            continue
        deployed = action.deployed_version.modules if action.deployed_version else ()
        if any(p.module_id == module_id for p in (*action.modules, *deployed)):
            users.append(action.name)
    return sorted(users)


def _matches(pins: Sequence[ModulePin], wanted: Sequence[PlannedPin], plan: ModulePlan) -> bool:
    """The live pins are exactly the planned versions (a version to publish never matches)."""
    if len(pins) != len(wanted):
        return False
    live = {(plan.live_ids.get(p.module_id, p.module_name), p.version_id) for p in pins}
    return all(w.version_id is not None and (w.module, w.version_id) in live for w in wanted)


def _labels(pins: Sequence[ModulePin], plan: ModulePlan) -> list[str]:
    return sorted(
        f"{plan.live_ids.get(p.module_id, p.module_name)} v{p.version_number}" for p in pins
    )


def pin_values(
    d: DesiredAction, live: LiveAction, plan: ModulePlan
) -> tuple[dict[str, dict[str, Any]], bool]:
    """The ``modules`` value of the action's update (empty when the draft pins the planned
    versions), and whether its deployed version pins something else (a deploy is needed)."""
    wanted = [plan.pins[name] for name in d.modules]
    desired = sorted(w.label for w in wanted)
    values: dict[str, dict[str, Any]] = {}
    if not _matches(live.modules, wanted, plan):
        values["modules"] = {"live": _labels(live.modules, plan), "desired": desired}
    deployed = live.deployed_version
    return values, deployed is not None and not _matches(deployed.modules, wanted, plan)
