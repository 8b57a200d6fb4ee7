"""Binding positions: where the bindings this tool does not own may run among ours.

``actions[].position`` never reorders managed actions (tenant.yaml ``order``
does that); it bounds where each *unmanaged* binding of the trigger may sit.
A binding's place is its *anchor*: the number of managed actions that run
before it (0: before all of ours; N: after all N of them). Each position
narrows the anchors allowed:

- ``first`` on the action at index i: every unmanaged binding runs after it
  (anchor >= i + 1), so nothing this tool does not own runs before it;
- ``last`` on index i: every unmanaged binding runs before it (anchor <= i);
- ``before:NAME`` (NAME unmanaged): NAME runs after it (anchor >= i + 1);
- ``after:NAME`` (NAME unmanaged): NAME runs before it (anchor <= i).

A ``before:``/``after:`` naming another managed action of the trigger is a
statement about tenant.yaml ``order`` and must agree with it. An empty
interval (lowest anchor above the highest) is a contradiction. The same
computation serves the config check (names tenant.yaml knows) and the
planner (names only the tenant knows), so both agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PositionKind = Literal["first", "last", "before", "after"]


@dataclass(frozen=True)
class Position:
    kind: PositionKind
    target: str | None = None  # the NAME of before:/after:

    @classmethod
    def parse(cls, text: str) -> Position:
        """``first``, ``last``, ``before:NAME``, ``after:NAME`` (the model's pattern holds)."""
        kind, _, target = text.partition(":")
        if kind in ("first", "last") and not target:
            return cls(kind)  # type: ignore[arg-type]
        if kind in ("before", "after") and target:
            return cls(kind, target)  # type: ignore[arg-type]
        raise ValueError(f"position '{text}' is not first, last, before:NAME or after:NAME")

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind


@dataclass(frozen=True)
class Placed:
    """A managed action of one trigger, in tenant.yaml order, with its position if any."""

    name: str
    position: Position | None


@dataclass(frozen=True)
class Bounds:
    """The anchors an unmanaged binding may take, and which actions set each bound."""

    low: int
    high: int
    low_by: str | None = None  # the managed action whose position set ``low``
    high_by: str | None = None

    @property
    def empty(self) -> bool:
        return self.low > self.high

    def clamp(self, anchor: int) -> int:
        """The allowed anchor nearest to ``anchor`` (the least move)."""
        return min(max(anchor, self.low), self.high)


def bounds_for(placed: Sequence[Placed], name: str | None) -> Bounds:
    """The allowed anchors of an unmanaged binding called ``name`` (None: any name)."""
    bounds = Bounds(0, len(placed))
    for index, action in enumerate(placed):
        position = action.position
        if position is None:
            continue
        general = position.target is None
        named = name is not None and position.target == name
        runs_after = (position.kind == "first" and general) or (position.kind == "before" and named)
        runs_before = (position.kind == "last" and general) or (position.kind == "after" and named)
        if runs_after and index + 1 > bounds.low:
            bounds = Bounds(index + 1, bounds.high, action.name, bounds.high_by)
        elif runs_before and index < bounds.high:
            bounds = Bounds(bounds.low, index, bounds.low_by, action.name)
    return bounds


def order_conflict(placed: Sequence[Placed], index: int) -> str | None:
    """Why the before:/after: of ``placed[index]`` contradicts the managed order, or None.

    Only for a target that is another managed action of the trigger.
    """
    action = placed[index]
    position = action.position
    if position is None or position.target is None:
        return None
    names = [p.name for p in placed]
    if position.target == action.name:
        return f"'{position}' names the action itself"
    if position.target not in names:
        return None
    other = names.index(position.target)
    if position.kind == "before" and other < index:
        return (
            f"'{position}' contradicts tenant.yaml order: {position.target} runs before "
            f"{action.name}; order decides among the actions tenant.yaml declares"
        )
    if position.kind == "after" and other > index:
        return (
            f"'{position}' contradicts tenant.yaml order: {position.target} runs after "
            f"{action.name}; order decides among the actions tenant.yaml declares"
        )
    return None


def contradiction(bounds: Bounds, name: str | None) -> str:
    """The message for an empty interval: which two positions exclude each other."""
    who = f"{name}" if name else "an action this tool does not manage"
    return (
        f"positions contradict each other: {bounds.low_by}'s position needs {who} to run "
        f"after {bounds.low_by}, and {bounds.high_by}'s needs it to run before "
        f"{bounds.high_by}, which runs earlier"
    )
