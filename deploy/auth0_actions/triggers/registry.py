"""The registry of triggers: every module of this package that defines ``TRIGGER``.

Adding a trigger is adding its module (and its JS half, and its tests): the
registry finds it, and refuses two modules that claim the same id. Everything
that needs a trigger's facts asks here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from functools import cache

from auth0_actions.errors import ConfigError
from auth0_actions.triggers.base import Trigger

# Modules of the package that are not triggers.
_NOT_TRIGGERS = frozenset({"base", "registry"})


class DuplicateTrigger(ValueError):
    pass


class Registry:
    """Triggers by id, in a fixed order (as given); refuses duplicates."""

    def __init__(self, triggers: Iterable[Trigger] = ()) -> None:
        self._by_id: dict[str, Trigger] = {}
        for trigger in triggers:
            self.register(trigger)

    def register(self, trigger: Trigger) -> None:
        if trigger.id in self._by_id:
            raise DuplicateTrigger(
                f"trigger {trigger.id!r} is defined twice "
                f"({type(self._by_id[trigger.id]).__module__} and {type(trigger).__module__})"
            )
        if trigger.resume_handler and trigger.resume_handler not in trigger.handlers:
            raise ValueError(f"trigger {trigger.id!r}: resume handler is not one of its handlers")
        self._by_id[trigger.id] = trigger

    def __iter__(self) -> Iterator[Trigger]:
        return iter(self._by_id.values())

    def __contains__(self, trigger_id: object) -> bool:
        return trigger_id in self._by_id

    def ids(self) -> list[str]:
        return list(self._by_id)

    def default(self) -> Trigger:
        """The trigger an action has when tenant.yaml names none."""
        return next(t for t in self._by_id.values() if t.default)

    def get(self, trigger_id: str) -> Trigger:
        try:
            return self._by_id[trigger_id]
        except KeyError:
            raise ConfigError(
                f"unknown trigger {trigger_id!r}; known: {', '.join(self._by_id)}"
            ) from None


def _discover() -> list[Trigger]:
    import auth0_actions.triggers as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in _NOT_TRIGGERS:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        trigger = getattr(module, "TRIGGER", None)
        if isinstance(trigger, Trigger):
            found.append(trigger)
    # The default trigger first (post-login: the flagship), the rest by id.
    return sorted(found, key=lambda t: (not t.default, t.id))


@cache
def registry() -> Registry:
    return Registry(_discover())


def get(trigger_id: str) -> Trigger:
    return registry().get(trigger_id)


def default() -> Trigger:
    return registry().default()


def ids() -> list[str]:
    return registry().ids()


def all_triggers() -> list[Trigger]:
    return list(registry())
