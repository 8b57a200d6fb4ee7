"""Isolation domains: what one sandbox worker may ever hold.

A domain is one action (or legacy rule): its code, its secret values (a
rule's configuration), its dependency set and the Actions Modules it pins
(each module's code and secret values: a module runs in the runtime of the
action that requires it:
https://auth0.com/docs/customize/actions/limitations#actions-modules). A warm
worker serves exactly one domain for its whole life, so no worker's memory
ever holds two actions' secrets, and state an action leaves behind (patched built-ins, globals,
hooks, module-level variables) reaches only that same action's later
executions, as on Auth0, where module-level code runs once per instance.

Two units with the same code, secrets and dependencies are the same domain
and share warm workers; anything different is another domain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

ACTION = "action"
RULE = "rule"


@dataclass(frozen=True, eq=False)
class Domain:
    kind: str  # ACTION or RULE
    name: str
    code: str
    filename: str
    # An action's secrets, or a rule's configuration (tenant-wide on Auth0:
    # every rule sees all of it, so it is part of each rule's domain).
    values: Mapping[str, Any]
    deps_dir: Path | None
    # An action's trigger as its JS half reads it (id, version, handlers), and
    # the file name of that JS half; None for a rule.
    trigger: Mapping[str, Any] | None = None
    script: str | None = None
    # The Actions Modules the action pins: {name, code, secrets} each, the
    # secrets being the module's own values (actions.secrets in its code).
    modules: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of_action(cls, unit: Mapping[str, Any], trigger: Mapping[str, Any], script: str) -> Domain:
        return cls._of(ACTION, unit, unit.get("secrets") or {}, trigger, script)

    @classmethod
    def of_rule(cls, unit: Mapping[str, Any], configuration: Mapping[str, Any]) -> Domain:
        return cls._of(RULE, unit, configuration, None, None)

    @classmethod
    def _of(
        cls,
        kind: str,
        unit: Mapping[str, Any],
        values: Mapping[str, Any],
        trigger: Mapping[str, Any] | None,
        script: str | None,
    ) -> Domain:
        deps = unit.get("deps_dir")
        return cls(
            kind=kind,
            name=str(unit.get("name", "")),
            code=str(unit.get("code", "")),
            filename=str(unit.get("filename", "")),
            values=dict(values),
            deps_dir=Path(deps) if deps else None,
            trigger=trigger,
            script=script,
            modules=tuple(
                {
                    "name": str(m["name"]),
                    "code": str(m.get("code", "")),
                    "secrets": {str(k): str(v) for k, v in (m.get("secrets") or {}).items()},
                }
                for m in (unit.get("modules") or [])
                if kind == ACTION
            ),
        )

    @cached_property
    def key(self) -> str:
        """Equal for the same code, values and dependencies; never reveals the values."""
        material = json.dumps(
            [
                self.kind,
                self.name,
                self.code,
                self.filename,
                self.values,
                str(self.deps_dir),
                self.trigger,
                list(self.modules),
            ],
            sort_keys=True,
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def message(self, deps_inside: str | None, memory_mb: int, triggers_inside: str) -> bytes:
        """The domain as the worker reads it: one JSON line, paths as it sees them."""
        values = dict(self.values)
        unit: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "code": self.code,
            "filename": self.filename,
            "deps_dir": deps_inside,
            "memory_mb": memory_mb,
        }
        if self.trigger is not None and self.script is not None:
            unit["trigger"] = dict(self.trigger)
            unit["runner"] = f"{triggers_inside}/{self.script}"
        unit["configuration" if self.kind == RULE else "secrets"] = values
        if self.modules:
            unit["modules"] = [dict(m) for m in self.modules]
        return json.dumps(unit).encode()
