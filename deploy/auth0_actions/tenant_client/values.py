"""What the tenant reports, as frozen values: no SDK type or pydantic model leaves the client.

The converters from the SDK's answers live beside the values they build, so
an SDK upgrade that renames a field is fixed in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from auth0.management import (
    Action,
    ActionBinding,
    ActionDeployedVersion,
    ActionModuleReference,
    ActionVersion,
    ActionVersionDependency,
    CreateActionResponseContent,
    DeployActionResponseContent,
    DeployActionVersionResponseContent,
    GetActionResponseContent,
    UpdateActionResponseContent,
)

Dependencies = tuple[tuple[str, str], ...]  # (name, version), in the tenant's order


@dataclass(frozen=True)
class ModulePin:
    """An action's reference to one published version of an Actions Module."""

    module_id: str
    module_name: str
    version_id: str
    version_number: int

    @property
    def label(self) -> str:
        """How a plan shows the pin: the module's name and version number."""
        return f"{self.module_name} v{self.version_number}"


@dataclass(frozen=True)
class LiveVersion:
    """One version of an action, as the tenant reports it."""

    id: str
    number: int
    code: str
    dependencies: Dependencies
    runtime: str
    secret_names: tuple[str, ...]
    status: str  # pending | building | built | failed | ...
    deployed: bool
    created_at: str | None
    modules: tuple[ModulePin, ...] = ()  # the module versions this version runs with


@dataclass(frozen=True)
class LiveAction:
    """An action: its draft (code, dependencies, ...) and its deployed version."""

    id: str
    name: str
    trigger_ids: tuple[str, ...]
    code: str  # the draft
    dependencies: Dependencies
    runtime: str
    secret_names: tuple[str, ...]
    status: str  # the draft's build status
    all_changes_deployed: bool
    deployed_version: LiveVersion | None
    modules: tuple[ModulePin, ...] = ()  # the draft's module versions


@dataclass(frozen=True)
class LiveBinding:
    """One entry of a trigger's ordered binding list."""

    id: str
    action_id: str
    action_name: str
    display_name: str


@dataclass(frozen=True)
class BindingRef:
    """An entry of a bindings PATCH: which action, found how, under which name."""

    kind: Literal["action_id", "action_name", "binding_id"]
    value: str
    display_name: str | None = None


# -- from the SDK's answers ---------------------------------------------------------
SdkVersion = (
    ActionVersion
    | ActionDeployedVersion
    | DeployActionResponseContent
    | DeployActionVersionResponseContent
)
SdkAction = (
    Action | GetActionResponseContent | CreateActionResponseContent | UpdateActionResponseContent
)


def timestamp(value: datetime | None) -> str | None:
    """Auth0's own format: ISO 8601 with a Z."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _pairs(deps: Sequence[ActionVersionDependency] | None) -> Dependencies:
    return tuple((d.name or "", d.version or "") for d in deps or [])


def module_pins(refs: Sequence[ActionModuleReference] | None) -> tuple[ModulePin, ...]:
    return tuple(
        ModulePin(
            module_id=r.module_id or "",
            module_name=r.module_name or "",
            version_id=r.module_version_id or "",
            version_number=int(r.module_version_number or 0),
        )
        for r in refs or []
    )


def live_version(version: SdkVersion) -> LiveVersion:
    return LiveVersion(
        id=version.id or "",
        number=int(version.number or 0),
        code=version.code or "",
        dependencies=_pairs(version.dependencies),
        runtime=version.runtime or "",
        secret_names=tuple(s.name or "" for s in version.secrets or []),
        status=str(version.status or ""),
        deployed=bool(version.deployed),
        created_at=timestamp(version.created_at),
        modules=module_pins(version.modules),
    )


def live_action(action: SdkAction) -> LiveAction:
    deployed = action.deployed_version
    return LiveAction(
        id=action.id or "",
        name=action.name or "",
        trigger_ids=tuple(str(t.id) for t in action.supported_triggers or []),
        code=action.code or "",
        dependencies=_pairs(action.dependencies),
        runtime=action.runtime or "",
        secret_names=tuple(s.name or "" for s in action.secrets or []),
        status=str(action.status or ""),
        all_changes_deployed=bool(action.all_changes_deployed),
        deployed_version=live_version(deployed) if deployed is not None else None,
        modules=module_pins(action.modules),
    )


def live_binding(binding: ActionBinding) -> LiveBinding:
    action = binding.action
    return LiveBinding(
        id=binding.id or "",
        action_id=(action.id if action else None) or "",
        action_name=(action.name if action else None) or "",
        display_name=binding.display_name or "",
    )
