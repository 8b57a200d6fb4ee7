"""A trigger's pipeline, run by the host: each action in its own domain's worker.

The host, not action code, carries the login from one action to the next
(metadata, transaction metadata, cache, claims) and decides the outcome. A
step's result is checked before it is used: it must have the shape the
harness writes, and every command in it must be the action's own. Whether a
login was denied or redirected is read from the commands the action issued
(``access.deny``, ``redirect.sendUserTo``, ``prompt.render``), never from a
status field a worker could misreport. So an action can change only its own
execution's result, and only in ways its own honest code could.

The trigger's time limit (20 s, docs/reference/actions-runtime.md §3) covers
the whole segment: each step gets what is left of it, and the worker is
killed when it runs past it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from auth0_actions.sandbox.domain import Domain
from auth0_actions.sandbox.outbound import Exchange
from auth0_actions.sandbox.worker import TIMEOUT_MESSAGE, Limits, Reply

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


_ACTION_STATUSES = frozenset({"completed", "skipped", "denied", "redirected", "error"})
_RULE_STATUSES = frozenset({"completed", "denied", "unauthorized", "error"})


class ProtocolViolation(Exception):
    """A worker's answer is not what the harness writes: the worker is not trusted again."""


def _object(result: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = result.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolViolation(f"{key} is not an object")
    return value


def _list(result: Mapping[str, Any], key: str) -> list[Any]:
    value = result.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolViolation(f"{key} is not a list")
    return value


def _own_entries(result: Mapping[str, Any], key: str, field: str, name: str) -> list[Any]:
    """Commands, logs or executions, each of which must name this action."""
    entries = _list(result, key)
    for entry in entries:
        owner = entry.get(field) if isinstance(entry, dict) else entry
        if owner != name:
            raise ProtocolViolation(f"{key} names another action ({str(owner)[:60]!r})")
    return entries


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


def _timed_out(result: Mapping[str, Any]) -> bool:
    error = result.get("error")
    return isinstance(error, dict) and bool(error.get("timeout"))


def check_action(name: str) -> Check:
    """What one action's result must be: the harness's shape, every entry its own."""

    def check(result: Mapping[str, Any]) -> None:
        if _timed_out(result):
            return
        if result.get("status") not in _ACTION_STATUSES:
            raise ProtocolViolation(f"unknown status {str(result.get('status'))[:40]!r}")
        for key in ("commands", "logs", "executed"):
            _own_entries(result, key, "action", name)
        for command in _list(result, "commands"):
            if not isinstance(command.get("type"), str):
                raise ProtocolViolation("a command has no type")
        for key in ("transaction_metadata", "cache", "id_token_claims", "access_token_claims"):
            _object(result, key)
        scopes = _object(result, "access_token_scopes")
        _list(scopes, "added")
        _list(scopes, "removed")
        if result.get("multifactor") is not None:
            _object(result, "multifactor")
        if result.get("primary_user") is not None and not isinstance(result["primary_user"], str):
            raise ProtocolViolation("primary_user is not a string")
        if result.get("status") == "error":
            _object(result, "error")

    return check


def check_rule(name: str) -> Check:
    """What one rule's result must be."""

    def check(result: Mapping[str, Any]) -> None:
        if _timed_out(result):
            return
        if result.get("status") not in _RULE_STATUSES:
            raise ProtocolViolation(f"unknown status {str(result.get('status'))[:40]!r}")
        for key in ("commands", "logs"):
            _own_entries(result, key, "action", name)
        _own_entries(result, "executed", "", name)
        for key in ("user", "context", "error"):
            _object(result, key)

    return check


def run_post_login(
    execute: Execute, request: Mapping[str, Any], limits: Limits, exchange: Exchange | None = None
) -> Reply:
    """One segment of a login: from the first action, or from the one that redirected.

    request: {units, event, resume: None | {index}, cache?, now_ms?}; the reply's
    result has the combined shape callers read (status, deny, redirect with the
    unit index, commands, logs, metadata, claims, executed).
    """
    units: list[Mapping[str, Any]] = list(request.get("units") or [])
    resume = request.get("resume")
    start = int(resume["index"]) if resume else 0
    event = request["event"]
    user = event.get("user") or {}
    transaction = event.get("transaction") or {}
    state: dict[str, Any] = {
        "user_metadata": user.get("user_metadata") or {},
        "app_metadata": user.get("app_metadata") or {},
        "transaction_metadata": transaction.get("metadata") or {},
        "cache": request.get("cache") or {},
        "primary_user": None,
    }
    combined: dict[str, Any] = {
        "status": "completed",
        "error": None,
        "deny": None,
        "redirect": None,
        "commands": [],
        "logs": [],
        "id_token_claims": {},
        "access_token_claims": {},
        "access_token_scopes": {"added": [], "removed": []},
        "multifactor": None,
        "executed": [],
    }
    segment = _Segment(execute, limits, exchange)
    for index in range(start, len(units)):
        unit = units[index]
        name = str(unit.get("name", ""))
        handler = "onContinuePostLogin" if resume and index == start else "onExecutePostLogin"
        payload = {
            "op": "post-login",
            "event": event,
            "handler": handler,
            "state": state,
            "now_ms": request.get("now_ms"),
        }
        outcome = segment.step(Domain.of_action(unit), payload, check_action(name))
        if isinstance(outcome, Reply):
            return outcome
        if _merge_action(combined, state, outcome, name, index):
            break
    return segment.reply({**combined, **state})


def _merge_action(
    combined: dict[str, Any],
    state: dict[str, Any],
    result: Mapping[str, Any],
    name: str,
    index: int,
) -> bool:
    """Fold one checked action result into the run; True when the pipeline stops here."""
    if _timed_out(result):
        combined["status"] = "error"
        combined["error"] = {"action": name, **_object(result, "error")}
        return True
    # check_action has vouched for the shape and that every entry is the
    # action's own (while the pool still held the worker); nothing is
    # checked twice here.
    status = result["status"]
    commands = _list(result, "commands")
    combined["commands"].extend(commands)
    combined["logs"].extend(_list(result, "logs"))
    combined["executed"].extend(_list(result, "executed"))
    # Stored metadata that is not an object (bad data in the profile) is
    # carried as it came; the api refuses to write into it.
    for key in ("user_metadata", "app_metadata"):
        state[key] = result.get(key, state[key])
    for key in ("transaction_metadata", "cache"):
        state[key] = _object(result, key)
    state["primary_user"] = result.get("primary_user") or state["primary_user"]
    combined["id_token_claims"].update(_object(result, "id_token_claims"))
    combined["access_token_claims"].update(_object(result, "access_token_claims"))
    scopes = _object(result, "access_token_scopes")
    combined["access_token_scopes"]["added"].extend(_list(scopes, "added"))
    combined["access_token_scopes"]["removed"].extend(_list(scopes, "removed"))
    if result.get("multifactor") is not None:
        combined["multifactor"] = _object(result, "multifactor")
    if status == "error":
        error = _object(result, "error")
        combined["status"] = "error"
        combined["error"] = {**error, "action": name}
        return True
    # The outcome is read from what the action did, not from what it reports.
    types = [command.get("type") for command in commands]
    if "access.deny" in types:
        first = commands[types.index("access.deny")]
        combined["status"] = "denied"
        combined["deny"] = {"action": name, "reason": str(first.get("reason", ""))}
        return True
    redirects = [c for c in commands if c.get("type") in ("redirect.sendUserTo", "prompt.render")]
    if redirects:
        last = redirects[-1]
        target = (
            {"url": str(last.get("url", ""))}
            if last["type"] == "redirect.sendUserTo"
            else {"prompt": str(last.get("form_id", ""))}
        )
        combined["status"] = "redirected"
        combined["redirect"] = {"action": name, **target, "index": index}
        return True
    return False


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
        status = "error" if _timed_out(outcome) else outcome["status"]
        combined["commands"].extend(_list(outcome, "commands"))
        combined["logs"].extend(_list(outcome, "logs"))
        combined["executed"].extend(_list(outcome, "executed"))
        state = {k: outcome.get(k, state[k]) for k in ("user_metadata", "app_metadata")}
        if status != "completed":
            combined["status"] = status
            combined["error"] = {"rule": name, **_object(outcome, "error")}
            break
        user = _object(outcome, "user") or user
        context = _object(outcome, "context") or context
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
    combined["id_token_claims"] = _object(context, "idToken")
    combined["access_token_claims"] = _object(context, "accessToken")
    return segment.reply(combined)
