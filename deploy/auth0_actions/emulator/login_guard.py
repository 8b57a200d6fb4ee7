"""What /authorize accepts, and the cookie that binds a login to its browser.

RFC 6749 s. 4.1.2.1: an unknown ``client_id`` or a ``redirect_uri`` that is
not one of the application's callback URLs (compared exactly, as Auth0 does:
https://auth0.com/docs/get-started/applications/application-settings) gets an
error page, never a redirect; the other errors go to the (registered)
callback. A login is bound to the browser that started it by a cookie set at
``/authorize``: ``/continue`` from another browser (a leaked link) fails.
"""

from __future__ import annotations

import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.handlers.oauth import error_page
from auth0_actions.emulator.http import Request, Response
from auth0_actions.emulator.oauth_code import PKCE_METHODS
from auth0_actions.emulator.url_params import with_params

COOKIE = "auth0_tx"
COOKIE_MAX_AGE_S = 600  # as long as a transaction lives


def _to_callback(redirect_uri: str, state: str | None, error: str, description: str) -> Response:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    location = with_params(redirect_uri, params)
    return Response(302, b"", {"location": location}, content_type="text/plain")


def check_authorize(app: EmulatorApp, request: Request) -> Response | tuple[dict[str, Any], str]:
    """(client, redirect_uri) of an acceptable /authorize, else the response to send."""
    client_id = request.arg("client_id") or ""
    client = app.backends.clients.find(client_id)
    if client is None:
        return error_page(400, "invalid_request", f"Unknown client: {client_id or '(none)'}")
    redirect_uri = request.arg("redirect_uri") or ""
    if redirect_uri not in (client.get("callbacks") or []):
        return error_page(
            400,
            "invalid_request",
            f"Callback URL mismatch. {redirect_uri or '(none)'} is not in the list of "
            "allowed callback URLs",
        )
    state = request.arg("state")
    if request.arg("response_type", "code") != "code":
        return _to_callback(
            redirect_uri,
            state,
            "unsupported_response_type",
            "Unsupported response_type (only code)",
        )
    if "authorization_code" not in (client.get("grant_types") or []):
        return _to_callback(
            redirect_uri,
            state,
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.",
        )
    audience = request.arg("audience")
    if audience and app.backends.resource_servers.find(audience) is None:
        return _to_callback(redirect_uri, state, "access_denied", f"Service not found: {audience}")
    method = request.arg("code_challenge_method", "plain")
    if request.arg("code_challenge") and method not in PKCE_METHODS:
        return _to_callback(
            redirect_uri, state, "invalid_request", f"Unsupported code_challenge_method: {method}"
        )
    return client, redirect_uri


def _cookie(request: Request) -> str | None:
    try:
        jar: SimpleCookie = SimpleCookie(request.headers.get("cookie") or "")
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None and len(morsel.value) >= 32 else None


def browser_key(request: Request) -> str:
    """The browser's key: the one its cookie already holds, else a new one."""
    return _cookie(request) or secrets.token_urlsafe(32)


def transaction_cookie(key: str, public_base_url: str | None) -> str:
    """HttpOnly; over TLS ``SameSite=None; Secure`` so the consent page's form post
    back to /continue carries it, as Auth0's session cookies do; Lax over plain HTTP."""
    secure = bool(public_base_url) and urlsplit(public_base_url or "").scheme == "https"
    site = "SameSite=None; Secure" if secure else "SameSite=Lax"
    return f"{COOKIE}={key}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; HttpOnly; {site}"


def same_browser(request: Request, tx: dict[str, Any]) -> bool:
    held = _cookie(request)
    expected = tx.get("browser")
    if not held or not isinstance(expected, str):
        return False
    return secrets.compare_digest(held.encode(), expected.encode())
