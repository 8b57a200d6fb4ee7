"""Typed changes: small value objects with a fixed sort order and a ``.data`` dict.

The order is the order apply needs: creates, updates, deploys, then the
binding changes (bind, reorder, unbind), then deletes; within a kind by
trigger, then tenant.yaml order (or name). Output built from it is
deterministic and serialisable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

KINDS = ("create", "update", "deploy", "bind", "reorder", "unbind", "delete")
DriftKind = Literal[
    "draft-not-deployed",  # someone edited the draft by hand (or a deploy never finished)
    "binding-order",  # managed bindings in another order than tenant.yaml's
    "duplicate-binding",  # a managed action bound more than once
    "orphan",  # carries our provenance header, no longer in tenant.yaml
]


@dataclass(frozen=True)
class Change:
    kind: ClassVar[str] = ""
    trigger: str
    action: str | None  # None for a change of a whole trigger (reorder)
    order: int  # tenant.yaml order within the trigger; 0 when it has none

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (KINDS.index(self.kind), self.trigger, self.order, self.action or "")

    def extra(self) -> dict[str, Any]:
        return {}

    @property
    def data(self) -> dict[str, Any]:
        return {"kind": self.kind, "trigger": self.trigger, "action": self.action, **self.extra()}


@dataclass(frozen=True)
class Create(Change):
    kind: ClassVar[str] = "create"
    runtime: str = ""
    dependencies: tuple[tuple[str, str], ...] = ()
    secret_names: tuple[str, ...] = ()

    def extra(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "dependencies": [{"name": n, "version": v} for n, v in self.dependencies],
            "secrets": list(self.secret_names),
        }


@dataclass(frozen=True)
class Update(Change):
    """The draft differs from the desired one; ``fields`` says where."""

    kind: ClassVar[str] = "update"
    action_id: str = ""
    fields: tuple[str, ...] = ()  # of: code, dependencies, runtime, secrets
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # structured: live/desired
    diff: str | None = None  # draft code -> rendered code, when the draft was edited by hand

    def extra(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "fields": list(self.fields),
            "values": self.values,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class Deploy(Change):
    """A new version from the (desired) draft goes live; ``diff`` is deployed -> rendered code."""

    kind: ClassVar[str] = "deploy"
    action_id: str | None = None
    live_version: int | None = None
    reason: str = ""  # new | changed | not-deployed
    diff: str | None = None

    def extra(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "live_version": self.live_version,
            "reason": self.reason,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class Bind(Change):
    kind: ClassVar[str] = "bind"
    position: int = 0  # 0-based index in the planned binding list

    def extra(self) -> dict[str, Any]:
        return {"position": self.position}


@dataclass(frozen=True)
class Reorder(Change):
    kind: ClassVar[str] = "reorder"
    live: tuple[str, ...] = ()
    planned: tuple[str, ...] = ()

    def extra(self) -> dict[str, Any]:
        return {"live": list(self.live), "planned": list(self.planned)}


@dataclass(frozen=True)
class Unbind(Change):
    kind: ClassVar[str] = "unbind"
    binding_id: str = ""
    reason: str = ""  # orphan | duplicate

    def extra(self) -> dict[str, Any]:
        return {"binding_id": self.binding_id, "reason": self.reason}


@dataclass(frozen=True)
class Delete(Change):
    kind: ClassVar[str] = "delete"
    action_id: str = ""
    reason: str = "orphan"

    def extra(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "reason": self.reason}


@dataclass(frozen=True)
class Drift:
    """Something changed in the tenant by hand; reported, and fixed only by the changes."""

    kind: DriftKind
    trigger: str
    action: str | None
    detail: str
    diff: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "trigger": self.trigger,
            "action": self.action,
            "detail": self.detail,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class UnmanagedAction:
    id: str
    name: str
    triggers: tuple[str, ...]
    orphan: bool

    @property
    def data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "triggers": list(self.triggers),
            "orphan": self.orphan,
        }


@dataclass(frozen=True)
class Plan:
    environment: str
    allow_delete: bool
    changes: tuple[Change, ...]
    drift: tuple[Drift, ...]
    unmanaged: tuple[UnmanagedAction, ...]
    bindings: dict[str, dict[str, list[str]]]  # trigger -> {"live": [...], "planned": [...]}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for c in self.changes if c.kind == kind) for kind in KINDS}

    @property
    def data(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "environment": self.environment,
            "allow_delete": self.allow_delete,
            "summary": {**self.counts(), "drift": len(self.drift)},
            "changes": [c.data for c in self.changes],
            "drift": [d.data for d in self.drift],
            "unmanaged": [u.data for u in self.unmanaged],
            "bindings": self.bindings,
        }
