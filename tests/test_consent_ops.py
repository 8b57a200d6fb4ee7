"""consent show / grant / withdraw / audit / verify through the CLI against the local tenant.

Each test runs the real command in-process: it serves the project's embedded
local tenant on loopback and talks to it over HTTP through TenantClient. What
the tenant stored is then read straight from the local tenant's store, so the
assertions are about app_metadata's ledger and user_metadata's mirror, not
about what the command says.

Policy semantics (which purpose is asked, when): docs/consent.md and
https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/redirect-with-actions
(the consent page the Actions send users to).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth0_actions.config import ConsentPolicy, load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.mirror import mirror_patch
from auth0_actions.consent.operations import grant, withdraw
from auth0_actions.consent.texts import text_hashes
from auth0_actions.consent.verify import verify_user
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.environment import open_environment
from auth0_actions.secrets import LocalSecretStore

TERMS = "2026-11-01"
DB = "Username-Password-Authentication"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNRELATED = {"theme": "dark", "prefs": {"newsletter": {"weekly": True}}, "n": 0}
SECRET = "CONSENT_LEDGER_SECRET"


def _policy(project: Path) -> ConsentPolicy:
    return load_tenant(project / "tenant.yaml").environment("local").consent


def _key(project: Path) -> bytes:
    store = LocalSecretStore(project / ".auth0-local")
    return store.get_or_create([SECRET])[SECRET].reveal().encode()


def _ledger(project: Path, events: list[ledgers.NewEvent]) -> dict[str, Any]:
    return ledgers.append(
        None, events, _key(project), max_events=_policy(project).ledger.max_events
    )


def _event(purpose: str, decision: str, at: str, **more: Any) -> ledgers.NewEvent:
    return ledgers.NewEvent(
        purpose=purpose,
        decision=decision,  # type: ignore[arg-type]
        version=more.pop("version", TERMS),
        at=at,
        method=more.pop("method", "signup"),
        text_sha256=more.pop("text_sha256", "ab" * 32),
        language="en",
        **more,
    )


def _seed(project: Path, users: list[dict[str, Any]]) -> None:
    tenant = LocalTenant(project)
    try:
        tenant.seed(users)
    finally:
        tenant.close()


def _stored(project: Path, user_id: str) -> dict[str, Any]:
    tenant = LocalTenant(project)
    try:
        user = tenant.store.get("user", user_id)
    finally:
        tenant.close()
    assert user is not None
    return dict(user)


def _put(project: Path, user_id: str, **metadata: dict[str, Any]) -> None:
    """Write metadata straight into the store, as someone editing it by hand would."""
    tenant = LocalTenant(project)
    try:
        user = tenant.store.get("user", user_id)
        assert user is not None
        tenant.store.put("user", user_id, {**user, **metadata})
    finally:
        tenant.close()


def _stored_ledger(project: Path, user_id: str) -> dict[str, Any]:
    return dict(_stored(project, user_id)["app_metadata"]["consent_ledger"])


def _user(project: Path, user_id: str, email: str, ledger: dict[str, Any] | None, **um: Any) -> Any:
    user: dict[str, Any] = {
        "email": email,
        "connection": DB if user_id.startswith("auth0|") else "google-oauth2",
        "user_id": user_id,
        "user_metadata": {**UNRELATED, **um},
    }
    if ledger is not None:
        user["app_metadata"] = {"roles": ["reader"], "consent_ledger": ledger}
        user["user_metadata"].update(mirror_patch(user["user_metadata"], ledger, _policy(project)))
    return user


@pytest.fixture
def seeded(project: Path) -> Path:
    """ann: terms and marketing given at signup; ann on Google: nothing; bob: a seed
    record only (older terms); cid: terms given, marketing declined."""
    ann = _ledger(
        project,
        [
            _event("terms", "given", "2026-11-02T10:00:00.000Z", ip="203.0.113.9"),
            _event("marketing", "given", "2026-11-02T10:00:00.000Z"),
        ],
    )
    cid = _ledger(
        project,
        [
            _event("terms", "given", "2026-11-03T10:00:00.000Z", method="page"),
            _event("marketing", "declined", "2026-11-03T10:00:00.000Z", method="page"),
        ],
    )
    seed_record = {
        "consent": {
            "given": True,
            "date": "2025-06-01T00:00:00.000Z",
            "terms_version": "2025-01-01",
            "method": "signup",
        }
    }
    _seed(
        project,
        [
            _user(project, "auth0|ann", "ann@example.com", ann),
            _user(project, "google-oauth2|ann", "ann@example.com", None),
            _user(project, "auth0|bob", "bob@example.com", None, **seed_record),
            _user(project, "auth0|cid", "cid@example.com", cid),
        ],
    )
    return project


def _statuses(data: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {p["id"]: (p["status"], p["next_login"]) for p in data["purposes"]}


# -- show -------------------------------------------------------------------------------
def test_show_by_email_gives_every_purpose_and_the_history(seeded: Path, cli: Any) -> None:
    run = cli("consent", "show", "--email", "ann@example.com", "-o", "json")
    assert run.code == 0, run.err
    by_id = {u["user_id"]: u for u in run.json()["users"]}
    assert set(by_id) == {"auth0|ann", "google-oauth2|ann"}
    ann = by_id["auth0|ann"]
    assert ann["evidence"] == "ledger"
    assert _statuses(ann) == {"terms": ("valid", "proceeds"), "marketing": ("valid", "proceeds")}
    assert [(e["seq"], e["purpose"], e["event"]) for e in ann["history"]["events"]] == [
        (1, "terms", "given"),
        (2, "marketing", "given"),
    ]
    assert ann["history"]["events"] == _stored_ledger(seeded, "auth0|ann")["events"]
    nobody = by_id["google-oauth2|ann"]
    assert nobody["evidence"] == "none"
    assert _statuses(nobody) == {"terms": ("missing", "asked"), "marketing": ("missing", "asked")}
    assert nobody["history"] == {"summary": None, "events": []}


def test_show_in_text_prints_states_and_each_event(seeded: Path, cli: Any) -> None:
    run = cli("consent", "show", "--user-id", "auth0|cid")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0].startswith("auth0|cid  cid@example.com  (ledger in app_metadata)")
    marketing = next(line for line in lines if line.strip().startswith("marketing "))
    # Declined optional consent is a settled decision: reported, not asked again.
    assert "declined" in marketing
    assert "proceeds" in marketing
    event = next(line for line in lines if line.strip().startswith("#2 "))
    for part in ("2026-11-03T10:00:00.000Z", "marketing", "declined", "page", TERMS, "ab" * 6):
        assert part in event
    assert "ab" * 7 not in event  # a prefix of the text hash, not all of it


def test_show_of_a_seed_record_reports_its_migrated_view(seeded: Path, cli: Any) -> None:
    bob = cli("consent", "show", "--user-id", "auth0|bob", "-o", "json").json()["users"][0]
    assert bob["evidence"] == "user_metadata"
    assert _statuses(bob) == {"terms": ("outdated", "asked"), "marketing": ("missing", "asked")}
    assert [(e["method"], e["version"]) for e in bob["history"]["events"]] == [
        ("migrated", "2025-01-01")
    ]
    text = cli("consent", "show", "--user-id", "auth0|bob").out
    assert "seed record in user_metadata only" in text
    assert "consent_ledger" not in _stored(seeded, "auth0|bob").get("app_metadata", {})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("consent", "show", "--user-id", "auth0|nobody"), "no user with id 'auth0|nobody'"),
        (("consent", "show", "--email", "nobody@example.com"), "no user with email"),
        (("consent", "show"), "exactly one of --email and --user-id"),
        (("consent", "grant", "--user-id", "auth0|nobody"), "no user with id 'auth0|nobody'"),
        (("consent", "withdraw", "--user-id", "auth0|nobody"), "no user with id 'auth0|nobody'"),
        (("consent", "withdraw", "--user-id", "auth0|ann", "--reason", " "), "--reason: empty"),
        (
            ("consent", "grant", "--user-id", "auth0|ann", "--purpose", "ads"),
            "--purpose: no purpose ads (tenant.yaml: terms, marketing)",
        ),
        (
            ("consent", "grant", "--user-id", "auth0|ann", "--language", "fr"),
            "--language: fr is not one of consent.languages (en, de)",
        ),
        (("consent", "audit", "--purpose", "ads"), "--purpose: no purpose ads"),
        (("consent", "verify", "--user-id", "auth0|nobody"), "no user with id 'auth0|nobody'"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message_and_writes_nothing(
    seeded: Path, cli: Any, args: tuple[str, ...], message: str
) -> None:
    before = _stored(seeded, "auth0|ann")
    run = cli(*args)
    assert run.code == 1
    assert message in run.err
    assert _stored(seeded, "auth0|ann") == before


# -- grant / withdraw -------------------------------------------------------------------
def test_grant_appends_a_chained_api_event_and_keeps_earlier_ones(seeded: Path, cli: Any) -> None:
    before = _stored_ledger(seeded, "auth0|cid")
    run = cli(
        "consent", "grant", "--user-id", "auth0|cid", "--purpose", "marketing",
        "--language", "de", "--reason", "asked by phone, ticket 42", "-o", "json",
    )  # fmt: skip
    assert run.code == 0, run.err
    data = run.json()
    assert data["changed"] is True
    after = _stored_ledger(seeded, "auth0|cid")
    assert after["events"][:2] == before["events"]  # never rewritten
    event = after["events"][2]
    assert data["events"] == [event]
    hashes = text_hashes(seeded, _policy(seeded))
    assert {k: event[k] for k in ("seq", "purpose", "event", "given", "method", "version")} == {
        "seq": 3,
        "purpose": "marketing",
        "event": "re-given",  # after the decline
        "given": True,
        "method": "api",
        "version": TERMS,
    }
    assert event["text_sha256"] == hashes["marketing"]["de"]
    assert event["language"] == "de"
    assert event["reason"] == "asked by phone, ticket 42"
    assert event["prev"] == before["events"][1]["hash"]
    assert ISO.match(event["at"])
    assert ledgers.verify(after, _key(seeded)) == []
    stored = _stored(seeded, "auth0|cid")
    assert stored["user_metadata"]["consent"]["purposes"]["marketing"]["given"] is True
    assert {k: stored["user_metadata"][k] for k in UNRELATED} == UNRELATED


def test_grant_defaults_to_the_required_purposes_and_migrates_a_seed_record(
    seeded: Path, cli: Any
) -> None:
    run = cli("consent", "grant", "--user-id", "auth0|bob", "-o", "json")
    assert run.code == 0, run.err
    assert run.json()["purposes"] == ["terms"]
    stored = _stored(seeded, "auth0|bob")
    ledger = stored["app_metadata"]["consent_ledger"]
    assert [(e["purpose"], e["event"], e["method"], e["version"]) for e in ledger["events"]] == [
        ("terms", "given", "migrated", "2025-01-01"),  # the seed record, kept as evidence
        ("terms", "given", "api", TERMS),
    ]
    assert ledger["events"][0]["at"] == "2025-06-01T00:00:00.000Z"
    assert "marketing" not in ledger["state"]  # never opted in on the user's behalf
    assert ledgers.verify(ledger, _key(seeded)) == []
    assert stored["user_metadata"]["consent"]["terms_version"] == TERMS


def test_grant_and_withdraw_are_idempotent(seeded: Path, cli: Any) -> None:
    before = _stored(seeded, "auth0|ann")
    run = cli("consent", "grant", "--user-id", "auth0|ann", "--purpose", "marketing")
    assert run.code == 0
    assert "Nothing written for auth0|ann: marketing: already given." in run.out
    cli("consent", "withdraw", "--user-id", "auth0|ann", "--purpose", "marketing")
    withdrawn = _stored(seeded, "auth0|ann")
    again = cli(
        "consent", "withdraw", "--user-id", "auth0|ann", "--purpose", "marketing", "-o", "json"
    )
    assert again.code == 0
    assert again.json()["changed"] is False
    assert _stored(seeded, "auth0|ann") == withdrawn != before
    never = cli("consent", "withdraw", "--user-id", "google-oauth2|ann", "-o", "json")
    assert never.json()["changed"] is False  # nothing was ever given: nothing to withdraw
    assert "app_metadata" not in _stored(seeded, "google-oauth2|ann")


def test_withdraw_one_purpose_keeps_the_others_and_the_reason(seeded: Path, cli: Any) -> None:
    run = cli(
        "consent", "withdraw", "--user-id", "auth0|ann", "--purpose", "marketing",
        "--reason", "by email",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "recorded marketing withdrawn (#3)" in run.out
    ledger = _stored_ledger(seeded, "auth0|ann")
    event = ledger["events"][-1]
    assert (event["event"], event["given"], event["method"], event["reason"]) == (
        "withdrawn",
        False,
        "api",
        "by email",
    )
    # A withdrawal carries what it withdraws: the version and text given.
    assert event["text_sha256"] == ledger["events"][1]["text_sha256"]
    assert ledger["state"]["terms"]["given"] is True
    shown = cli("consent", "show", "--user-id", "auth0|ann", "-o", "json").json()["users"][0]
    # Optional and withdrawn: settled; the next login goes through without asking.
    assert _statuses(shown)["marketing"] == ("withdrawn", "proceeds")
    assert cli("consent", "verify", "--user-id", "auth0|ann").code == 0


def test_withdraw_without_purpose_withdraws_every_given_one(seeded: Path, cli: Any) -> None:
    run = cli("consent", "withdraw", "--user-id", "auth0|cid", "-o", "json")
    assert run.code == 0, run.err
    # marketing was declined: only terms was given, so only terms is withdrawn.
    assert [(e["purpose"], e["event"]) for e in run.json()["events"]] == [("terms", "withdrawn")]
    mirror = _stored(seeded, "auth0|cid")["user_metadata"]["consent"]
    assert mirror["given"] is False
    assert ISO.match(mirror["withdrawn_at"])
    shown = run.json()["after"]
    assert _statuses(shown)["terms"] == ("withdrawn", "asked")  # on_withdrawn: ask


# -- audit ------------------------------------------------------------------------------
def test_audit_lists_per_purpose_who_will_be_asked_again(seeded: Path, cli: Any) -> None:
    run = cli("consent", "audit", "-o", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["source"] == "search"
    assert [p["id"] for p in data["purposes"]] == ["terms", "marketing"]
    found = {u["user_id"]: {f["id"]: f["status"] for f in u["findings"]} for u in data["users"]}
    assert found == {
        "google-oauth2|ann": {"terms": "missing", "marketing": "missing"},
        "auth0|bob": {"terms": "outdated", "marketing": "missing"},
        # cid declined marketing: a settled decision, not a finding.
    }
    assert data["summary"]["terms"] == {"missing": 1, "declined": 0, "withdrawn": 0, "outdated": 1}
    only = cli("consent", "audit", "--purpose", "terms", "-o", "json").json()
    assert {u["user_id"] for u in only["users"]} == {"google-oauth2|ann", "auth0|bob"}
    assert set(only["summary"]) == {"terms"}
    text = cli("consent", "audit").out
    assert "terms: 2 user(s) asked again at next login: missing 1, declined 0" in text
    assert "auth0|cid" not in text


def test_audit_after_changes_and_the_ci_exit_code(seeded: Path, cli: Any) -> None:
    cli("consent", "withdraw", "--user-id", "auth0|ann", "--purpose", "terms")
    data = cli("consent", "audit", "--purpose", "terms", "-o", "json").json()
    assert "auth0|ann" in {u["user_id"] for u in data["users"]}
    assert cli("consent", "audit", "--fail-on-findings").code == 2
    for user_id in ("auth0|ann", "google-oauth2|ann", "auth0|bob"):
        run = cli(
            "consent", "grant", "--user-id", user_id, "--purpose", "terms", "--purpose", "marketing"
        )
        assert run.code == 0, run.err
    clean = cli("consent", "audit", "--fail-on-findings", "-o", "json")
    assert clean.code == 0
    assert clean.json()["users"] == []


def test_audit_past_the_search_window_reads_an_export(project: Path, cli: Any) -> None:
    # 1100 users whose consent may not stand: more than the 1000 results search can
    # page through; and 10 whose consent stands, read from the export and not listed.
    valid = _ledger(
        project,
        [_event("terms", "given", "2026-11-02T00:00:00.000Z"),
         _event("marketing", "declined", "2026-11-02T00:00:00.000Z")],
    )  # fmt: skip
    outdated = {"consent": {"given": True, "terms_version": "2025-01-01"}}
    users = [
        {
            "email": f"user{i:04d}@example.com",
            "connection": DB,
            "user_id": f"auth0|u{i:04d}",
            **({"user_metadata": outdated} if i % 2 else {}),
            **({"app_metadata": {"consent_ledger": valid}} if i >= 1100 else {}),
        }
        for i in range(1110)
    ]
    _seed(project, users)
    run = cli("consent", "audit", "-o", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["source"] == "export"
    assert "1000" in data["fallback_reason"]
    assert data["checked"] == 1110
    assert data["summary"]["terms"] == {
        "missing": 550,
        "declined": 0,
        "withdrawn": 0,
        "outdated": 550,
    }
    assert len(data["users"]) == 1100
    assert all(u["user_id"] < "auth0|u1100" for u in data["users"])
    only_search = cli("consent", "audit", "--source", "search")
    assert only_search.code == 1
    assert "more than the 1000" in only_search.err


# -- verify -----------------------------------------------------------------------------
def _problems(data: dict[str, Any]) -> dict[str, set[tuple[str, int | None]]]:
    return {u["user_id"]: {(f["problem"], f["seq"]) for f in u["findings"]} for u in data["users"]}


def test_verify_of_untouched_records_finds_nothing(seeded: Path, cli: Any) -> None:
    run = cli("consent", "verify", "-o", "json")  # every user, through an export job
    assert run.code == 0, run.err
    data = run.json()
    assert (data["checked"], data["ledgers"], data["user_metadata_only"], data["no_consent"]) == (
        4,
        2,
        1,
        1,
    )
    assert data["users"] == []
    assert "No findings" in cli("consent", "verify", "--fail-on-findings").out


def test_verify_catches_an_edited_event_and_an_edited_mirror(seeded: Path, cli: Any) -> None:
    ledger = _stored_ledger(seeded, "auth0|ann")
    ledger["events"][1]["given"] = False  # marketing "given" turned into a decline by hand
    ann = _stored(seeded, "auth0|ann")
    _put(seeded, "auth0|ann", app_metadata={**ann["app_metadata"], "consent_ledger": ledger})
    cid = _stored(seeded, "auth0|cid")
    mirror = dict(cid["user_metadata"]["consent"])
    mirror["purposes"] = {
        **mirror["purposes"],
        "marketing": {**mirror["purposes"]["marketing"], "given": True},
    }
    _put(seeded, "auth0|cid", user_metadata={**cid["user_metadata"], "consent": mirror})

    run = cli("consent", "verify", "--fail-on-findings", "-o", "json")
    assert run.code == 2
    data = run.json()
    assert _problems(data) == {
        "auth0|ann": {("hash-mismatch", 2), ("state-mismatch", None)},
        "auth0|cid": {("mirror-differs", None)},
    }
    assert data["summary"]["mirror-differs"] == 1
    text = cli("consent", "verify").out
    assert "hash-mismatch: event #2: content differs from its hash" in text
    assert "mirror-differs: record: user_metadata.consent differs from the ledger" in text


def test_verify_catches_an_event_forged_through_the_management_api(seeded: Path, cli: Any) -> None:
    # Someone with update:users but without the ledger's key appends a "given" that
    # chains and hashes correctly; only the mac, which needs the key, gives it away.
    ledger = ledgers.append(
        _stored_ledger(seeded, "auth0|cid"),
        [_event("marketing", "given", "2026-12-01T00:00:00.000Z", method="page")],
        b"not-the-ledger-key-0123456789abcdef",
        max_events=40,
    )
    environment = open_environment(load_tenant(seeded / "tenant.yaml"), "local")
    with environment.tenant_client() as client:
        client.update_user_consent(
            "auth0|cid",
            {"consent_ledger": ledger},
            mirror_patch(_stored(seeded, "auth0|cid")["user_metadata"], ledger, _policy(seeded)),
        )
    run = cli("consent", "verify", "--user-id", "auth0|cid", "-o", "json")
    assert run.code == 0  # findings exit 0 unless --fail-on-findings
    assert _problems(run.json()) == {"auth0|cid": {("mac-invalid", 3)}}
    key = _key(seeded).decode()
    assert key not in run.out
    assert key not in run.err


def test_verify_by_email(seeded: Path, cli: Any) -> None:
    run = cli("consent", "verify", "--email", "ann@example.com", "-o", "json")
    assert run.code == 0, run.err
    assert run.json()["checked"] == 2
    assert cli("consent", "verify", "--email", "nobody@example.com").code == 1


# -- property: any sequence of operations ----------------------------------------------
OPS = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["grant", "withdraw"]), st.sampled_from([None, "terms", "marketing"])
        ),
        st.tuples(
            st.just("unrelated"),
            st.dictionaries(
                st.sampled_from(["a", "b", "theme"]),
                st.integers(0, 9) | st.none(),
                min_size=1,
                max_size=2,
            ),
        ),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_operations_only_ever_append_and_keep_other_keys(project: Path, ops: list[Any]) -> None:
    """Any sequence of grant, withdraw (per purpose or default) and writes of unrelated
    user_metadata keys: earlier events are never rewritten, the ledger verifies, the
    state is what the operations say, and no other key of either metadata is lost."""
    policy, key = _policy(project), _key(project)
    texts = text_hashes(project, policy)
    environment = open_environment(load_tenant(project / "tenant.yaml"), "local")
    user_id = "auth0|prop"
    with environment.tenant_client() as client:
        tenant = LocalTenant(project)
        try:  # a fresh user for every example
            tenant.store.put(
                "user",
                user_id,
                {
                    **(tenant.store.get("user", user_id) or {}),
                    "user_id": user_id,
                    "email": "prop@example.com",
                    "user_metadata": {"theme": "dark"},
                    "app_metadata": {"roles": ["reader"]},
                },
            )
        finally:
            tenant.close()
        expected_um: dict[str, Any] = {"theme": "dark"}
        model: dict[str, bool] = {}
        events: list[dict[str, Any]] = []
        for name, argument in ops:
            if name == "unrelated":
                client.update_user_metadata(user_id, argument)
                for k, v in argument.items():
                    if v is None:
                        expected_um.pop(k, None)
                    else:
                        expected_um[k] = v
                continue
            chosen = [argument] if argument else None
            if name == "grant":
                grant(client, policy, user_id, key, texts, purposes=chosen)
                for pid in chosen or ["terms"]:
                    model[pid] = True
            else:
                withdraw(client, policy, user_id, key, purposes=chosen)
                for pid in chosen or ["terms", "marketing"]:
                    if pid in model:
                        model[pid] = False
            user = client.get_user(user_id)
            ledger = user["app_metadata"].get("consent_ledger") if model else None
            if ledger is None:
                continue
            assert ledger["events"][: len(events)] == events  # only ever appended
            events = ledger["events"]
            assert ledgers.verify(ledger, key) == []
            assert {p: s["given"] for p, s in ledger["state"].items()} == model
            assert verify_user(user, policy, key).findings == ()
        user = client.get_user(user_id)
        assert user["app_metadata"]["roles"] == ["reader"]
        assert {k: v for k, v in user["user_metadata"].items() if k != "consent"} == expected_um
