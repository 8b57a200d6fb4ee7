"""The authorization code grant: a code is bound to its client, redirect URI and PKCE.

RFC 6749 s. 4.1.3: the code was issued to this client, ``redirect_uri`` is the
one ``/authorize`` had, and a code is good once (a second use is
``invalid_grant``); RFC 7636: the verifier matches the challenge (``S256`` or
``plain``). Confidential clients authenticate; public ones (SPA, native)
send no secret. The access token's audience is the API asked for at
``/authorize`` (with ``/userinfo`` too when ``openid`` is granted), else
``/userinfo``; its scopes are the requested OIDC scopes and, for an API, the
requested scopes it defines: for the Management API only the
``*current_user*`` ones (Auth0 never gives a user a Management scope:
https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens/get-management-api-tokens-for-single-page-applications).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.backends.resource_servers import ResourceServers
from auth0_actions.emulator.management_scopes import (
    CURRENT_USER_SCOPES,
    OIDC_SCOPES,
    is_management_audience,
)
from auth0_actions.emulator.oauth import AuthorizationServer, OAuthError
from auth0_actions.triggers.post_login_tokens import issued_scopes

ID_TOKEN_LIFETIME_S = 36_000  # an application's default (jwt_configuration.lifetime_in_seconds)
PKCE_METHODS = ("S256", "plain")


def invalid_grant(description: str) -> OAuthError:
    return OAuthError(403, "invalid_grant", description)


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return secrets.compare_digest(computed.encode(), challenge.encode())


def allowed_scopes(
    requested: Iterable[str], api: Mapping[str, Any] | None, domain: str
) -> list[str]:
    """What a login may be issued of what it asked for, for its audience."""
    if api is None:
        defined: set[str] = set()
    elif is_management_audience(str(api["identifier"]), domain):
        defined = set(CURRENT_USER_SCOPES)
    else:
        defined = set(ResourceServers.scope_values(dict(api)))
    return [s for s in dict.fromkeys(requested) if s in OIDC_SCOPES or s in defined]


def check_exchange(
    server: AuthorizationServer,
    tx: Mapping[str, Any] | None,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
) -> Mapping[str, Any]:
    """The transaction behind a code, once client, redirect URI and verifier match."""
    client = server.authenticate(body, headers)  # before the code: no oracle for strangers
    server.require_grant_type(client, "authorization_code")
    if tx is None or tx["expires"] < clock.now_s() or tx["client_id"] != client["client_id"]:
        raise invalid_grant("Invalid authorization code")
    if body.get("redirect_uri") != tx["redirect_uri"]:
        raise invalid_grant("Invalid redirect_uri: it must be the one sent to /authorize")
    challenge = tx.get("code_challenge")
    if challenge:
        verifier = body.get("code_verifier")
        method = str(tx.get("code_challenge_method") or "plain")
        if not isinstance(verifier, str) or not pkce_matches(verifier, challenge, method):
            raise invalid_grant("Failed to verify code verifier")
    return tx


def tokens(
    server: AuthorizationServer,
    tx: Mapping[str, Any],
    user: Mapping[str, Any],
) -> dict[str, Any]:
    """The id_token and access token of a finished login, as Auth0 shapes them."""
    issuer = str(tx.get("issuer") or server.authority.issuer)
    now = int(clock.now_s())
    audience = tx.get("audience")
    api = server.apis.find(audience) if audience else None
    domain = server.clients.domain
    base = allowed_scopes(tx["scopes"], api, domain)
    scopes = issued_scopes(base, tx.get("scope_changes") or [])
    if api is not None and is_management_audience(str(api["identifier"]), domain):
        # An action's addScope cannot give a user a Management API scope either.
        scopes = [s for s in scopes if s in OIDC_SCOPES or s in CURRENT_USER_SCOPES]
    userinfo = f"{issuer}userinfo"
    if audience:
        access_audience: Any = [audience, userinfo] if "openid" in scopes else audience
    else:
        access_audience = userinfo
    lifetime = int(api.get("token_lifetime_for_web") or 7200) if api else 86_400
    # Custom claims first: the standard ones always win.
    id_claims = {
        **tx["claims"],
        "iss": issuer,
        "sub": tx["user_id"],
        "aud": tx["client_id"],
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME_S,
        "email": user.get("email"),
        "name": user.get("name"),
        **({"nonce": tx["nonce"]} if tx.get("nonce") else {}),
        # OIDC Core 1.0 s. 2: REQUIRED when max_age was asked for (s. 3.1.2.1), and
        # allowed always; a relying party checking max_age rejects a token without it.
        **({"auth_time": int(tx["auth_time"])} if tx.get("auth_time") is not None else {}),
    }
    access_claims = {
        **tx["access_claims"],
        "iss": issuer,
        "sub": tx["user_id"],
        "aud": access_audience,
        "iat": now,
        "exp": now + lifetime,
        "scope": " ".join(scopes),
        "azp": tx["client_id"],
    }
    answer = {
        "access_token": server.authority.sign(access_claims),
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": " ".join(scopes),
    }
    if "openid" in scopes:
        answer["id_token"] = server.authority.sign(id_claims)
    return answer
