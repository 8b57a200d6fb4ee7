"""The Authentication API: /oauth/token, OIDC discovery, JWKS, /userinfo and logout.

Thin handlers over :mod:`auth0_actions.emulator.oauth` (client credentials,
which runs the credentials-exchange actions: :mod:`auth0_actions.emulator.flows.credentials`)
and :mod:`auth0_actions.emulator.oauth_code` (the code grant); every error
is OAuth-shaped. Discovery, /userinfo and logout follow OpenID Connect
Discovery 1.0 and Auth0's logout endpoints
(https://auth0.com/docs/authenticate/login/logout/log-users-out-of-auth0).
"""

from __future__ import annotations

import html
from typing import Any

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Response
from auth0_actions.emulator.management_scopes import OIDC_SCOPES
from auth0_actions.emulator.oauth import OAuthError, issuer_for
from auth0_actions.emulator.oauth_code import PKCE_METHODS, check_exchange, tokens

SUPPORTED_GRANTS = ("authorization_code", "client_credentials")
# Standard claims /userinfo answers for each scope (OIDC Core 5.4).
_SCOPE_CLAIMS = {
    "profile": ("name", "nickname", "picture", "given_name", "family_name", "updated_at"),
    "email": ("email", "email_verified"),
}


def error_page(status: int, error: str, description: str) -> Response:
    """Auth0's error page: shown instead of redirecting to a URL nobody registered."""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Error</title></head><body><main><h1>Oops!, something went wrong</h1>"
        f'<p role="alert"><strong>{html.escape(error)}</strong>: {html.escape(description)}</p>'
        "</main></body></html>"
    )
    return Response(status, document.encode(), content_type="text/html; charset=utf-8")


def _issuer(app: EmulatorApp, request: Request) -> str:
    return issuer_for(request, app.authority.issuer, app.public_base_url)


def token(app: EmulatorApp, request: Request) -> Response:
    try:
        body = request.json_object()  # form or JSON: the SDKs send both
    except ApiError as error:  # the Authentication API's shape, even for a bad body
        raise OAuthError(400, "invalid_request", error.message) from None
    grant = body.get("grant_type")
    if not grant:
        raise OAuthError(400, "invalid_request", "Missing required parameter: grant_type")
    if grant == "client_credentials":
        # The credentials-exchange actions, when any are bound (flows/credentials.py).
        exchange = app.flows.credentials_exchange(request)
        return Response(
            200,
            app.oauth.client_credentials(body, request.headers, _issuer(app, request), exchange),
        )
    if grant == "authorization_code":
        tx = app.login_flow.redeem(str(body.get("code") or ""))  # once, whatever follows
        tx = check_exchange(app.oauth, tx, body, request.headers)
        user = app.backends.users.find(tx["user_id"]) or {}
        return Response(200, tokens(app.oauth, tx, user))
    raise OAuthError(403, "unsupported_grant_type", f"Unsupported grant type: {grant}")


def jwks(app: EmulatorApp, _: Request) -> Response:
    return Response(200, app.authority.jwks())


def discovery(app: EmulatorApp, request: Request) -> Response:
    base = _issuer(app, request)
    return Response(
        200,
        {
            "issuer": base,
            "authorization_endpoint": f"{base}authorize",
            "token_endpoint": f"{base}oauth/token",
            "userinfo_endpoint": f"{base}userinfo",
            "jwks_uri": f"{base}.well-known/jwks.json",
            "end_session_endpoint": f"{base}oidc/logout",
            "scopes_supported": sorted(OIDC_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(SUPPORTED_GRANTS),
            "code_challenge_methods_supported": list(PKCE_METHODS),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            # What the id_token and /userinfo carry (Discovery 1.0 s. 3, claims_supported).
            "claims_supported": [
                "aud",
                "auth_time",
                "email",
                "email_verified",
                "exp",
                "family_name",
                "given_name",
                "iat",
                "iss",
                "name",
                "nickname",
                "nonce",
                "picture",
                "sub",
                "updated_at",
            ],
            # Discovery 1.0 s. 3: request_uri_parameter_supported defaults to true when
            # omitted; /authorize reads no request_uri (nor request, nor claims).
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_parameter_supported": False,
        },
    )


def userinfo(app: EmulatorApp, request: Request) -> Response:
    authorization = request.headers.get("authorization") or ""
    if not authorization.lower().startswith("bearer "):
        raise _invalid_token("Missing access token")
    try:
        claims = app.authority.decode(authorization[7:].strip())
    except Exception:
        raise _invalid_token("Invalid access token") from None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    user = app.backends.users.find(str(claims.get("sub", "")))
    if f"{claims.get('iss')}userinfo" not in audiences or user is None:
        raise _invalid_token("Invalid access token")
    scopes = str(claims.get("scope", "")).split()
    answer: dict[str, Any] = {"sub": user["user_id"]}
    for scope in scopes:
        for name in _SCOPE_CLAIMS.get(scope, ()):
            if name in user:
                answer[name] = user[name]
    return Response(200, answer)


def logout(app: EmulatorApp, request: Request) -> Response:
    oidc = request.path.startswith("/oidc/")
    return_to = request.arg("post_logout_redirect_uri" if oidc else "returnTo")
    client_id = request.arg("client_id")
    if not return_to:
        return Response(
            200,
            b'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            b"<title>Logged out</title></head><body><main><p>You are logged out.</p>"
            b"</main></body></html>",
            content_type="text/html; charset=utf-8",
        )
    client = app.backends.clients.find(client_id or "")
    allowed = (client or {}).get("allowed_logout_urls") or []
    if return_to not in allowed:
        return error_page(
            400,
            "invalid_request",
            f'The "returnTo" querystring parameter "{return_to}" is not defined as a '
            'valid URL in "Allowed Logout URLs".',
        )
    state = request.arg("state")
    target = return_to if not (oidc and state) else f"{return_to}?state={state}"
    return Response(302, b"", {"location": target}, content_type="text/plain")


def _invalid_token(description: str) -> OAuthError:
    error = OAuthError(401, "invalid_token", description)
    error.headers["www-authenticate"] = (
        f'Bearer error="invalid_token", error_description="{description}"'
    )
    return error
