"""Record decisions for one user: append to the ledger, refresh the mirror, one PATCH.

The writers outside a login (``consent grant/withdraw``, the self-service
page) all come through here, so they append exactly as the Actions do. A
user whose ledger has not started yet but who has a seed record in
user_metadata gets that record first, as ``migrated`` events: nothing
recorded before the ledger existed is dropped.

Auth0's users API has no conditional update, so a login writing between our
GET and PATCH loses to whichever PATCH lands last; the ledger is written
whole either way (a nested object is replaced), so it is never half-written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.mirror import mirror_patch
from auth0_actions.tenant_client import TenantClient

USER_FIELDS = ("user_id", "email", "user_metadata", "app_metadata")


def migrated_events(
    user_metadata: Mapping[str, Any] | None, policy: ConsentPolicy, now: str
) -> list[ledgers.NewEvent]:
    """The seed record in user_metadata as ledger events (method ``migrated``).

    given/declined at its ``date`` for its ``terms_version``; a withdrawn one
    also gets the withdrawal at ``withdrawn_at``. The record's own method is
    kept in ``reason``. No record (no boolean ``given``): no events.
    """
    keys = policy.metadata.resolved_keys()
    source: Any = user_metadata
    if policy.metadata.layout == "nested" and isinstance(user_metadata, Mapping):
        source = user_metadata.get(policy.metadata.object_key)
    if not isinstance(source, Mapping) or not isinstance(source.get(keys["given"]), bool):
        return []
    purpose = policy.record_purpose.id
    date = source.get(keys["date"])
    at = date if isinstance(date, str) else now
    version = source.get(keys["terms_version"])
    version = version if isinstance(version, str) else ""
    withdrawn_at = source.get(keys["withdrawn_at"])
    note = f"from user_metadata; recorded method: {source.get(keys['method'])}"
    given = source[keys["given"]] is True or bool(withdrawn_at)
    events = [
        ledgers.NewEvent(
            purpose=purpose,
            decision="given" if given else "declined",
            version=version,
            at=at,
            method="migrated",
            reason=note,
        )
    ]
    if withdrawn_at:
        events.append(
            ledgers.NewEvent(
                purpose=purpose,
                decision="withdrawn",
                version=version,
                at=withdrawn_at if isinstance(withdrawn_at, str) else now,
                method="migrated",
                reason=note,
            )
        )
    return events


@dataclass(frozen=True)
class Recorded:
    before: dict[str, Any]  # the user as read
    after: dict[str, Any]  # the user as the PATCH answered
    ledger: dict[str, Any]


def record_decisions(
    client: TenantClient,
    policy: ConsentPolicy,
    user_id: str,
    decisions: Sequence[ledgers.NewEvent],
    key: bytes,
    *,
    now: str,
) -> Recorded:
    """Append ``decisions`` to the user's ledger (migrating a seed record first)."""
    user = client.get_user(user_id, fields=USER_FIELDS)
    current = ledgers.read(user.get("app_metadata"), policy.ledger.key)
    pending = list(decisions)
    if current is None:
        pending = migrated_events(user.get("user_metadata"), policy, now) + pending
    ledger = ledgers.append(current, pending, key, max_events=policy.ledger.max_events)
    mirror = mirror_patch(user.get("user_metadata"), ledger, policy)
    after = client.update_user_consent(user_id, {policy.ledger.key: ledger}, mirror)
    return Recorded(before=user, after=after, ledger=ledger)
