"""What apply did, one step per write (or wait): the base every kind of step shares,
and the kinds both actions and modules report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from auth0_actions.plan.changes import TriggerEvent


@dataclass(frozen=True)
class Step(TriggerEvent):
    """One write (or wait) apply made; never carries a secret value.

    Each kind of step is a subclass that says what it did (:meth:`describe`)
    and what it reports beyond trigger and action (:meth:`extra`).
    """

    data_key: ClassVar[str] = "step"


@dataclass(frozen=True)
class Updated(Step):
    """A draft was changed: an action's (here) or a module's (``ModuleUpdated``)."""

    kind: ClassVar[str] = "update"
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"updated {self.where}: {', '.join(self.fields)}"

    def extra(self) -> dict[str, Any]:
        return {"fields": list(self.fields)}
