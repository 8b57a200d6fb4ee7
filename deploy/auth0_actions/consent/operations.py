"""consent show / grant / withdraw: one user's record, read and changed through the API.

Grant and withdraw are a read-modify-write of user_metadata: GET the user,
build the new record with :mod:`auth0_actions.consent.record`, PATCH only the
record's key(s). Auth0 merges a user_metadata PATCH at the top level, so no
other key can be dropped; a nested record is sent whole (Auth0 replaces
nested objects), carrying over properties of it this code does not manage.

Concurrency: Auth0's users API has no ETag or conditional write, so a
read-modify-write cannot be made atomic. If a login Action (or another
operator) writes the consent record between our GET and our PATCH, the
last writer wins: in the nested layout our whole object replaces theirs, in
the root layout the properties are overwritten one by one. Keys outside the
record are never at risk, because they are never sent. The window is one
round trip; the result is read back from the PATCH answer, so what is
reported is what the tenant stored.

Both operations are idempotent: granting a valid consent, or withdrawing a
withdrawn one, writes nothing (the existing record is better evidence than
a new one: it keeps the original date, method and IP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent.record import (
    ConsentRecord,
    RecordLayout,
    Status,
    flat_fields,
    record_status,
)
from auth0_actions.errors import Auth0ActionsError, TenantError
from auth0_actions.tenant_client import TenantClient

USER_FIELDS = ("user_id", "email", "user_metadata")
MAX_REASON_LENGTH = 500


class ConsentError(Auth0ActionsError):
    """A consent command was refused: no such user, bad input."""


@dataclass(frozen=True)
class UserConsent:
    """One user's consent as the tenant stores it, judged against a terms version."""

    user_id: str
    email: str | None
    record: ConsentRecord | None
    status: Status

    @classmethod
    def of(cls, user: Mapping[str, Any], layout: RecordLayout, terms_version: str) -> UserConsent:
        record = ConsentRecord.from_metadata(user.get("user_metadata") or {}, layout)
        email = user.get("email")
        return cls(
            user_id=str(user.get("user_id", "")),
            email=email if isinstance(email, str) else None,
            record=record,
            status=record_status(record, terms_version),
        )

    def as_json(self) -> dict[str, Any]:
        """``{user_id, email, status, record}``; record is null when there is none,
        else its fields (given, date, terms_version, text_url, method, ip,
        withdrawn_at, withdrawn_reason) as stored."""
        fields = flat_fields(self.record)
        record = (
            None
            if self.record is None
            else {
                column.removeprefix("consent."): value
                for column, value in fields.items()
                if column != "consent.status"
            }
        )
        return {
            "user_id": self.user_id,
            "email": self.email,
            "status": self.status,
            "record": record,
        }


@dataclass(frozen=True)
class ConsentChange:
    """What grant or withdraw did to one user."""

    operation: Literal["grant", "withdraw"]
    before: UserConsent
    after: UserConsent
    changed: bool  # False: already in that state, nothing written
    patch: dict[str, Any]  # the user_metadata PATCH body sent ({} when unchanged)

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "changed": self.changed,
            "before": self.before.as_json(),
            "after": self.after.as_json(),
            "patched_keys": sorted(self.patch),
        }


def show(
    client: TenantClient,
    policy: ConsentPolicy,
    *,
    email: str | None = None,
    user_id: str | None = None,
    terms_version: str | None = None,
) -> list[UserConsent]:
    """Every user matching the email (one per connection), or the one user with the id."""
    if (email is None) == (user_id is None):
        raise ConsentError("give exactly one of --email and --user-id")
    layout = RecordLayout.from_policy(policy)
    version = terms_version or policy.record_purpose.version
    if email is not None:
        users = client.users_by_email(email, fields=USER_FIELDS)
    else:
        users = [_get_user(client, user_id or "")]
    return [UserConsent.of(user, layout, version) for user in users]


def grant(
    client: TenantClient,
    policy: ConsentPolicy,
    user_id: str,
    *,
    now: datetime | None = None,
) -> ConsentChange:
    """Record consent to the current terms, given through the API (method "api")."""
    layout = RecordLayout.from_policy(policy)
    user = _get_user(client, user_id)
    before = UserConsent.of(user, layout, policy.record_purpose.version)
    if before.status == "valid":
        return ConsentChange("grant", before, before, changed=False, patch={})
    record = ConsentRecord.granted(policy, now=now)
    return _write(client, layout, policy, user, before, record, "grant")


def withdraw(
    client: TenantClient,
    policy: ConsentPolicy,
    user_id: str,
    *,
    reason: str | None = None,
    now: datetime | None = None,
) -> ConsentChange:
    """Record a withdrawal now (method "api", ``withdrawn_at``, the reason if given)."""
    if reason is not None:
        reason = reason.strip()
        if not reason:
            raise ConsentError("--reason: empty; leave it out or give a reason")
        if len(reason) > MAX_REASON_LENGTH:
            raise ConsentError(f"--reason: longer than {MAX_REASON_LENGTH} characters")
    layout = RecordLayout.from_policy(policy)
    user = _get_user(client, user_id)
    before = UserConsent.of(user, layout, policy.record_purpose.version)
    if before.status == "withdrawn":
        return ConsentChange("withdraw", before, before, changed=False, patch={})
    # No record yet: the withdrawal is recorded all the same (an objection
    # made before consent was ever asked for), with nothing consented to.
    current = before.record or ConsentRecord(given=False)
    record = current.withdrawn(reason=reason, now=now)
    return _write(client, layout, policy, user, before, record, "withdraw")


def _write(
    client: TenantClient,
    layout: RecordLayout,
    policy: ConsentPolicy,
    user: Mapping[str, Any],
    before: UserConsent,
    record: ConsentRecord,
    operation: Literal["grant", "withdraw"],
) -> ConsentChange:
    patch = record.to_metadata_patch(user.get("user_metadata") or {}, layout)
    # Only the record's own key(s) may leave this module: anything else would
    # overwrite (or, as null, delete) metadata the record does not own.
    stray = set(patch) - set(layout.metadata_keys())
    if stray:
        raise AssertionError(f"consent patch would touch other keys: {sorted(stray)}")
    updated = client.update_user_metadata(before.user_id, patch)
    after = UserConsent.of(updated, layout, policy.record_purpose.version)
    return ConsentChange(operation, before, after, changed=True, patch=patch)


def _get_user(client: TenantClient, user_id: str) -> dict[str, Any]:
    if not user_id.strip():
        raise ConsentError("--user-id: empty")
    try:
        return client.get_user(user_id, fields=USER_FIELDS)
    except TenantError as error:
        if error.status == 404:
            raise ConsentError(f"no user with id {user_id!r} in this tenant") from None
        raise
