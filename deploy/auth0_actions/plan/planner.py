"""The planner: compare desired and live state into a :class:`Plan` of typed changes.

:func:`build_plan` is the comparison itself (pure: two states in, a plan
out); :func:`plan_environment` renders one environment and reads its tenant
(:func:`~auth0_actions.plan.state.open_states`), then builds the plan.

Structured fields (runtime, dependencies, secret names) are compared as
plain values, the lists sorted; code is compared exactly (the rendered file,
header included, is what ships) and shown as a unified diff. Secret *values*
are never part of either state: only names are compared, and the versions
the provenance header records (``secret_versions``): a version that differs
between the live code and the rendered one, or a name in ``push_secrets``,
plans a push of the action's secret values (field ``secret_values``) and a
deploy.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from auth0_actions.config import Project
from auth0_actions.config.positions import Placed, Position, bounds_for, contradiction
from auth0_actions.errors import Auth0ActionsError, ConfigError
from auth0_actions.plan.changes import (
    Adopt,
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
from auth0_actions.plan.diffs import comparable, structured_changes, unified_diff
from auth0_actions.plan.modules import ModulePlan, pin_values, plan_modules
from auth0_actions.plan.secret_push import secret_push
from auth0_actions.plan.state import (
    DesiredAction,
    DesiredState,
    LiveState,
    open_states,
)
from auth0_actions.tenant_client import Dependencies, LiveAction, LiveBinding

STRUCTURED = ("dependencies", "runtime", "secrets")


def _structured(
    runtime: str, dependencies: Dependencies, secrets: tuple[str, ...]
) -> dict[str, Any]:
    return comparable(dependencies, secrets, runtime=runtime)


def _desired_fields(action: DesiredAction) -> dict[str, Any]:
    return _structured(action.runtime, action.dependencies, action.secret_names)


class UnknownSecretError(Auth0ActionsError):
    """--push-secrets named a secret that no action of tenant.yaml uses."""


def _action_changes(
    d: DesiredAction,
    live: LiveAction | None,
    modules: ModulePlan,
    push_secrets: frozenset[str] = frozenset(),
) -> tuple[list[Change], list[Drift]]:
    if live is None:
        return [
            Create(
                d.trigger,
                d.name,
                d.order,
                runtime=d.runtime,
                dependencies=d.dependencies,
                secret_names=d.secret_names,
                modules=tuple(sorted(modules.pins[name].label for name in d.modules)),
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
    pushed, versions = secret_push(d.secret_names, deployed_code or live.code, d.code, push_secrets)
    # The module versions it pins: another version is published, or it pins another.
    pins, redeploy_pins = pin_values(d, live, modules)
    field_changes = dict(sorted({**field_changes, **pins}.items()))
    fields = sorted(
        [
            *(["code"] if live.code != d.code else []),
            *field_changes,
            *(["secret_values"] if pushed else []),
        ]
    )
    if fields:
        changes.append(
            Update(
                d.trigger,
                d.name,
                d.order,
                action_id=live.id,
                fields=tuple(fields),
                values={**field_changes, **versions},
                # The deploy's diff shows deployed -> rendered; show the draft's own
                # diff only when the draft is not what is deployed.
                diff=unified_diff(live.code, d.code, *draft_labels)
                if live.code != deployed_code
                else None,
                pushed=pushed,
            )
        )
    outdated = (
        deployed_version is None
        or deployed_code != d.code
        or deployed != desired
        or bool(redeploy_pins)
    )
    if outdated or pushed:
        changes.append(
            Deploy(
                d.trigger,
                d.name,
                d.order,
                action_id=live.id,
                live_version=deployed_version.number if deployed_version else None,
                reason="not-deployed"
                if deployed_version is None
                else ("changed" if outdated else "secret-values"),
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


def _adopt_change(d: DesiredAction, live: LiveAction, adopting: bool) -> Adopt:
    """What taking over ``live`` would replace: its code and its secret names."""
    version = live.deployed_version
    code = version.code if version else live.code
    names = version.secret_names if version else live.secret_names
    label = f"a/{d.name} (live version {version.number})" if version else f"a/{d.name} (draft)"
    return Adopt(
        d.trigger,
        d.name,
        d.order,
        action_id=live.id,
        adopting=adopting,
        header=d.header,
        secrets={"live": sorted(names), "desired": list(d.secret_names)},
        diff=unified_diff(code, d.code, label, f"b/{d.path}"),
    )


def _unmanaged_anchors(
    trigger: str,
    desired: list[DesiredAction],
    kept: list[tuple[int, str]],  # (managed bindings before it, name), in live order
) -> list[tuple[int, str]]:
    """Each kept unmanaged binding moved the least needed to satisfy the positions."""
    placed = [Placed(d.name, Position.parse(d.position) if d.position else None) for d in desired]
    bound = {name for _, name in kept}
    for d, action in zip(desired, placed, strict=True):
        target = action.position.target if action.position else None
        if target is not None and target not in bound and target not in {p.name for p in placed}:
            raise ConfigError(
                f"tenant.yaml {d.key}.position: '{action.position}' of {d.name} names "
                f"{target}, which is not bound to {trigger} in the tenant; name an action "
                f"bound there, or remove the position"
            )
    moved: list[tuple[int, int, str]] = []
    for rank, (anchor, name) in enumerate(kept):
        bounds = bounds_for(placed, name)
        if bounds.empty:
            key = next(d.key for d in desired if d.name == bounds.low_by)
            raise ConfigError(
                f"tenant.yaml {key}.position ({trigger}): {contradiction(bounds, name)}"
            )
        moved.append((bounds.clamp(anchor), rank, name))
    return [(anchor, name) for anchor, _, name in sorted(moved)]


def _interleaved(planned: list[str], managed: set[str]) -> list[dict[str, str]]:
    """Each unmanaged binding that runs between two managed ones, with its neighbours."""
    found = []
    for index, name in enumerate(planned):
        if name in managed:
            continue
        before = [n for n in planned[:index] if n in managed]
        after = [n for n in planned[index + 1 :] if n in managed]
        if before and after:
            found.append({"action": name, "after": before[-1], "before": after[0]})
    return found


def _binding_changes(
    trigger: str,
    desired: list[DesiredAction],
    bindings: tuple[LiveBinding, ...],
    managed_ids: dict[str, str],  # action id -> name, of managed actions on this trigger
    deleting: set[str],  # action ids of orphans being deleted
) -> tuple[list[Change], list[Drift], dict[str, Any]]:
    """Bind, reorder, unbind; unmanaged bindings keep their place within the positions.

    An unmanaged binding stays after as many managed ones as before, unless a
    position (``actions[].position``) moves it: then it moves the least.
    """
    changes: list[Change] = []
    drift: list[Drift] = []
    order = {d.name: d.order for d in desired}
    live_managed: list[str] = []
    kept_unmanaged: list[tuple[int, str]] = []  # (managed bindings before it, name)
    kept_live: list[str] = []  # the live names that stay bound, in live order
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
                kept_live.append(name)
        elif binding.action_id in deleting:
            changes.append(Unbind(trigger, binding.action_name, 0, binding.id, "orphan"))
        else:
            kept_unmanaged.append((len(live_managed), binding.action_name))
            kept_live.append(binding.action_name)

    planned: list[str] = []
    anchored = _unmanaged_anchors(trigger, desired, kept_unmanaged)
    for index in range(len(desired) + 1):
        planned.extend(name for anchor, name in anchored if anchor == index)
        if index < len(desired):
            planned.append(desired[index].name)

    wanted = [d.name for d in desired if d.name in live_managed]
    live_names = [b.action_name for b in bindings]
    if live_managed != wanted:
        drift.append(
            Drift(
                "binding-order",
                trigger,
                None,
                f"managed bindings run as {', '.join(live_managed)}; tenant.yaml has "
                f"{', '.join(wanted)}",
            )
        )
    staying = set(kept_live)
    if [n for n in planned if n in staying] != kept_live:
        changes.append(Reorder(trigger, None, 0, tuple(live_names), tuple(planned)))
    for d in desired:
        if d.name not in live_managed:
            changes.append(Bind(d.trigger, d.name, d.order, planned.index(d.name)))
    managed = [d.name for d in desired]
    return (
        changes,
        drift,
        {
            "live": live_names,
            "planned": planned,
            "managed": managed,
            "interleaved": _interleaved(planned, set(managed)),
        },
    )


def check_push_secrets(desired: DesiredState, push_secrets: frozenset[str]) -> None:
    """Refuse a --push-secrets name that no action or module of the environment uses."""
    used = {name for d in desired.actions for name in d.secret_names}
    used |= {name for m in desired.modules for name in m.secret_names}
    unknown = sorted(push_secrets - used)
    if unknown:
        known = ", ".join(sorted(used)) or "none"
        raise UnknownSecretError(
            f"--push-secrets: no action of environment {desired.environment} uses "
            f"{', '.join(unknown)} (secrets its actions use: {known})"
        )


def build_plan(
    desired: DesiredState,
    live: LiveState,
    *,
    allow_delete: bool = False,
    push_secrets: frozenset[str] = frozenset(),
    adopt: Collection[str] = (),
) -> Plan:
    """Every change that makes ``live`` match ``desired``, in the fixed order; writes nothing.

    ``push_secrets``: secret names whose values every managed action using
    them gets again (an update and a deploy), with no version raised.
    ``adopt`` names the declared actions whose live namesake (not ours) may be
    taken over; the adopt change of any other stays pending, and that
    action's other changes are not planned (apply refuses such a plan).
    """
    check_push_secrets(desired, push_secrets)
    changes: list[Change] = []
    drift: list[Drift] = []
    unmanaged: list[UnmanagedAction] = []
    deleting: set[str] = set()
    managed_ids: set[str] = set()
    blocked: set[tuple[str, str]] = set()  # (trigger, name) awaiting --adopt
    modules = plan_modules(desired, live, allow_delete=allow_delete, push_secrets=push_secrets)
    changes.extend(modules.changes)
    drift.extend(modules.drift)
    for action in live.actions:
        declared = desired.declared(action)
        owned = desired.owns(action)
        if declared is not None and owned:
            managed_ids.add(action.id)
            continue
        if declared is not None:
            adopting = declared.name in adopt and declared.header
            changes.append(_adopt_change(declared, action, adopting))
            if adopting:
                managed_ids.add(action.id)
            else:
                blocked.add((declared.trigger, declared.name))
            continue
        unmanaged.append(UnmanagedAction(action.id, action.name, action.trigger_ids, owned))
        trigger = action.trigger_ids[0] if action.trigger_ids else ""
        if owned and allow_delete:
            deleting.add(action.id)
            changes.append(Delete(trigger, action.name, 0, action.id))
        elif owned:
            drift.append(
                Drift(
                    "orphan",
                    trigger,
                    action.name,
                    "deployed (or adopted) by auth0-actions but no longer in tenant.yaml; "
                    "deleted only with --allow-delete",
                )
            )

    bindings: dict[str, dict[str, Any]] = {}
    for trigger in sorted(set(desired.triggers) | set(live.bindings)):
        wanted = [d for d in desired.for_trigger(trigger) if (trigger, d.name) not in blocked]
        names = {d.name for d in wanted}
        managed = {
            a.name: a
            for a in live.actions
            if a.id in managed_ids and a.name in names and trigger in a.trigger_ids
        }
        for d in wanted:
            action_changes, action_drift = _action_changes(
                d, managed.get(d.name), modules, push_secrets
            )
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
        adopt=tuple(sorted(set(adopt))),
    )


def plan_environment(
    tenant: Project,
    environment: str,
    *,
    allow_delete: bool = False,
    push_secrets: frozenset[str] = frozenset(),
    adopt: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Desired and live state of one environment, compared: the Plan (nothing is written)."""
    with open_states(tenant, environment, environ) as (_, desired, live):
        return build_plan(
            desired, live, allow_delete=allow_delete, push_secrets=push_secrets, adopt=adopt
        )
