"""The one-use guard: each session token serves one decision, in one browser.

A ticket is keyed on the session token's decoded signature (``SessionClaims.
ticket``), never on the token's spelling: a signature written with padding
or in the other base64 alphabet decodes to the same bytes, so it is the same
ticket (and the token checks refuse such spellings anyway). Tickets are
remembered until the token expires. The first GET opens a ticket and binds
it to a CSRF token that the browser holds as a cookie; only that browser may
show the page again (a reload, another language), and one POST decides it.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass

from auth0_actions.clock import now_s
from auth0_actions.consent_page.tokens import SessionClaims


class PageError(Exception):
    """An answer for the browser: a status and the label keys of words a person can act on.

    ``detail`` is a technical reason in English (which check failed), never a
    token or a secret.
    """

    def __init__(self, status: int, heading: str, message: str, detail: str | None = None) -> None:
        super().__init__(detail or heading)
        self.status = status
        self.heading = heading
        self.message = message
        self.detail = detail


def already_used() -> PageError:
    return PageError(409, "used_link", "used_link_text")


def unknown_request() -> PageError:
    return PageError(400, "unknown_request", "unknown_request_text")


def unverified() -> PageError:
    return PageError(403, "unverified", "unverified_text")


@dataclass
class Ticket:
    """One session token seen by this server: the consent it may still decide."""

    session: SessionClaims
    state: str
    csrf: str
    decided: bool = False


class TicketBook:
    """Tickets by the session token's signature digest, until the token expires."""

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def open(self, session: SessionClaims, state: str, cookie: str | None) -> Ticket:
        """The ticket for a GET with a session token: new, or the same browser reloading."""
        with self._lock:
            self._forget_expired()
            ticket = self._tickets.get(session.ticket)
            if ticket is None:
                ticket = Ticket(session, state, secrets.token_urlsafe(32))
                self._tickets[session.ticket] = ticket
                return ticket
            if ticket.decided or not same(cookie, ticket.csrf) or ticket.state != state:
                raise already_used()
            return ticket

    def reopen(self, ticket_id: str, cookie: str | None) -> Ticket:
        """The page again in the browser that opened it (a language link), undecided."""
        with self._lock:
            ticket = self._live(ticket_id)
            if ticket.decided:
                raise already_used()
            if not same(cookie, ticket.csrf):
                raise unverified()
            return ticket

    def check(self, ticket_id: str, form_csrf: str, cookie: str | None) -> Ticket:
        """The undecided ticket a form belongs to, if the CSRF token is this ticket's."""
        with self._lock:
            return self._checked(ticket_id, form_csrf, cookie)

    def decide(self, ticket_id: str, form_csrf: str, cookie: str | None) -> Ticket:
        """Mark the ticket decided, once, if the CSRF token is this ticket's."""
        with self._lock:
            ticket = self._checked(ticket_id, form_csrf, cookie)
            ticket.decided = True
            return ticket

    def _checked(self, ticket_id: str, form_csrf: str, cookie: str | None) -> Ticket:
        ticket = self._live(ticket_id)
        if ticket.decided:
            raise PageError(409, "used_link", "used_link_text", "a decision was already sent")
        if not (same(form_csrf, ticket.csrf) and same(cookie, ticket.csrf)):
            raise unverified()
        return ticket

    def _live(self, ticket_id: str) -> Ticket:
        ticket = self._tickets.get(ticket_id)
        if ticket is None or ticket.session.exp <= now_s():
            raise unknown_request()
        return ticket

    def _forget_expired(self) -> None:
        now = now_s()
        for key in [k for k, t in self._tickets.items() if t.session.exp <= now]:
            del self._tickets[key]


def same(given: str | None, expected: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str, and a form may carry any text.
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
