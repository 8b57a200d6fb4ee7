"""Typed changes: small value objects with a fixed sort order and a ``.data`` dict.

The order is the order apply needs: adoptions first (they decide whether
the rest may run), then Actions Modules (create, update, publish: an action
can pin only a published version), then the actions' creates, updates,
deploys, then the binding changes (bind, reorder, unbind), then deletes, and
last the deletes of modules (Auth0 refuses to delete a module an action
still uses); within a kind by trigger, then tenant.yaml order (or name).
Output built from it is
deterministic and serialisable.

Each kind of change describes itself (:meth:`Change.describe`, and the mark
and colour the text report puts before it), so a new kind is one class here
and no branch anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

KINDS = (
    "adopt",
    "module-create",
    "module-update",
    "module-publish",
    "create",
    "update",
    "deploy",
    "bind",
    "reorder",
    "unbind",
    "delete",
    "module-delete",
)
# The ``trigger`` of a module's change and drift: modules are bound to no trigger.
MODULES = "modules"
DriftKind = Literal[
    "draft-not-deployed",  # someone edited the draft by hand (or a deploy never finished)
    "binding-order",  # managed bindings in another order than tenant.yaml's
    "duplicate-binding",  # a managed action bound more than once
    "orphan",  # carries our provenance header, no longer in tenant.yaml
    "module-draft-not-published",  # a module's draft differs from its latest version
    "module-orphan",  # a module of ours no longer in tenant.yaml
]


@dataclass(frozen=True)
class TriggerEvent:
    """Something that happens to one action of a trigger, or to the whole trigger.

    A planned :class:`Change` and an apply ``Step`` (what was done) are both
    this: each subclass says what it is (:meth:`describe`) and what it reports
    beyond trigger and action (:meth:`extra`), under ``data_key`` in its data.
    """

    kind: ClassVar[str] = ""
    data_key: ClassVar[str] = "kind"
    trigger: str
    action: str | None  # None for something that concerns the whole trigger

    @property
    def where(self) -> str:
        """trigger/action, or the trigger alone."""
        return f"{self.trigger}/{self.action}" if self.action else self.trigger

    def describe(self) -> str:
        """One line: what happens to what."""
        raise NotImplementedError(f"{type(self).__name__} does not describe itself")

    def extra(self) -> dict[str, Any]:
        return {}

    @property
    def data(self) -> dict[str, Any]:
        return {
            self.data_key: self.kind,
            "trigger": self.trigger,
            "action": self.action,
            **self.extra(),
        }


@dataclass(frozen=True)
class Change(TriggerEvent):
    symbol: ClassVar[str] = ""  # the text report's mark: + adds, ~ changes, ^ ships, - removes
    colour: ClassVar[str] = ""
    order: int  # tenant.yaml order within the trigger; 0 when it has none

    @property
    def sort_key(self) -> tuple[int, str, int, str]:
        return (KINDS.index(self.kind), self.trigger, self.order, self.action or "")


@dataclass(frozen=True)
class Adopt(Change):
    """A live action with a declared name that this tool did not deploy: taking it over.

    Applied only when asked for by name (``--adopt NAME``); ``adopting`` says
    whether it was. ``diff`` is its live code (deployed, else draft) ->
    rendered code; ``secrets`` its secret names live and desired. ``header``
    is False for a ``header: false`` action, which cannot be adopted this way
    (the code it deploys would not mark it as ours).
    """

    kind: ClassVar[str] = "adopt"
    symbol: ClassVar[str] = "!"
    colour: ClassVar[str] = "magenta"
    action_id: str = ""
    adopting: bool = False
    header: bool = True
    secrets: dict[str, list[str]] = field(default_factory=dict)  # live / desired names
    diff: str | None = None

    def describe(self) -> str:
        how = "with --adopt" if self.adopting else "needs --adopt " + (self.action or "")
        return (
            f"adopt {self.where} (live id {self.action_id}, not deployed by auth0-actions; "
            f"its code and secrets are replaced: {how})"
        )

    def extra(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "adopting": self.adopting,
            "header": self.header,
            "secrets": self.secrets,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class Create(Change):
    kind: ClassVar[str] = "create"
    symbol: ClassVar[str] = "+"
    colour: ClassVar[str] = "green"
    runtime: str = ""
    dependencies: tuple[tuple[str, str], ...] = ()
    secret_names: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()  # the module versions it pins, as "name vN"

    def describe(self) -> str:
        secrets = ", ".join(self.secret_names) or "none"
        pinned = f", modules: {', '.join(self.modules)}" if self.modules else ""
        return f"create {self.where} (runtime {self.runtime}, secrets: {secrets}{pinned})"

    def extra(self) -> dict[str, Any]:
        return {
            "runtime": self.runtime,
            "dependencies": [{"name": n, "version": v} for n, v in self.dependencies],
            "secrets": list(self.secret_names),
            "modules": list(self.modules),
        }


@dataclass(frozen=True)
class DraftUpdate(Change):
    """A draft (an action's or a module's) differs from the desired one; ``fields`` says where.

    Each kind names the live id it carries (``id_field``) and what ``fields``
    may hold; describing and reporting are shared.
    """

    symbol: ClassVar[str] = "~"
    colour: ClassVar[str] = "yellow"
    id_field: ClassVar[str] = ""
    fields: tuple[str, ...] = ()
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # structured: live/desired
    diff: str | None = None  # draft code -> rendered code, when the draft is not what is live
    # Secrets whose values are sent again (field secret_values): a raised version or
    # --push-secrets. Names only: a value is never part of a change.
    pushed: tuple[str, ...] = ()

    def describe(self) -> str:
        line = f"update {self.where}: {', '.join(self.fields)}"
        if self.pushed:
            line += f" (pushes the values of {', '.join(self.pushed)})"
        return line

    def extra(self) -> dict[str, Any]:
        return {
            self.id_field: getattr(self, self.id_field),
            "fields": list(self.fields),
            "values": self.values,
            "diff": self.diff,
            "pushed": list(self.pushed),
        }


@dataclass(frozen=True)
class Update(DraftUpdate):
    """An action's draft: fields of code, dependencies, modules, runtime, secret_values,
    secrets."""

    kind: ClassVar[str] = "update"
    id_field: ClassVar[str] = "action_id"
    action_id: str = ""


@dataclass(frozen=True)
class Deploy(Change):
    """A new version from the (desired) draft goes live; ``diff`` is deployed -> rendered code."""

    kind: ClassVar[str] = "deploy"
    symbol: ClassVar[str] = "^"
    colour: ClassVar[str] = "cyan"
    action_id: str | None = None
    live_version: int | None = None
    reason: str = ""  # new | changed | not-deployed | secret-values (pushed, code unchanged)
    diff: str | None = None

    def describe(self) -> str:
        live = self.live_version
        since = f"replacing version {live}" if live is not None else self.reason
        return f"deploy {self.where} ({since})"

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
    symbol: ClassVar[str] = "+"
    colour: ClassVar[str] = "green"
    position: int = 0  # 0-based index in the planned binding list

    def describe(self) -> str:
        return f"bind {self.where} at position {self.position + 1}"

    def extra(self) -> dict[str, Any]:
        return {"position": self.position}


@dataclass(frozen=True)
class Reorder(Change):
    kind: ClassVar[str] = "reorder"
    symbol: ClassVar[str] = "~"
    colour: ClassVar[str] = "yellow"
    live: tuple[str, ...] = ()
    planned: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"reorder {self.where}: {' -> '.join(self.live)}  =>  {' -> '.join(self.planned)}"

    def extra(self) -> dict[str, Any]:
        return {"live": list(self.live), "planned": list(self.planned)}


@dataclass(frozen=True)
class Unbind(Change):
    kind: ClassVar[str] = "unbind"
    symbol: ClassVar[str] = "-"
    colour: ClassVar[str] = "red"
    binding_id: str = ""
    reason: str = ""  # orphan | duplicate

    def describe(self) -> str:
        return f"unbind {self.where} ({self.reason})"

    def extra(self) -> dict[str, Any]:
        return {"binding_id": self.binding_id, "reason": self.reason}


@dataclass(frozen=True)
class Delete(Change):
    kind: ClassVar[str] = "delete"
    symbol: ClassVar[str] = "-"
    colour: ClassVar[str] = "red"
    action_id: str = ""
    reason: str = "orphan"

    def describe(self) -> str:
        return f"delete {self.where} ({self.reason})"

    def extra(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "reason": self.reason}


@dataclass(frozen=True)
class ModuleChange(Change):
    """A change to an Actions Module: ``action`` holds the module's name, ``trigger`` MODULES."""

    @property
    def where(self) -> str:
        return f"module {self.action}"

    @property
    def module(self) -> str:
        return self.action or ""

    @property
    def data(self) -> dict[str, Any]:
        return {**super().data, "module": self.module}


@dataclass(frozen=True)
class ModuleCreate(ModuleChange):
    kind: ClassVar[str] = "module-create"
    symbol: ClassVar[str] = "+"
    colour: ClassVar[str] = "green"
    dependencies: tuple[tuple[str, str], ...] = ()
    secret_names: tuple[str, ...] = ()

    def describe(self) -> str:
        secrets = ", ".join(self.secret_names) or "none"
        return f"create {self.where} (secrets: {secrets})"

    def extra(self) -> dict[str, Any]:
        return {
            "dependencies": [{"name": n, "version": v} for n, v in self.dependencies],
            "secrets": list(self.secret_names),
        }


@dataclass(frozen=True)
class ModuleUpdate(ModuleChange, DraftUpdate):
    """A module's draft: fields of code, dependencies, secret_values, secrets."""

    kind: ClassVar[str] = "module-update"
    id_field: ClassVar[str] = "module_id"
    module_id: str = ""


@dataclass(frozen=True)
class ModulePublish(ModuleChange):
    """The draft is published as ``version``, the one the actions using it will pin."""

    kind: ClassVar[str] = "module-publish"
    symbol: ClassVar[str] = "^"
    colour: ClassVar[str] = "cyan"
    module_id: str | None = None
    live_version: int | None = None  # the latest published version, if any
    version: int = 1  # the number the publish will get
    reason: str = ""  # new | changed | not-published
    diff: str | None = None  # latest published -> rendered

    def describe(self) -> str:
        since = f"replacing version {self.live_version}" if self.live_version else self.reason
        return f"publish {self.where} version {self.version} ({since})"

    def extra(self) -> dict[str, Any]:
        return {
            "module_id": self.module_id,
            "live_version": self.live_version,
            "version": self.version,
            "reason": self.reason,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class ModuleDelete(ModuleChange):
    kind: ClassVar[str] = "module-delete"
    symbol: ClassVar[str] = "-"
    colour: ClassVar[str] = "red"
    module_id: str = ""
    reason: str = "orphan"

    def describe(self) -> str:
        return f"delete {self.where} ({self.reason})"

    def extra(self) -> dict[str, Any]:
        return {"module_id": self.module_id, "reason": self.reason}


# The changes apply carries out with one bindings PATCH per trigger.
BINDING_CHANGES: tuple[type[Change], ...] = (Bind, Reorder, Unbind)


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
    # trigger -> {"live": [...], "planned": [...], "managed": [...], "interleaved": [...]}
    bindings: dict[str, dict[str, Any]]
    adopt: tuple[str, ...] = ()  # the names adoption was asked for (--adopt)

    def pending_adoptions(self) -> list[Adopt]:
        """The adopt changes not asked for: apply refuses while there is one."""
        return [c for c in self.changes if isinstance(c, Adopt) and not c.adopting]

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
            "adopt": list(self.adopt),
            "summary": {**self.counts(), "drift": len(self.drift)},
            "changes": [c.data for c in self.changes],
            "drift": [d.data for d in self.drift],
            "unmanaged": [u.data for u in self.unmanaged],
            "bindings": self.bindings,
        }
