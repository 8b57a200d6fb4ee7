"""What the consent page signs, and consent records as scenarios read and write them.

The scenario runner plays the consent page (it signs the result token the
page would POST back to /continue, one decision per purpose asked), seeds
and reads the consent ledger in app_metadata, and reads the seed's record
(the ledger's readable mirror) in the variant's layout; tests sign tokens
the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from auth0_actions.config import ConsentPolicy
from auth0_actions.consent import ledger as ledgers
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


# --- the consent ledger in app_metadata ---------------------------------------
def seed_ledger(
    entries: Sequence[Mapping[str, Any]],
    policy: ConsentPolicy,
    ctx: Mapping[str, Any],
    secret: str | None,
) -> dict[str, Any]:
    """A ledger of ``entries`` ({purpose, decision, version?, at, method, language?}),
    signed with ``secret``, as the consent tools would have written it."""
    if not secret:
        raise ConfigError("ledger: the scenario needs a CONSENT_LEDGER_SECRET to sign it with")
    purposes = {p["id"]: p for p in ctx["purposes"]}
    decisions = []
    for number, entry in enumerate(entries, start=1):
        purpose = purposes.get(entry["purpose"])
        if purpose is None:
            raise ConfigError(
                f"ledger[{number}]: unknown purpose {entry['purpose']!r}; "
                f"known: {', '.join(purposes)}"
            )
        language = entry.get("language") or policy.languages[0]
        decisions.append(
            ledgers.NewEvent(
                purpose=purpose["id"],
                decision=entry["decision"],
                version=entry.get("version") or purpose["version"],
                at=entry["at"],
                method=entry["method"],
                text_sha256=purpose["texts"].get(language),
                language=language,
            )
        )
    try:
        return ledgers.append(None, decisions, secret.encode(), max_events=policy.ledger.max_events)
    except ValueError as exc:
        raise ConfigError(f"ledger: {exc}") from None


def ledger_view(
    app_metadata: Mapping[str, Any], policy: ConsentPolicy, secret: str | None
) -> dict[str, Any] | None:
    """The ledger as scenarios judge it: its state, its events in short, whether it verifies."""
    ledger = ledgers.read(app_metadata, policy.ledger.key)
    if ledger is None:
        return None
    key = secret.encode() if secret else None
    return {
        "state": ledger.get("state"),
        "events": [
            {name: event.get(name) for name in VIEW_FIELDS}
            for event in ledger.get("events") or []
            if isinstance(event, Mapping)
        ],
        "summary": ledger.get("summary") is not None,
        "problems": [f"{f.problem} {f.seq}: {f.detail}" for f in ledgers.verify(ledger, key)],
    }


VIEW_FIELDS = ("seq", "purpose", "event", "given", "version", "method", "language", "text_sha256")


def page_claims(
    asked: Sequence[Mapping[str, Any]],
    answer: str,
    decisions: Mapping[str, str],
    language: str | None,
    ctx: Mapping[str, Any],
) -> dict[str, Any]:
    """What a consent page signs for the purposes it was asked (the token contract)."""
    shown = language or ctx["languages"][0]
    texts = {p["id"]: p["texts"] for p in ctx["purposes"]}
    claims: dict[str, Any] = {
        "versions": {p["id"]: p.get("version") for p in asked},
        "texts": {p["id"]: (texts.get(p["id"]) or {}).get(shown) for p in asked},
        "language": shown,
    }
    if answer != "none" or decisions:
        chosen = {p["id"]: answer for p in asked if answer != "none"}
        claims["decisions"] = {**chosen, **decisions}
    return claims


def seed_consent(
    user: dict[str, Any],
    record: Mapping[str, Any] | None,
    ledger: Sequence[Mapping[str, Any]],
    policy_ctx_secret: tuple[ConsentPolicy, Mapping[str, Any], str | None],
) -> None:
    """A scenario's starting consent: the seed record (user_metadata), the ledger (app_metadata)."""
    policy, ctx, secret = policy_ctx_secret
    if record is not None:
        user["user_metadata"] = write_record(user.get("user_metadata") or {}, record, policy)
    if ledger:
        built = seed_ledger(ledger, policy, ctx, secret)
        user["app_metadata"] = {**(user.get("app_metadata") or {}), policy.ledger.key: built}
