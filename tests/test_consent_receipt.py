"""`consent receipt`: the signed receipt of each decision, and checking one a user presents.

The receipts are the ones the self-service page gives (the same bytes for the
same event); a presented receipt is valid only while its signature verifies
with the ledger's key and its event is still in its user's ledger with the
same hash (Kantara Consent Receipt v1.1; ISO/IEC TS 27560).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth0_actions.config import load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.receipt_key import ReceiptKey, receipt_key
from auth0_actions.consent.receipts import issue_receipt, receipt_service
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.environment import open_environment
from auth0_actions.secrets import LocalSecretStore

USER = "auth0|receipt-user"
TERMS = "2026-11-01"


def _key(project: Path) -> bytes:
    store = LocalSecretStore(project / ".auth0-local")
    return store.get_or_create(["CONSENT_LEDGER_SECRET"])["CONSENT_LEDGER_SECRET"].reveal().encode()


def _receipt_key(project: Path) -> ReceiptKey:
    environment = open_environment(load_tenant(project / "tenant.yaml"), "local")
    return receipt_key(environment)


def _event(purpose: str, decision: str, at: str) -> ledgers.NewEvent:
    return ledgers.NewEvent(
        purpose=purpose,
        decision=decision,  # type: ignore[arg-type]
        version=TERMS,
        at=at,
        method="page",
        text_sha256="ab" * 32,
        language="en",
        ip="203.0.113.9",
    )


@pytest.fixture
def seeded(project: Path) -> dict[str, Any]:
    ledger = ledgers.append(
        None,
        [
            _event("terms", "given", "2026-11-05T10:00:00.000Z"),
            _event("marketing", "given", "2026-11-05T10:00:00.000Z"),
            _event("marketing", "withdrawn", "2026-12-01T08:30:00.000Z"),
        ],
        _key(project),
        max_events=20,
    )
    tenant = LocalTenant(project)
    try:
        tenant.seed(
            [
                {
                    "user_id": USER,
                    "email": "receipt@example.com",
                    "connection": "Username-Password-Authentication",
                    "app_metadata": {"consent_ledger": ledger},
                }
            ]
        )
    finally:
        tenant.close()
    return ledger


def test_a_user_gets_one_receipt_per_decision(project: Path, cli: Any, seeded: Any) -> None:
    run = cli("consent", "receipt", "--user-id", USER, "-o", "json")

    assert run.code == 0, run.err
    receipts = run.json()["receipts"]
    assert [(r["seq"], r["purpose"], r["event"]) for r in receipts] == [
        (1, "terms", "given"),
        (2, "marketing", "given"),
        (3, "marketing", "withdrawn"),
    ]
    policy = load_tenant(project / "tenant.yaml").environment("local").consent
    service = receipt_service("local", local=True)
    key = _receipt_key(project)
    public = cli("consent", "receipt", "--public-key", "-o", "json").json()
    [jwk] = public["keys"]
    assert "d" not in jwk  # the public part only
    for receipt, event in zip(receipts, seeded["events"], strict=True):
        # The same bytes the self-service page gives for this event.
        assert receipt["receipt"] == issue_receipt(event, policy, USER, service, key)
        # Anyone verifies it with the published public key (EdDSA).
        claims = jwt.decode(
            receipt["receipt"],
            jwt.PyJWK(jwk).key,
            algorithms=["EdDSA"],
            options={"verify_iat": False},
        )
        assert claims["sub"] == USER
        assert claims["jti"] == event["hash"]
        assert claims["piiControllers"][0]["piiController"] == "Example Ltd"
        assert "203.0.113.9" not in json.dumps(claims)  # never the IP address
    assert _key(project).decode() not in run.out + run.err
    pem = (project / ".auth0-local" / "receipt-key.pem").read_text()
    assert pem.splitlines()[1] not in run.out + run.err + json.dumps(public)
    assert (project / ".auth0-local" / "receipt-key.pem").stat().st_mode & 0o777 == 0o600

    one = cli("consent", "receipt", "--user-id", USER, "--seq", "3", "-o", "json")
    assert [r["seq"] for r in one.json()["receipts"]] == [3]
    missing = cli("consent", "receipt", "--user-id", USER, "--seq", "9")
    assert missing.code == 1
    assert "no kept ledger event 9" in missing.err


def test_a_presented_receipt_is_checked_against_the_ledger(
    project: Path, cli: Any, seeded: Any, tmp_path: Path
) -> None:
    token = cli("consent", "receipt", "--user-id", USER, "--seq", "2", "-o", "json").json()[
        "receipts"
    ][0]["receipt"]
    presented = tmp_path / "receipt.jwt"
    presented.write_text(token + "\n", encoding="utf-8")

    valid = cli("consent", "receipt", "--check", str(presented), "-o", "json")
    assert valid.code == 0, valid.err
    assert valid.json() == {
        "valid": True,
        "user_id": USER,
        "purpose": "marketing",
        "seq": 2,
        "event_hash": seeded["events"][1]["hash"],
    }

    # Re-signed by someone without the key, under its key id: refused.
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(
        {**claims, "iat": claims["iat"] + 1},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": jwt.get_unverified_header(token)["kid"]},
    )
    presented.write_text(forged, encoding="utf-8")
    refused = cli("consent", "receipt", "--check", str(presented))
    assert refused.code == 1
    assert "signature" in refused.err

    # A genuine receipt whose event was since rewritten in the ledger: refused.
    tenant = LocalTenant(project)
    try:
        user = tenant.store.get("user", USER)
        assert user is not None
        edited = json.loads(json.dumps(user))
        edited["app_metadata"]["consent_ledger"]["events"][1]["at"] = "2026-11-06T00:00:00.000Z"
        tenant.store.put("user", USER, edited)
    finally:
        tenant.close()
    presented.write_text(token, encoding="utf-8")
    stale = cli("consent", "receipt", "--check", str(presented))
    assert stale.code == 1

    presented.write_text("not a receipt", encoding="utf-8")
    garbage = cli("consent", "receipt", "--check", str(presented))
    assert garbage.code == 1
    assert "not a JWT" in garbage.err
