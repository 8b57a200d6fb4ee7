"""Tenant log events and action executions: what every flow's trigger run leaves behind.

Auth0 keeps each trigger run as an *execution* (``GET /api/v2/actions/executions/{id}``:
id, trigger_id, status, one result per action, created_at/updated_at;
https://auth0.com/docs/api/management/v2/actions/get-execution) and names the
execution ids in the tenant log event of the flow that ran it ("Relevant
execution IDs will be included in tenant logs generated as part of that
authentication flow", same page), under ``details.actions.executions``.
Log events carry Auth0's type codes (https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes):
``s``/``f``/``fp``/``fu`` for logins, ``ss``/``fs`` for signups,
``scp``/``fcp`` for password changes, ``scpr`` for a change requested.

Both live in memory, bounded (the newest :data:`MAX_EVENTS` log events and
:data:`MAX_EXECUTIONS` executions), as Auth0 bounds them by retention (executions
are kept 10 days): a busy local tenant never grows without limit, and a restart
starts with an empty log.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.http import ApiError, not_found
from auth0_actions.triggers.base import persisted_logs

MAX_EVENTS = 1000
MAX_EXECUTIONS = 1000

# Auth0's descriptions of the event types this tenant writes
# (https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes).
EVENT_TYPES: Mapping[str, str] = {
    "s": "Success Login",
    "f": "Failed Login",
    "fp": "Wrong email or password.",
    "fu": "Invalid email or username",
    "ss": "Success Signup",
    "fs": "Failed Signup",
    "scp": "Success Change Password",
    "fcp": "Failed Change Password",
    "scpr": "Success Change Password Request",
    "seccft": "Success Exchange",
    "feccft": "Failed Exchange",
}

# Fields of a log event GET /api/v2/logs may sort, select and search by (the OpenAPI
# document's pattern for ``sort`` and ``fields``).
LOG_FIELDS = (
    "date",
    "connection",
    "client_id",
    "client_name",
    "ip",
    "user_id",
    "user_name",
    "description",
    "user_agent",
    "type",
    "details",
    "strategy",
    "strategy_type",
)


@dataclass(frozen=True)
class ActionOutcome:
    """One action's part of a trigger run, as the execution reports it."""

    action_name: str
    logs: tuple[str, ...] = ()
    error: str | None = None  # the error's message, when the action failed


@dataclass
class FlowContext:
    """Who and what a log event is about; every field optional (Auth0 leaves them empty)."""

    client_id: str | None = None
    client_name: str | None = None
    connection: str | None = None
    connection_id: str | None = None
    strategy: str | None = None
    strategy_type: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    hostname: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    audience: str | None = None
    scope: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more of ``details``

    def fields(self) -> dict[str, Any]:
        names = (
            "client_id",
            "client_name",
            "connection",
            "connection_id",
            "strategy",
            "strategy_type",
            "ip",
            "user_agent",
            "hostname",
            "user_id",
            "user_name",
            "audience",
            "scope",
        )
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


def outcomes_of(
    units: Sequence[Mapping[str, Any]], result: Mapping[str, Any] | None
) -> list[ActionOutcome]:
    """Each action that ran in a trigger run, with its persisted logs and error.

    ``result`` is the combined result of :func:`auth0_actions.sandbox.pipeline.run_trigger`
    (None: the run failed before any action answered); the logs are cut as
    Auth0 stores them (256 characters per action, limitations.mdx).
    """
    if result is None:
        return [
            ActionOutcome(str(unit.get("name", "")), error="the action could not be run")
            for unit in units[:1]
        ]
    ran = [str(entry.get("action")) for entry in result.get("executed") or []]
    error = result.get("error") or {}
    failed = str(error.get("action")) if result.get("status") == "error" else None
    names = list(dict.fromkeys([*ran, *([failed] if failed else [])]))
    out = []
    for name in names:
        lines = [
            str(e.get("message", "")) for e in result.get("logs") or [] if e.get("action") == name
        ]
        message = str(error.get("message") or "the action failed") if name == failed else None
        out.append(ActionOutcome(name, tuple(persisted_logs(lines)), message))
    return out


class LogsBackend:
    """The tenant's recent log events and executions; thread-safe."""

    def __init__(self, max_events: int = MAX_EVENTS, max_executions: int = MAX_EXECUTIONS) -> None:
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._executions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._max_executions = max_executions
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)

    # -- executions -----------------------------------------------------------
    def record_execution(
        self,
        trigger_id: str,
        outcomes: Iterable[ActionOutcome],
        *,
        started_at: str,
        suspended: bool = False,
    ) -> str:
        """Store one trigger run; returns its id (a uuid, as Auth0's)."""
        ended_at = clock.iso_utc(digits=9)
        results = _results(outcomes, started_at, ended_at)
        execution_id = _uuid()
        record = {
            "id": execution_id,
            "trigger_id": trigger_id,
            # "suspended" while a redirect waits for /continue; "final" otherwise.
            "status": "suspended" if suspended else "final",
            "results": results,
            "created_at": started_at,
            "updated_at": ended_at,
        }
        with self._lock:
            self._executions[execution_id] = record
            while len(self._executions) > self._max_executions:
                self._executions.popitem(last=False)
        return execution_id

    def resume_execution(
        self, execution_id: str, outcomes: Iterable[ActionOutcome], *, suspended: bool = False
    ) -> bool:
        """Add a resumed segment's results to a suspended execution (one per login, as Auth0's);
        False when it is no longer kept."""
        ended_at = clock.iso_utc(digits=9)
        more = _results(outcomes, ended_at, ended_at)
        with self._lock:
            record = self._executions.get(execution_id)
            if record is None:
                return False
            record["results"] = [*record["results"], *more]
            record["status"] = "suspended" if suspended else "final"
            record["updated_at"] = ended_at
        return True

    def executions(self) -> list[dict[str, Any]]:
        """Every kept execution, oldest first."""
        with self._lock:
            return list(self._executions.values())

    def execution(self, execution_id: str) -> dict[str, Any]:
        with self._lock:
            record = self._executions.get(execution_id)
        if record is None:
            raise not_found("The execution does not exist.", "inexistent_execution")
        return record

    # -- log events -----------------------------------------------------------
    def add_event(
        self,
        event_type: str,
        context: FlowContext | None = None,
        *,
        description: str | None = None,
        executions: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Append a log event of an Auth0 type code; returns it."""
        context = context or FlowContext()
        details: dict[str, Any] = dict(context.extra)
        if executions:
            details["actions"] = {"executions": list(executions)}
        now = clock.now_ns()
        event = {
            "date": clock.iso_utc(now),
            "type": event_type,
            "description": description
            if description is not None
            else EVENT_TYPES.get(event_type, ""),
            **context.fields(),
            "details": details,
            # Sortable and unique, as Auth0's log ids are (a time-ordered number).
            "log_id": f"900{now // 1_000_000:016d}{next(self._sequence):012d}",
        }
        with self._lock:
            self._events.append(event)
        return event

    def events(self) -> list[dict[str, Any]]:
        """Every kept event, oldest first."""
        with self._lock:
            return list(self._events)

    def event(self, log_id: str) -> dict[str, Any]:
        for event in self.events():
            if event["log_id"] == log_id:
                return event
        raise not_found("log not found", "inexistent_log")


def _results(
    outcomes: Iterable[ActionOutcome], started_at: str, ended_at: str
) -> list[dict[str, Any]]:
    results = []
    for outcome in outcomes:
        response: dict[str, Any] = {"logs": "\n".join(outcome.logs)}
        entry: dict[str, Any] = {"action_name": outcome.action_name}
        if outcome.error is not None:
            # auth0-java's Execution model (its ExecutionTest) shows both:
            # response.error (the thrown error) and error {id, msg}.
            response["error"] = {"message": outcome.error, "name": "Error"}
            entry["error"] = {"id": "action_error", "msg": outcome.error}
        entry.update({"response": response, "started_at": started_at, "ended_at": ended_at})
        results.append(entry)
    return results


def search(events: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """A small subset of Auth0's log search: ``field:value`` terms joined by AND (or spaces).

    Values may be quoted; ``details.actions.executions:"<id>"`` finds a run's events.
    """
    terms = [t for t in _split_terms(query) if t.upper() != "AND"]
    matched = events
    for term in terms:
        name, sep, value = term.partition(":")
        if not sep or not name:
            raise ApiError(400, f"Invalid query: {term}", "invalid_query")
        value = value.strip('"')
        matched = [e for e in matched if _matches(e, name, value)]
    return matched


def _split_terms(query: str) -> list[str]:
    terms: list[str] = []
    current = ""
    quoted = False
    for char in query:
        if char == '"':
            quoted = not quoted
        if char == " " and not quoted:
            if current:
                terms.append(current)
            current = ""
            continue
        current += char
    if current:
        terms.append(current)
    return terms


def _matches(event: Mapping[str, Any], name: str, value: str) -> bool:
    current: Any = event
    for part in name.split("."):
        if not isinstance(current, Mapping):
            return False
        current = current.get(part)
    if isinstance(current, list):
        return value in [str(v) for v in current]
    return current is not None and str(current) == value


def _uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{raw[16:20]}-{raw[20:]}"
