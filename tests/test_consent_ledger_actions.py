"""The consent Actions write the ledger exactly as the Python reference does.

The rendered Actions of a project ``init`` wrote run in the sandbox; every
ledger they produce must verify with ``consent.ledger.verify`` and the
CONSENT_LEDGER_SECRET, and must equal, byte for byte, the ledger Python
builds from the same decisions (same times, so the same hashes). The policy
cases follow the purposes semantics: a version bump asks for that purpose
only, a declined optional purpose is not asked again, optional purposes
given reach the ID token as namespaced claims
(api.idToken.setCustomClaim,
https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from auth0_actions.config import ConsentPolicy, load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.mirror import mirror_patch
from auth0_actions.consent.texts import text_hashes
from auth0_actions.consent.writer import migrated_events
from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.scaffold import init_project
from auth0_actions.scenarios.consent_io import decode_token, sign_token
from auth0_actions.triggers import registry

SESSION = "test-session-secret-0123456789abcdef"
LEDGER = "test-ledger-secret-0123456789abcdef"
KEY = LEDGER.encode()
NS = "https://example.com/consent/"
STATE = "test-state-123"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ledger") / "project"
    init_project(root)
    return root


@pytest.fixture(scope="module")
def policy(project: Path) -> ConsentPolicy:
    return load_tenant(project / "tenant.yaml").environment("local").consent


@pytest.fixture(scope="module")
def hashes(project: Path, policy: ConsentPolicy) -> dict[str, dict[str, str]]:
    return text_hashes(project, policy)


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2) as opened:
        yield opened


def _unit(project: Path, name: str, secrets: dict[str, str]) -> dict[str, Any]:
    path = project / "actions" / "local" / f"{name}.js"
    return {"name": name, "code": path.read_text(), "filename": str(path), "secrets": secrets}


def _login_units(project: Path, ledger_secret: str = LEDGER) -> list[dict[str, Any]]:
    return [
        _unit(project, "consent-on-first-login", {"CONSENT_LEDGER_SECRET": ledger_secret}),
        _unit(
            project,
            "consent-redirect",
            {"CONSENT_SESSION_SECRET": SESSION, "CONSENT_LEDGER_SECRET": ledger_secret},
        ),
    ]


def _version(policy: ConsentPolicy, purpose: str) -> str:
    found = policy.purpose(purpose)
    assert found is not None
    return found.version


def _python_ledger(events: list[dict[str, Any]], max_events: int) -> dict[str, Any]:
    """The reference ledger of the same decisions (kinds, times and all)."""
    decisions = [
        ledgers.NewEvent(
            purpose=e["purpose"],
            decision="withdrawn"
            if e["event"] == "withdrawn"
            else "given"
            if e["given"]
            else "declined",
            version=e["version"],
            at=e["at"],
            method=e["method"],
            text_sha256=e["text_sha256"],
            language=e["language"],
            ip=e["ip"],
            reason=e["reason"],
        )
        for e in events
    ]
    return ledgers.append(None, decisions, KEY, max_events=max_events)


def _given(
    policy: ConsentPolicy, hashes: dict[str, dict[str, str]], purpose: str, **kw: Any
) -> ledgers.NewEvent:
    fields: dict[str, Any] = {
        "purpose": purpose,
        "decision": "given",
        "version": _version(policy, purpose),
        "at": "2026-11-05T10:00:00.000Z",
        "method": "signup",
        "text_sha256": hashes[purpose]["en"],
        "language": "en",
    }
    fields.update(kw)
    return ledgers.NewEvent(**fields)


def _login(
    pool: SandboxPool, project: Path, user: dict[str, Any], ledger_secret: str = LEDGER
) -> dict[str, Any]:
    login = registry.get("post-login")
    event = login.build_event({"user": user})
    units = _login_units(project, ledger_secret)
    reply = pool.call({"op": login.id, "units": units, "event": event, "resume": None})
    assert reply.result is not None, reply.failure
    reply.result["event"] = event
    return reply.result


def _continue(
    pool: SandboxPool,
    project: Path,
    first: dict[str, Any],
    claims: dict[str, Any],
    ledger_secret: str = LEDGER,
) -> dict[str, Any]:
    """The consent page's answer, signed as the page signs it, POSTed to /continue."""
    login = registry.get("post-login")
    event = first["event"]
    event["user"]["user_metadata"] = first["user_metadata"]
    event["user"]["app_metadata"] = first["app_metadata"]
    now = int(time.time())
    token = sign_token(
        {
            "iat": now,
            "exp": now + 120,
            "sub": event["user"]["user_id"],
            "iss": event["request"]["hostname"],
            "state": STATE,
            **claims,
        },
        SESSION,
    )
    request = {
        **event["request"],
        "method": "POST",
        "query": {"state": STATE},
        "body": {"session_token": token},
    }
    reply = pool.call(
        {
            "op": login.id,
            "units": _login_units(project, ledger_secret),
            "event": {**event, "request": request},
            "resume": {"index": first["redirect"]["index"]},
        }
    )
    assert reply.result is not None, reply.failure
    return reply.result


def _asked(result: dict[str, Any]) -> list[dict[str, Any]]:
    assert result["status"] == "redirected", result.get("deny") or result.get("error")
    query = parse_qs(urlsplit(result["redirect"]["url"]).query)
    assert set(query) == {"session_token"}  # the contract needs no other parameter
    decoded = decode_token(query["session_token"][0], SESSION)
    assert decoded is not None
    assert decoded["signature_valid"]
    purposes: list[dict[str, Any]] = decoded["claims"]["purposes"]
    return purposes


def test_a_signup_writes_a_ledger_python_verifies_and_would_write_byte_for_byte(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    signup = registry.get("pre-user-registration")
    event = signup.build_event(
        {
            "request": {
                "language": "de",
                "body": {"ulp-terms_accepted": "on", "ulp-marketing_opt_in": "on"},
            }
        }
    )
    unit = _unit(project, "consent-at-signup", {"CONSENT_LEDGER_SECRET": LEDGER})
    reply = pool.call({"op": signup.id, "units": [unit], "event": event, "resume": None})
    assert reply.result is not None, reply.failure
    assert reply.result["status"] == "completed"
    ledger = reply.result["app_metadata"]["consent_ledger"]
    assert ledgers.verify(ledger, KEY) == []
    events = ledger["events"]
    assert [(e["purpose"], e["event"], e["method"], e["language"]) for e in events] == [
        ("terms", "given", "signup", "de"),
        ("marketing", "given", "signup", "de"),
    ]
    # The hash of the German text shown, as rendered from consent_texts/.
    assert events[0]["text_sha256"] == hashes["terms"]["de"]
    assert ledger == _python_ledger(events, policy.ledger.max_events)
    # The readable mirror is what consent/mirror.py computes from that ledger.
    assert reply.result["user_metadata"] == mirror_patch({}, ledger, policy)


def test_an_unticked_optional_box_records_nothing_and_the_page_asks_it_later(
    project: Path, pool: SandboxPool
) -> None:
    signup = registry.get("pre-user-registration")
    event = signup.build_event({"request": {"body": {"ulp-terms_accepted": "on"}}})
    unit = _unit(project, "consent-at-signup", {"CONSENT_LEDGER_SECRET": LEDGER})
    reply = pool.call({"op": signup.id, "units": [unit], "event": event, "resume": None})
    assert reply.result is not None, reply.failure
    ledger = reply.result["app_metadata"]["consent_ledger"]
    assert sorted(ledger["state"]) == ["terms"]
    first = _login(pool, project, {"app_metadata": reply.result["app_metadata"]})
    assert [(p["id"], p["reason"]) for p in _asked(first)] == [("marketing", "missing")]


def test_the_page_answer_is_appended_as_python_would_and_the_claim_follows(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    first = _login(pool, project, {})
    asked = _asked(first)
    assert [(p["id"], p["required"], p["reason"]) for p in asked] == [
        ("terms", True, "missing"),
        ("marketing", False, "missing"),
    ]
    done = _continue(
        pool,
        project,
        first,
        {
            "decisions": {"terms": "given", "marketing": "given"},
            "versions": {p["id"]: p["version"] for p in asked},
            "texts": {p["id"]: hashes[p["id"]]["en"] for p in asked},
            "language": "en",
        },
    )
    assert done["status"] == "completed", done.get("deny")
    ledger = done["app_metadata"]["consent_ledger"]
    assert ledgers.verify(ledger, KEY) == []
    assert [(e["purpose"], e["event"], e["method"]) for e in ledger["events"]] == [
        ("terms", "given", "page"),
        ("marketing", "given", "page"),
    ]
    assert ledger == _python_ledger(ledger["events"], policy.ledger.max_events)
    assert done["id_token_claims"] == {f"{NS}marketing": True}


def test_a_declined_required_purpose_is_recorded_then_denied(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    first = _login(pool, project, {})
    asked = _asked(first)
    done = _continue(
        pool,
        project,
        first,
        {
            "decisions": {"terms": "declined", "marketing": "given"},
            "versions": {p["id"]: p["version"] for p in asked},
            "texts": {p["id"]: hashes[p["id"]]["en"] for p in asked},
            "language": "en",
        },
    )
    assert done["status"] == "denied"
    assert done["deny"]["reason"] == policy.on_decline.reason
    state = done["app_metadata"]["consent_ledger"]["state"]
    assert state["terms"]["given"] is False
    assert state["marketing"]["given"] is True


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"decisions": {"terms": "given"}}, "could not be verified"),  # marketing missing
        ({"texts": {"terms": "0" * 64}}, "could not be verified"),
        ({"language": "fr"}, "could not be verified"),
        ({"versions": {"terms": "2020-01-01"}}, "terms changed"),
    ],
)
def test_a_page_answer_that_does_not_match_what_was_asked_is_refused_without_writes(
    project: Path,
    pool: SandboxPool,
    hashes: dict[str, dict[str, str]],
    claims: dict[str, Any],
    message: str,
) -> None:
    first = _login(pool, project, {})
    asked = _asked(first)
    answer: dict[str, Any] = {
        "decisions": {"terms": "given", "marketing": "declined"},
        "versions": {p["id"]: p["version"] for p in asked},
        "texts": {p["id"]: hashes[p["id"]]["en"] for p in asked},
        "language": "en",
    }
    for name, value in claims.items():
        answer[name] = value if name in ("decisions", "language") else {**answer[name], **value}
    done = _continue(pool, project, first, answer)
    assert done["status"] == "denied"
    assert message in done["deny"]["reason"]
    assert "consent_ledger" not in done["app_metadata"]


def test_a_version_bump_asks_for_that_purpose_only(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    ledger = ledgers.append(
        None,
        [
            _given(policy, hashes, "terms"),
            _given(policy, hashes, "marketing", version="2025-01-01"),
        ],
        KEY,
        max_events=policy.ledger.max_events,
    )
    first = _login(pool, project, {"app_metadata": {"consent_ledger": ledger}})
    assert [(p["id"], p["reason"]) for p in _asked(first)] == [("marketing", "outdated")]


def test_a_declined_optional_purpose_is_not_asked_again_and_gives_no_claim(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    ledger = ledgers.append(
        None,
        [
            _given(policy, hashes, "terms"),
            _given(policy, hashes, "marketing", decision="declined"),
        ],
        KEY,
        max_events=policy.ledger.max_events,
    )
    done = _login(pool, project, {"app_metadata": {"consent_ledger": ledger}})
    assert done["status"] == "completed"
    assert done["redirect"] is None
    assert done["id_token_claims"] == {}
    assert [c["type"] for c in done["commands"]] == []  # nothing written


def test_marketing_given_reaches_the_id_token_and_a_withdrawal_removes_it(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    decisions = [_given(policy, hashes, "terms"), _given(policy, hashes, "marketing")]
    ledger = ledgers.append(None, decisions, KEY, max_events=policy.ledger.max_events)
    given = _login(pool, project, {"app_metadata": {"consent_ledger": ledger}})
    assert given["status"] == "completed"
    assert given["id_token_claims"] == {f"{NS}marketing": True}
    withdrawal = ledgers.NewEvent(
        purpose="marketing",
        decision="withdrawn",
        version=_version(policy, "marketing"),
        at="2026-12-01T10:00:00.000Z",
        method="self-service",
    )
    withdrawn = ledgers.append(ledger, [withdrawal], KEY, max_events=policy.ledger.max_events)
    after = _login(pool, project, {"app_metadata": {"consent_ledger": withdrawn}})
    assert after["status"] == "completed"  # an optional withdrawal is respected, not asked
    assert after["id_token_claims"] == {}


def test_appending_past_max_events_compacts_as_python_does(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    # max_events events already, the last one a withdrawal of the terms: the page asks again.
    history = []
    for n in range(policy.ledger.max_events - 1):
        history.append(
            _given(policy, hashes, "marketing", at=f"2026-11-05T10:{n // 60:02d}:{n % 60:02d}.000Z")
        )
    history.insert(0, _given(policy, hashes, "terms"))
    history.append(
        ledgers.NewEvent(
            purpose="terms",
            decision="withdrawn",
            version=_version(policy, "terms"),
            at="2026-11-30T10:00:00.000Z",
            method="api",
        )
    )
    ledger = ledgers.append(None, history, KEY, max_events=policy.ledger.max_events)
    assert ledger["summary"] is not None
    first = _login(pool, project, {"app_metadata": {"consent_ledger": ledger}})
    asked = _asked(first)
    assert [(p["id"], p["reason"]) for p in asked] == [("terms", "withdrawn")]
    done = _continue(
        pool,
        project,
        first,
        {
            "decisions": {"terms": "given"},
            "versions": {"terms": _version(policy, "terms")},
            "texts": {"terms": hashes["terms"]["en"]},
            "language": "en",
        },
    )
    assert done["status"] == "completed", done.get("deny")
    written = done["app_metadata"]["consent_ledger"]
    assert ledgers.verify(written, KEY) == []
    last = written["events"][-1]
    assert (last["purpose"], last["event"], last["method"]) == ("terms", "re-given", "page")
    assert len(written["events"]) == policy.ledger.max_events
    again = ledgers.NewEvent(
        purpose="terms",
        decision="given",
        version=last["version"],
        at=last["at"],
        method="page",
        text_sha256=last["text_sha256"],
        language="en",
        ip=last["ip"],
    )
    assert written == ledgers.append(ledger, [again], KEY, max_events=policy.ledger.max_events)


def test_a_seed_record_is_migrated_as_the_writer_would_and_not_asked_again(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    seed = {
        "consent": {
            "given": True,
            "date": "2026-11-02T09:00:00.000Z",
            "terms_version": _version(policy, "terms"),
            "text_details": "https://example.com/legal/terms/2026-11-01",
            "method": "signup",
            "ip": "198.51.100.1",
        }
    }
    first = _login(pool, project, {"user_metadata": seed})
    # Terms stand (migrated); marketing was never asked.
    assert [(p["id"], p["reason"]) for p in _asked(first)] == [("marketing", "missing")]
    ledger = first["app_metadata"]["consent_ledger"]
    assert ledgers.verify(ledger, KEY) == []
    expected = ledgers.append(
        None, migrated_events(seed, policy, "unused"), KEY, max_events=policy.ledger.max_events
    )
    assert ledger == expected
    assert ledger["events"][0]["method"] == "migrated"


def test_a_ledger_edited_outside_the_tool_denies_the_login(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    ledger = ledgers.append(
        None,
        [_given(policy, hashes, "terms"), _given(policy, hashes, "marketing", decision="declined")],
        KEY,
        max_events=policy.ledger.max_events,
    )
    # Someone with Management API access flips the decline into a consent.
    ledger["events"][1]["given"] = True
    ledger["state"]["marketing"]["given"] = True
    done = _login(pool, project, {"app_metadata": {"consent_ledger": ledger}})
    assert done["status"] == "denied"
    assert "Consent cannot be recorded" in done["deny"]["reason"]
    assert done["id_token_claims"] == {}


def test_without_the_ledger_secret_the_login_fails_closed(project: Path, pool: SandboxPool) -> None:
    login = registry.get("post-login")
    unit = _unit(project, "consent-redirect", {"CONSENT_SESSION_SECRET": SESSION})
    reply = pool.call(
        {"op": login.id, "units": [unit], "event": login.build_event(), "resume": None}
    )
    assert reply.result is not None, reply.failure
    assert reply.result["status"] == "denied"
    assert "Consent cannot be recorded" in reply.result["deny"]["reason"]
    assert not any("ledger-secret" in line["message"] for line in reply.result.get("logs") or [])


def test_a_rotated_ledger_key_keeps_verifying_old_events_and_signs_new_ones(
    project: Path, pool: SandboxPool, policy: ConsentPolicy, hashes: dict[str, dict[str, str]]
) -> None:
    """CONSENT_LEDGER_SECRET is a keyring: "new old" signs with new, verifies both."""
    rotated = f"rotated-ledger-key-0123456789abcdef {LEDGER}"
    ledger = ledgers.append(
        None, [_given(policy, hashes, "terms")], KEY, max_events=policy.ledger.max_events
    )
    first = _login(pool, project, {"app_metadata": {"consent_ledger": ledger}}, rotated)
    asked = _asked(first)  # the old key's ledger is trusted: only marketing is asked
    assert [p["id"] for p in asked] == ["marketing"]
    done = _continue(
        pool,
        project,
        first,
        {
            "decisions": {"marketing": "given"},
            "versions": {"marketing": _version(policy, "marketing")},
            "texts": {"marketing": hashes["marketing"]["en"]},
            "language": "en",
        },
        rotated,
    )
    assert done["status"] == "completed", done.get("deny")
    stored = done["app_metadata"]["consent_ledger"]
    assert ledgers.verify(stored, rotated.encode()) == []
    # The new event is signed with the new key only, the old one with the old key only.
    assert [f.seq for f in ledgers.verify(stored, b"rotated-ledger-key-0123456789abcdef")] == [1]
    assert [f.seq for f in ledgers.verify(stored, KEY)] == [2]
