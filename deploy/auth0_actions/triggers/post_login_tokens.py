"""What post-login actions may put in the tokens Auth0 issues, and what it drops.

Auth0 ignores a custom claim it restricts: the login goes on, the claim is
not added (https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims,
"General restrictions"; the custom-claims migration page,
https://auth0.com/docs/troubleshoot/product-lifecycle/past-migrations/custom-claims-migration,
"Restricted claims" and "Restricted token audience"). It fails the login when
the custom claims of one token exceed 100 KB (the same migration page,
"Maximum token size": names and values, each token counted on its own).

The scope of the issued access token is the requested scopes with the
actions' ``accessToken.addScope`` / ``removeScope`` calls applied in order
(https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

# create-custom-claims: "The following claims are subject to Auth0's restrictions".
_RESTRICTED = """acr act active amr at_hash ath attest aud auth_time authorization_details azp
    c_hash client_id cnf cty dest entitlements events exp groups gty htm htu iat internalService
    iss jcard jku jti jwe jwk kid may_act mky nbf nonce object_id org_id org_name orig origid
    permissions roles rph s_hash sid sip_callid sip_cseq_num sip_date sip_from_tag
    sip_via_branch sub sub_jwk toe txn typ uuid vot vtm x5t#S256"""
RESTRICTED_CLAIMS = frozenset(_RESTRICTED.split())
# create-custom-claims, "Namespaced guidelines": Auth0's own domains and URN.
AUTH0_NAMESPACE_HOSTS = ("auth0.com", "webtask.io", "webtask.run")
# The migration page, "Restricted token audience": Auth0 APIs (not /userinfo).
AUTH0_API_PATHS = ("/api", "/api/v2", "/mfa")
MAX_CUSTOM_CLAIMS_BYTES = 100 * 1024


def is_namespaced(name: str) -> bool:
    return name.startswith(("http://", "https://", "urn:"))


def _auth0_namespace(name: str) -> bool:
    if name.lower().startswith("urn:auth0"):
        return True
    if not name.startswith(("http://", "https://")):
        return False
    host = (urlsplit(name).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in AUTH0_NAMESPACE_HOSTS)


def is_auth0_api(audience: str | None, tenant_host: str | None) -> bool:
    """Whether an access token's audience is one of Auth0's APIs (Management API, MFA)."""
    if not audience:
        return False
    parts = urlsplit(audience)
    host = (parts.hostname or "").lower()
    ours = host == (tenant_host or "").lower() or host.endswith((".auth0.com", ".auth0app.com"))
    return ours and parts.path.rstrip("/") in AUTH0_API_PATHS


def restriction(name: str, token: str, auth0_audience: bool) -> str | None:
    """Why Auth0 would drop the claim `name` from `token` ("id_token"/"access_token"), or None."""
    if name in RESTRICTED_CLAIMS:
        return "restricted claim"
    if _auth0_namespace(name):
        return "Auth0 namespace"
    on_access_token = token == "access_token"  # noqa: S105 (a token's name, no secret)
    if on_access_token and auth0_audience and not is_namespaced(name):
        return "non-namespaced claim on an Auth0 API audience"
    return None


def claims_bytes(claims: Mapping[str, Any]) -> int:
    """The size Auth0 counts: every custom claim's name and value."""
    if not claims:
        return 2  # "{}": most logins set none; no need to encode them
    return len(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())


def keep_allowed(
    claims: Mapping[str, Any], token: str, auth0_audience: bool
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The claims Auth0 would issue, and the dropped ones ({token, claim, reason})."""
    kept: dict[str, Any] = {}
    dropped: list[dict[str, str]] = []
    for name, value in claims.items():
        reason = restriction(name, token, auth0_audience)
        if reason is None:
            kept[name] = value
        else:
            dropped.append({"token": token, "claim": name, "reason": reason})
    return kept, dropped


def issued_scopes(requested: Iterable[str], changes: Iterable[Mapping[str, Any]]) -> list[str]:
    """The requested scopes with addScope/removeScope commands applied in call order."""
    scopes = [s for s in requested if isinstance(s, str)]
    for command in changes:
        scope = str(command.get("scope", ""))
        if command.get("type") == "accessToken.addScope" and scope not in scopes:
            scopes.append(scope)
        elif command.get("type") == "accessToken.removeScope" and scope in scopes:
            scopes.remove(scope)
    return scopes
