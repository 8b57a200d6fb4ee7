"""The login flow's executions and log events (``s``, ``f``), as the other flows leave them.

Called by :mod:`auth0_actions.emulator.flows.login`; imports nothing of it.
"""

from __future__ import annotations

from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.backends.logs import FlowContext, LogsBackend, outcomes_of
from auth0_actions.triggers.post_login import TRIGGER as POST_LOGIN


def _logs(app: Any) -> LogsBackend | None:
    flows = getattr(app, "flows", None)
    return getattr(flows, "logs", None)


def record_run(
    app: Any, tx: dict[str, Any], started_at: str, result: dict[str, Any] | None
) -> None:
    """Store one post-login segment as an execution; its id joins the login's log event."""
    logs = _logs(app)
    units = tx.get("units") or []
    if logs is None or not units:
        return
    suspended = result is not None and result.get("status") == "redirected"
    outcomes = outcomes_of(units, result)
    waiting = tx.pop("suspended_execution", None)
    if waiting and logs.resume_execution(waiting, outcomes, suspended=suspended):
        execution_id = waiting  # /continue: the same execution goes on
    else:
        execution_id = logs.record_execution(
            POST_LOGIN.id, outcomes, started_at=started_at, suspended=suspended
        )
        tx.setdefault("executions", []).append(execution_id)
    if suspended:
        tx["suspended_execution"] = execution_id


def started() -> str:
    return clock.iso_utc(digits=9)


def login_event(app: Any, tx: dict[str, Any], event_type: str, description: str | None) -> None:
    """The login's log event: ``s`` (success) or ``f`` (failed), naming its executions."""
    logs = _logs(app)
    if logs is None:
        return
    user = app.store.get("user", tx["user_id"]) if tx.get("user_id") else None
    identities = (user or {}).get("identities") or [{}]
    connection = identities[0].get("connection")
    context = FlowContext(
        client_id=tx.get("client_id"),
        connection=connection,
        strategy="auth0" if connection else None,
        strategy_type="database" if connection else None,
        ip=tx.get("ip"),
        hostname=tx.get("hostname"),
        user_id=tx.get("user_id"),
        user_name=(user or {}).get("email"),
    )
    logs.add_event(
        event_type, context, description=description, executions=tx.get("executions") or []
    )
