"""What a trigger is: the one place that knows a trigger's id, handlers, event and api.

A trigger is a module in this package (``post_login.py`` with its JS half
``post_login.js``) defining one :class:`Trigger` subclass and an instance of
it named ``TRIGGER``; the registry (:mod:`auth0_actions.triggers.registry`)
finds it. Nothing else in the toolkit spells a trigger id: tenant.yaml
validation, render, the sandbox's pipeline, scenarios, ``sandbox run``, the
Management API client and the local tenant all ask the registry.

The Python half declares the facts (id, version, handlers, the documented
``event`` with realistic defaults, limits) and decides a run's outcome from
the commands each action issued (:meth:`Trigger.fold`). The JS half builds
the ``api`` object with Auth0's limits and error messages and records every
call as a command. docs/triggers.md, "Adding a trigger", walks through one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any, ClassVar

from auth0_actions.sandbox.domain import Domain
from auth0_actions.sandbox.results import (
    ProtocolViolation,
    list_field,
    object_field,
    own_entries,
    timed_out,
)

# Every trigger's actions share these statuses (the JS half's common runner).
ACTION_STATUSES = frozenset({"completed", "skipped", "denied", "redirected", "error"})
MAX_ACTIONS_PER_TRIGGER = 20  # limitations.mdx: actions bound per trigger
# limitations.mdx, "Logs": at most 256 characters of console.log output are
# persistently stored for each action.
PERSISTED_LOG_CHARS = 256


def persisted_logs(messages: list[str]) -> list[str]:
    """One action's log lines as Auth0 stores them: 256 characters in all, the rest cut."""
    kept: list[str] = []
    left = PERSISTED_LOG_CHARS
    for message in messages:
        if left <= 0:
            break
        kept.append(message[:left])
        left -= len(message)
    return kept


def merge_into(out: dict[str, Any], override: Mapping[str, Any]) -> None:
    """Override merged into ``out`` in place: mappings recursively, anything else replaced."""
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            if not isinstance(current, dict):
                current = out[key] = dict(current)
            merge_into(current, value)
        else:
            # A JSON copy: overrides come from YAML/JSON and hold data only.
            out[key] = json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


class Trigger:
    """One Auth0 Actions trigger. Subclasses set the class attributes; most keep the methods.

    Class attributes:
      id, version: as the Management API names them (supported_triggers, bindings).
      title, docs: a human name and Auth0's reference page for the trigger.
      handlers: the exported functions Auth0 calls, the entry handler first.
      resume_handler: the handler that runs when the flow resumes after a
        redirect (post-login's onContinuePostLogin), or None.
      script: the JS half's file name, next to the module.
      event: the documented ``event``, with realistic defaults.
      denies: command types that end the flow as denied (``access.deny``).
      fails: command types that end the flow as failed (post-login's
        ``session.revoke``), with the outcome they give.
      suspends: command types that suspend the flow (a redirect).
      carries: state the host carries from one action to the next.
      max_actions: how many actions may be bound to the trigger.
    """

    id: ClassVar[str]
    version: ClassVar[str]
    title: ClassVar[str]
    docs: ClassVar[str]
    handlers: ClassVar[tuple[str, ...]]
    resume_handler: ClassVar[str | None] = None
    script: ClassVar[str]
    event: ClassVar[Mapping[str, Any]]
    denies: ClassVar[frozenset[str]] = frozenset({"access.deny"})
    fails: ClassVar[frozenset[str]] = frozenset()
    suspends: ClassVar[frozenset[str]] = frozenset()
    carries: ClassVar[tuple[str, ...]] = ("cache",)
    max_actions: ClassVar[int] = MAX_ACTIONS_PER_TRIGGER
    # The trigger an action has when tenant.yaml names none (exactly one).
    default: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"<trigger {self.id} {self.version}>"

    # -- the event ----------------------------------------------------------
    @cached_property
    def _event_json(self) -> str:
        return json.dumps(self.event)

    def build_event(self, *overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The default event with each override merged over it (a fresh copy each call)."""
        # A JSON round trip copies the (JSON-only) default several times faster
        # than deepcopy; scenario runs build one event per case.
        event: dict[str, Any] = json.loads(self._event_json)
        for override in overrides:
            merge_into(event, override)
        return event

    # -- what the worker is told --------------------------------------------
    def wire(self) -> dict[str, Any]:
        """The trigger as the JS half reads it (sent with the domain)."""
        return {
            "id": self.id,
            "version": self.version,
            "handlers": list(self.handlers),
            "resume_handler": self.resume_handler,
        }

    def domain(self, unit: Mapping[str, Any]) -> Domain:
        """The isolation domain of one of this trigger's actions."""
        return Domain.of_action(unit, self.wire(), self.script)

    def handler_for(self, resuming: bool) -> str:
        if resuming and self.resume_handler:
            return self.resume_handler
        return self.handlers[0]

    # -- one run: state carried between actions, and the outcome ------------
    def initial_state(self, event: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
        """What the host carries from one action to the next, at the start of a run."""
        return {"cache": dict(request.get("cache") or {})}

    def initial_result(self) -> dict[str, Any]:
        """The combined result of a run before any action ran."""
        return {
            "status": "completed",
            "error": None,
            "deny": None,
            "redirect": None,
            "commands": [],
            "logs": [],
            "executed": [],
        }

    def check(self, result: Mapping[str, Any], name: str) -> None:
        """One action's result must have the harness's shape, every entry the action's own.

        Run by the pool while it still holds the worker, so a worker that broke
        the protocol is retired. Subclasses extend it for their own fields.
        """
        if result.get("status") not in ACTION_STATUSES:
            raise ProtocolViolation(f"unknown status {str(result.get('status'))[:40]!r}")
        for key in ("commands", "logs", "executed"):
            own_entries(result, key, "action", name)
        for command in list_field(result, "commands"):
            if not isinstance(command.get("type"), str):
                raise ProtocolViolation("a command has no type")
        for key in self.carries:
            if key in ("cache", "transaction_metadata"):
                object_field(result, key)
        if result.get("status") == "error":
            object_field(result, "error")

    def fold(
        self,
        combined: dict[str, Any],
        state: dict[str, Any],
        result: Mapping[str, Any],
        name: str,
        index: int,
    ) -> bool:
        """Fold one checked action result into the run; True when the flow stops here.

        The outcome is read from the commands the action issued, never from a
        status field a worker could misreport.
        """
        if timed_out(result):
            combined["status"] = "error"
            combined["error"] = {"action": name, **object_field(result, "error")}
            return True
        commands = list_field(result, "commands")
        combined["commands"].extend(commands)
        combined["logs"].extend(list_field(result, "logs"))
        combined["executed"].extend(list_field(result, "executed"))
        self.carry(combined, state, result)
        if result["status"] == "error":
            combined["status"] = "error"
            combined["error"] = {**object_field(result, "error"), "action": name}
            return True
        return self.decide(combined, commands, name, index)

    def carry(
        self, combined: dict[str, Any], state: dict[str, Any], result: Mapping[str, Any]
    ) -> None:
        """Take what the next action sees (and what the run reports) from one result."""
        for key in self.carries:
            state[key] = object_field(result, key)

    def decide(self, combined: dict[str, Any], commands: list[Any], name: str, index: int) -> bool:
        """Whether the commands end or suspend the flow; sets the combined outcome."""
        types = [command.get("type") for command in commands]
        for kind, status in (("deny", self.denies), ("fail", self.fails)):
            hits = [c for c in commands if c.get("type") in status]
            if hits:
                first = hits[0]
                combined["status"] = "denied" if kind == "deny" else "failed"
                combined["deny"] = {"action": name, **self.denial(first)}
                if kind == "fail":
                    combined["deny"]["command"] = first.get("type")
                return True
        if any(t in self.suspends for t in types):
            last = [c for c in commands if c.get("type") in self.suspends][-1]
            combined["status"] = "redirected"
            combined["redirect"] = {"action": name, **self.redirection(last), "index": index}
            return True
        return False

    def denial(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """What a deny (or fail) command tells the app: its reason, and a code if it has one."""
        out = {"reason": str(command.get("reason", ""))}
        if command.get("code") is not None:
            out["code"] = str(command["code"])
        return out

    def redirection(self, command: Mapping[str, Any]) -> dict[str, Any]:
        return {"url": str(command.get("url", ""))}
