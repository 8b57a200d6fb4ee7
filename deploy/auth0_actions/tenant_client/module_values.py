"""Actions Modules as the tenant reports them, as frozen values (no SDK type leaves the client).

Shapes from https://auth0.com/docs/api/management/v2/actions/get-actions-modules:
a module has a draft (code, dependencies, secret names) and immutable
published versions numbered from 1; ``GET /actions/modules/{id}`` also
reports the latest version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auth0.management import (
    ActionModuleDependency,
    ActionModuleListItem,
    ActionModuleSecret,
    ActionModuleVersion,
    ActionModuleVersionReference,
    CreateActionModuleResponseContent,
    CreateActionModuleVersionResponseContent,
    GetActionModuleResponseContent,
    UpdateActionModuleResponseContent,
)

from auth0_actions.tenant_client.values import Dependencies, timestamp


@dataclass(frozen=True)
class LiveModuleVersion:
    """One published (immutable) version of a module."""

    id: str
    number: int
    code: str
    dependencies: Dependencies
    secret_names: tuple[str, ...]
    created_at: str | None


@dataclass(frozen=True)
class LiveModule:
    """A module: its draft, and its latest published version when it was read whole."""

    id: str
    name: str
    code: str  # the draft
    dependencies: Dependencies
    secret_names: tuple[str, ...]
    latest_version_number: int
    all_changes_published: bool
    actions_using: int
    latest_version: LiveModuleVersion | None = None  # None from a listing, or never published


SdkModule = (
    ActionModuleListItem
    | GetActionModuleResponseContent
    | CreateActionModuleResponseContent
    | UpdateActionModuleResponseContent
)
SdkModuleVersion = (
    ActionModuleVersion | ActionModuleVersionReference | CreateActionModuleVersionResponseContent
)


def _pairs(deps: Sequence[ActionModuleDependency] | None) -> Dependencies:
    return tuple((d.name or "", d.version or "") for d in deps or [])


def _names(secrets: Sequence[ActionModuleSecret] | None) -> tuple[str, ...]:
    return tuple(s.name or "" for s in secrets or [])


def live_module_version(version: SdkModuleVersion) -> LiveModuleVersion:
    return LiveModuleVersion(
        id=version.id or "",
        number=int(version.version_number or 0),
        code=version.code or "",
        dependencies=_pairs(version.dependencies),
        secret_names=_names(version.secrets),
        created_at=timestamp(version.created_at),
    )


def live_module(module: SdkModule) -> LiveModule:
    latest = getattr(module, "latest_version", None)  # only GET /actions/modules/{id} has it
    return LiveModule(
        id=module.id or "",
        name=module.name or "",
        code=module.code or "",
        dependencies=_pairs(module.dependencies),
        secret_names=_names(module.secrets),
        latest_version_number=int(module.latest_version_number or 0),
        all_changes_published=bool(module.all_changes_published),
        actions_using=int(module.actions_using_module_total or 0),
        latest_version=live_module_version(latest) if latest is not None else None,
    )
