"""The planner: compare desired and live state into a :class:`Plan` of typed changes.

:func:`build_plan` is the comparison itself (pure: two states in, a plan
out); :func:`plan_environment` renders one environment and reads its tenant
(:func:`~auth0_actions.plan.state.open_states`), then builds the plan.

Structured fields (runtime, dependencies, secret names) are compared as
plain values, the lists sorted; code is compared exactly (the rendered file,
header included, is what ships) and shown as a unified diff. Secret *values* are never part of
either state: only names are compared.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from auth0_actions.config import Project
from auth0_actions.plan.changes import (
    Bind,
    Change,
    Create,
    Delete,
    Deploy,
    Drift,
    Plan,
    Reorder,
    Unbind,
    UnmanagedAction,
    Update,
)
from auth0_actions.plan.state import (
    DesiredAction,
    DesiredState,
    LiveState,
    is_orphan,
    open_states,
)
from auth0_actions.tenant_client import Dependencies, LiveAction, LiveBinding

STRUCTURED = ("dependencies", "runtime", "secrets")


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str | None:
    """A unified diff of two texts, or None when they are equal."""
    if old == new:
        return None
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_label, new_label, lineterm=""
    )
    return "\n".join(lines) + "\n"


def _structured(
    runtime: str, dependencies: Dependencies, secrets: tuple[str, ...]
) -> dict[str, Any]:
    # Order carries no meaning for Auth0 here: compare as sorted lists.
    return {
        "dependencies": sorted([n, v] for n, v in dependencies),
        "runtime": runtime,
        "secrets": sorted(secrets),
    }


def structured_changes(live: dict[str, Any], desired: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """field -> {"live", "desired"} for each structured field that differs.

    The fields are strings and sorted lists of strings, so equality is the whole
    comparison (deepdiff cost every command that plans a tenth of a second to import).
    """
    return {
        k: {"live": live[k], "desired": desired[k]}
        for k in sorted(desired)
        if live[k] != desired[k]
    }


def _desired_fields(action: DesiredAction) -> dict[str, Any]:
    return _structured(action.runtime, action.dependencies, action.secret_names)


def _action_changes(d: DesiredAction, live: LiveAction | None) -> tuple[list[Change], list[Drift]]:
    if live is None:
        return [
            Create(
                d.trigger,
                d.name,
                d.order,
                runtime=d.runtime,
                dependencies=d.dependencies,
                secret_names=d.secret_names,
            ),
            Deploy(
                d.trigger,
                d.name,
                d.order,
                reason="new",
                diff=unified_diff("", d.code, "/dev/null", f"b/{d.path}"),
            ),
        ], []
    changes: list[Change] = []
    drift: list[Drift] = []
    desired = _desired_fields(d)
    draft = _structured(live.runtime, live.dependencies, live.secret_names)
    deployed_version = live.deployed_version
    deployed_code = deployed_version.code if deployed_version else None
    draft_labels = (f"a/{d.name} (draft)", f"b/{d.path}")

    if deployed_version is not None:
        deployed = _structured(
            deployed_version.runtime, deployed_version.dependencies, deployed_version.secret_names
        )
        by_hand = structured_changes(deployed, draft)
        if live.code != deployed_version.code or by_hand:
            fields = sorted([*(["code"] if live.code != deployed_version.code else []), *by_hand])
            drift.append(
                Drift(
                    "draft-not-deployed",
                    d.trigger,
                    d.name,
                    f"the draft differs from deployed version {deployed_version.number} "
                    f"({', '.join(fields)}): edited by hand, or never deployed",
                    unified_diff(
                        deployed_version.code,
                        live.code,
                        f"a/{d.name} (version {deployed_version.number})",
                        f"b/{d.name} (draft)",
                    ),
                )
            )
    else:
        deployed = None

    field_changes = structured_changes(draft, desired)
    fields = sorted([*(["code"] if live.code != d.code else []), *field_changes])
    if fields:
        changes.append(
            Update(
                d.trigger,
                d.name,
                d.order,
                action_id=live.id,
                fields=tuple(fields),
                values=field_changes,
                # The deploy's diff shows deployed -> rendered; show the draft's own
                # diff only when the draft is not what is deployed.
                diff=unified_diff(live.code, d.code, *draft_labels)
                if live.code != deployed_code
                else None,
            )
        )
    if deployed_version is None or deployed_code != d.code or deployed != desired:
        changes.append(
            Deploy(
                d.trigger,
                d.name,
                d.order,
                action_id=live.id,
                live_version=deployed_version.number if deployed_version else None,
                reason="not-deployed" if deployed_version is None else "changed",
                diff=unified_diff(
                    deployed_code or "",
                    d.code,
                    f"a/{d.name} (version {deployed_version.number})"
                    if deployed_version
                    else "/dev/null",
                    f"b/{d.path}",
                ),
            )
        )
    return changes, drift


def _binding_changes(
    trigger: str,
    desired: list[DesiredAction],
    bindings: tuple[LiveBinding, ...],
    managed_ids: dict[str, str],  # action id -> name, of managed actions on this trigger
    deleting: set[str],  # action ids of orphans being deleted
) -> tuple[list[Change], list[Drift], dict[str, list[str]]]:
    """Bind, reorder, unbind; unmanaged bindings stay after as many managed ones as before."""
    changes: list[Change] = []
    drift: list[Drift] = []
    order = {d.name: d.order for d in desired}
    live_managed: list[str] = []
    kept_unmanaged: list[tuple[int, str]] = []  # (managed bindings before it, name)
    for binding in bindings:
        name = managed_ids.get(binding.action_id)
        if name is not None:
            if name in live_managed:
                changes.append(Unbind(trigger, name, order[name], binding.id, "duplicate"))
                drift.append(
                    Drift("duplicate-binding", trigger, name, "bound more than once (by hand)")
                )
            else:
                live_managed.append(name)
        elif binding.action_id in deleting:
            changes.append(Unbind(trigger, binding.action_name, 0, binding.id, "orphan"))
        else:
            kept_unmanaged.append((len(live_managed), binding.action_name))

    planned: list[str] = []
    for index in range(len(desired) + 1):
        planned.extend(name for anchor, name in kept_unmanaged if anchor == index)
        if index < len(desired):
            planned.append(desired[index].name)

    wanted = [d.name for d in desired if d.name in live_managed]
    live_names = [b.action_name for b in bindings]
    if live_managed != wanted:
        changes.append(Reorder(trigger, None, 0, tuple(live_names), tuple(planned)))
        drift.append(
            Drift(
                "binding-order",
                trigger,
                None,
                f"managed bindings run as {', '.join(live_managed)}; tenant.yaml has "
                f"{', '.join(wanted)}",
            )
        )
    for d in desired:
        if d.name not in live_managed:
            changes.append(Bind(d.trigger, d.name, d.order, planned.index(d.name)))
    return changes, drift, {"live": live_names, "planned": planned}


def build_plan(desired: DesiredState, live: LiveState, *, allow_delete: bool = False) -> Plan:
    """Every change that makes ``live`` match ``desired``, in the fixed order; writes nothing."""
    changes: list[Change] = []
    drift: list[Drift] = []
    unmanaged: list[UnmanagedAction] = []
    deleting: set[str] = set()
    for action in live.actions:
        if desired.managed(action):
            continue
        orphan = is_orphan(action)
        unmanaged.append(UnmanagedAction(action.id, action.name, action.trigger_ids, orphan))
        trigger = action.trigger_ids[0] if action.trigger_ids else ""
        if orphan and allow_delete:
            deleting.add(action.id)
            changes.append(Delete(trigger, action.name, 0, action.id))
        elif orphan:
            drift.append(
                Drift(
                    "orphan",
                    trigger,
                    action.name,
                    "deployed by auth0-actions but no longer in tenant.yaml; "
                    "deleted only with --allow-delete",
                )
            )

    bindings: dict[str, dict[str, list[str]]] = {}
    for trigger in sorted(set(desired.triggers) | set(live.bindings)):
        wanted = desired.for_trigger(trigger)
        names = {d.name for d in wanted}
        managed = {a.name: a for a in live.actions if a.name in names and trigger in a.trigger_ids}
        for d in wanted:
            action_changes, action_drift = _action_changes(d, managed.get(d.name))
            changes.extend(action_changes)
            drift.extend(action_drift)
        binding_changes, binding_drift, lists = _binding_changes(
            trigger,
            wanted,
            live.bindings.get(trigger, ()),
            {a.id: a.name for a in managed.values()},
            deleting,
        )
        changes.extend(binding_changes)
        drift.extend(binding_drift)
        if lists["live"] or lists["planned"]:
            bindings[trigger] = lists

    return Plan(
        environment=desired.environment,
        allow_delete=allow_delete,
        changes=tuple(sorted(changes, key=lambda c: c.sort_key)),
        drift=tuple(sorted(drift, key=lambda d: (d.trigger, d.action or "", d.kind))),
        unmanaged=tuple(sorted(unmanaged, key=lambda u: (u.name, u.id))),
        bindings=bindings,
    )


def plan_environment(
    tenant: Project,
    environment: str,
    *,
    allow_delete: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Desired and live state of one environment, compared: the Plan (nothing is written)."""
    with open_states(tenant, environment, environ) as (_, desired, live):
        return build_plan(desired, live, allow_delete=allow_delete)
