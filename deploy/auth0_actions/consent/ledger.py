"""The consent ledger: every decision as a hash-chained, keyed event in app_metadata.

This module is the reference the consent Actions follow
(``rules_templates/_consent_ledger.js.j2`` computes the same bytes; a test
runs both and compares). The format, in ``app_metadata[<consent.ledger.key>]``::

    {"format": 1,
     "events": [event, ...],          # oldest first, at most consent.ledger.max_events
     "summary": null | summary,       # the events folded away, signed
     "state": {purpose: state, ...}}  # derived from the above, for search and reading

An event::

    {"seq": 3, "at": "2026-12-07T10:00:00.000Z", "purpose": "marketing",
     "version": "2026-11-01", "event": "given" | "declined" | "withdrawn" | "re-given",
     "given": true, "text_sha256": "<hex>" | null, "language": "en" | null,
     "method": "signup" | "page" | "self-service" | "api" | "migrated",
     "ip": "203.0.113.9" | null, "reason": null | "...",
     "prev": "<hash of the previous event>" | null, "hash": "<hex>", "mac": "<hex>"}

* ``hash`` is sha256 over :func:`canonical` of the event without ``hash`` and
  ``mac``; ``prev`` chains it to the event before (the summary's
  ``through_hash`` for the first kept event, ``null`` for the very first).
  Anyone can recompute the chain.
* ``mac`` is HMAC-SHA256 keyed with the ``CONSENT_LEDGER_SECRET`` over the
  hash (hex, ASCII). Whoever can write app_metadata but lacks the key (a
  dashboard admin, a Management API client) cannot append or rewrite an event
  that verifies.
* The secret is a keyring: keys separated by whitespace, the first signing,
  every one verifying. A rotation puts the new key first and keeps the old
  ones, whose macs stay in the ledgers (:func:`keyring`).
* ``event`` is ``re-given`` for a ``given`` after this purpose was declined or
  withdrawn. A withdrawal carries the version and text hash it withdraws.
* ``migrated`` events carry a decision found in the seed's user_metadata
  record when the ledger started (its evidence is only that record).

When more than ``max_events`` events would be kept, the oldest are folded
into the summary: ``{through_seq, through_hash, folded, first_at, last_at,
state, sig}``, ``sig`` being HMAC-SHA256 over the canonical summary without
``sig``. ``state`` (in the summary and at the top) maps each purpose to its
latest event: ``{given, version, at, event, method, seq, text_sha256}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FORMAT = 1
Decision = Literal["given", "declined", "withdrawn"]
EventKind = Literal["given", "declined", "withdrawn", "re-given"]
Method = Literal["signup", "page", "self-service", "api", "migrated"]
METHODS: tuple[str, ...] = ("signup", "page", "self-service", "api", "migrated")
EVENT_FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "purpose",
    "version",
    "event",
    "given",
    "text_sha256",
    "language",
    "method",
    "ip",
    "reason",
    "prev",
    "hash",
    "mac",
)
STATE_FIELDS: tuple[str, ...] = (
    "given",
    "version",
    "at",
    "event",
    "method",
    "seq",
    "text_sha256",
)
Reason = Literal["missing", "declined", "withdrawn", "outdated"]
JsonObject = dict[str, Any]


def canonical(value: Any) -> bytes:
    """Keys sorted, no spaces, UTF-8 (what JSON.stringify gives with sorted keys).

    Ledger values are strings, integers, booleans, null and objects of them,
    where this and the Actions' canonical form agree byte for byte.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# The secret holding the ledger's keyring, and the shortest key it may hold: a
# key is an HMAC-SHA256 key, and RFC 7518 s. 3.2 asks for at least 256 bits.
LEDGER_SECRET = "CONSENT_LEDGER_SECRET"  # noqa: S105 (a secret's name)
MIN_KEY_BYTES = 32


def keyring_problem(value: str) -> str | None:
    """Why a CONSENT_LEDGER_SECRET value cannot be a keyring (never quoting it), or None.

    A passphrase with spaces would silently become several short keys.
    """
    keys = value.split()
    if not keys:
        return "is empty"
    short = sum(1 for k in keys if len(k.encode("utf-8")) < MIN_KEY_BYTES)
    if short:
        return (
            f"holds {short} key(s) shorter than {MIN_KEY_BYTES} bytes (a keyring: keys "
            "separated by spaces, the first signing)"
        )
    return None


def keyring(key: bytes) -> list[bytes]:
    """The keys of a CONSENT_LEDGER_SECRET value: the first signs, every one verifies."""
    return key.split() or [key]


def _verifies(key: bytes, given: Any, expected: Any) -> bool:
    """Whether ``given`` is what ``expected(k)`` gives for some key of the keyring."""
    return any(hmac.compare_digest(str(given), expected(k)) for k in keyring(key))


def _mac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def event_hash(event: Mapping[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k not in ("hash", "mac")}
    return hashlib.sha256(canonical(body)).hexdigest()


def event_mac(key: bytes, digest: str) -> str:
    return _mac(key, digest.encode("ascii"))


def summary_sig(key: bytes, summary: Mapping[str, Any]) -> str:
    return _mac(key, canonical({k: v for k, v in summary.items() if k != "sig"}))


def empty() -> JsonObject:
    return {"format": FORMAT, "events": [], "summary": None, "state": {}}


def read(app_metadata: Mapping[str, Any] | None, key: str) -> JsonObject | None:
    """The ledger stored under ``key``, or None when there is none (as stored, unjudged)."""
    if not isinstance(app_metadata, Mapping):
        return None
    ledger = app_metadata.get(key)
    return dict(ledger) if isinstance(ledger, Mapping) else None


def _state_of(event: Mapping[str, Any]) -> JsonObject:
    return {field: event.get(field) for field in STATE_FIELDS}


def derive_state(ledger: Mapping[str, Any]) -> JsonObject:
    """Purpose -> its latest decision, from the summary and the kept events."""
    summary = ledger.get("summary")
    state: JsonObject = {}
    if isinstance(summary, Mapping) and isinstance(summary.get("state"), Mapping):
        state = {k: dict(v) for k, v in summary["state"].items() if isinstance(v, Mapping)}
    for event in ledger.get("events") or []:
        if isinstance(event, Mapping) and isinstance(event.get("purpose"), str):
            state[event["purpose"]] = _state_of(event)
    return state


def needed(state: Mapping[str, Any], purpose: str, version: str) -> Reason | None:
    """Why this purpose must be asked about, or None when its consent stands.

    missing: never decided; withdrawn; declined; outdated: decided on
    another version (a bump asks again for this purpose only).
    """
    current = state.get(purpose)
    if not isinstance(current, Mapping):
        return "missing"
    if current.get("event") == "withdrawn":
        return "withdrawn"
    if current.get("given") is not True:
        return "declined"
    if current.get("version") != version:
        return "outdated"
    return None


@dataclass(frozen=True)
class NewEvent:
    """One decision to append (the ledger fills seq, event, prev, hash and mac)."""

    purpose: str
    decision: Decision
    version: str
    at: str
    method: str
    text_sha256: str | None = None
    language: str | None = None
    ip: str | None = None
    reason: str | None = None


def _event_kind(decision: Decision, previous: Mapping[str, Any] | None) -> EventKind:
    if (
        decision == "given"
        and previous is not None
        and (previous.get("event") == "withdrawn" or previous.get("given") is not True)
    ):
        return "re-given"
    return decision


def _last_hash(ledger: Mapping[str, Any]) -> str | None:
    events = ledger.get("events") or []
    if events:
        return str(events[-1]["hash"])
    summary = ledger.get("summary")
    return str(summary["through_hash"]) if isinstance(summary, Mapping) else None


def _next_seq(ledger: Mapping[str, Any]) -> int:
    events = ledger.get("events") or []
    if events:
        return int(events[-1]["seq"]) + 1
    summary = ledger.get("summary")
    return int(summary["through_seq"]) + 1 if isinstance(summary, Mapping) else 1


def append(
    ledger: Mapping[str, Any] | None,
    decisions: Iterable[NewEvent],
    key: bytes,
    *,
    max_events: int,
) -> JsonObject:
    """A new ledger: ``ledger`` (None: a new one) with ``decisions`` appended in order.

    A withdrawal of a purpose never given is refused (ValueError): there is
    nothing to withdraw. The input is never modified.
    """
    result = empty() if ledger is None else json.loads(canonical(ledger))
    key = keyring(key)[0]
    for decision in decisions:
        state = derive_state(result)
        previous = state.get(decision.purpose)
        version, text_sha256 = decision.version, decision.text_sha256
        if decision.decision == "withdrawn":
            if previous is None or previous.get("given") is not True:
                raise ValueError(f"purpose {decision.purpose}: nothing given to withdraw")
            version, text_sha256 = previous["version"], previous.get("text_sha256")
        event: JsonObject = {
            "seq": _next_seq(result),
            "at": decision.at,
            "purpose": decision.purpose,
            "version": version,
            "event": _event_kind(decision.decision, previous),
            "given": decision.decision == "given",
            "text_sha256": text_sha256,
            "language": decision.language,
            "method": decision.method,
            "ip": decision.ip,
            "reason": decision.reason,
            "prev": _last_hash(result),
        }
        event["hash"] = event_hash(event)
        event["mac"] = event_mac(key, event["hash"])
        result["events"].append(event)
        _compact(result, key, max_events)
        result["state"] = derive_state(result)
    return result


def _compact(ledger: JsonObject, key: bytes, max_events: int) -> None:
    events: list[JsonObject] = ledger["events"]
    if len(events) <= max_events:
        return
    folded, kept = events[: len(events) - max_events], events[len(events) - max_events :]
    previous = ledger.get("summary") or {}
    state = {k: dict(v) for k, v in (previous.get("state") or {}).items()}
    for event in folded:
        state[event["purpose"]] = _state_of(event)
    summary: JsonObject = {
        "through_seq": folded[-1]["seq"],
        "through_hash": folded[-1]["hash"],
        "folded": int(previous.get("folded") or 0) + len(folded),
        "first_at": previous.get("first_at") or folded[0]["at"],
        "last_at": folded[-1]["at"],
        "state": state,
    }
    summary["sig"] = summary_sig(key, summary)
    ledger["summary"] = summary
    ledger["events"] = kept


LedgerProblem = Literal[
    "malformed",
    "hash-mismatch",
    "chain-broken",
    "mac-invalid",
    "summary-invalid",
    "state-mismatch",
]


@dataclass(frozen=True)
class Finding:
    """Something wrong with a stored ledger; ``seq`` is the event, None for the whole."""

    problem: LedgerProblem
    seq: int | None
    detail: str


def verify(ledger: Mapping[str, Any], key: bytes | None) -> list[Finding]:
    """Every way the stored ledger differs from one this tool wrote.

    Without ``key`` only the hash chain and the state are checked (anyone can
    do that); with it, every event's mac and the summary's signature too.
    """
    findings: list[Finding] = []
    if ledger.get("format") != FORMAT or not isinstance(ledger.get("events"), list):
        return [Finding("malformed", None, "not a format-1 ledger (format, events)")]
    summary = ledger.get("summary")
    prev: str | None = None
    seq = 0
    if summary is not None:
        if not isinstance(summary, Mapping) or not isinstance(summary.get("through_hash"), str):
            return [Finding("malformed", None, "summary is not an object with through_hash")]
        if key is not None and not _verifies(
            key, summary.get("sig", ""), lambda k: summary_sig(k, summary)
        ):
            findings.append(Finding("summary-invalid", None, "summary signature does not verify"))
        prev, seq = summary["through_hash"], int(summary.get("through_seq") or 0)
    for event in ledger["events"]:
        if not isinstance(event, Mapping) or set(event) != set(EVENT_FIELDS):
            findings.append(Finding("malformed", None, "an event lacks or adds fields"))
            return findings
        number = event["seq"] if isinstance(event["seq"], int) else None
        if number != seq + 1:
            findings.append(Finding("chain-broken", number, f"seq {number} follows {seq}"))
        if event["prev"] != prev:
            findings.append(Finding("chain-broken", number, "prev is not the previous hash"))
        digest = event_hash(event)
        if event["hash"] != digest:
            findings.append(Finding("hash-mismatch", number, "content differs from its hash"))
        elif key is not None and not _verifies(
            key, event["mac"], lambda k, d=digest: event_mac(k, d)
        ):
            findings.append(Finding("mac-invalid", number, "mac does not verify with the key"))
        prev, seq = str(event["hash"]), number or seq + 1
    if ledger.get("state") != derive_state(ledger):
        findings.append(Finding("state-mismatch", None, "state differs from the events"))
    return findings
