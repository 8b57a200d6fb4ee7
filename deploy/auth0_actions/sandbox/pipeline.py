"""A trigger's pipeline, run by the host: each action in its own domain's worker.

The host, not action code, carries the flow from one action to the next
(metadata, transaction metadata, cache, claims: what the trigger's module
says it carries) and decides the outcome. A step's result is checked before
it is used: it must have the shape the harness writes, and every command in
it must be the action's own. Whether a flow was denied, failed or redirected
is read from the commands the action issued (the trigger's module names
them), never from a status field a worker could misreport. So an action can
change only its own execution's result, and only in ways its own honest code
could.

The trigger's time limit (20 s, docs/reference/actions-runtime.md §3) covers
the whole segment: each step gets what is left of it, and the worker is
killed when it runs past it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from auth0_actions.errors import ConfigError
from auth0_actions.sandbox.domain import Domain
from auth0_actions.sandbox.outbound import Exchange
from auth0_actions.sandbox.results import (
    ProtocolViolation,
    list_field,
    object_field,
    own_entries,
    timed_out,
)
from auth0_actions.sandbox.worker import TIMEOUT_MESSAGE, Limits, Reply
from auth0_actions.triggers.base import Trigger

__all__ = ["Check", "Execute", "ProtocolViolation", "run_rules", "run_trigger"]

# Checks a step's result; raises ProtocolViolation. Run by the pool while it
# still holds the worker, so a worker that broke the protocol is retired.
Check = Callable[[Mapping[str, Any]], None]


class Execute(Protocol):
    """Runs one execution on a worker of the domain; ``timeout_ms`` is the time left.

    ``exchange`` (given only when the run stubs outbound HTTP) answers action
    code's requests.
    """

    def __call__(
        self,
        domain: Domain,
        payload: dict[str, Any],
        timeout_ms: int,
        check: Check,
        /,
        exchange: Exchange | None = None,
    ) -> Reply: ...


_RULE_STATUSES = frozenset({"completed", "denied", "unauthorized", "error"})


class _Segment:
    """Shared bookkeeping of one run: the deadline, stray output, retirements."""

    def __init__(self, execute: Execute, limits: Limits, exchange: Exchange | None = None) -> None:
        self.execute = execute
        self.exchange = exchange
        self.deadline = time.monotonic() + limits.timeout_ms / 1000
        self.stray: list[str] = []
        self.retired: list[str] = []

    def step(self, domain: Domain, payload: dict[str, Any], check: Check) -> Reply | dict[str, Any]:
        """The step's checked result, or the Reply that ends the run (a failed worker)."""
        left = int((self.deadline - time.monotonic()) * 1000)
        if left <= 0:
            return Reply(None, TIMEOUT_MESSAGE, self.stray)
        if self.exchange is None:
            reply = self.execute(domain, payload, left, check)
        else:
            reply = self.execute(domain, payload, left, check, exchange=self.exchange)
        self.stray.extend(reply.stray_output)
        if reply.retired:
            self.retired.append(reply.retired)
        if reply.result is None:
            return Reply(None, reply.failure or "no result", self.stray)
        return reply.result

    def reply(self, result: dict[str, Any]) -> Reply:
        return Reply(result, None, self.stray, "; ".join(self.retired) or None)


def check_action(trigger: Trigger, name: str) -> Check:
    """What one action's result must be: the trigger's shape, every entry its own."""

    def check(result: Mapping[str, Any]) -> None:
        if not timed_out(result):
            trigger.check(result, name)

    return check


def check_rule(name: str) -> Check:
    """What one rule's result must be."""

    def check(result: Mapping[str, Any]) -> None:
        if timed_out(result):
            return
        if result.get("status") not in _RULE_STATUSES:
            raise ProtocolViolation(f"unknown status {str(result.get('status'))[:40]!r}")
        for key in ("commands", "logs"):
            own_entries(result, key, "action", name)
        own_entries(result, "executed", "", name)
        for key in ("user", "context", "error"):
            object_field(result, key)

    return check


def run_trigger(
    trigger: Trigger,
    execute: Execute,
    request: Mapping[str, Any],
    limits: Limits,
    exchange: Exchange | None = None,
) -> Reply:
    """One segment of a trigger's flow: from the first action, or from the one that redirected.

    request: {units, event, resume: None | {index}, cache?, now_ms?}; the reply's
    result has the combined shape callers read (status, deny, redirect with the
    unit index, commands, logs, executed, and what the trigger carries).
    """
    units: list[Mapping[str, Any]] = list(request.get("units") or [])
    if len(units) > trigger.max_actions:
        # Auth0 never binds more; a pipeline that names more is a mistake to report.
        names = ", ".join(str(u.get("name", "?")) for u in units)
        raise ConfigError(
            f"the {trigger.id} trigger runs at most {trigger.max_actions} "
            f"action{'s' if trigger.max_actions > 1 else ''} ({len(units)} given: {names})"
        )
    resume = request.get("resume")
    start = int(resume["index"]) if resume else 0
    event = request["event"]
    state = trigger.initial_state(event, request)
    combined = trigger.initial_result()
    segment = _Segment(execute, limits, exchange)
    for index in range(start, len(units)):
        unit = units[index]
        name = str(unit.get("name", ""))
        payload = {
            "op": trigger.id,
            "event": event,
            "handler": trigger.handler_for(bool(resume) and index == start),
            "state": state,
            "now_ms": request.get("now_ms"),
        }
        outcome = segment.step(trigger.domain(unit), payload, check_action(trigger, name))
        if isinstance(outcome, Reply):
            return outcome
        if trigger.fold(combined, state, outcome, name, index):
            break
    return segment.reply({**combined, **state})


def run_rules(
    execute: Execute, request: Mapping[str, Any], limits: Limits, exchange: Exchange | None = None
) -> Reply:
    """Legacy Rules in order, each in its own worker (docs/reference/actions-runtime.md §4).

    request: {units, user, context, configuration, state}; on /continue every
    rule runs again with protocol "redirect-callback".
    """
    units: list[Mapping[str, Any]] = list(request.get("units") or [])
    configuration = request.get("configuration") or {}
    user: dict[str, Any] = dict(request["user"])
    context: dict[str, Any] = dict(request["context"])
    state = {
        "user_metadata": user.get("user_metadata") or {},
        "app_metadata": user.get("app_metadata") or {},
    }
    combined: dict[str, Any] = {
        "status": "completed",
        "error": None,
        "redirect": None,
        "commands": [],
        "logs": [],
        "executed": [],
    }
    segment = _Segment(execute, limits, exchange)
    for unit in units:
        name = str(unit.get("name", ""))
        payload = {"op": "rules", "user": user, "context": context, "state": state}
        outcome = segment.step(Domain.of_rule(unit, configuration), payload, check_rule(name))
        if isinstance(outcome, Reply):
            return outcome
        status = "error" if timed_out(outcome) else outcome["status"]
        combined["commands"].extend(list_field(outcome, "commands"))
        combined["logs"].extend(list_field(outcome, "logs"))
        combined["executed"].extend(list_field(outcome, "executed"))
        state = {k: outcome.get(k, state[k]) for k in ("user_metadata", "app_metadata")}
        if status != "completed":
            combined["status"] = status
            combined["error"] = {"rule": name, **object_field(outcome, "error")}
            break
        user = object_field(outcome, "user") or user
        context = object_field(outcome, "context") or context
    redirect = context.get("redirect")
    # context.redirect suspends the login, except on the /continue run.
    if (
        combined["status"] == "completed"
        and redirect
        and context.get("protocol") != "redirect-callback"
    ):
        url = str((redirect if isinstance(redirect, dict) else {}).get("url", ""))
        sandbox_state = str(request.get("state") or "sandbox-state")
        separator = "&" if "?" in url else "?"
        combined["redirect"] = {
            "url": f"{url}{separator}state={quote(sandbox_state, safe='')}",
            "state": sandbox_state,
        }
        combined["status"] = "redirected"
    combined["user_metadata"] = state["user_metadata"]
    combined["app_metadata"] = state["app_metadata"]
    combined["id_token_claims"] = object_field(context, "idToken")
    combined["access_token_claims"] = object_field(context, "accessToken")
    return segment.reply(combined)
