"""The seed's consent record in user_metadata: one purpose, one current state.

Before the ledger (:mod:`auth0_actions.consent.ledger`) the consent Actions
kept a single record in user_metadata; it lives on as the ledger's readable
mirror (:mod:`auth0_actions.consent.mirror`) and as the evidence of users
whose ledger has not started yet (:func:`auth0_actions.consent.writer.migrated_events`).
This module reads it, and builds one (seeding a project, tests), for both
layouts of tenant.yaml's ``consent.metadata``:

* ``root``: the record's properties are top-level keys of user_metadata
  (``consentGiven``, ``consentDate``, ...). Auth0 merges a PATCH of
  user_metadata key by key, so each property is written on its own and
  ``null`` deletes one.
* ``nested``: one object under ``object_key`` (``consent: {given, ...}``).
  Auth0 REPLACES a nested object on PATCH, so the object is always written
  whole, keeping any property of it this code does not manage.

Nothing judges consent from this record when a ledger exists: users can
edit user_metadata (:mod:`auth0_actions.consent.status` judges per purpose).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from auth0_actions.clock import iso_from_datetime
from auth0_actions.config.model import ConsentPolicy

Status = Literal["valid", "missing", "declined", "withdrawn", "outdated"]
# The order reports and summaries list statuses in: the valid ones last.
STATUSES: tuple[Status, ...] = ("missing", "declined", "withdrawn", "outdated", "valid")
# Columns of :func:`flat_fields`, in order (CSV export, tables).
FLAT_COLUMNS: tuple[str, ...] = (
    "consent.status",
    "consent.given",
    "consent.date",
    "consent.terms_version",
    "consent.text_url",
    "consent.method",
    "consent.ip",
    "consent.withdrawn_at",
    "consent.withdrawn_reason",
)

# A JSON value as found in user_metadata; record properties are kept as
# stored (the Actions compare them with ===, so "1" and 1 must stay apart).
JsonValue = Any


@dataclass(frozen=True)
class RecordLayout:
    """Where the record lives in user_metadata and under which property names."""

    layout: Literal["root", "nested"]
    object_key: str
    keys: Mapping[str, str]  # record field (given, date, ...) -> property name
    reason_key: str

    @classmethod
    def from_policy(cls, policy: ConsentPolicy) -> RecordLayout:
        meta = policy.metadata
        return cls(
            layout=meta.layout,
            object_key=meta.object_key,
            keys=meta.resolved_keys(),
            reason_key=meta.resolved_keys()["withdrawn_reason"],
        )

    @property
    def nested(self) -> bool:
        return self.layout == "nested"

    def metadata_keys(self) -> tuple[str, ...]:
        """The top-level user_metadata keys the record occupies (all a patch may touch)."""
        if self.nested:
            return (self.object_key,)
        return tuple(dict.fromkeys((*self.keys.values(), self.reason_key)))

    def export_fields(self) -> list[str]:
        """Export-job field names holding the record (``user_metadata.<key>``)."""
        return [f"user_metadata.{key}" for key in self.metadata_keys()]

    def source(self, user_metadata: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """The object the record's properties are read from, if there is one."""
        if not isinstance(user_metadata, Mapping):
            return None
        if not self.nested:
            return user_metadata
        inner = user_metadata.get(self.object_key)
        return inner if isinstance(inner, Mapping) else None


def _layout(policy: ConsentPolicy | RecordLayout) -> RecordLayout:
    return policy if isinstance(policy, RecordLayout) else RecordLayout.from_policy(policy)


def js_truthy(value: JsonValue) -> bool:
    """JavaScript truthiness of a JSON value (``{}`` and ``[]`` are truthy there)."""
    if value is None or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def utc_now_iso(now: datetime | None = None) -> str:
    """The instant as JavaScript's ``new Date().toISOString()`` writes it."""
    return iso_from_datetime(now or datetime.now(UTC))


@dataclass(frozen=True)
class ConsentRecord:
    """One user's consent record (the fields of the seed Actions' ``readConsentRecord``)."""

    given: bool
    date: JsonValue = None  # ISO-8601 UTC, when the decision was recorded
    terms_version: JsonValue = None
    text_url: JsonValue = None  # URL of the terms text shown
    method: JsonValue = None  # signup | redirect | api
    ip: JsonValue = None
    withdrawn_at: JsonValue = None
    withdrawn_reason: JsonValue = None  # the reason given with the withdrawal, if any

    # -- reading ---------------------------------------------------------------
    @classmethod
    def from_metadata(
        cls, user_metadata: Mapping[str, Any] | None, policy: ConsentPolicy | RecordLayout
    ) -> ConsentRecord | None:
        """The record in user_metadata, or None when there is none (no boolean ``given``)."""
        layout = _layout(policy)
        source = layout.source(user_metadata)
        if source is None or not isinstance(source.get(layout.keys["given"]), bool):
            return None
        keys = layout.keys
        withdrawn_at = source.get(keys["withdrawn_at"])
        return cls(
            given=source[keys["given"]],
            date=source.get(keys["date"]),
            terms_version=source.get(keys["terms_version"]),
            text_url=source.get(keys["text_url"]),
            method=source.get(keys["method"]),
            ip=source.get(keys["ip"]),
            withdrawn_at=withdrawn_at,
            withdrawn_reason=source.get(layout.reason_key) if js_truthy(withdrawn_at) else None,
        )

    def status(self, terms_version: str) -> Status:
        """The Actions' ``consentNeeded`` for an existing record ("valid" for null)."""
        if js_truthy(self.withdrawn_at):
            return "withdrawn"
        if self.given is not True:
            return "declined"
        if self.terms_version != terms_version:  # === in JS: 1 is not "1"
            return "outdated"
        return "valid"

    # -- writing ---------------------------------------------------------------
    def properties(self, layout: RecordLayout) -> dict[str, JsonValue]:
        """Property name -> value, as ``consentRecordUpdate`` builds its ``record``."""
        keys = layout.keys
        return {
            keys["given"]: self.given,
            keys["date"]: self.date,
            keys["terms_version"]: self.terms_version,
            keys["text_url"]: self.text_url,
            keys["method"]: self.method,
            keys["ip"]: self.ip if js_truthy(self.ip) else None,
        }

    def to_metadata_patch(
        self,
        user_metadata: Mapping[str, Any] | None,
        policy: ConsentPolicy | RecordLayout,
    ) -> dict[str, JsonValue]:
        """The user_metadata PATCH body that stores this record; only the record's key(s).

        ``user_metadata`` is the user's current metadata: in the nested layout
        the object is written whole, so properties of it this code does not
        manage are carried over from it.
        """
        layout = _layout(policy)
        withdrawal = {
            layout.keys["withdrawn_at"]: self.withdrawn_at,
            layout.reason_key: self.withdrawn_reason,
        }
        if not layout.nested:
            # Root: each property on its own; null deletes the key.
            return {**self.properties(layout), **withdrawal}
        current = layout.source(user_metadata) or {}
        merged: dict[str, JsonValue] = {**current, **self.properties(layout)}
        for key, value in withdrawal.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return {layout.object_key: merged}


def record_status(record: ConsentRecord | None, terms_version: str) -> Status:
    """The Actions' ``consentNeeded``: "missing" when there is no record."""
    return "missing" if record is None else record.status(terms_version)


def status_of(
    user_metadata: Mapping[str, Any] | None,
    policy: ConsentPolicy | RecordLayout,
    terms_version: str,
) -> Status:
    return record_status(ConsentRecord.from_metadata(user_metadata, policy), terms_version)


def flat_fields(
    record: ConsentRecord | None, terms_version: str | None = None
) -> dict[str, JsonValue]:
    """Column -> value for one user, in :data:`FLAT_COLUMNS` order (CSV export, tables).

    ``consent.status`` is filled when ``terms_version`` is given (else None);
    a user without a record gets None everywhere else. Values are left as
    stored (a bool stays a bool): formatting is the writer's business.
    """
    status = record_status(record, terms_version) if terms_version is not None else None
    if record is None:
        values: tuple[JsonValue, ...] = (None,) * 8
    else:
        values = (
            record.given,
            record.date,
            record.terms_version,
            record.text_url,
            record.method,
            record.ip,
            record.withdrawn_at,
            record.withdrawn_reason,
        )
    return dict(zip(FLAT_COLUMNS, (status, *values), strict=True))
