"""Run one trigger's bound actions in the sandbox and record the execution.

Every flow (signup, password change, client credentials) runs its trigger
here: the deployed version of each action bound to the trigger, in binding
order, each with its secrets, the npm dependencies its build installed and
the Actions Modules versions it pins, in its own isolation domain's worker
(:mod:`auth0_actions.sandbox.pool`). The run is stored as an execution and
its id returned, for the flow's log event
(:mod:`auth0_actions.emulator.backends.logs`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.backends.logs import LogsBackend, outcomes_of
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.sandbox.deps import DependencyError, redact_paths
from auth0_actions.sandbox.modules import (
    Package,
    PinnedModule,
    merged_dependencies,
    unit_modules,
)
from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.triggers import registry

log = logging.getLogger("auth0_actions.emulator.flows")

# What a flow is told when the runtime (not an action's code) failed.
RUNTIME_FAILURE = "An action could not be run."


@dataclass
class TriggerRun:
    """The outcome of one trigger's run."""

    trigger_id: str
    result: dict[str, Any] | None  # the pipeline's combined result; None: the runtime failed
    failure: str | None = None  # why there is no result (redacted; for logs, never a client)
    execution_id: str | None = None  # None when no action is bound

    @property
    def status(self) -> str:
        """completed, denied, failed, redirected or error (the runtime failed: error too)."""
        return "error" if self.result is None else str(self.result["status"])

    @property
    def deny(self) -> dict[str, Any]:
        return dict((self.result or {}).get("deny") or {})

    def written(self, command: str) -> bool:
        """Whether an action issued ``command`` (e.g. ``user.setUserMetadata``)."""
        return any(c.get("type") == command for c in (self.result or {}).get("commands") or [])


def sandbox_units(app: EmulatorApp, trigger_id: str) -> list[dict[str, Any]]:
    """The sandbox units of the trigger's bound, deployed actions, in binding order.

    Each is the deployed version's code with the action's secrets and the
    directory its build installed its npm dependencies into; DependencyError
    (naming the action) when one's packages are not installed. The login flow
    and every other flow run these.
    """
    units = []
    for action in app.backends.bindings.deployed_actions(trigger_id):
        version = action["deployed_version"]
        try:
            modules = pinned_modules(app, version)
            packages = merged_dependencies(
                action["name"], _packages(version.get("dependencies") or []), modules
            )
            path = app.dependency_builds.directory(
                [{"name": p.name, "version": p.version} for p in packages]
            )
        except DependencyError as exc:
            detail = app.dependency_builds.describe(exc)
            raise DependencyError(f"action {action['name']!r}: {detail}") from None
        units.append(
            {
                "name": action["name"],
                "code": version.get("code", ""),
                "filename": f"{action['name']}.js",
                "secrets": dict(action.get("_secret_values") or {}),
                "modules": unit_modules(modules, action["name"]),
                "deps_dir": str(path) if path else None,
            }
        )
    return units


def pinned_modules(app: EmulatorApp, version: Mapping[str, Any]) -> list[PinnedModule]:
    """The module versions an action version pins (its ``modules``), from the modules backend.

    What the action's ``require('actions:<name>')`` loads: the pinned
    version, not the module's draft or latest version
    (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module:
    "Each Action must explicitly reference the Action Module Version").
    """
    refs = version.get("modules") or []
    return [
        PinnedModule(
            name=m["name"],
            code=m["code"],
            secrets=m["secrets"],
            dependencies=_packages(m["dependencies"]),
        )
        for m in (app.backends.modules.pinned(refs) if refs else [])
    ]


def _packages(dependencies: Sequence[Mapping[str, Any]]) -> list[Package]:
    return [Package(str(d["name"]), str(d["version"])) for d in dependencies]


class TriggerRunner:
    """Runs triggers for one tenant; one sandbox pool, started on first use."""

    def __init__(self, app: EmulatorApp, logs: LogsBackend) -> None:
        self.app = app
        self.logs = logs
        self._pool: SandboxPool | None = None
        self._lock = threading.Lock()

    def pool(self) -> SandboxPool:
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(1)
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def bound(self, trigger_id: str) -> bool:
        """Whether any deployed action is bound to the trigger (a store read, no sandbox)."""
        return bool(self.app.backends.bindings.deployed_actions(trigger_id))

    def units(self, trigger_id: str) -> list[dict[str, Any]]:
        """The trigger's bound, deployed actions; DependencyError when packages are missing."""
        return sandbox_units(self.app, trigger_id)

    def run(self, trigger_id: str, event: dict[str, Any]) -> TriggerRun:
        """Run the trigger's actions on ``event``; an unbound trigger completes at once."""
        trigger = registry.get(trigger_id)
        started_at = clock.iso_utc(digits=9)
        try:
            units = self.units(trigger.id)
        except DependencyError as exc:
            return self._failed(trigger.id, [], str(exc), started_at)
        if not units:
            return TriggerRun(trigger.id, {**trigger.initial_result(), **_carried(event)})
        try:
            reply = self.pool().call(
                {"op": trigger.id, "units": units, "event": event, "resume": None}
            )
        except Exception as exc:  # no Node, or the pool could not start a worker
            return self._failed(trigger.id, units, f"the sandbox is unavailable: {exc}", started_at)
        if reply.result is None:
            return self._failed(trigger.id, units, reply.failure or "no result", started_at)
        result = reply.result
        if result["status"] == "error":
            error = result.get("error") or {}
            self._log_failure(trigger.id, error.get("action"), str(error.get("message") or ""))
        execution_id = self.logs.record_execution(
            trigger.id, outcomes_of(units, result), started_at=started_at
        )
        return TriggerRun(trigger.id, result, None, execution_id)

    def _failed(
        self, trigger_id: str, units: list[dict[str, Any]], failure: str, started_at: str
    ) -> TriggerRun:
        detail = redact_paths(failure, self.app.dependency_builds.known_paths())
        self._log_failure(trigger_id, None, detail)
        execution_id = (
            self.logs.record_execution(trigger_id, outcomes_of(units, None), started_at=started_at)
            if units
            else None
        )
        return TriggerRun(trigger_id, None, detail, execution_id)

    def _log_failure(self, trigger_id: str, action: str | None, message: str) -> None:
        known = self.app.dependency_builds.known_paths()
        log.warning(
            "%s: action %s failed: %s", trigger_id, action or "?", redact_paths(message, known)
        )


def _carried(event: dict[str, Any]) -> dict[str, Any]:
    """What an unbound run hands back: the metadata the event started with."""
    user = event.get("user") or {}
    return {
        "user_metadata": dict(user.get("user_metadata") or {}),
        "app_metadata": dict(user.get("app_metadata") or {}),
    }
