"""HS256 JWTs as the consent token contract uses them, and nothing else.

Written out rather than delegated to a JWT library so the rules are visible
and strict: only ``alg: HS256`` is accepted (never ``none``, never an RS256
header trying to pass a public key off as the HMAC secret), the signature is
compared in constant time, ``exp``/``iat``/``iss``/``sub`` and the purposes
asked are required, and every part must be canonical base64url (no padding,
no ``+/``, no stray bits): one token has one spelling, so the one-use guard,
keyed on the decoded signature's bytes, cannot be passed by respelling it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
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
# tenant.yaml allows at most 16 purposes.
MAX_PURPOSES = 16
REASONS = ("missing", "declined", "withdrawn", "outdated")
DECISIONS = ("given", "declined")

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_PURPOSE_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class TokenRejected(Exception):
    """The session token cannot be used; ``reason`` is safe to show (no token, no secret)."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Canonical unpadded base64url (RFC 7515, section 2) only; ValueError otherwise."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
    # Unused low bits in the last character give one value several spellings.
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


def sign(claims: Mapping[str, Any], secret: str) -> str:
    header = b64url_encode(
        json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode()
    )
    body = b64url_encode(json.dumps(dict(claims), separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url_encode(mac)}"


@dataclass(frozen=True)
class AskedPurpose:
    """One purpose the session token asks about (tenant.yaml's order)."""

    id: str
    version: str
    required: bool
    reason: str


@dataclass(frozen=True)
class SessionClaims:
    """The checked claims of an incoming session token."""

    sub: str
    iss: str
    iat: int
    exp: int
    purposes: tuple[AskedPurpose, ...]
    privacy_url: str | None
    self_service_url: str | None
    # sha256 of the decoded signature: what the one-use guard remembers (never the token).
    ticket: str


def verify_session_token(
    token: str, secret: str, issuer: str, *, now: float | None = None
) -> SessionClaims:
    """The claims of a session token made by the redirect Action, or TokenRejected."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise TokenRejected("the session token is malformed")
    head, body, signature = parts
    try:
        header = json.loads(b64url_decode(head))
        claims = json.loads(b64url_decode(body))
        given = b64url_decode(signature)
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
    return SessionClaims(
        sub=sub,
        iss=issuer,
        iat=iat,
        exp=exp,
        purposes=_asked(claims.get("purposes")),
        privacy_url=_optional_str(claims.get("privacy_url")),
        self_service_url=_optional_str(claims.get("self_service_url")),
        ticket=hashlib.sha256(given).hexdigest(),
    )


def _asked(value: Any) -> tuple[AskedPurpose, ...]:
    if not isinstance(value, list) or not value:
        raise TokenRejected("the session token names no purposes to ask about")
    if len(value) > MAX_PURPOSES:
        raise TokenRejected("the session token names too many purposes")
    asked: list[AskedPurpose] = []
    for item in value:
        if not isinstance(item, dict):
            raise TokenRejected("the session token's purposes are malformed")
        purpose_id, version = item.get("id"), item.get("version")
        required, reason = item.get("required"), item.get("reason")
        if not (
            isinstance(purpose_id, str)
            and _PURPOSE_ID.fullmatch(purpose_id)
            and isinstance(version, str)
            and _VERSION.fullmatch(version)
            and isinstance(required, bool)
            and reason in REASONS
        ):
            raise TokenRejected("the session token's purposes are malformed")
        asked.append(AskedPurpose(purpose_id, version, required, str(reason)))
    if len({p.id for p in asked}) != len(asked):
        raise TokenRejected("the session token names a purpose twice")
    return tuple(asked)


@dataclass(frozen=True)
class Answer:
    """The user's decisions, with the evidence of what they were shown."""

    decisions: Mapping[str, str]  # purpose id -> given | declined
    versions: Mapping[str, str]  # purpose id -> version shown
    texts: Mapping[str, str]  # purpose id -> sha256 of the text shown
    language: str


def result_token(
    session: SessionClaims, state: str, answer: Answer, secret: str, *, now: float | None = None
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
            "decisions": dict(answer.decisions),
            "versions": dict(answer.versions),
            "texts": dict(answer.texts),
            "language": answer.language,
        },
        secret,
    )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
