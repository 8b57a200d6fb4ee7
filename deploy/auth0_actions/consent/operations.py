"""consent show / grant / withdraw: one user's consent, read and changed through the API.

Grant and withdraw append events (method ``api``) to the user's ledger
through :func:`auth0_actions.consent.writer.record_decisions`, the one writer
outside a login: the ledger grows by hash-chained, keyed events and earlier
ones are never rewritten; the mirror in user_metadata follows.

Which purposes (``purposes=None``):

* grant: every required purpose. An optional one (marketing) only when
  named: an operator never opts a user into it on the user's behalf.
* withdraw: every purpose currently given. "I withdraw my consent" with
  nothing more covers every purpose (GDPR Art. 7(3): withdrawing is as easy
  as giving, the user need not list them); name purposes to narrow it.

Both are idempotent per purpose: granting a purpose already given for its
current version, or withdrawing one not given (declined, withdrawn, never
decided), appends nothing; when nothing is left, nothing is written (the
existing event is better evidence than a new one). A grant records the
text of the purpose's current version in the language given (default: the
first of consent.languages) by its sha256, as the consent page does.

Concurrency: Auth0's users API has no conditional write. A login writing
the ledger between our GET and PATCH loses to whichever PATCH lands last
(the ledger is written whole, never half); the window is one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.record import utc_now_iso
from auth0_actions.consent.status import USER_FIELDS, UserConsent, judge
from auth0_actions.consent.writer import record_decisions
from auth0_actions.errors import Auth0ActionsError, TenantError
from auth0_actions.tenant_client import TenantClient

API_METHOD = "api"
MAX_REASON_LENGTH = 500
Operation = Literal["grant", "withdraw"]


class ConsentError(Auth0ActionsError):
    """A consent command was refused: no such user, bad input."""


@dataclass(frozen=True)
class ConsentChange:
    """What grant or withdraw did to one user."""

    operation: Operation
    purposes: tuple[str, ...]  # the purposes asked about
    before: UserConsent
    after: UserConsent
    events: tuple[dict[str, Any], ...]  # appended, migrated ones included; () when unchanged

    @property
    def changed(self) -> bool:
        return bool(self.events)

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "purposes": list(self.purposes),
            "changed": self.changed,
            "events": list(self.events),
            "before": self.before.as_json(),
            "after": self.after.as_json(),
        }


def show(
    client: TenantClient,
    policy: ConsentPolicy,
    *,
    email: str | None = None,
    user_id: str | None = None,
) -> list[UserConsent]:
    """Every user matching the email (one per connection), or the one user with the id."""
    if (email is None) == (user_id is None):
        raise ConsentError("give exactly one of --email and --user-id")
    if email is not None:
        users = client.users_by_email(email, fields=USER_FIELDS)
    else:
        users = [get_user(client, user_id or "")]
    return [judge(user, policy) for user in users]


def chosen_purposes(
    policy: ConsentPolicy, purposes: Sequence[str] | None, operation: Operation
) -> tuple[str, ...]:
    """The purposes named (checked against tenant.yaml), or the operation's default."""
    if purposes:
        unknown = [p for p in purposes if policy.purpose(p) is None]
        if unknown:
            known = ", ".join(p.id for p in policy.purposes)
            raise ConsentError(f"--purpose: no purpose {', '.join(unknown)} (tenant.yaml: {known})")
        return tuple(dict.fromkeys(purposes))
    if operation == "grant":
        return tuple(p.id for p in policy.purposes if p.required)
    return tuple(p.id for p in policy.purposes)


def checked_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = reason.strip()
    if not reason:
        raise ConsentError("--reason: empty; leave it out or give a reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise ConsentError(f"--reason: longer than {MAX_REASON_LENGTH} characters")
    return reason


def grant(
    client: TenantClient,
    policy: ConsentPolicy,
    user_id: str,
    key: bytes,
    texts: Mapping[str, Mapping[str, str]],
    *,
    purposes: Sequence[str] | None = None,
    language: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> ConsentChange:
    """Record consent given through the API to each purpose's current version.

    ``texts`` is purpose id -> language -> sha256 of the text (what the
    Actions carry: :func:`auth0_actions.consent.texts.text_hashes`).
    """
    chosen = chosen_purposes(policy, purposes, "grant")
    language = language or policy.languages[0]
    if language not in policy.languages:
        raise ConsentError(
            f"--language: {language} is not one of consent.languages "
            f"({', '.join(policy.languages)})"
        )
    reason = checked_reason(reason)
    before = judge(get_user(client, user_id), policy)
    at = utc_now_iso(now)
    decisions = [
        ledgers.NewEvent(
            purpose=p.purpose.id,
            decision="given",
            version=p.purpose.version,
            at=at,
            method=API_METHOD,
            text_sha256=texts[p.purpose.id][language],
            language=language,
            reason=reason,
        )
        for p in before.purposes
        if p.purpose.id in chosen and p.status != "valid"
    ]
    return _record(client, policy, key, "grant", chosen, before, decisions, at)


def withdraw(
    client: TenantClient,
    policy: ConsentPolicy,
    user_id: str,
    key: bytes,
    *,
    purposes: Sequence[str] | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> ConsentChange:
    """Record the withdrawal of each chosen purpose currently given (its version, text)."""
    chosen = chosen_purposes(policy, purposes, "withdraw")
    reason = checked_reason(reason)
    before = judge(get_user(client, user_id), policy)
    at = utc_now_iso(now)
    decisions = [
        # The ledger carries the withdrawn version and text over from the
        # decision it withdraws; these two are placeholders it replaces.
        ledgers.NewEvent(
            purpose=p.purpose.id,
            decision="withdrawn",
            version=p.purpose.version,
            at=at,
            method=API_METHOD,
            reason=reason,
        )
        for p in before.purposes
        if p.purpose.id in chosen and p.decision is not None and p.decision.get("given") is True
    ]
    return _record(client, policy, key, "withdraw", chosen, before, decisions, at)


def _record(
    client: TenantClient,
    policy: ConsentPolicy,
    key: bytes,
    operation: Operation,
    chosen: tuple[str, ...],
    before: UserConsent,
    decisions: list[ledgers.NewEvent],
    at: str,
) -> ConsentChange:
    if not decisions:
        return ConsentChange(operation, chosen, before, before, events=())
    try:
        recorded = record_decisions(client, policy, before.user_id, decisions, key, now=at)
    except ValueError as error:
        # The ledger changed between our read and the writer's (a login, a
        # second operator) so that a withdrawal has nothing left to withdraw.
        raise ConsentError(
            f"{before.user_id}: {error}; the record changed meanwhile, run again"
        ) from None
    stored = ledgers.read(recorded.before.get("app_metadata"), policy.ledger.key)
    kept_before = {e["hash"] for e in (stored or {}).get("events") or []}
    appended = tuple(e for e in recorded.ledger["events"] if e["hash"] not in kept_before)
    return ConsentChange(operation, chosen, before, judge(recorded.after, policy), appended)


def get_user(client: TenantClient, user_id: str) -> dict[str, Any]:
    if not user_id.strip():
        raise ConsentError("--user-id: empty")
    try:
        return client.get_user(user_id, fields=USER_FIELDS)
    except TenantError as error:
        if error.status == 404:
            raise ConsentError(f"no user with id {user_id!r} in this tenant") from None
        raise
