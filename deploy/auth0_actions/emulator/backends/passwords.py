"""The one password hash of the local tenant: salted scrypt, verified in constant time.

Every user (created through the Management API, by ``emulator seed``, or by a
password change) is hashed here, as ``scrypt$<32 hex: a 16-byte salt>$<hex digest>``.
:func:`verify_password` also accepts ``pbkdf2_sha256$<rounds>$<salt>$<hex>``,
the format of hashes imported from elsewhere, so a state directory written by
an older version still logs in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

SALT_BYTES = 16
_SCRYPT = {"n": 2**12, "r": 8, "p": 1}


def _scrypt(password: str, salt: str) -> str:
    return hashlib.scrypt(password.encode(), salt=salt.encode(), **_SCRYPT).hex()


def hash_password(password: str) -> str:
    """The stored form of a password (a fresh 16-byte salt each time)."""
    salt = secrets.token_hex(SALT_BYTES)
    return f"scrypt${salt}${_scrypt(password, salt)}"


def verify_password(user: Mapping[str, Any], password: str) -> bool:
    """Whether ``password`` is the user's (False for a user without one)."""
    stored = user.get("_password_hash")
    if not isinstance(stored, str):
        return False
    if stored.startswith("scrypt$"):
        _, salt, digest = stored.split("$", 2)
        return secrets.compare_digest(_scrypt(password, salt), digest)
    if stored.startswith("pbkdf2_sha256$"):
        _, rounds, salt, digest = stored.split("$", 3)
        computed = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(rounds))
        return secrets.compare_digest(computed.hex(), digest)
    return False
