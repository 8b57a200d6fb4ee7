"""Signup, password change and the pages: thin handlers over :mod:`auth0_actions.emulator.flows`.

- ``POST /dbconnections/signup`` (Authentication API) and the signup page
  (``GET``/``POST /u/signup``, reached from the login form's "Sign up" link)
  both call :meth:`SignupFlow.sign_up`; the page then continues the login,
  so post-login runs for the new user at once.
- ``POST /dbconnections/change_password`` answers as Auth0 does and sends no
  email (the link would be a credential, never printed);
  ``POST /api/v2/tickets/password-change`` returns the link; ``GET``/``POST
  /u/reset-password`` is the page it opens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from auth0_actions import clock
from auth0_actions.emulator import pages
from auth0_actions.emulator.backends.users import DEFAULT_CONNECTION
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.flows.context import Origin
from auth0_actions.emulator.flows.errors import AuthApiError, bad_signup
from auth0_actions.emulator.flows.hub import Flows
from auth0_actions.emulator.flows.password import CHANGE_REQUESTED
from auth0_actions.emulator.flows.signup import SignupRequest, signup_answer
from auth0_actions.emulator.http import Request, Response

CREATE_TICKETS = ("create:user_tickets",)
_EXPIRED = "This link has expired or was already used. Start again from the application."


class FlowHandlers:
    def __init__(self, app: EmulatorApp, flows: Flows) -> None:
        self.app = app
        self.flows = flows

    # -- helpers --------------------------------------------------------------
    def _base_url(self, request: Request) -> str:
        """Where the browser reaches this tenant (as the users-export job's links do)."""
        return (
            self.app.public_base_url or f"http://{request.headers.get('host') or self.app.domain}"
        )

    def _transaction(self, tx_id: str, *, take: bool) -> dict[str, Any] | None:
        """The login transaction the pages carry (``tx``); None when unknown or expired."""
        flow = self.app.login_flow
        key = f"login:{tx_id}"
        with flow._lock:
            tx = flow.transactions.pop(key, None) if take else flow.transactions.get(key)
        if tx is None or tx["expires"] < clock.now_s():
            return None
        return dict(tx) if not take else tx

    def _put_back(self, tx: dict[str, Any]) -> None:
        flow = self.app.login_flow
        with flow._lock:
            flow.transactions[f"login:{tx['id']}"] = tx

    def _origin(self, request: Request, client_id: str | None, **more: Any) -> Origin:
        """The request's origin, naming the registered application ``client_id`` as it is
        called (``event.client.name``, the log's ``client_name``)."""
        origin = Origin.of(request, self.app.domain, client_id=client_id, **more)
        client = self.app.backends.clients.find(client_id) if client_id else None
        if client is not None and client.get("name"):
            origin.client_name = str(client["name"])
        return origin

    def _expired(self) -> Response:
        return pages.error_page(self.app.domain, "Something went wrong", _EXPIRED)

    # -- the Authentication API --------------------------------------------------
    def api_signup(self, request: Request) -> Response:
        body = request.json_object()
        origin = self._origin(request, _text(body.get("client_id")))
        origin.body = {k: v for k, v in body.items() if k != "password"}
        try:
            outcome = self.flows.signup.sign_up(SignupRequest.parse(body), origin)
        except AuthApiError as error:
            return error.response()
        return Response(200, signup_answer(outcome.user))

    def api_change_password(self, request: Request) -> Response:
        body = request.json_object()
        email = _text(body.get("email"))
        connection = _text(body.get("connection"))
        if not email or not connection:
            return bad_signup("invalid_request", "Missing required parameter: email").response()
        origin = self._origin(request, _text(body.get("client_id")))
        # No email leaves the local tenant, and the reset link is a credential that is
        # never printed: a test gets one from POST /api/v2/tickets/password-change.
        self.flows.password.request_change(email, connection, origin)
        return Response(200, CHANGE_REQUESTED.encode(), content_type="text/plain; charset=utf-8")

    def create_ticket(self, request: Request) -> Response:
        ticket = self.flows.password.issue_ticket(request.json_object())
        return Response(201, {"ticket": self._ticket_url(request, ticket)})

    def _ticket_url(self, request: Request, ticket: str) -> str:
        return f"{self._base_url(request)}/u/reset-password?{urlencode({'ticket': ticket})}"

    # -- pages ------------------------------------------------------------------
    def login_form(self, request: Request) -> Response:
        tx = self._transaction(request.arg("tx") or "", take=False)
        if tx is None:
            return self._expired()
        return pages.login_page(self.app.domain, tx["id"])

    def signup_form(self, request: Request) -> Response:
        tx = self._transaction(request.arg("tx") or "", take=False)
        if tx is None:
            return self._expired()
        return pages.signup_page(self.app.domain, tx["id"], self.flows.signup_prompt)

    def signup_submit(self, request: Request) -> Response:
        form = {k: str(v) for k, v in request.json_object().items()}
        tx = self._transaction(form.get("tx", ""), take=True)
        if tx is None:
            return self._expired()
        prompt = self.flows.signup_prompt
        values = {k: v for k, v in form.items() if k != "password"}

        def again(message: str) -> Response:
            self._put_back(tx)
            return pages.signup_page(
                self.app.domain, tx["id"], prompt, values=values, error=message, status=400
            )

        problem = prompt.missing(form)
        if problem:
            return again(problem)
        extra_body, metadata = prompt.split(form)
        origin = self._origin(request, tx["client_id"], transaction=tx)
        origin.body = {"state": tx["id"], **extra_body}
        try:
            signup = SignupRequest.parse(
                {
                    "connection": DEFAULT_CONNECTION,
                    "email": form.get("email", ""),
                    "password": form.get("password", ""),
                    "user_metadata": metadata,
                }
            )
            outcome = self.flows.signup.sign_up(signup, origin)
        except AuthApiError as error:
            return again(error.message)
        started: Response = self.app.login_flow.start(tx, outcome.user)
        return started

    def reset_form(self, request: Request) -> Response:
        ticket_id = request.arg("ticket") or ""
        ticket = self.flows.password.ticket(ticket_id)
        if ticket is None:
            return self._expired()
        user = self.app.store.get("user", ticket.user_id) or {}
        return pages.reset_page(self.app.domain, ticket_id, str(user.get("email") or ""))

    def reset_submit(self, request: Request) -> Response:
        form = request.json_object()
        ticket_id = _text(form.get("ticket")) or ""
        password = _text(form.get("password")) or ""
        ticket = self.flows.password.ticket(ticket_id)
        if ticket is None:
            return self._expired()
        if not password:
            user = self.app.store.get("user", ticket.user_id) or {}
            return pages.reset_page(
                self.app.domain,
                ticket_id,
                str(user.get("email") or ""),
                error="Enter a new password.",
                status=400,
            )
        origin = self._origin(request, ticket.client_id)
        redeemed = self.flows.password.redeem(ticket_id, password, origin)
        if redeemed is None:
            return self._expired()
        if redeemed.result_url:
            return Response(302, b"", {"location": redeemed.result_url}, content_type="text/plain")
        return pages.message_page(
            self.app.domain, "Password changed", "Your password has been changed successfully."
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
