"""One exported user's consent as the export sees it: per purpose, from the ledger.

The ledger in app_metadata is the evidence (consent/ledger.py). A user whose
ledger has not started yet but who has a seed record in user_metadata is
read through :func:`~auth0_actions.consent.writer.migrated_events`, exactly
as the writer would migrate that record on the next write, and is flagged
``seed-record``: that view was computed for the export, nothing stored it,
so its events have no hash or mac. A user with neither has source ``none``
and every purpose ``missing``.

Status per purpose is :func:`ledger.needed` against the purpose's current
version (``valid`` when nothing is needed): the same rule the consent
Actions apply at login, so an export and a login never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.record import Status
from auth0_actions.consent.writer import migrated_events

Source = Literal["ledger", "seed-record", "none"]
SOURCES: tuple[Source, ...] = ("ledger", "seed-record", "none")
# The seed view is appended with a throwaway key and its hashes dropped: it
# exists only in the export, and must not look like stored evidence.
_VIEW_KEY = b"export view, not evidence"
_VIEW_MAX_EVENTS = 200


@dataclass(frozen=True)
class ConsentView:
    """A user's ledger (stored, or the seed record's view), its state and its source."""

    source: Source
    ledger: Mapping[str, Any] | None  # as stored for "ledger", the computed view otherwise
    state: Mapping[str, Any]  # purpose -> latest {given, version, at, event, method, ...}

    def status(self, purpose: str, version: str) -> Status:
        return ledgers.needed(self.state, purpose, version) or "valid"

    def events(self, purpose: str) -> list[Mapping[str, Any]]:
        """This purpose's kept events, oldest first."""
        events = (self.ledger or {}).get("events") or []
        return [e for e in events if isinstance(e, Mapping) and e.get("purpose") == purpose]

    def summary(self) -> Mapping[str, Any] | None:
        summary = (self.ledger or {}).get("summary")
        return summary if isinstance(summary, Mapping) else None


def consent_view(user: Mapping[str, Any], policy: ConsentPolicy, now: str) -> ConsentView:
    """The view of one exported user (``user_metadata`` and ``app_metadata`` as exported)."""
    stored = ledgers.read(_mapping(user.get("app_metadata")), policy.ledger.key)
    if stored is not None:
        return ConsentView("ledger", stored, ledgers.derive_state(stored))
    events = migrated_events(_mapping(user.get("user_metadata")), policy, now)
    if not events:
        return ConsentView("none", None, {})
    try:
        view = ledgers.append(None, events, _VIEW_KEY, max_events=_VIEW_MAX_EVENTS)
    except ValueError:  # a seed record no ledger could hold: report it as having none
        return ConsentView("none", None, {})
    for event in view["events"]:
        event["prev"] = event["hash"] = event["mac"] = None
    return ConsentView("seed-record", view, view["state"])


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None
