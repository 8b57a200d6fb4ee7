"""One-time-password MFA: the factor the local tenant challenges with, and its enrolment.

Auth0's OTP factor is an authenticator app holding a shared secret
(https://auth0.com/docs/secure/multi-factor-authentication/multi-factor-authentication-factors/configure-otp-notifications-for-mfa);
the codes are RFC 6238 TOTP (HMAC-SHA1, 30 s steps, 6 digits), computed here with
``hmac`` alone. A user's secret is stored in the profile as a private field
(never rendered by the API); its enrolment lists ``guardian`` in the user's
``multifactor``, as ``event.user.multifactor`` reports enrolled providers
(https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-event-object).
A code is accepted in its own step or the one either side (clock drift), and
each step once (RFC 6238 §5.2: no replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from typing import Any
from urllib.parse import quote, urlencode

from auth0_actions.emulator.store import Store

STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1  # accepted either side of the current step
SECRET_FIELD = "_mfa_otp_secret"  # noqa: S105 (a field name, not a secret)
LAST_STEP_FIELD = "_mfa_otp_last_step"
PROVIDER = "guardian"


def new_secret() -> str:
    """A fresh shared secret: 160 random bits, base32 without padding (what authenticators take)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)


def totp(secret: str, at_s: float, digits: int = DIGITS) -> str:
    """RFC 6238 TOTP of ``secret`` (base32) at ``at_s`` seconds since the epoch."""
    return hotp(_key(secret), int(at_s // STEP_S), digits)


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 HOTP: HMAC-SHA1 of the counter, dynamically truncated."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def matching_step(secret: str, code: str, at_s: float) -> int | None:
    """The step ``code`` is valid in (within the drift window), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    key = _key(secret)
    now = int(at_s // STEP_S)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def otpauth_uri(secret: str, issuer: str, account: str) -> str:
    """The URI an authenticator app scans (Key Uri Format of Google Authenticator)."""
    label = quote(f"{issuer}:{account}")
    return f"otpauth://totp/{label}?" + urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_S,
        }
    )


class OtpBackend:
    """Users' OTP enrolments; every write runs in one store transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def enrolled(user: dict[str, Any]) -> bool:
        """Whether a stored user has an OTP factor."""
        return isinstance(user.get(SECRET_FIELD), str)

    def secret(self, user_id: str) -> str | None:
        """The user's enrolled secret, or None when not enrolled."""
        user = self.store.get("user", user_id) or {}
        value = user.get(SECRET_FIELD)
        return value if isinstance(value, str) else None

    def verify(self, user_id: str, code: str, at_s: float, enrolling: str | None = None) -> bool:
        """Whether ``code`` completes the challenge; enrols ``enrolling`` when it does.

        Each step is accepted once per user, so a code seen once cannot be replayed.
        """
        with self.store.transaction():
            user = self.store.get("user", user_id)
            if user is None:
                return False
            secret = enrolling or user.get(SECRET_FIELD)
            if not isinstance(secret, str):
                return False
            step = matching_step(secret, code, at_s)
            last = user.get(LAST_STEP_FIELD)
            if step is None or (isinstance(last, int) and step <= last):
                return False
            user[LAST_STEP_FIELD] = step
            if enrolling is not None:
                user[SECRET_FIELD] = enrolling
                providers = [p for p in user.get("multifactor") or [] if p != PROVIDER]
                user["multifactor"] = [*providers, PROVIDER]
            self.store.put("user", user_id, user)
            return True
