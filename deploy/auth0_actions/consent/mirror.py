"""The readable mirror of the consent ledger in user_metadata (the seed's layouts).

The ledger in app_metadata is the evidence; users can edit user_metadata
(Auth0 calls it "not a secure data store"), so nothing judges consent from
this mirror. It keeps what readers of the seed's record expect, computed
from the ledger after each write, the same way in Python and in the Actions
(``mirrorUpdate`` in ``rules_templates/_consent_ledger.js.j2``):

* the record purpose (the first required one): ``given``, ``date`` (the
  latest event's time), ``terms_version`` (its version), ``text_url`` (the
  purpose's url), ``method``, ``ip``, and ``withdrawn_at`` /
  ``withdrawn_reason`` when that event is a withdrawal (else removed);
* ``purposes``: every decided purpose as ``{given, version, date, method}``.

Layout ``nested`` writes one object whole (Auth0 replaces nested objects on
PATCH), keeping its properties this code does not manage; ``root`` writes
each property on its own, ``null`` deleting one. Either way the patch holds
only the mirror's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auth0_actions.config.model import ConsentPolicy


def latest_event(ledger: Mapping[str, Any], purpose: str) -> Mapping[str, Any] | None:
    """The purpose's latest event: a kept one, else its summary state (no ip)."""
    for event in reversed(ledger.get("events") or []):
        if isinstance(event, Mapping) and event.get("purpose") == purpose:
            return event
    summary = ledger.get("summary")
    if isinstance(summary, Mapping):
        state = (summary.get("state") or {}).get(purpose)
        if isinstance(state, Mapping):
            return state
    return None


def mirror_keys(policy: ConsentPolicy) -> tuple[str, ...]:
    """The top-level user_metadata keys the mirror occupies (all a patch may touch)."""
    if policy.metadata.layout == "nested":
        return (policy.metadata.object_key,)
    return tuple(dict.fromkeys(policy.metadata.resolved_keys().values()))


def mirror_patch(
    user_metadata: Mapping[str, Any] | None, ledger: Mapping[str, Any], policy: ConsentPolicy
) -> dict[str, Any]:
    """The user_metadata PATCH body that mirrors ``ledger``; only the mirror's keys."""
    keys = policy.metadata.resolved_keys()
    purpose = policy.record_purpose
    event = latest_event(ledger, purpose.id)
    record: dict[str, Any] = {
        keys["given"]: None,
        keys["date"]: None,
        keys["terms_version"]: None,
        keys["text_url"]: None,
        keys["method"]: None,
        keys["ip"]: None,
        keys["withdrawn_at"]: None,
        keys["withdrawn_reason"]: None,
    }
    if event is not None:
        withdrawn = event.get("event") == "withdrawn"
        record.update(
            {
                keys["given"]: event.get("given") is True,
                keys["date"]: event.get("at"),
                keys["terms_version"]: event.get("version"),
                keys["text_url"]: purpose.url,
                keys["method"]: event.get("method"),
                keys["ip"]: event.get("ip"),
                keys["withdrawn_at"]: event.get("at") if withdrawn else None,
                keys["withdrawn_reason"]: event.get("reason") if withdrawn else None,
            }
        )
    state = ledger.get("state") or {}
    record[keys["purposes"]] = {
        pid: {
            "given": entry.get("given") is True,
            "version": entry.get("version"),
            "date": entry.get("at"),
            "method": entry.get("method"),
        }
        for pid, entry in sorted(state.items())
        if isinstance(entry, Mapping)
    }
    if policy.metadata.layout == "root":
        return record
    key = policy.metadata.object_key
    current = user_metadata.get(key) if isinstance(user_metadata, Mapping) else None
    merged = dict(current) if isinstance(current, Mapping) else {}
    for name, value in record.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return {key: merged}
