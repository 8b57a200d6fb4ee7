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
from auth0_actions.emulator.flows.password import CHANGE_REQUESTED
from auth0_actions.emulator.flows.signup import SignupRequest, signup_answer
from auth0_actions.emulator.http import Request, Response

_EXPIRED = "This link has expired or was already used. Start again from the application."


def _base_url(app: EmulatorApp, request: Request) -> str:
    """Where the browser reaches this tenant (as the users-export job's links do)."""
    return app.public_base_url or f"http://{request.headers.get('host') or app.domain}"


def _transaction(app: EmulatorApp, tx_id: str, *, take: bool) -> dict[str, Any] | None:
    """The login transaction the pages carry (``tx``); None when unknown or expired."""
    key = f"login:{tx_id}"
    tx = app.login_flow.take(key) if take else app.login_flow.peek(key)
    if tx is None or tx["expires"] < clock.now_s():
        return None
    return dict(tx) if not take else tx


def _put_back(app: EmulatorApp, tx: dict[str, Any]) -> None:
    app.login_flow.park(f"login:{tx['id']}", tx)


def _origin(app: EmulatorApp, request: Request, client_id: str | None, **more: Any) -> Origin:
    """The request's origin, naming the registered application ``client_id`` as it is
    called (``event.client.name``, the log's ``client_name``)."""
    origin = Origin.of(request, app.domain, client_id=client_id, **more)
    client = app.backends.clients.find(client_id) if client_id else None
    if client is not None and client.get("name"):
        origin.client_name = str(client["name"])
    return origin


def _expired(app: EmulatorApp) -> Response:
    return pages.error_page(app.domain, "Something went wrong", _EXPIRED)


def api_signup(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    origin = _origin(app, request, _text(body.get("client_id")))
    origin.body = {k: v for k, v in body.items() if k != "password"}
    try:
        outcome = app.flows.signup.sign_up(SignupRequest.parse(body), origin)
    except AuthApiError as error:
        return error.response()
    return Response(200, signup_answer(outcome.user))


def api_change_password(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    email = _text(body.get("email"))
    connection = _text(body.get("connection"))
    if not email or not connection:
        return bad_signup("invalid_request", "Missing required parameter: email").response()
    origin = _origin(app, request, _text(body.get("client_id")))
    # No email leaves the local tenant, and the reset link is a credential that is
    # never printed: a test gets one from POST /api/v2/tickets/password-change.
    app.flows.password.request_change(email, connection, origin)
    return Response(200, CHANGE_REQUESTED.encode(), content_type="text/plain; charset=utf-8")


def create_ticket(app: EmulatorApp, request: Request) -> Response:
    ticket = app.flows.password.issue_ticket(request.json_object())
    return Response(201, {"ticket": _ticket_url(app, request, ticket)})


def _ticket_url(app: EmulatorApp, request: Request, ticket: str) -> str:
    return f"{_base_url(app, request)}/u/reset-password?{urlencode({'ticket': ticket})}"


def login_form(app: EmulatorApp, request: Request) -> Response:
    tx = _transaction(app, request.arg("tx") or "", take=False)
    if tx is None:
        return _expired(app)
    return pages.login_page(app.domain, tx["id"])


def signup_form(app: EmulatorApp, request: Request) -> Response:
    tx = _transaction(app, request.arg("tx") or "", take=False)
    if tx is None:
        return _expired(app)
    return pages.signup_page(app.domain, tx["id"], app.flows.signup_prompt)


def signup_submit(app: EmulatorApp, request: Request) -> Response:
    form = {k: str(v) for k, v in request.json_object().items()}
    tx = _transaction(app, form.get("tx", ""), take=True)
    if tx is None:
        return _expired(app)
    prompt = app.flows.signup_prompt
    values = {k: v for k, v in form.items() if k != "password"}

    def again(message: str) -> Response:
        _put_back(app, tx)
        return pages.signup_page(
            app.domain, tx["id"], prompt, values=values, error=message, status=400
        )

    problem = prompt.missing(form)
    if problem:
        return again(problem)
    extra_body, metadata = prompt.split(form)
    origin = _origin(app, request, tx["client_id"], transaction=tx)
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
        outcome = app.flows.signup.sign_up(signup, origin)
    except AuthApiError as error:
        return again(error.message)
    started: Response = app.login_flow.start(tx, outcome.user)
    return started


def reset_form(app: EmulatorApp, request: Request) -> Response:
    ticket_id = request.arg("ticket") or ""
    ticket = app.flows.password.ticket(ticket_id)
    if ticket is None:
        return _expired(app)
    user = app.backends.users.find(ticket.user_id) or {}
    return pages.reset_page(app.domain, ticket_id, str(user.get("email") or ""))


def reset_submit(app: EmulatorApp, request: Request) -> Response:
    form = request.json_object()
    ticket_id = _text(form.get("ticket")) or ""
    password = _text(form.get("password")) or ""
    ticket = app.flows.password.ticket(ticket_id)
    if ticket is None:
        return _expired(app)
    if not password:
        user = app.backends.users.find(ticket.user_id) or {}
        return pages.reset_page(
            app.domain,
            ticket_id,
            str(user.get("email") or ""),
            error="Enter a new password.",
            status=400,
        )
    origin = _origin(app, request, ticket.client_id)
    redeemed = app.flows.password.redeem(ticket_id, password, origin)
    if redeemed is None:
        return _expired(app)
    if redeemed.result_url:
        return Response(302, b"", {"location": redeemed.result_url}, content_type="text/plain")
    return pages.message_page(
        app.domain, "Password changed", "Your password has been changed successfully."
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
