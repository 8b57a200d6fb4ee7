"""consent export from the ledger in app_metadata: per-purpose status, and --format iso27560.

Users are seeded into the local tenant with ledgers written by the ledger's
reference implementation, keyed with the local environment's
CONSENT_LEDGER_SECRET; the CLI runs a real users-export job against the
embedded local tenant and the files are read back.

ISO/IEC TS 27560 shape as the W3C DPVCG guide implements it:
https://w3id.org/dpv/guides/consent-27560 (header, processing, parties, events).
Auth0 documents user_metadata as editable by users and "not a secure data
store", which is why the ledger lives in app_metadata:
https://auth0.com/docs/manage-users/user-accounts/metadata
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.texts import text_hashes
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.secrets import LOCAL_STATE_DIR, LocalSecretStore

DB = "Username-Password-Authentication"
TERMS = "2026-11-01"  # the scaffold's version of both purposes
OLD = "2025-01-01"
SHA = "a" * 64


def event(
    purpose: str, decision: ledgers.Decision, at: str, version: str = TERMS, method: str = "page"
) -> ledgers.NewEvent:
    return ledgers.NewEvent(
        purpose=purpose,
        decision=decision,
        version=version,
        at=at,
        method=method,
        text_sha256=None if decision == "withdrawn" else SHA,
        language="de" if method == "page" else "en",
        ip="203.0.113.9",
    )


@pytest.fixture
def key(project: Path) -> bytes:
    store = LocalSecretStore(project / LOCAL_STATE_DIR)
    return store.get_or_create(["CONSENT_LEDGER_SECRET"])["CONSENT_LEDGER_SECRET"].reveal().encode()


def people(key: bytes) -> list[dict[str, Any]]:
    def ledger(*events: ledgers.NewEvent) -> dict[str, Any]:
        # 8 kept events: 40 of these (about 500 bytes each) would pass the 16 KB Auth0
        # allows app_metadata, which the local tenant enforces.
        return {"consent_ledger": ledgers.append(None, events, key, max_events=8)}

    toggles = [
        event(
            "marketing",
            "given" if i % 2 == 0 else "withdrawn",
            f"2026-11-{1 + i // 2:02d}T10:00:00.000Z",
        )
        for i in range(13)
    ]
    return [
        {
            "email": "alice@example.com",
            "app_metadata": ledger(
                event("terms", "given", "2026-11-02T09:00:00.000Z"),
                event("marketing", "given", "2026-11-02T09:00:00.000Z"),
                event("marketing", "withdrawn", "2026-11-05T09:00:00.000Z", method="self-service"),
            ),
        },
        {
            "email": "bob@example.com",
            "app_metadata": ledger(
                event("terms", "given", "2025-02-01T09:00:00.000Z", version=OLD),
                event("marketing", "declined", "2025-02-01T09:00:00.000Z"),
            ),
        },
        {
            "email": "carol@example.com",  # before the ledger: the seed's record only
            "user_metadata": {
                "consent": {
                    "given": True,
                    "date": "2026-11-03T09:00:00.000Z",
                    "terms_version": TERMS,
                    "method": "signup",
                }
            },
        },
        {"email": "dave@example.com"},
        {
            "email": "erin@example.com",  # 14 events: the oldest 6 folded into a signed summary
            "app_metadata": ledger(event("terms", "given", "2026-10-31T09:00:00.000Z"), *toggles),
        },
    ]


def seed(project: Path, users: list[dict[str, Any]]) -> None:
    with LocalTenant.open(project, serve=False) as tenant:
        tenant.seed([{"connection": DB, **user} for user in users])


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_ndjson_status_per_purpose_comes_from_the_ledger(
    project: Path, cli: Any, apps: list[Any], key: bytes
) -> None:
    seed(project, people(key))
    out = project / "consent.ndjson"

    run = cli("consent", "export", "--format", "ndjson", "--out", str(out), "-o", "json")

    assert run.code == 0, run.err
    rows = {row["email"]: row for row in lines(out)}
    status = {
        email: {p: v["status"] for p, v in row["purposes"].items()} for email, row in rows.items()
    }
    assert status == {
        "alice@example.com": {"terms": "valid", "marketing": "withdrawn"},
        "bob@example.com": {"terms": "outdated", "marketing": "declined"},
        "carol@example.com": {"terms": "valid", "marketing": "missing"},
        "dave@example.com": {"terms": "missing", "marketing": "missing"},
        "erin@example.com": {"terms": "valid", "marketing": "valid"},
    }
    assert {e: r["consent_source"] for e, r in rows.items()} == {
        "alice@example.com": "ledger",
        "bob@example.com": "ledger",
        "carol@example.com": "seed-record",
        "dave@example.com": "none",
        "erin@example.com": "ledger",
    }
    alice = rows["alice@example.com"]
    assert alice["purposes"]["marketing"]["method"] == "self-service"
    assert alice["purposes"]["marketing"]["event"] == "withdrawn"
    # The stored ledger is exported whole and still verifies with the key.
    assert ledgers.verify(alice["ledger"], key) == []
    assert alice["consent_status"] == "valid"  # the record purpose (terms)
    summary = run.json()
    assert summary["purposes"]["marketing"] == {
        "missing": 2,
        "declined": 1,
        "withdrawn": 1,
        "outdated": 0,
        "valid": 1,
    }
    assert summary["sources"] == {"ledger": 3, "seed-record": 1, "none": 1}
    assert summary["statuses"]["outdated"] == 1


def test_a_mirror_edited_by_the_user_does_not_change_the_exported_status(
    project: Path, cli: Any, apps: list[Any], key: bytes
) -> None:
    """user_metadata is user-editable; the status is the ledger's, the mirror only shown."""
    [alice, *_] = people(key)
    alice["user_metadata"] = {"consent": {"given": True, "terms_version": "9999", "purposes": {}}}
    seed(project, [alice])
    out = project / "consent.csv"

    run = cli("consent", "export", "--format", "csv", "--out", str(out))

    assert run.code == 0, run.err
    text = out.read_text(encoding="utf-8").splitlines()
    row = dict(zip(text[0].split(","), text[1].split(","), strict=True))
    assert row["consent.terms_version"] == "9999"  # the mirror, as stored
    assert row["consent.status"] == "valid"  # but judged from the ledger
    assert row["consent.source"] == "ledger"
    assert row["marketing.status"] == "withdrawn"


def test_iso27560_one_record_per_user_and_purpose(
    project: Path, cli: Any, apps: list[Any], key: bytes
) -> None:
    seed(project, people(key))
    out = project / "consent.jsonl"

    run = cli("consent", "export", "--format", "iso27560", "--out", str(out), "-o", "json")

    assert run.code == 0, run.err
    records = lines(out)
    assert len(records) == 10  # 5 users x 2 purposes
    assert run.json()["records"] == 10
    assert run.json()["users"] == 5
    by = {(r["header"]["subject"]["email"], r["processing"]["purpose"]): r for r in records}
    assert len(by) == 10
    assert len({r["header"]["record_id"] for r in records}) == 10
    for record in records:
        assert set(record) == {"header", "processing", "parties", "events", "summary"}
        assert record["header"]["schema_version"] == "https://w3id.org/dpv/schema/iso-27560#record"
        assert record["parties"]["controller"] == {
            "name": "Example Ltd",
            "contact": "privacy@example.com",
        }
    policy = load_tenant(project / "tenant.yaml").environment("local").consent
    hashes = text_hashes(project, policy)
    terms = by[("alice@example.com", "terms")]["processing"]
    assert terms["lawful_basis"] == "contract"
    assert terms["lawful_basis_ref"] == "eu-gdpr:A6-1-b"
    assert terms["retention"] == "P3Y"
    assert terms["required"] is True
    assert terms["notice"]["text_sha256"] == hashes["terms"]
    assert terms["status"] == "valid"
    assert terms["consent_status"] == "dpv:ConsentGiven"
    assert (terms["text_sha256"], terms["language"]) == (SHA, "de")

    marketing = by[("alice@example.com", "marketing")]
    assert marketing["processing"]["status"] == "withdrawn"
    assert marketing["processing"]["consent_status"] == "dpv:ConsentWithdrawn"
    assert marketing["processing"]["lawful_basis_ref"] == "eu-gdpr:A6-1-a"
    events = marketing["events"]
    assert [(e["type"], e["method"]) for e in events] == [
        ("given", "page"),
        ("withdrawn", "self-service"),
    ]
    assert [e["seq"] for e in events] == [2, 3]  # seq 1 is terms: its own record
    assert marketing["header"]["created_at"] == "2026-11-02T09:00:00.000Z"
    assert marketing["header"]["updated_at"] == "2026-11-05T09:00:00.000Z"
    assert marketing["header"]["evidence"] == "ledger"
    assert marketing["summary"] is None


def test_iso27560_events_carry_every_field_needed_to_verify_them(
    project: Path, cli: Any, apps: list[Any], key: bytes
) -> None:
    seed(project, people(key))
    out = project / "consent.jsonl"

    assert cli("consent", "export", "--format", "iso27560", "--out", str(out)).code == 0

    for record in lines(out):
        if record["header"]["evidence"] != "ledger":
            continue
        for shown in record["events"]:
            stored = {
                "seq": shown["seq"],
                "at": shown["time"],
                "purpose": record["processing"]["purpose"],
                "version": shown["version"],
                "event": shown["type"],
                "given": shown["given"],
                "text_sha256": shown["text_sha256"],
                "language": shown["language"],
                "method": shown["method"],
                "ip": shown["ip"],
                "reason": shown["reason"],
                "prev": shown["prev"],
            }
            assert ledgers.event_hash(stored) == shown["hash"]
            assert ledgers.event_mac(key, shown["hash"]) == shown["mac"]
    text = out.read_text(encoding="utf-8")
    assert key.decode() not in text  # macs, never the key
    secrets = json.loads((project / LOCAL_STATE_DIR / "secrets.json").read_text())
    assert all(value not in text for value in secrets.values())


def test_iso27560_a_compacted_ledger_brings_its_signed_summary(
    project: Path, cli: Any, apps: list[Any], key: bytes
) -> None:
    seed(project, people(key))
    out = project / "consent.jsonl"

    assert cli("consent", "export", "--format", "iso27560", "--out", str(out)).code == 0

    by = {(r["header"]["subject"]["email"], r["processing"]["purpose"]): r for r in lines(out)}
    erin = by[("erin@example.com", "marketing")]
    summary = erin["summary"]
    assert summary is not None
    assert summary["folded"] == 6  # 14 events, 8 kept
    assert summary["sig"] == ledgers.summary_sig(key, summary)
    assert erin["events"][0]["prev"] == summary["through_hash"]
    assert [e["seq"] for e in erin["events"]] == list(range(7, 15))
    # The record starts when the ledger did, not with its oldest kept event.
    assert erin["header"]["created_at"] == "2026-10-31T09:00:00.000Z"
    terms = by[("erin@example.com", "terms")]
    assert terms["events"] == []  # folded away; the summary's state still says given
    assert terms["processing"]["status"] == "valid"
    assert summary["state"]["terms"]["given"] is True


def test_iso27560_a_seed_record_is_flagged_and_unsigned(
    project: Path, cli: Any, apps: list[Any], key: bytes
) -> None:
    seed(project, people(key))
    out = project / "consent.jsonl"

    assert cli("consent", "export", "--format", "iso27560", "--out", str(out)).code == 0

    by = {(r["header"]["subject"]["email"], r["processing"]["purpose"]): r for r in lines(out)}
    carol = by[("carol@example.com", "terms")]
    assert carol["header"]["evidence"] == "seed-record"
    [migrated] = carol["events"]
    assert (migrated["type"], migrated["method"], migrated["time"]) == (
        "given",
        "migrated",
        "2026-11-03T09:00:00.000Z",
    )
    assert migrated["hash"] is None  # nothing stored it
    assert migrated["mac"] is None
    dave = by[("dave@example.com", "marketing")]
    assert dave["header"]["evidence"] == "none"
    assert dave["events"] == []
    assert dave["processing"]["status"] == "missing"
    assert dave["processing"]["consent_status"] == "dpv:ConsentUnknown"
