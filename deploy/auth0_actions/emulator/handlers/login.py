"""The login's endpoints: /authorize, the login form's POST /u/login, and /continue.

Thin handlers over the login flow (:class:`auth0_actions.emulator.flows.login.LoginFlow`,
``app.login_flow``): /authorize checks the request
(:mod:`auth0_actions.emulator.login_guard`), opens a transaction and shows
the login page; the form's POST checks the password and starts the
post-login actions; /continue resumes them after a ``sendUserTo`` redirect.
"""

from __future__ import annotations

import secrets
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator import pages
from auth0_actions.emulator.backends.passwords import verify_password
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.flows import login_log
from auth0_actions.emulator.flows.context import browser_host
from auth0_actions.emulator.flows.login import TRANSACTION_TTL_S, LoginFlow
from auth0_actions.emulator.http import Request, Response, bad_request
from auth0_actions.emulator.login_guard import (
    browser_key,
    check_authorize,
    same_browser,
    transaction_cookie,
)
from auth0_actions.emulator.oauth import issuer_for


def authorize(app: EmulatorApp, request: Request) -> Response:
    checked = check_authorize(app, request)
    if isinstance(checked, Response):
        return checked  # an error page, or an error sent to a registered callback
    client, redirect_uri = checked
    browser = browser_key(request)
    tx_id = secrets.token_urlsafe(16)
    tx: dict[str, Any] = {
        "id": tx_id,
        "client_id": client["client_id"],
        "client_name": client.get("name"),
        "redirect_uri": redirect_uri,
        "audience": request.arg("audience"),
        "code_challenge": request.arg("code_challenge"),
        "code_challenge_method": request.arg("code_challenge_method", "plain"),
        "issuer": issuer_for(request, app.authority.issuer, app.public_base_url),
        "browser": browser,
        "app_state": request.arg("state"),
        "nonce": request.arg("nonce"),
        "scopes": (request.arg("scope") or "openid").split(),
        "prompt": [p for p in (request.arg("prompt") or "").split() if p],
        "query": {k: v[-1] for k, v in request.query.items()},
        "ip": request.headers.get("x-forwarded-for", "127.0.0.1"),
        "hostname": browser_host(request, app.domain),
        "claims": {},
        "access_claims": {},
        "expires": clock.now_s() + TRANSACTION_TTL_S,
    }
    app.login_flow.park(f"login:{tx_id}", tx)
    page = pages.login_page(app.domain, tx_id, email=request.arg("login_hint") or "")
    page.headers["set-cookie"] = transaction_cookie(browser, app.public_base_url)
    return page


def login(app: EmulatorApp, request: Request) -> Response:
    flow: LoginFlow = app.login_flow
    form = request.json_object()
    tx = flow.take(f"login:{form.get('tx', '')}")
    if tx is None or tx["expires"] < clock.now_s():
        raise bad_request("Unknown or expired login transaction", "invalid_request")
    email = str(form.get("email") or "").lower()
    user = app.backends.users.find_login(email)
    if user is None or not verify_password(user, str(form.get("password") or "")):
        # The error stays on the form, and the transaction with it.
        flow.park(f"login:{tx['id']}", tx)
        error = "Wrong email or password."
        kind = "fu" if user is None else "fp"  # Auth0's codes: unknown user, wrong password
        login_log.login_event(app, {**tx, "user_id": user and user["user_id"]}, kind, error)
        return pages.login_page(app.domain, tx["id"], email=email, error=error, status=400)
    return flow.start(tx, user)


def resume(app: EmulatorApp, request: Request) -> Response:
    flow: LoginFlow = app.login_flow
    state = request.arg("state")
    body = request.json_object() if request.body else {}
    state = state or body.get("state")
    # Bound to the browser that started the login: a leaked link fails elsewhere.
    tx = flow.take_if(str(state), lambda tx: same_browser(request, tx)) if state else None
    if tx is None or tx["expires"] < clock.now_s():
        raise bad_request("The state parameter is missing or invalid", "invalid_request")
    user = app.backends.users.find(tx["user_id"]) or {}
    event = tx["event"]
    event["user"]["user_metadata"] = user.get("user_metadata") or {}
    event["user"]["app_metadata"] = user.get("app_metadata") or {}
    # A new event.request after every resume: the /continue request.
    event["request"] = {
        **event["request"],
        "hostname": browser_host(request, app.domain),
        "method": request.method,
        "query": {k: v[-1] for k, v in request.query.items()},
        "body": body,
    }
    return flow.run(tx, event, tx["resume"])
