"""What the consent page signs, and the consent record as scenarios read and write it.

The scenario runner plays the consent page (it signs the session token the
page would POST back to /continue) and reads the consent record from the
resulting metadata in the variant's layout; tests sign tokens the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from auth0_actions.config import ConsentPolicy
from auth0_actions.errors import ConfigError


# --- tokens the consent page would sign --------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_token(claims: Mapping[str, Any], secret: str, alg: str = "HS256") -> str:
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{header}.{body}."
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def decode_token(token: str, secret: str | None) -> dict[str, Any] | None:
    try:
        head, body, signature = token.split(".")
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None
    valid = False
    if secret is not None and header.get("alg") == "HS256":
        wanted = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
        valid = hmac.compare_digest(_b64(wanted), signature)
    ttl = claims.get("exp", 0) - claims.get("iat", 0) if isinstance(claims, dict) else None
    return {"header": header, "claims": claims, "ttl": ttl, "signature_valid": valid}


# --- the consent record in either layout ----------------------------------------
def read_record(metadata: Mapping[str, Any], policy: ConsentPolicy) -> dict[str, Any] | None:
    keys = policy.metadata.resolved_keys()
    source = (
        metadata.get(policy.metadata.object_key) if policy.metadata.layout == "nested" else metadata
    )
    if not isinstance(source, Mapping) or not isinstance(source.get(keys["given"]), bool):
        return None
    return {fieldname: source[name] for fieldname, name in keys.items() if name in source}


def write_record(
    metadata: dict[str, Any], record: Mapping[str, Any], policy: ConsentPolicy
) -> dict[str, Any]:
    keys = policy.metadata.resolved_keys()
    unknown = sorted(set(record) - set(keys))
    if unknown:
        raise ConfigError(
            f"record: unknown field(s) {', '.join(unknown)}; known: {', '.join(keys)}"
        )
    stored = {keys[name]: value for name, value in record.items()}
    if policy.metadata.layout == "nested":
        existing = metadata.get(policy.metadata.object_key)
        base = dict(existing) if isinstance(existing, Mapping) else {}
        return {**metadata, policy.metadata.object_key: {**base, **stored}}
    return {**metadata, **stored}
