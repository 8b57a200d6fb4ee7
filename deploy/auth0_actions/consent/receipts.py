"""Consent receipts: one signed JWT per ledger event, for the user to keep.

A receipt is what GDPR Art. 7(1) evidence looks like from the user's side:
what they decided, when, how, on which text, and who to ask about it. It is
a JWT signed with the controller's Ed25519 key (JWS ``EdDSA``, RFC 8037;
``kid`` the key's RFC 7638 thumbprint, :mod:`auth0_actions.consent.receipt_key`),
so anyone holding the published public key can verify it, the user included.
It is deterministic (Ed25519 signatures are; ``iat`` is the event's time,
``jti`` its hash): the same event always gives the same receipt, so one can
be issued again at any time and still be the same bytes.

Its claims carry two shapes of the same facts:

* the Kantara Initiative Consent Receipt Specification v1.1 fields
  (https://kantarainitiative.org/file-downloads/consent-receipt-specification-v1-1-0/):
  ``version``, ``jurisdiction``, ``consentTimestamp`` (seconds since the
  epoch), ``collectionMethod``, ``consentReceiptID``, ``language``,
  ``piiPrincipalId``, ``piiControllers`` [{piiController, contact, email}],
  ``policyUrl``, ``services`` [{service, purposes [{purpose, purposeCategory,
  consentType, primaryPurpose, termination, thirdPartyDisclosure}]}],
  ``sensitive``;
* an ISO/IEC TS 27560:2023 consent record (``iso27560``), in the four parts
  the DPV guide to it names (https://w3id.org/dpv/guides/consent-27560):
  ``header`` (schema version, record id, subject), ``processing`` (purpose
  id and version, lawful basis, retention), ``parties`` (the controller) and
  ``event`` (type, time, method, text sha256, event hash).

:func:`verify_receipt` checks a receipt both ways: its signature, and that
the event it names is still in the user's ledger with that hash (an event
folded into the ledger's signed summary is reported as such: its hash is no
longer kept). A receipt never carries the user's IP address.
"""

from __future__ import annotations

import calendar
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent.ledger import event_hash
from auth0_actions.consent.receipt_key import ReceiptKey

# The local tenant's hostname (emulator.app.DEFAULT_DOMAIN), without importing the emulator.
LOCAL_TENANT_HOSTNAME = "local.auth0-actions.test"
KANTARA_VERSION = "KI-CR-v1.1.0"
ISO_27560_SCHEMA = "ISO/IEC TS 27560:2023"
# GDPR: the receipts' jurisdiction is the Regulation's territory.
JURISDICTION = "EU"
# Kantara's collectionMethod is free text: say how each method collected it.
COLLECTION_METHODS: dict[str, str] = {
    "signup": "sign-up form",
    "page": "consent page at sign-in",
    "self-service": "self-service page",
    "api": "operator on the user's request",
    "migrated": "imported from an earlier consent record",
}
# GDPR Art. 6(1) basis -> Kantara's consentType: explicit consent, or none needed.
_CONSENT_TYPES = {"consent": "EXPLICIT"}


class ReceiptRejected(Exception):
    """The receipt does not prove its event; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _epoch(at: str) -> int:
    """Seconds since the epoch of an event time (ISO 8601, UTC, as toISOString writes)."""
    try:
        return calendar.timegm(time.strptime(at[:19], "%Y-%m-%dT%H:%M:%S"))
    except (TypeError, ValueError):
        raise ValueError(f"not an event time: {at!r}") from None


def receipt_claims(
    event: Mapping[str, Any], policy: ConsentPolicy, user_id: str, service: str
) -> dict[str, Any]:
    """The claims of the receipt for ``event`` of ``user_id``'s ledger.

    ``service`` names what the user signed in to (the tenant's hostname).
    """
    purpose_id = str(event["purpose"])
    purpose = policy.purpose(purpose_id)
    language = event.get("language") or policy.languages[0]
    title = purpose.title.get(language) if purpose else None
    retention = purpose.retention if purpose else None
    lawful_basis = purpose.lawful_basis if purpose else None
    when = _epoch(str(event["at"]))
    record_id = str(event["hash"])
    controller = policy.controller
    return {
        "iss": service,
        "sub": user_id,
        "iat": when,
        "jti": record_id,
        # Kantara Consent Receipt v1.1
        "version": KANTARA_VERSION,
        "jurisdiction": JURISDICTION,
        "consentTimestamp": when,
        "collectionMethod": COLLECTION_METHODS.get(str(event["method"]), str(event["method"])),
        "consentReceiptID": record_id,
        "language": language,
        "piiPrincipalId": user_id,
        "piiControllers": [
            {
                "piiController": controller.name,
                "contact": controller.contact,
                "email": controller.contact,
            }
        ],
        "policyUrl": policy.privacy_url,
        "services": [
            {
                "service": service,
                "purposes": [
                    {
                        "purpose": title or purpose_id,
                        "purposeCategory": [purpose_id],
                        "consentType": _CONSENT_TYPES.get(str(lawful_basis), "NOT_REQUIRED"),
                        "primaryPurpose": bool(purpose and purpose.required),
                        "termination": retention,
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        # ISO/IEC TS 27560 consent record
        "iso27560": {
            "header": {
                "schema_version": ISO_27560_SCHEMA,
                "record_id": record_id,
                "subject": user_id,
            },
            "processing": {
                "purpose": purpose_id,
                "purpose_version": event.get("version"),
                "lawful_basis": lawful_basis,
                "retention": retention,
            },
            "parties": [
                {"role": "controller", "name": controller.name, "contact": controller.contact}
            ],
            "event": {
                "type": event["event"],
                "given": event.get("given") is True,
                "time": event["at"],
                "method": event["method"],
                "sequence": event["seq"],
                "text_sha256": event.get("text_sha256"),
                "event_hash": record_id,
            },
        },
    }


def receipt_service(domain: str, *, local: bool) -> str:
    """What receipts name as the service (``iss``): the tenant's hostname.

    The same for every issuer (the self-service page, ``consent receipt``), so
    one event always gives one receipt. The local tenant's is the hostname its
    Actions see (event.request.hostname).
    """
    if local:
        return LOCAL_TENANT_HOSTNAME
    return (urlsplit(domain).hostname or domain) if "://" in domain else domain


def issue_receipt(
    event: Mapping[str, Any], policy: ConsentPolicy, user_id: str, service: str, key: ReceiptKey
) -> str:
    """The receipt of ``event`` (the same bytes every time for the same event)."""
    claims = receipt_claims(event, policy, user_id, service)
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})


@dataclass(frozen=True)
class VerifiedReceipt:
    user_id: str
    purpose: str
    seq: int
    event_hash: str
    claims: dict[str, Any]


def verify_receipt(
    token: str, key: ReceiptKey, ledger: Mapping[str, Any] | None
) -> VerifiedReceipt:
    """The receipt's event, once its signature and the user's ledger both vouch for it.

    ``ledger`` is the user's stored ledger (the receipt's ``sub``). Raises
    :class:`ReceiptRejected` naming what does not hold.
    """
    try:
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public,
            algorithms=["EdDSA"],
            options={"require": ["iat", "jti", "sub"], "verify_iat": False, "verify_aud": False},
        )
    except jwt.InvalidTokenError as error:
        raise ReceiptRejected(f"the receipt's signature or form is not valid ({error})") from None
    if header.get("kid") != key.kid:
        raise ReceiptRejected("the receipt names another signing key than this controller's")
    event_claims = (claims.get("iso27560") or {}).get("event") or {}
    seq, digest = event_claims.get("sequence"), str(claims["jti"])
    if not isinstance(seq, int) or not isinstance(ledger, Mapping):
        raise ReceiptRejected("the user has no ledger holding this receipt's event")
    for event in ledger.get("events") or []:
        if isinstance(event, Mapping) and event.get("seq") == seq:
            # The stored event must still be what the receipt names: its stored hash,
            # and its content hashing to it (an edit that kept the hash is caught too).
            if not hmac.compare_digest(str(event.get("hash")), digest) or not hmac.compare_digest(
                event_hash(event), digest
            ):
                raise ReceiptRejected(f"event {seq} of the ledger differs from the receipt's")
            return VerifiedReceipt(str(claims["sub"]), str(event["purpose"]), seq, digest, claims)
    summary = ledger.get("summary")
    through = summary.get("through_seq") if isinstance(summary, Mapping) else None
    if isinstance(through, int) and seq <= through:
        raise ReceiptRejected(
            f"event {seq} was folded into the ledger's signed summary; its hash is no "
            "longer kept, so the ledger cannot confirm it"
        )
    raise ReceiptRejected(f"the ledger has no event {seq}")
