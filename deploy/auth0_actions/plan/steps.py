"""What apply did, one step per write (or wait): the base every kind of step shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from auth0_actions.plan.changes import TriggerEvent


@dataclass(frozen=True)
class Step(TriggerEvent):
    """One write (or wait) apply made; never carries a secret value.

    Each kind of step is a subclass that says what it did (:meth:`describe`)
    and what it reports beyond trigger and action (:meth:`extra`).
    """

    data_key: ClassVar[str] = "step"
