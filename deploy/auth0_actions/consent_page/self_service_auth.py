"""Signing users in to the self-service page: OIDC with the tenant, then a signed cookie.

The page is a confidential client of the tenant (OpenID Connect Core 1.0,
authorization code flow, https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth;
Auth0: https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow):

1. ``/authorize`` with a random ``state`` and ``nonce``, both kept in a
   short-lived signed cookie (SameSite=Lax: the tenant's redirect back is a
   top-level GET from another site, which Lax lets through);
2. the callback checks ``state`` against that cookie and exchanges the code
   at ``/oauth/token`` with the client's secret;
3. the id_token is verified: RS256 only, against the tenant's JWKS, ``iss``
   (the tenant, with Auth0's trailing slash), ``aud`` (this client),
   ``exp``/``iat``, and ``nonce`` (the one this browser was given).

Then the browser holds a session cookie (HttpOnly, Secure over https,
SameSite=Lax, Path=/account) signed with a key this process draws at start:
nobody else can mint one, and a restart ends every session. It names the
user and carries the CSRF token the page's forms must echo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from auth0_actions.clock import now_s
from auth0_actions.consent_page.self_service_settings import TenantEndpoint

SESSION_COOKIE = "account_session"
LOGIN_COOKIE = "account_login"
COOKIE_PATH = "/account"
SESSION_TTL_S = 15 * 60
LOGIN_TTL_S = 10 * 60
LEEWAY_S = 30
HTTP_TIMEOUT_S = 10.0


class SignInFailed(Exception):
    """The sign-in cannot be completed; ``reason`` is safe to show (no token, no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSigner:
    """Signed, expiring cookie values: ``base64url(json).base64url(hmac)``."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, purpose: str, body: str) -> bytes:
        # The purpose is signed too: a login cookie never passes as a session.
        return hmac.new(self._key, f"{purpose}.{body}".encode(), hashlib.sha256).digest()

    def sign(self, purpose: str, claims: Mapping[str, Any]) -> str:
        body = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
        return f"{body}.{_b64(self._mac(purpose, body))}"

    def open(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        """The claims of a cookie this signer made for ``purpose`` and not expired, else None."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        try:
            given = _unb64(mac)
            claims = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(given, self._mac(purpose, body)):
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            return None
        if claims["exp"] <= now_s():
            return None
        return claims


@dataclass(frozen=True)
class Session:
    user_id: str
    email: str | None
    csrf: str
    exp: int


def new_session(signer: CookieSigner, user_id: str, email: str | None) -> tuple[Session, str]:
    session = Session(user_id, email, secrets.token_urlsafe(32), int(now_s()) + SESSION_TTL_S)
    value = signer.sign(
        "session", {"sub": user_id, "email": email, "csrf": session.csrf, "exp": session.exp}
    )
    return session, value


def read_session(signer: CookieSigner, value: str | None) -> Session | None:
    claims = signer.open("session", value)
    if claims is None or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return None
    if not isinstance(claims.get("csrf"), str):
        return None
    email = claims.get("email")
    return Session(
        claims["sub"], email if isinstance(email, str) else None, claims["csrf"], claims["exp"]
    )


def cookie_header(name: str, value: str, max_age: int, *, secure: bool) -> str:
    parts = [
        f"{name}={value}",
        f"Path={COOKIE_PATH}",
        f"Max-Age={max_age}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def start_login(
    signer: CookieSigner, endpoint: TenantEndpoint, redirect_uri: str, language: str
) -> tuple[str, str]:
    """(the tenant's /authorize URL, the login cookie's value) for a new sign-in."""
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    cookie = signer.sign(
        "login", {"state": state, "nonce": nonce, "exp": int(now_s()) + LOGIN_TTL_S}
    )
    query = urlencode(
        {
            "client_id": endpoint.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid email",
            "state": state,
            "nonce": nonce,
            "ui_locales": language,
        }
    )
    return f"{endpoint.base_url}/authorize?{query}", cookie


def finish_login(
    signer: CookieSigner,
    endpoint: TenantEndpoint,
    redirect_uri: str,
    login_cookie: str | None,
    query: Mapping[str, str],
) -> dict[str, Any]:
    """The verified id_token claims of the sign-in the tenant sent back, or SignInFailed."""
    login = signer.open("login", login_cookie)
    if login is None:
        raise SignInFailed("the sign-in took too long or was started in another browser")
    state = query.get("state")
    if not state or not hmac.compare_digest(state.encode(), str(login["state"]).encode()):
        raise SignInFailed("the sign-in answer does not belong to this browser (state)")
    if "error" in query:
        # The tenant's own words (a consent Action's deny reason, for one): shown escaped.
        raise SignInFailed(query.get("error_description") or query["error"])
    code = query.get("code")
    if not code:
        raise SignInFailed("the tenant sent no authorization code")
    tokens = _exchange(endpoint, redirect_uri, code)
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("the tenant sent no id_token")
    return verify_id_token(id_token, endpoint, str(login["nonce"]))


def _exchange(endpoint: TenantEndpoint, redirect_uri: str, code: str) -> dict[str, Any]:
    try:
        answer = httpx.post(
            f"{endpoint.base_url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": endpoint.client_id,
                "client_secret": endpoint.client_secret.reveal(),
                "code": code,
                "redirect_uri": redirect_uri,
            },
            timeout=HTTP_TIMEOUT_S,
            verify=endpoint.verify,
        )
    except httpx.HTTPError as error:
        raise SignInFailed(
            f"the tenant could not be reached ({error.__class__.__name__})"
        ) from None
    if answer.status_code != 200:
        raise SignInFailed(f"the tenant refused the code exchange (HTTP {answer.status_code})")
    body = answer.json()
    return body if isinstance(body, dict) else {}


def _signing_key(endpoint: TenantEndpoint, kid: str | None) -> Any:
    try:
        answer = httpx.get(
            f"{endpoint.base_url}/.well-known/jwks.json",
            timeout=HTTP_TIMEOUT_S,
            verify=endpoint.verify,
        )
        answer.raise_for_status()
        keys = answer.json().get("keys") or []
    except (httpx.HTTPError, ValueError, AttributeError):
        raise SignInFailed("the tenant's signing keys could not be read") from None
    for key in keys:
        if isinstance(key, dict) and key.get("kid") == kid and key.get("kty") == "RSA":
            return jwt.PyJWK(key, algorithm="RS256").key
    raise SignInFailed("the id_token is signed with a key the tenant does not publish")


def verify_id_token(token: str, endpoint: TenantEndpoint, nonce: str) -> dict[str, Any]:
    """The id_token's claims, once signature, issuer, audience, times and nonce hold."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise SignInFailed("the id_token is malformed") from None
    if header.get("alg") != "RS256":
        raise SignInFailed("the id_token is not signed with RS256")
    key = _signing_key(endpoint, header.get("kid"))
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=endpoint.client_id,
            issuer=endpoint.issuer,
            leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "nonce"]},
        )
    except jwt.InvalidTokenError as error:
        raise SignInFailed(f"the id_token does not verify ({error})") from None
    if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
        raise SignInFailed("the id_token was not issued for this sign-in (nonce)")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SignInFailed("the id_token names no user")
    return claims
