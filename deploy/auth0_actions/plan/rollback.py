"""Rollback: an action's version history, and deploying an earlier version again.

Both work on one action of one environment's tenant, found by name, through
the TenantClient port.

* :func:`action_history` lists the kept versions, newest first, marks the
  live (deployed) one and says whether the draft differs from it.
* :func:`rollback_action` deploys an earlier version again. Auth0 makes a
  new version N+1 from it (the draft is left as it is), which is then awaited
  with apply's :class:`~auth0_actions.plan.apply.Waiter` until it is built and live.

A rollback is an emergency lever: afterwards the tenant runs code that the
committed ``actions/<env>/`` no longer describes, so ``plan`` shows a deploy
change for the action and the next ``apply`` ships the committed code again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_actions.config import Project
from auth0_actions.environment import open_environment
from auth0_actions.errors import Auth0ActionsError
from auth0_actions.plan.apply import BUILD_TIMEOUT_S, ApplyError, Waiter
from auth0_actions.tenant_client import LiveAction, LiveVersion, TenantClient


class ReleaseError(Auth0ActionsError):
    """history/rollback refused: no such action or version, nothing to roll back to."""


@dataclass(frozen=True)
class VersionInfo:
    number: int
    id: str
    created_at: str | None
    status: str
    live: bool

    @property
    def data(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "id": self.id,
            "created_at": self.created_at,
            "status": self.status,
            "live": self.live,
        }


@dataclass(frozen=True)
class History:
    environment: str
    action: str
    action_id: str
    versions: tuple[VersionInfo, ...]  # newest first
    draft_differs: bool | None  # None: no version is live

    @property
    def live(self) -> VersionInfo | None:
        return next((v for v in self.versions if v.live), None)

    @property
    def data(self) -> dict[str, Any]:
        live = self.live
        return {
            "ok": True,
            "environment": self.environment,
            "action": self.action,
            "action_id": self.action_id,
            "live_version": live.number if live else None,
            "draft_differs_from_live": self.draft_differs,
            "versions": [v.data for v in self.versions],
        }


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback will do: deploy ``source`` again in place of ``live``."""

    environment: str
    action: str
    action_id: str
    live: VersionInfo
    source: VersionInfo
    managed: bool  # the action is one of tenant.yaml's


@dataclass(frozen=True)
class RollbackResult:
    plan: RollbackPlan
    rolled_back: bool  # False when not confirmed
    deployed: VersionInfo | None = None  # the new version N+1, built and live
    matches_committed: bool | None = None  # live code == actions/<env>/<name>.js; None: unmanaged

    @property
    def data(self) -> dict[str, Any]:
        p = self.plan
        return {
            "ok": True,
            "environment": p.environment,
            "action": p.action,
            "action_id": p.action_id,
            "rolled_back": self.rolled_back,
            "previous_live": p.live.data,
            "source": p.source.data,
            "deployed": self.deployed.data if self.deployed else None,
            "managed": p.managed,
            "matches_committed": self.matches_committed,
        }


def _info(version: LiveVersion, live_id: str | None) -> VersionInfo:
    return VersionInfo(
        number=version.number,
        id=version.id,
        created_at=version.created_at,
        status=version.status,
        live=version.id == live_id,
    )


def _live_id(action: LiveAction, versions: list[LiveVersion]) -> str | None:
    if action.deployed_version is not None and action.deployed_version.id:
        return action.deployed_version.id
    return next((v.id for v in versions if v.deployed), None)


def draft_differs(action: LiveAction) -> bool | None:
    """Whether the draft (code, dependencies, runtime, secret names) differs from the live one."""
    live = action.deployed_version
    if live is None:
        return None
    return (action.code, action.dependencies, action.runtime, sorted(action.secret_names)) != (
        live.code,
        live.dependencies,
        live.runtime,
        sorted(live.secret_names),
    )


def _find(client: TenantClient, name: str, environment: str) -> LiveAction:
    action = client.find_action_by_name(name)
    if action is None:
        raise ReleaseError(f"no action named {name!r} in the {environment} tenant")
    return action


def _history(client: TenantClient, name: str, environment: str) -> History:
    action = _find(client, name, environment)
    versions = sorted(client.list_versions(action.id), key=lambda v: v.number, reverse=True)
    live_id = _live_id(action, versions)
    return History(
        environment,
        action.name,
        action.id,
        tuple(_info(v, live_id) for v in versions),
        draft_differs(action),
    )


def action_history(
    tenant: Project, environment: str, name: str, environ: Mapping[str, str] | None = None
) -> History:
    """The versions of the action called ``name`` in ENV's tenant, newest first (read-only)."""
    with open_environment(tenant, environment, environ).tenant_client() as client:
        return _history(client, name, environment)


def choose_source(history: History, to_version: int | None) -> tuple[VersionInfo, VersionInfo]:
    """(live, source): the version to deploy again, ``to_version`` or the one before the live."""
    live = history.live
    where = f"{history.action} in the {history.environment} tenant"
    if live is None:
        raise ReleaseError(f"no version of {where} is live: there is nothing to roll back")
    numbers = ", ".join(str(v.number) for v in history.versions)
    if to_version is None:
        earlier = [v for v in history.versions if v.number < live.number and v.status == "built"]
        if not earlier:
            raise ReleaseError(
                f"{where}: no built version before the live version {live.number} "
                f"(versions: {numbers})"
            )
        return live, earlier[0]
    source = next((v for v in history.versions if v.number == to_version), None)
    if source is None:
        raise ReleaseError(f"{where} has no version {to_version} (versions: {numbers})")
    if source.live:
        raise ReleaseError(f"version {to_version} of {where} is already live")
    if source.status != "built":
        raise ReleaseError(
            f"version {to_version} of {where} did not build (status {source.status}); "
            "it cannot be deployed"
        )
    return live, source


def _committed_code(tenant: Project, environment: str, name: str) -> str | None:
    """The committed actions/<env>/<name>.js, when tenant.yaml lists the action."""
    if not any(a.name == name for a in tenant.config.actions):
        return None
    path: Path = tenant.actions_dir / environment / f"{name}.js"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def rollback_action(
    tenant: Project,
    environment: str,
    name: str,
    *,
    to_version: int | None = None,
    environ: Mapping[str, str] | None = None,
    confirm: Callable[[RollbackPlan], bool] = lambda _: True,
    build_timeout: float = BUILD_TIMEOUT_S,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RollbackResult:
    """Deploy an earlier version of ``name`` again, then wait until the copy is built and live.

    Refuses (:class:`ReleaseError`) an unknown action, a version that does not
    exist, is live already or failed to build. ``confirm`` sees the plan first;
    declined, nothing is written. The draft is left as it is.
    """
    with open_environment(tenant, environment, environ).tenant_client() as client:
        history = _history(client, name, environment)
        live, source = choose_source(history, to_version)
        managed = any(a.name == history.action for a in tenant.config.actions)
        plan = RollbackPlan(environment, history.action, history.action_id, live, source, managed)
        if not confirm(plan):
            return RollbackResult(plan, rolled_back=False)
        made = client.deploy_version(history.action_id, source.id)
        label = f"{history.action} version {made.number}"

        seen: list[LiveVersion] = []  # the copy, once it is built and live

        def live_now(_: str, action: LiveAction) -> str:
            version = action.deployed_version
            if version is not None and version.id == made.id:
                if version.status != "built":
                    return "wait"
                seen.append(version)
                return "done"
            # Not the deployed one (yet): still building, or failed (then never deployed).
            copy = next((v for v in client.list_versions(action.id) if v.id == made.id), None)
            return "failed" if copy is not None and copy.status == "failed" else "wait"

        def failed(_: str) -> ApplyError:
            return ApplyError(
                f"{label} (a copy of version {source.number}) failed to build; "
                f"version {live.number} stays live"
            )

        resume = (
            f"check `auth0-actions history {history.action} --env {environment}`; "
            f"{label} goes live once it is built"
        )
        waiter = Waiter(client, clock() + build_timeout, progress, sleep, clock, resume)
        waiter.wait("the rolled-back version", {label: history.action_id}, live_now, failed)
    deployed = seen[-1]
    committed = _committed_code(tenant, environment, history.action)
    return RollbackResult(
        plan,
        rolled_back=True,
        deployed=_info(deployed, deployed.id),
        matches_committed=None if committed is None else committed == deployed.code,
    )
