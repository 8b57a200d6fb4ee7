"""``consent export --format iso27560``: one consent record per user and purpose.

Shaped after ISO/IEC TS 27560:2023 (Privacy technologies, consent record
information structure) as the W3C Data Privacy Vocabularies and Controls
Community Group implements it ("Consent Records and Receipts as per ISO/IEC
TS 27560:2023 using DPV", https://w3id.org/dpv/guides/consent-27560, profile
https://w3id.org/dpv/schema/iso-27560#record). The standard's four parts are
the four top-level objects; names are snake_case JSON, the DPV terms they
carry are named in the values (``dpv:ConsentGiven``, ``eu-gdpr:A6-1-a``):

``header``
    ``schema_version`` (the DPV profile IRI), ``record_id`` (a UUID derived
    from the user and the purpose: the same record gets the same id in every
    export), ``subject`` (the PII principal: Auth0 user_id and email),
    ``created_at`` / ``updated_at`` (the purpose's first and latest event
    kept), ``exported_at``, and ``evidence``: ``ledger`` (the hash-chained
    ledger in app_metadata), ``seed-record`` (no ledger yet: the seed
    user_metadata record as it would be migrated, unsigned) or ``none``.
``processing``
    ``purpose``, ``title`` (per language), ``version`` (current), ``required``
    (dpv:hasNecessity), ``lawful_basis`` (GDPR Art. 6(1), with its DPV
    ``lawful_basis_ref``), ``retention`` (ISO 8601 duration,
    dpv:StorageDuration), ``notice`` (url and the sha256 per language of the
    current version's text), ``status`` (``ledger.needed``: valid, missing,
    declined, withdrawn, outdated), ``consent_status`` (the DPV status of the
    latest decision), and ``text_sha256`` / ``language`` of the text that
    decision was made on.
``parties``
    ``controller``: tenant.yaml's consent.controller (name, contact).
``events``
    The purpose's ledger events, oldest first: ``seq``, ``type`` (given,
    declined, withdrawn, re-given), ``consent_status`` (its DPV term),
    ``time``, ``method``, ``version``, ``given``, ``text_sha256``,
    ``language``, ``ip``, ``reason``, ``prev``, ``hash``, ``mac``: every field
    of the stored event (``type`` is ``event``, ``time`` is ``at``, the
    purpose is the record's), so anyone can recompute its hash and, with the
    key, its mac. ``summary``: the ledger's signed summary when older events
    were compacted (whole: its signature covers every purpose), else null.

No secret is in a record: macs and the summary signature are outputs of the
ledger key, never the key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from auth0_actions.config.model import ConsentPolicy, Purpose
from auth0_actions.consent.export_rows import BASE_FIELDS
from auth0_actions.consent.record import Status
from auth0_actions.consent.user_view import ConsentView, consent_view

SCHEMA_VERSION = "https://w3id.org/dpv/schema/iso-27560#record"
# GDPR Article 6(1)(a)-(f) as the DPV's eu-gdpr extension names them.
LAWFUL_BASIS_REFS: Mapping[str, str] = {
    "consent": "eu-gdpr:A6-1-a",
    "contract": "eu-gdpr:A6-1-b",
    "legal-obligation": "eu-gdpr:A6-1-c",
    "vital-interests": "eu-gdpr:A6-1-d",
    "public-task": "eu-gdpr:A6-1-e",
    "legitimate-interests": "eu-gdpr:A6-1-f",
}
# A ledger event kind -> the DPV consent status it puts the consent in.
DPV_STATUS: Mapping[str, str] = {
    "given": "dpv:ConsentGiven",
    "re-given": "dpv:RenewedConsentGiven",
    "declined": "dpv:ConsentRefused",
    "withdrawn": "dpv:ConsentWithdrawn",
}
DPV_UNKNOWN = "dpv:ConsentUnknown"
_RECORD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/dpv/schema/iso-27560#record")


def record_id(user_id: str, purpose: str) -> str:
    """The record's id: stable across exports, unique per user and purpose."""
    name = user_id + "\n" + purpose
    return f"urn:uuid:{uuid.uuid5(_RECORD_NAMESPACE, name)}"


def record_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger event as a 27560 event (every stored field, renamed where 27560 names it)."""
    kind = event.get("event")
    return {
        "seq": event.get("seq"),
        "type": kind,
        "consent_status": DPV_STATUS.get(str(kind), DPV_UNKNOWN),
        "time": event.get("at"),
        "method": event.get("method"),
        "version": event.get("version"),
        "given": event.get("given"),
        "text_sha256": event.get("text_sha256"),
        "language": event.get("language"),
        "ip": event.get("ip"),
        "reason": event.get("reason"),
        "prev": event.get("prev"),
        "hash": event.get("hash"),
        "mac": event.get("mac"),
    }


def consent_record(
    user: Mapping[str, Any],
    view: ConsentView,
    purpose: Purpose,
    policy: ConsentPolicy,
    *,
    texts: Mapping[str, str],
    now: str,
) -> dict[str, Any]:
    """One user's record for one purpose."""
    user_id = str(user.get("user_id") or "")
    events = view.events(purpose.id)
    latest = view.state.get(purpose.id)
    latest = latest if isinstance(latest, Mapping) else {}
    last_kept = events[-1] if events else {}
    summary = view.summary()
    created = summary.get("first_at") if summary is not None else None
    return {
        "header": {
            "schema_version": SCHEMA_VERSION,
            "record_id": record_id(user_id, purpose.id),
            "subject": {"id": user_id, "email": user.get("email")},
            "created_at": created or (events[0].get("at") if events else latest.get("at")),
            "updated_at": latest.get("at"),
            "exported_at": now,
            "evidence": view.source,
        },
        "processing": {
            "purpose": purpose.id,
            "title": dict(purpose.title),
            "version": purpose.version,
            "required": purpose.required,
            "lawful_basis": purpose.lawful_basis,
            "lawful_basis_ref": LAWFUL_BASIS_REFS[purpose.lawful_basis],
            "retention": purpose.retention,
            "notice": {"url": purpose.url, "text_sha256": dict(texts)},
            "status": view.status(purpose.id, purpose.version),
            "consent_status": DPV_STATUS.get(str(latest.get("event")), DPV_UNKNOWN),
            "text_sha256": latest.get("text_sha256"),
            # The state keeps no language; the latest event, when still kept, does.
            "language": last_kept.get("language")
            if last_kept and last_kept.get("seq") == latest.get("seq")
            else None,
        },
        "parties": {
            "controller": {"name": policy.controller.name, "contact": policy.controller.contact},
        },
        "events": [record_event(e) for e in events],
        "summary": dict(summary) if summary is not None else None,
    }


class Iso27560Rows:
    """Exported users -> JSON Lines, one 27560 consent record per user and purpose."""

    file_format = "iso27560"

    def __init__(
        self,
        policy: ConsentPolicy,
        texts: Mapping[str, Mapping[str, str]],
        *,
        now: str,
    ) -> None:
        self.policy = policy
        self.texts = texts  # purpose -> language -> sha256 of the current version's text
        self.now = now

    @property
    def job_fields(self) -> list[str]:
        return list(BASE_FIELDS)

    def header(self) -> bytes:
        return b""

    def rows(self, user: Mapping[str, Any]) -> tuple[bytes, dict[str, Status], str]:
        view = consent_view(user, self.policy, self.now)
        lines: list[bytes] = []
        statuses: dict[str, Status] = {}
        for purpose in self.policy.purposes:
            record = consent_record(
                user,
                view,
                purpose,
                self.policy,
                texts=self.texts.get(purpose.id, {}),
                now=self.now,
            )
            statuses[purpose.id] = record["processing"]["status"]
            lines.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode())
        return b"\n".join(lines) + b"\n", statuses, view.source
