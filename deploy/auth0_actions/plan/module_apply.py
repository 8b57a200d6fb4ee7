"""Apply's module steps: create, update and publish modules before any action pins them,
and delete orphan modules once no action does.

:func:`publish_modules` runs first: each module's draft is created or updated
(secret values revealed only inside the request), then published; it returns
the pin of every declared module, the version the actions' drafts reference
by id. :func:`delete_modules` runs last, after the actions were deployed with
their new pins (Auth0 refuses to delete a module an action still uses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from auth0_actions.plan.changes import (
    MODULES,
    ModuleCreate,
    ModuleDelete,
    ModulePublish,
    ModuleUpdate,
    Plan,
)
from auth0_actions.plan.state import DesiredModule, DesiredState, LiveState
from auth0_actions.plan.steps import Step, Updated
from auth0_actions.secrets import Secret
from auth0_actions.tenant_client import ModulePin, TenantClient


@dataclass(frozen=True)
class ModuleStep(Step):
    @property
    def where(self) -> str:
        return f"module {self.action}"


@dataclass(frozen=True)
class ModuleCreated(ModuleStep):
    kind: ClassVar[str] = "module-create"
    module_id: str = ""

    def describe(self) -> str:
        return f"created {self.where} ({self.module_id})"

    def extra(self) -> dict[str, Any]:
        return {"module_id": self.module_id}


@dataclass(frozen=True)
class ModuleUpdated(ModuleStep, Updated):
    kind: ClassVar[str] = "module-update"


@dataclass(frozen=True)
class ModulePublished(ModuleStep):
    kind: ClassVar[str] = "module-publish"
    version: int = 0
    version_id: str = ""

    def describe(self) -> str:
        return f"published {self.where} version {self.version}"

    def extra(self) -> dict[str, Any]:
        return {"version": self.version, "version_id": self.version_id}


@dataclass(frozen=True)
class ModuleDeleted(ModuleStep):
    kind: ClassVar[str] = "module-delete"
    module_id: str = ""

    def describe(self) -> str:
        return f"deleted {self.where} ({self.module_id})"

    def extra(self) -> dict[str, Any]:
        return {"module_id": self.module_id}


SecretsFor = Callable[[Sequence[str]], Mapping[str, Secret]]


def publish_modules(
    client: TenantClient,
    plan: Plan,
    desired: DesiredState,
    live: LiveState,
    secrets_for: SecretsFor,
    record: Callable[[Step], None],
) -> dict[str, ModulePin]:
    """Create, update and publish the plan's modules; the pin of every declared module."""
    wanted: dict[str, DesiredModule] = {m.name: m for m in desired.modules}
    ids = {m.name: m.id for m in live.modules if m.name in wanted}
    pins: dict[str, ModulePin] = {}
    for module in live.modules:
        latest = module.latest_version
        if module.name in wanted and latest is not None:
            pins[module.name] = ModulePin(module.id, module.name, latest.id, latest.number)
    # A new module is created and published in one request (Auth0's ``publish`` on create).
    published_on_create: set[str] = set()
    for change in plan.changes:
        name = change.action or ""
        if isinstance(change, ModuleCreate):
            d = wanted[name]
            made = client.create_module(
                d.name, d.code, d.dependencies, secrets=secrets_for(d.secret_names), publish=True
            )
            ids[name] = made.id
            record(ModuleCreated(MODULES, name, made.id))
            latest = made.latest_version
            if latest is not None:
                published_on_create.add(name)
                pins[name] = ModulePin(made.id, name, latest.id, latest.number)
                record(ModulePublished(MODULES, name, latest.number, latest.id))
        elif isinstance(change, ModuleUpdate):
            d = wanted[name]
            fields = set(change.fields)
            client.update_module(
                change.module_id,
                code=d.code if "code" in fields else None,
                dependencies=d.dependencies if "dependencies" in fields else None,
                secrets=secrets_for(d.secret_names)
                if fields & {"secrets", "secret_values"}
                else None,
            )
            record(ModuleUpdated(MODULES, name, change.fields))
        elif isinstance(change, ModulePublish) and name not in published_on_create:
            version = client.publish_module(ids[name])
            pins[name] = ModulePin(ids[name], name, version.id, version.number)
            record(ModulePublished(MODULES, name, version.number, version.id))
    return pins


def delete_modules(client: TenantClient, plan: Plan, record: Callable[[Step], None]) -> None:
    """Delete the orphan modules the plan deletes (planned only with allow_delete)."""
    for change in plan.changes:
        if isinstance(change, ModuleDelete):
            client.delete_module(change.module_id)
            record(ModuleDeleted(MODULES, change.action, change.module_id))
