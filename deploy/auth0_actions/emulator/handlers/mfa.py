"""The MFA step of a login: the challenge a post-login action asked for, before the code.

A post-login action asks for MFA with ``api.multifactor.enable(provider)``
("the actual multifactor challenge will be deferred to the end of the login
flow") or ``api.authentication.challengeWith`` / ``challengeWithAny`` /
``enrollWith`` / ``enrollWithAny``
(https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object).
When the flow's actions have all run, the login redirects to
``/u/mfa-otp-challenge`` instead of the application: a user with no OTP factor
enrols first (the page shows the secret and its ``otpauth://`` URI for an
authenticator app), then enters a code. The local tenant challenges every
factor with a one-time password (:mod:`auth0_actions.emulator.backends.mfa`).
A wrong code re-renders the form with an error; five end the login at the
application with ``access_denied``; a right one issues the code, and the ID
token carries ``amr: ["mfa"]``
(https://auth0.com/docs/secure/multi-factor-authentication/step-up-authentication/configure-step-up-authentication-for-web-apps).

The challenge is bound to the browser that started the login: its URL carries
a ``state`` and the page needs the transaction cookie set at ``/authorize``
(:mod:`auth0_actions.emulator.login_guard`, the one ``/continue`` needs), which
the redirect to it renews.
"""

from __future__ import annotations

import html
import secrets
import threading
from typing import Any, Protocol

from auth0_actions import clock
from auth0_actions.emulator.backends.mfa import OtpBackend, new_secret, otpauth_uri
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, bad_request
from auth0_actions.emulator.login_guard import same_browser, transaction_cookie

PATH = "/u/mfa-otp-challenge"
MAX_ATTEMPTS = 5
CHALLENGE_TTL_S = 600
ASKS_FOR_MFA = frozenset(
    {
        "authentication.challengeWith",
        "authentication.challengeWithAny",
        "authentication.enrollWith",
        "authentication.enrollWithAny",
    }
)


class LoginEnds(Protocol):
    """What the MFA step needs of the login flow (flows/login.py, LoginFlow)."""

    app: EmulatorApp
    transactions: dict[str, dict[str, Any]]
    _lock: threading.Lock

    def park(self, key: str, tx: dict[str, Any]) -> None: ...

    def take(self, key: str) -> dict[str, Any] | None: ...

    def peek(self, key: str) -> dict[str, Any] | None: ...

    def _finish_code(self, tx: dict[str, Any]) -> Response: ...

    def _finish_error(self, tx: dict[str, Any], error: str, description: str) -> Response: ...


def requested(result: dict[str, Any], before: str | None) -> str | None:
    """What one segment's result asks for (the command that asked), or what ``before`` had.

    ``multifactor.enable('none')`` asks for none, whatever an earlier action asked.
    """
    asked = before
    for command in result.get("commands") or []:
        kind = str(command.get("type"))
        if kind in ASKS_FOR_MFA:
            asked = kind
        elif kind == "multifactor.enable":
            asked = None if command.get("provider") == "none" else kind
    return asked


def enrolled_factors(user: dict[str, Any]) -> list[dict[str, str]]:
    """``event.user.enrolledFactors`` of a stored user (post-login-event-object)."""
    return [{"type": "otp"}] if OtpBackend.enrolled(user) else []


def start(flow: LoginEnds, tx: dict[str, Any]) -> Response:
    """Park the login and send the browser to the challenge.

    The challenge answers only to the browser that started the login (its
    transaction cookie, set at /authorize); the redirect renews that cookie so
    it lives as long as the challenge does.
    """
    state = secrets.token_urlsafe(24)
    tx["mfa_attempts"] = 0
    tx["expires"] = clock.now_s() + CHALLENGE_TTL_S
    flow.park(f"mfa:{state}", tx)
    headers = {"location": f"{PATH}?state={state}"}
    if isinstance(tx.get("browser"), str):
        headers["set-cookie"] = transaction_cookie(tx["browser"], flow.app.public_base_url)
    return Response(302, b"", headers, content_type="text/plain")


def _page(body: str, status: int = 200) -> Response:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Verify your identity</title></head><body><main>"
        f"<h1>Verify your identity</h1>{body}</main></body></html>"
    )
    return Response(status, document.encode(), content_type="text/html; charset=utf-8")


def _form(app: EmulatorApp, tx: dict[str, Any], state: str, error: str | None) -> Response:
    parts = []
    if error:
        parts.append(f'<p role="alert">{html.escape(error)}</p>')
    pending = tx.get("mfa_enrolling")
    if pending:
        user = app.backends.users.find(tx["user_id"]) or {}
        uri = otpauth_uri(pending, app.domain, str(user.get("email") or tx["user_id"]))
        parts.append(
            "<p>Add this account to your authenticator app, then enter the code it shows.</p>"
            f'<p>Secret: <code id="otp-secret">{html.escape(pending)}</code></p>'
            f'<p>URI: <code id="otp-uri">{html.escape(uri)}</code></p>'
        )
    else:
        parts.append("<p>Enter the one-time code from your authenticator app.</p>")
    parts.append(
        f'<form method="post" action="{PATH}">'
        f'<input type="hidden" name="state" value="{html.escape(state)}">'
        '<label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" '
        'pattern="[0-9 ]*" required></label>'
        '<button type="submit">Continue</button></form>'
    )
    return _page("".join(parts), 400 if error else 200)


def _parked(app: EmulatorApp, request: Request, state: str | None) -> dict[str, Any]:
    flow: LoginEnds = app.login_flow
    tx = flow.peek(f"mfa:{state}") if state else None
    if tx is None or tx["expires"] < clock.now_s() or not same_browser(request, tx):
        raise bad_request("The state parameter is missing or invalid", "invalid_request")
    return tx


def show(app: EmulatorApp, request: Request) -> Response:
    state = request.arg("state")
    tx = _parked(app, request, state)
    if app.backends.mfa.secret(tx["user_id"]) is None:
        tx.setdefault("mfa_enrolling", new_secret())
    return _form(app, tx, str(state), None)


def verify(app: EmulatorApp, request: Request) -> Response:
    form = request.json_object()
    state = str(form.get("state") or "")
    tx = _parked(app, request, state)
    flow: LoginEnds = app.login_flow
    enrolling = tx.get("mfa_enrolling")
    code = str(form.get("code") or "")
    if app.backends.mfa.verify(tx["user_id"], code, clock.now_s(), enrolling):
        if flow.take(f"mfa:{state}") is None:
            raise bad_request("The state parameter is missing or invalid", "invalid_request")
        tx["claims"]["amr"] = ["mfa"]
        return flow._finish_code(tx)
    with flow._lock:
        tx["mfa_attempts"] += 1
        exhausted = tx["mfa_attempts"] >= MAX_ATTEMPTS
        if exhausted:
            flow.transactions.pop(f"mfa:{state}", None)
    if exhausted:
        return flow._finish_error(tx, "access_denied", "Too many failed MFA attempts")
    return _form(app, tx, state, "The code is wrong or expired. Try again.")
