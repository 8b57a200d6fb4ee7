"""One user's consent, per purpose, judged from the ledger as the consent Actions judge it.

The evidence is the ledger in app_metadata (:mod:`auth0_actions.consent.ledger`).
Each configured purpose gets :func:`~auth0_actions.consent.ledger.needed`
against its current version (``valid`` when nothing is needed), and what
the next login does about it, following the policy the Actions enforce:

* a required purpose that is not valid is asked again, except a withdrawn
  one under ``on_withdrawn: deny``, which denies;
* an optional purpose is asked when ``missing`` or ``outdated``; declined
  or withdrawn it is a settled decision (reported, never asked again: the
  user changes it on the self-service page).

A user with no ledger yet but a seed record in user_metadata is judged on
what :func:`auth0_actions.consent.writer.migrated_events` makes of that
record (the ledger the first write will start with), flagged
``evidence: user_metadata``: users can edit it, so it proves less.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy, Purpose
from auth0_actions.consent.record import Status, utc_now_iso
from auth0_actions.consent.user_view import Source, consent_view

Evidence = Literal["ledger", "user_metadata", "none"]
NextLogin = Literal["proceeds", "asked", "denied"]
# Fields a user is read with: the ledger, its mirror (and a seed record).
USER_FIELDS: tuple[str, ...] = ("user_id", "email", "user_metadata", "app_metadata")
# consent_view's source, as show and audit name the evidence.
_EVIDENCE: dict[Source, Evidence] = {
    "ledger": "ledger",
    "seed-record": "user_metadata",
    "none": "none",
}


@dataclass(frozen=True)
class PurposeStatus:
    """One purpose of one user: the latest decision and what the next login does."""

    purpose: Purpose
    status: Status
    next_login: NextLogin
    decision: Mapping[str, Any] | None  # the ledger state entry, None when never decided

    @property
    def asked(self) -> bool:
        """The next login asks (or denies): a finding of an audit."""
        return self.next_login != "proceeds"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.purpose.id,
            "required": self.purpose.required,
            "current_version": self.purpose.version,
            "status": self.status,
            "next_login": self.next_login,
            "decision": None if self.decision is None else dict(self.decision),
        }


@dataclass(frozen=True)
class UserConsent:
    """A user's consent: every configured purpose, and the ledger it was judged from."""

    user_id: str
    email: str | None
    evidence: Evidence
    purposes: tuple[PurposeStatus, ...]
    ledger: Mapping[str, Any] | None  # as stored, or the migrated view (evidence user_metadata)

    def purpose(self, purpose_id: str) -> PurposeStatus:
        return next(p for p in self.purposes if p.purpose.id == purpose_id)

    def findings(self, purpose_ids: Sequence[str] | None = None) -> list[PurposeStatus]:
        """The purposes (of ``purpose_ids``, default all) the next login asks about or denies."""
        return [
            p
            for p in self.purposes
            if p.asked and (purpose_ids is None or p.purpose.id in purpose_ids)
        ]

    def as_json(self, *, history: bool = False) -> dict[str, Any]:
        """``{user_id, email, evidence, purposes}``, plus ``history`` (summary, events)."""
        data: dict[str, Any] = {
            "user_id": self.user_id,
            "email": self.email,
            "evidence": self.evidence,
            "purposes": [p.as_json() for p in self.purposes],
        }
        if history:
            ledger = self.ledger or {}
            data["history"] = {
                "summary": ledger.get("summary"),
                "events": list(ledger.get("events") or []),
            }
        return data


def next_login(purpose: Purpose, status: Status, policy: ConsentPolicy) -> NextLogin:
    if status == "valid":
        return "proceeds"
    if purpose.required:
        deny = status == "withdrawn" and policy.on_withdrawn.action == "deny"
        return "denied" if deny else "asked"
    return "asked" if status in ("missing", "outdated") else "proceeds"


def judge(user: Mapping[str, Any], policy: ConsentPolicy, *, now: str | None = None) -> UserConsent:
    """Every purpose of ``policy`` for ``user`` (a dict with the :data:`USER_FIELDS`)."""
    view = consent_view(user, policy, now or utc_now_iso())
    # The state derived from the events, as the consent Actions and the export judge
    # (a stored state edited by hand is consent verify's finding, not a decision).
    state = view.state
    purposes = []
    for purpose in policy.purposes:
        status = view.status(purpose.id, purpose.version)
        decision = state.get(purpose.id)
        purposes.append(
            PurposeStatus(
                purpose=purpose,
                status=status,
                next_login=next_login(purpose, status, policy),
                decision=dict(decision) if isinstance(decision, Mapping) else None,
            )
        )
    email = user.get("email")
    return UserConsent(
        user_id=str(user.get("user_id", "")),
        email=email if isinstance(email, str) else None,
        evidence=_EVIDENCE[view.source],
        purposes=tuple(purposes),
        ledger=view.ledger,
    )
