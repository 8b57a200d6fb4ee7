"""Apply: make one environment's tenant match the plan, then check that it does.

Order (each step only for what the plan changes):

0. **Actions Modules**: create, update and publish them (a new module is
   created and published in one request), so that the actions' drafts can
   pin the published versions by id;
1. **create** and **update** drafts (code, dependencies, runtime, secrets;
   secret values come from :func:`auth0_actions.secrets.resolve_secret_values` and
   are never reported). An update sends the action's secret values when its
   secret names change or when it pushes them (field ``secret_values``: a
   raised ``secret_versions`` or ``--push-secrets``), every value of the
   action each time, because Auth0's PATCH replaces the whole secrets list;
2. **wait for the build** of every draft about to be deployed (polled with
   backoff: each pause a quarter of the time waited so far, 0.1 s to 2 s). A
   ``failed`` build stops here, before any deploy or binding: the previously
   deployed version stays live;
3. **deploy** (the updated ones: the created ones were deployed by their
   create call) and wait until each action's deployed version is built and
   carries the desired code;
4. **one bindings PATCH per trigger** with the full ordered list the plan
   planned: ours by ``action_id``, bindings we do not own by ``binding_id``
   (keeping their place and display name). Bindings change only after every
   new version is live, and the list always holds every managed action, so a
   managed action is never unbound while it is being updated;
5. **delete** orphans (only when the plan has delete changes: ``allow_delete``).
   Their bindings, on every trigger, went in step 4: Auth0 answers 409 to
   deleting a bound action (terraform-provider-auth0 #1550, #1641); then
   orphan modules, which no action pins any more;
6. **verify**: the tenant is read again and a fresh plan must have no changes.

Creates and updates are sent concurrently (at most :data:`MAX_PARALLEL` at
once), and so are the deploys; a new action is deployed by its create call
(``deploy: true``), so it needs no deploy request. Each wait round reads only
the pending actions, the cheaper way (a GET each, or one listing; see
:class:`Waiter`). Every request is paced to the tenant's rate limit
(:mod:`auth0_actions.tenant_client.pacing`). The order between steps holds: no deploy before every
build succeeded, no binding before every deployed version is live.

Nothing is kept between runs: an apply interrupted after any step is resumed
by running it again, because the next plan starts from what the tenant holds.
With no changes, apply writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from auth0_actions.config import Project
from auth0_actions.plan.changes import (
    BINDING_CHANGES,
    Create,
    Delete,
    Deploy,
    ModuleChange,
    Plan,
    Update,
)
from auth0_actions.plan.module_apply import delete_modules, publish_modules
from auth0_actions.plan.ownership import require_adoptions
from auth0_actions.plan.planner import build_plan
from auth0_actions.plan.state import DesiredAction, DesiredState, LiveState, live_state, open_states
from auth0_actions.plan.steps import Step as Step  # re-exported: what apply reports
from auth0_actions.plan.steps import Updated as Updated  # an action's or a module's draft
from auth0_actions.plan.waiting import (
    MAX_PARALLEL,
    POLL_FIRST_S,
    POLL_FRACTION,
    POLL_MAX_S,
    ApplyError,
    Waiter,
)
from auth0_actions.secrets import Secret, resolve_secret_values
from auth0_actions.tenant_client import BindingRef, LiveAction, ModulePin, TenantClient

# Re-exported: apply's error and its waits are imported from here.
__all__ = [
    "BUILD_TIMEOUT_S",
    "MAX_PARALLEL",
    "POLL_FIRST_S",
    "POLL_FRACTION",
    "POLL_MAX_S",
    "ApplyError",
    "ApplyResult",
    "Step",
    "Waiter",
    "apply_environment",
    "execute_plan",
]

BUILD_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Created(Step):
    kind: ClassVar[str] = "create"
    action_id: str = ""

    def describe(self) -> str:
        return f"created {self.where} ({self.action_id})"

    def extra(self) -> dict[str, Any]:
        return {"action_id": self.action_id}


@dataclass(frozen=True)
class Built(Step):
    kind: ClassVar[str] = "build"

    def describe(self) -> str:
        return f"built {self.where}"


@dataclass(frozen=True)
class Deployed(Step):
    kind: ClassVar[str] = "deploy"
    version: int = 0

    def describe(self) -> str:
        return f"deployed {self.where} version {self.version}"

    def extra(self) -> dict[str, Any]:
        return {"version": self.version}


@dataclass(frozen=True)
class Bound(Step):
    """A trigger's whole binding list, set in one PATCH."""

    kind: ClassVar[str] = "bindings"
    bindings: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"bound {self.where}: {' -> '.join(self.bindings) or '(none)'}"

    def extra(self) -> dict[str, Any]:
        return {"bindings": list(self.bindings)}


@dataclass(frozen=True)
class Deleted(Step):
    kind: ClassVar[str] = "delete"
    action_id: str = ""

    def describe(self) -> str:
        return f"deleted {self.where} ({self.action_id})"

    def extra(self) -> dict[str, Any]:
        return {"action_id": self.action_id}


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    applied: bool  # False when there was nothing to do (or it was not confirmed)
    steps: tuple[Step, ...] = ()

    @property
    def data(self) -> dict[str, Any]:
        return {
            "ok": True,
            "environment": self.plan.environment,
            "applied": self.applied,
            "verified": self.applied or not self.plan.changes,
            "steps": [s.data for s in self.steps],
            "plan": self.plan.data,
        }


def _desired_by_name(desired: DesiredState) -> dict[tuple[str, str], DesiredAction]:
    return {(d.trigger, d.name): d for d in desired.actions}


def _managed_ids(desired: DesiredState, live: LiveState) -> dict[tuple[str, str], str]:
    """(trigger, name) -> live action id of every managed action that exists."""
    ids: dict[tuple[str, str], str] = {}
    for d in desired.actions:
        for action in live.actions:  # the last match wins, as in build_plan
            if action.name == d.name and d.trigger in action.trigger_ids:
                ids[(d.trigger, d.name)] = action.id
    return ids


def _binding_refs(
    trigger: str,
    planned: list[str],
    desired: DesiredState,
    live: LiveState,
    ids: Mapping[tuple[str, str], str],
    deleting: set[str],
) -> list[BindingRef]:
    """The plan's planned list as refs: ours by action id, the others by their binding id."""
    ours = {d.name for d in desired.for_trigger(trigger)}
    managed = {ids[(trigger, name)] for name in ours if (trigger, name) in ids}
    others = [
        b
        for b in live.bindings.get(trigger, ())
        if b.action_id not in managed and b.action_id not in deleting
    ]
    refs: list[BindingRef] = []
    for name in planned:
        if name in ours:
            refs.append(BindingRef("action_id", ids[(trigger, name)]))
            continue
        binding = next(b for b in others if b.action_name == name)
        others.remove(binding)
        refs.append(BindingRef("binding_id", binding.id, binding.display_name or None))
    return refs


def _in_parallel(calls: Sequence[Callable[[], Step]], done: Callable[[Step], None]) -> None:
    """Run independent writes on a small pool; report their steps in plan order.

    After the first failure no further call starts; the calls already in flight
    run to their end (a request on the wire cannot be recalled) and are
    reported, then the failure is raised, so what went through is shown.
    """
    if len(calls) <= 1:
        for call in calls:
            done(call())
        return
    with ThreadPoolExecutor(min(MAX_PARALLEL, len(calls)), "apply") as pool:
        futures = [pool.submit(call) for call in calls]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()  # only those not started yet
    failure: BaseException | None = None
    for future in futures:
        if future.cancelled():
            continue
        error = future.exception()
        if error is None:
            done(future.result())
        elif failure is None:
            failure = error
    if failure is not None:
        raise failure


def execute_plan(
    client: TenantClient,
    plan: Plan,
    desired: DesiredState,
    live: LiveState,
    secrets: Callable[[], Mapping[str, Secret]],
    *,
    build_timeout: float = BUILD_TIMEOUT_S,
    on_step: Callable[[Step], None] | None = None,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Step]:
    """Carry out ``plan`` (made from ``desired`` and ``live``) in the documented order."""
    steps: list[Step] = []

    def record(step: Step) -> None:
        steps.append(step)
        if on_step is not None:
            on_step(step)

    wanted = _desired_by_name(desired)
    ids = _managed_ids(desired, live)
    creating = sum(1 for c in plan.changes if isinstance(c, Create))
    waiter = Waiter(
        client, clock() + build_timeout, progress, sleep, clock, listed=len(live.actions) + creating
    )
    values: dict[str, Secret] | None = None

    def secrets_for(names: Sequence[str]) -> dict[str, Secret]:
        nonlocal values
        if values is None:
            values = dict(secrets())
        return {name: values[name] for name in names}

    def secret_values(d: DesiredAction) -> dict[str, Secret]:
        return secrets_for(d.secret_names)

    # 0. modules: created, updated and published before any action pins them
    pins = publish_modules(client, plan, desired, live, secrets_for, record)

    def pinned(d: DesiredAction) -> list[ModulePin]:
        return [pins[name] for name in d.modules]

    # 1. create / update drafts, concurrently (each is one independent request)
    building: dict[str, str] = {}

    # A new action is deployed by its create call (Auth0's ``deploy: true``): no
    # separate deploy request; the wait for its deployed version stays.
    deploying = {(c.trigger, c.action or "") for c in plan.changes if isinstance(c, Deploy)}
    deployed_by_create: dict[tuple[str, str], int] = {}

    def create(d: DesiredAction, sent: Mapping[str, Secret]) -> Step:
        deploy_now = (d.trigger, d.name) in deploying
        made = client.create_action(
            d.name,
            d.trigger,
            d.code,
            runtime=d.runtime,
            dependencies=d.dependencies,
            secrets=sent,
            modules=pinned(d),
            deploy=deploy_now,
        )
        if deploy_now:
            first = made.deployed_version
            deployed_by_create[(d.trigger, d.name)] = first.number if first is not None else 1
        return Created(d.trigger, d.name, made.id)

    def update(change: Update, d: DesiredAction, sent: Mapping[str, Secret] | None) -> Step:
        fields = set(change.fields)
        client.update_action(
            change.action_id,
            code=d.code if "code" in fields else None,
            runtime=d.runtime if "runtime" in fields else None,
            dependencies=d.dependencies if "dependencies" in fields else None,
            secrets=sent,
            modules=pinned(d) if "modules" in fields else None,
        )
        return Updated(d.trigger, d.name, change.fields)

    writes: list[Callable[[], Step]] = []
    for change in plan.changes:
        if isinstance(change, Create):
            d = wanted[(change.trigger, change.action or "")]
            writes.append(partial(create, d, secret_values(d)))
        elif isinstance(change, Update):
            d = wanted[(change.trigger, change.action or "")]
            sends = {"secrets", "secret_values"} & set(change.fields)
            sent = secret_values(d) if sends else None
            writes.append(partial(update, change, d, sent))

    def drafted(step: Step) -> None:
        key = (step.trigger, step.action or "")
        if isinstance(step, Created):
            ids[key] = step.action_id
        # One created with deploy: true is waited for once, as a deployed version
        # (built, with the desired code): a build wait first would cost another round.
        if key not in deployed_by_create:
            building[f"{step.trigger}/{step.action}"] = ids[key]
        record(step)

    _in_parallel(writes, drafted)

    # 2. wait for the drafts about to be deployed (and the ones just changed) to build
    deploys = [c for c in plan.changes if isinstance(c, Deploy)]
    live_by_id = {a.id: a for a in live.actions}
    for change in deploys:
        if (change.trigger, change.action or "") in deployed_by_create:
            continue
        action_id = ids[(change.trigger, change.action or "")]
        known = live_by_id.get(action_id)
        if known is None or known.status != "built":
            building.setdefault(f"{change.trigger}/{change.action}", action_id)

    def build_failed(label: str) -> ApplyError:
        return ApplyError(
            f"the build of {label} failed; nothing was deployed or bound, the previously "
            "deployed version stays live. Fix the code, render, and apply again"
        )

    def built(_: str, action: LiveAction) -> str:
        return {"built": "done", "failed": "failed"}.get(action.status, "wait")

    if building:
        waiter.wait("the build", building, built, build_failed)
        for label in building:
            trigger, name = label.split("/", 1)
            record(Built(trigger, name))

    # 3. deploy (concurrently), and wait until the deployed version is built with the
    #    desired code
    live_ready: dict[str, str] = {}

    def deploy(trigger: str, name: str) -> Step:
        version = client.deploy_action(ids[(trigger, name)])
        return Deployed(trigger, name, version.number)

    def deploy_sent(step: Step) -> None:
        live_ready[f"{step.trigger}/{step.action}"] = ids[(step.trigger, step.action or "")]
        record(step)

    for (trigger, name), number in deployed_by_create.items():
        deploy_sent(Deployed(trigger, name, number))
    _in_parallel(
        [
            partial(deploy, c.trigger, c.action or "")
            for c in deploys
            if (c.trigger, c.action or "") not in deployed_by_create
        ],
        deploy_sent,
    )
    # A deploy from an interrupted run may still be building: bindings need it built.
    for d in desired.actions:
        known = live_by_id.get(ids.get((d.trigger, d.name), ""))
        deployed = known.deployed_version if known else None
        if deployed is not None and deployed.status != "built" and known is not None:
            live_ready.setdefault(f"{d.trigger}/{d.name}", known.id)

    def deployed_ok(label: str, action: LiveAction) -> str:
        trigger, name = label.split("/", 1)
        d = wanted[(trigger, name)]
        version = action.deployed_version
        if version is not None and version.status == "failed":
            return "failed"
        ready = version is not None and version.status == "built" and version.deployed
        return "done" if ready and version is not None and version.code == d.code else "wait"

    def deploy_failed(label: str) -> ApplyError:
        return ApplyError(f"the deployed version of {label} failed to build; nothing was bound")

    if live_ready:
        waiter.wait("the deployed versions", live_ready, deployed_ok, deploy_failed)

    # 4. one bindings PATCH per trigger whose list changes
    deleting = {c.action_id for c in plan.changes if isinstance(c, Delete)}
    triggers = sorted({c.trigger for c in plan.changes if isinstance(c, BINDING_CHANGES)})
    for trigger in triggers:
        planned = plan.bindings.get(trigger, {}).get("planned", [])
        refs = _binding_refs(trigger, planned, desired, live, ids, deleting)
        client.set_bindings(trigger, refs)
        record(Bound(trigger, None, tuple(planned)))

    # 5. delete orphans (only planned with allow_delete)
    for change in plan.changes:
        if isinstance(change, Delete):
            client.delete_action(change.action_id)
            record(Deleted(change.trigger, change.action, change.action_id))
    delete_modules(client, plan, record)
    return steps


def apply_environment(
    tenant: Project,
    environment: str,
    *,
    allow_delete: bool = False,
    push_secrets: frozenset[str] = frozenset(),
    adopt: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
    confirm: Callable[[Plan], bool] = lambda _: True,
    check: Callable[[DesiredState, LiveState, Plan], None] | None = None,
    build_timeout: float = BUILD_TIMEOUT_S,
    on_step: Callable[[Step], None] | None = None,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyResult:
    """Plan ENV (as ``plan`` does), ask ``confirm``, apply, then verify with a fresh plan.

    ``check`` sees the plan and the states it was made from before anything
    is asked or written, even when there are no changes, and refuses by
    raising (a saved plan that is out of date, a safety threshold exceeded).
    With no changes nothing is asked and nothing is written. A plan with an
    adopt change not named in ``adopt`` is refused first
    (:func:`~auth0_actions.plan.ownership.require_adoptions`). Raises
    :class:`ApplyError` when a build fails, a wait times out or the fresh
    plan still has changes (listed in the message). ``push_secrets`` are
    pushed once: the verifying plan is made without them.
    """
    view = tenant.environment(environment)
    with open_states(tenant, environment, environ) as (client, desired, live):
        plan = build_plan(
            desired, live, allow_delete=allow_delete, push_secrets=push_secrets, adopt=adopt
        )
        require_adoptions(plan, adopt)
        if check is not None:
            check(desired, live, plan)
        if not plan.changes or not confirm(plan):
            return ApplyResult(plan, applied=False)
        steps = execute_plan(
            client,
            plan,
            desired,
            live,
            lambda: resolve_secret_values(tenant, view, environ),
            build_timeout=build_timeout,
            on_step=on_step,
            progress=progress,
            sleep=sleep,
            clock=clock,
        )
        # Modules are read again only if this apply could have changed them.
        touched = bool(desired.modules) or any(isinstance(c, ModuleChange) for c in plan.changes)
        after = build_plan(
            desired,
            live_state(
                client,
                desired.triggers,
                desired.module_names,
                known_modules=None if touched else live.modules,
            ),
            allow_delete=allow_delete,
            adopt=adopt,
        )
    if after.changes:
        remaining = "; ".join(c.describe() for c in after.changes)
        raise ApplyError(f"applied, but the tenant still differs from the plan: {remaining}")
    return ApplyResult(plan, applied=True, steps=tuple(steps))
