"""Password changes: the reset ticket and page, and the post-change-password run.

"The post-change-password trigger runs after a database connection user
resets or changes their password"; its actions are non-blocking, so their
outcome never affects the change
(https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger).
Here that is every way a password changes: the reset page a ticket opens
(``POST /api/v2/tickets/password-change``, or the link
``POST /dbconnections/change_password`` would have emailed) and
``PATCH /api/v2/users/{id}`` with ``password``. Each change is a log event
(``scp``) naming the execution.

Tickets live in memory until used or expired (Auth0's default lifetime is
5 days, ``ttl_sec`` overrides it), at most :data:`MAX_TICKETS` at once.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.backends.logs import LogsBackend
from auth0_actions.emulator.backends.users import (
    DEFAULT_CONNECTION,
    UsersBackend,
    connection_id,
    user_not_found,
)
from auth0_actions.emulator.flows.context import Origin
from auth0_actions.emulator.flows.runner import TriggerRun, TriggerRunner
from auth0_actions.emulator.http import bad_request
from auth0_actions.triggers.post_change_password import TRIGGER as POST_CHANGE_PASSWORD

TICKET_TTL_S = 432_000  # 5 days, Auth0's default for password-change tickets
MAX_TICKETS = 1000
# What Auth0 answers POST /dbconnections/change_password with, whether or not
# the user exists (so it tells nobody which emails have accounts).
CHANGE_REQUESTED = "We've just sent you an email to reset your password."


@dataclass
class Ticket:
    user_id: str
    expires: float
    result_url: str | None
    client_id: str | None


class PasswordFlow:
    """Password changes for one tenant."""

    def __init__(
        self, runner: TriggerRunner, logs: LogsBackend, users: UsersBackend, domain: str
    ) -> None:
        self.runner = runner
        self.logs = logs
        self.users = users
        self.domain = domain
        self._tickets: OrderedDict[str, Ticket] = OrderedDict()
        self._lock = threading.Lock()

    # -- tickets ----------------------------------------------------------------
    def issue_ticket(self, body: dict[str, Any]) -> str:
        """A ticket id for ``POST /api/v2/tickets/password-change`` (by user_id, or email)."""
        user = self._ticket_user(body)
        ttl = body.get("ttl_sec")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 0):
            raise bad_request(
                "Payload validation error: 'Expected type integer' on property ttl_sec."
            )
        ticket_id = secrets.token_urlsafe(24)
        result_url = body.get("result_url")
        with self._lock:
            self._purge()
            self._tickets[ticket_id] = Ticket(
                user["user_id"],
                clock.now_s() + (ttl or TICKET_TTL_S),
                result_url if isinstance(result_url, str) else None,
                body.get("client_id") if isinstance(body.get("client_id"), str) else None,
            )
            while len(self._tickets) > MAX_TICKETS:
                self._tickets.popitem(last=False)
        return ticket_id

    def _ticket_user(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = body.get("user_id")
        if isinstance(user_id, str) and user_id:
            return self.users.get(user_id)
        email = body.get("email")
        if isinstance(email, str) and email:
            connection = body.get("connection_id")
            found = [
                u
                for u in self.users.find_by_email(email.lower())
                if connection is None
                or any(
                    connection_id(i.get("connection", "")) == connection
                    for i in u.get("identities") or []
                )
            ]
            if found:
                return found[0]
            raise user_not_found()
        raise bad_request("Payload validation error: 'Missing required property: user_id'.")

    def ticket(self, ticket_id: str) -> Ticket | None:
        """A valid ticket, or None (unknown, used or expired)."""
        with self._lock:
            self._purge()
            return self._tickets.get(ticket_id)

    def redeem(self, ticket_id: str, password: str, origin: Origin) -> Ticket | None:
        """Set the ticket's user's password (once); None when the ticket is not valid."""
        with self._lock:
            self._purge()
            ticket = self._tickets.pop(ticket_id, None)
        if ticket is None:
            return None
        self.change(ticket.user_id, password, origin)
        return ticket

    def _purge(self) -> None:
        now = clock.now_s()
        for ticket_id in [t for t, ticket in self._tickets.items() if ticket.expires < now]:
            del self._tickets[ticket_id]

    # -- the change ---------------------------------------------------------------
    def request_change(self, email: str, connection: str, origin: Origin) -> None:
        """``/dbconnections/change_password``: logged (``scpr``); no email is sent."""
        found = self.users.find_by_email(email.lower(), connection)
        user = found[0] if found else {"email": email}
        self.logs.add_event("scpr", origin.log_context(connection, user))

    def change(self, user_id: str, password: str, origin: Origin) -> dict[str, Any]:
        """Store the new password (as the Management API does), then post-change-password."""
        user = self.users.update(user_id, {"password": password})
        self.after_change(user, origin)
        return user

    def after_change(self, user: dict[str, Any], origin: Origin) -> TriggerRun:
        """The post-change-password run for a user whose password was just changed."""
        identities = user.get("identities") or [{}]
        connection = str(identities[0].get("connection") or DEFAULT_CONNECTION)
        event = POST_CHANGE_PASSWORD.build_event(
            {
                "connection": {
                    "id": connection_id(connection),
                    "name": connection,
                    "strategy": "auth0",
                    "metadata": {},
                },
                "request": origin.request_event(),
                "tenant": {"id": self.domain.split(".")[0]},
            }
        )
        event["user"] = {
            "user_id": user["user_id"],
            "email": user.get("email"),
            "email_verified": bool(user.get("email_verified")),
            "username": user.get("username"),
            "phone_number": user.get("phone_number"),
            "phone_verified": bool(user.get("phone_verified")),
            "last_password_reset": user.get("last_password_reset"),
        }
        if origin.hostname == self.domain:
            event.pop("custom_domain", None)
        run = self.runner.run(POST_CHANGE_PASSWORD.id, event)
        executions = [run.execution_id] if run.execution_id else []
        self.logs.add_event("scp", origin.log_context(connection, user), executions=executions)
        return run
