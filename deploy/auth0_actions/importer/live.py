"""Reading what a tenant runs: each action's deployed code, its fields and its place.

Only what this tool can manage is imported; everything else is *skipped*
with the reason, so the report says why an action stayed unmanaged:
a trigger the registry does not model (deploy/auth0_actions/triggers/), a
name that cannot be a tenant.yaml name, a runtime other than node22, an
action never deployed or not bound (importing it would bind it). The
tenant's modules are listed with the actions; :mod:`.modules` decides which
are imported and at which version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from auth0_actions.config.types import ENV_VAR_PATTERN
from auth0_actions.importer.kinds import ACTION, Kind
from auth0_actions.tenant_client import (
    Dependencies,
    LiveAction,
    LiveBinding,
    LiveModule,
    ModulePin,
    TenantClient,
)
from auth0_actions.triggers import registry

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")  # ActionName in config/model.py
_SECRET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_RUNTIMES = ("node22",)


@dataclass(frozen=True)
class LiveUnit:
    """One live unit as import writes it: the deployed (or pinned) code and fields, its place."""

    kind: Kind
    name: str
    live_id: str
    code: str  # an action's deployed version's; a module's imported version's
    dependencies: Dependencies
    secret_names: tuple[str, ...]
    draft_differs: bool  # the draft holds changes never deployed (published)
    # An action's:
    trigger: str = ""
    position: int = 0  # 0-based, in the trigger's bindings
    runtime: str = ""
    pins: tuple[ModulePin, ...] = ()  # the module versions its deployed version runs with
    modules: tuple[str, ...] = ()  # the names of those modules, once they are resolved
    # A module's:
    version: int = 0  # the published version imported


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass(frozen=True)
class LiveTenant:
    units: tuple[LiveUnit, ...]  # actions, by trigger, then binding position
    skipped: tuple[Skipped, ...]
    modules: tuple[LiveModule, ...] = ()  # as listed (drafts; no versions read yet)


def env_var_for(secret: str) -> str:
    """The environment variable import names for a secret: its name in upper snake case."""
    var = re.sub(r"[^A-Z0-9_]", "_", secret.upper())
    var = var if re.match(ENV_VAR_PATTERN, var) else f"_{var}"
    return var[:128]


def read_live(client: TenantClient) -> LiveTenant:
    """Every action and module, and the bindings of every trigger the registry models,
    read at once."""
    triggers = registry.ids()
    with ThreadPoolExecutor(2 + len(triggers), "import-read") as pool:
        listed = pool.submit(client.list_actions)
        modules = pool.submit(client.list_modules)
        bound = {t: pool.submit(client.get_bindings, t) for t in triggers}
        actions = listed.result()
        bindings = {t: future.result() for t, future in bound.items()}
        found = _units(actions, bindings)
        return replace(found, modules=tuple(modules.result()))


def _units(actions: Iterable[LiveAction], bindings: dict[str, list[LiveBinding]]) -> LiveTenant:
    units: list[LiveUnit] = []
    skipped: list[Skipped] = []
    for action in sorted(actions, key=lambda a: (a.name, a.id)):
        modelled = [t for t in action.trigger_ids if t in bindings]
        if not modelled:
            listed = ", ".join(action.trigger_ids) or "none"
            skipped.append(Skipped(action.name, f"trigger {listed} is not one this tool models"))
            continue
        trigger = modelled[0]
        reason = _unmanageable(action)
        place = next((i for i, b in enumerate(bindings[trigger]) if b.action_id == action.id), None)
        if reason is None and place is None:
            reason = f"not bound to {trigger} (importing it would bind it)"
        if reason is not None or place is None or action.deployed_version is None:
            skipped.append(Skipped(action.name, reason or "never deployed"))
            continue
        deployed = action.deployed_version
        units.append(
            LiveUnit(
                kind=ACTION,
                name=action.name,
                live_id=action.id,
                trigger=trigger,
                position=place,
                code=deployed.code,
                runtime=deployed.runtime or action.runtime,
                dependencies=deployed.dependencies,
                secret_names=tuple(sorted(action.secret_names)),
                draft_differs=action.code != deployed.code,
                pins=deployed.modules,
            )
        )
    units.sort(key=lambda u: (u.trigger, u.position))
    return LiveTenant(tuple(units), tuple(skipped))


def unmanageable_module(module: LiveModule) -> str | None:
    """Why a live module cannot be declared in tenant.yaml, or None."""
    if not _NAME.match(module.name):
        return "its name is not a tenant.yaml module name (lower-case letters, digits, '-')"
    odd = [s for s in module.secret_names if not _SECRET.match(s)]
    if odd:
        return f"secret name(s) {', '.join(odd)} cannot be declared in tenant.yaml"
    return None


def _unmanageable(action: LiveAction) -> str | None:
    if not _NAME.match(action.name):
        return "its name is not a tenant.yaml action name (lower-case letters, digits, '-')"
    if action.deployed_version is None:
        return "never deployed"
    runtime = action.deployed_version.runtime or action.runtime
    if runtime not in _RUNTIMES:
        return f"runtime {runtime or 'unknown'} (this tool manages {', '.join(_RUNTIMES)})"
    odd = [s for s in action.secret_names if not _SECRET.match(s)]
    if odd:
        return f"secret name(s) {', '.join(odd)} cannot be declared in tenant.yaml"
    return None
