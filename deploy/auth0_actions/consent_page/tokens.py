"""HS256 JWTs as the consent token contract uses them, and nothing else.

Written out rather than delegated to a JWT library so the rules are visible
and strict: only ``alg: HS256`` is accepted (never ``none``, never an RS256
header trying to pass a public key off as the HMAC secret), the signature is
compared in constant time, and ``exp``/``iat``/``iss``/``sub`` are required.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from auth0_actions.clock import now_s

# Clock skew tolerated between the tenant and this server.
LEEWAY_S = 30
# tenant.yaml's token_ttl_seconds is at most 3600: a longer-lived token was not
# made by the redirect Action.
MAX_LIFETIME_S = 3600
RESULT_TTL_S = 120


class TokenRejected(Exception):
    """The session token cannot be used; ``reason`` is safe to show (no token, no secret)."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: Mapping[str, Any], secret: str) -> str:
    header = _b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64encode(json.dumps(dict(claims), separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64encode(mac)}"


def token_digest(token: str) -> str:
    """What the replay guard remembers: a hash, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SessionClaims:
    """The checked claims of an incoming session token."""

    sub: str
    iss: str
    iat: int
    exp: int
    terms_version: str
    terms_url: str | None
    privacy_url: str | None
    reason: str
    jti: str | None


def verify_session_token(
    token: str, secret: str, issuer: str, *, now: float | None = None
) -> SessionClaims:
    """The claims of a session token made by the redirect Action, or TokenRejected."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise TokenRejected("the session token is malformed")
    head, body, signature = parts
    try:
        header = json.loads(_b64decode(head))
        claims = json.loads(_b64decode(body))
        given = _b64decode(signature)
    except (ValueError, UnicodeDecodeError):
        raise TokenRejected("the session token is malformed") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenRejected("the session token is malformed")
    if header.get("alg") != "HS256":
        raise TokenRejected("the session token is not signed with HS256")
    wanted = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(wanted, given):
        raise TokenRejected("the session token's signature is not valid")

    moment = now_s() if now is None else now
    iat, exp = claims.get("iat"), claims.get("exp")
    if not _is_int(iat) or not _is_int(exp):
        raise TokenRejected("the session token lacks iat or exp")
    if exp <= moment - LEEWAY_S:
        raise TokenRejected("the session token has expired", expired=True)
    if iat > moment + LEEWAY_S or exp - iat > MAX_LIFETIME_S or exp <= iat:
        raise TokenRejected("the session token's lifetime is not acceptable")
    if claims.get("iss") != issuer:
        raise TokenRejected("the session token was issued by another tenant")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise TokenRejected("the session token names no user")
    terms_version = claims.get("terms_version")
    if not isinstance(terms_version, str) or not terms_version:
        raise TokenRejected("the session token names no terms version")
    reason = claims.get("reason")
    return SessionClaims(
        sub=sub,
        iss=issuer,
        iat=iat,
        exp=exp,
        terms_version=terms_version,
        terms_url=_optional_str(claims.get("terms_url")),
        privacy_url=_optional_str(claims.get("privacy_url")),
        reason=reason if isinstance(reason, str) else "missing",
        jti=_optional_str(claims.get("jti")),
    )


def result_token(
    session: SessionClaims, state: str, accepted: bool, secret: str, *, now: float | None = None
) -> str:
    """The answer /continue expects (docs/consent.md, "Consent page token contract")."""
    issued = int(now_s() if now is None else now)
    return sign(
        {
            "sub": session.sub,
            "iss": session.iss,
            "state": state,
            "iat": issued,
            "exp": issued + RESULT_TTL_S,
            "jti": secrets.token_urlsafe(16),
            "terms_version": session.terms_version,
            "consent": "accepted" if accepted else "declined",
        },
        secret,
    )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
