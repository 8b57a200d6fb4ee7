"""consent show / grant / withdraw / audit through the CLI against the local tenant.

Each test runs the real command in-process: it serves the project's embedded
local tenant on loopback and talks to it over HTTP through TenantClient. What
the tenant stored is then read straight from the local tenant's store, so the
assertions are about user_metadata itself, not about what the command says.
Both layouts of tenant.yaml's consent.metadata are exercised.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.emulator.tenant import LocalTenant

TERMS = "2026-11-01"
DB = "Username-Password-Authentication"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNRELATED = {
    "theme": "dark",
    "prefs": {"newsletter": {"weekly": True, "topics": ["a", "b"]}},
    "empty": {},
    "n": 0,
}


def _set_layout(project: Path, layout: str) -> None:
    path = project / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    assert "    layout: nested" in text
    path.write_text(text.replace("    layout: nested", f"    layout: {layout}"), encoding="utf-8")


def _record(layout: str, **fields: Any) -> dict[str, Any]:
    """user_metadata holding a record with these fields, in the layout's property names."""
    if layout == "nested":
        names = {"text_url": "text_details"}
        return {"consent": {names.get(k, k): v for k, v in fields.items()}}
    names = {
        "given": "consentGiven",
        "date": "consentDate",
        "terms_version": "consentTermsVersion",
        "method": "consentMethod",
        "withdrawn_at": "consentWithdrawnAt",
    }
    return {names[k]: v for k, v in fields.items()}


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
    return dict(user.get("user_metadata") or {})


def _consent_part(layout: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The record's properties, wherever the layout puts them."""
    if layout == "nested":
        return dict(metadata["consent"])
    return {k: v for k, v in metadata.items() if k.startswith("consent")}


def _unrelated(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if k in UNRELATED}


@pytest.fixture(params=["nested", "root"])
def layout(request: pytest.FixtureRequest, project: Path) -> str:
    value = str(request.param)
    _set_layout(project, value)
    _seed(
        project,
        [
            {
                "email": "ann@example.com",
                "connection": DB,
                "user_id": "auth0|ann",
                "user_metadata": {
                    **UNRELATED,
                    **_record(
                        value,
                        given=True,
                        date="2026-01-02T03:04:05.000Z",
                        terms_version=TERMS,
                        method="signup",
                        **({"campaign": "spring"} if value == "nested" else {}),
                    ),
                },
            },
            {
                "email": "ann@example.com",
                "connection": "google-oauth2",
                "user_id": "google-oauth2|ann",
                "user_metadata": dict(UNRELATED),
            },
            {
                "email": "bob@example.com",
                "connection": DB,
                "user_id": "auth0|bob",
                "user_metadata": _record(value, given=True, terms_version="2025-01-01"),
            },
            {
                "email": "cid@example.com",
                "connection": DB,
                "user_id": "auth0|cid",
                "user_metadata": _record(value, given=False, terms_version=TERMS),
            },
        ],
    )
    return value


# -- show -------------------------------------------------------------------------------
def test_show_by_email_lists_every_matching_user_with_its_status(layout: str, cli: Any) -> None:
    run = cli("consent", "show", "--email", "ann@example.com", "-o", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["terms_version"] == TERMS
    by_id = {u["user_id"]: u for u in data["users"]}
    assert set(by_id) == {"auth0|ann", "google-oauth2|ann"}
    assert by_id["auth0|ann"]["status"] == "valid"
    assert by_id["auth0|ann"]["record"]["method"] == "signup"
    assert by_id["auth0|ann"]["record"]["date"] == "2026-01-02T03:04:05.000Z"
    assert by_id["google-oauth2|ann"] == {
        "user_id": "google-oauth2|ann",
        "email": "ann@example.com",
        "status": "missing",
        "record": None,
    }
    assert set(by_id["auth0|ann"]["record"]) == {
        "given",
        "date",
        "terms_version",
        "text_url",
        "method",
        "ip",
        "withdrawn_at",
        "withdrawn_reason",
    }


def test_show_by_id_in_text(layout: str, cli: Any) -> None:
    run = cli("consent", "show", "--user-id", "auth0|bob")
    assert run.code == 0, run.err
    assert "auth0|bob" in run.out
    assert "outdated" in run.out
    assert "2025-01-01" in run.out
    declined = cli("consent", "show", "--user-id", "auth0|cid")
    assert "declined" in declined.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("consent", "show", "--user-id", "auth0|nobody"), "no user with id 'auth0|nobody'"),
        (("consent", "show", "--email", "nobody@example.com"), "no user with email"),
        (("consent", "show"), "exactly one of --email and --user-id"),
        (
            ("consent", "show", "--email", "ann@example.com", "--user-id", "auth0|ann"),
            "exactly one of --email and --user-id",
        ),
        (("consent", "grant", "--user-id", "auth0|nobody"), "no user with id 'auth0|nobody'"),
        (("consent", "withdraw", "--user-id", "auth0|nobody"), "no user with id 'auth0|nobody'"),
        (("consent", "withdraw", "--user-id", "auth0|ann", "--reason", " "), "--reason: empty"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(
    layout: str, cli: Any, project: Path, args: tuple[str, ...], message: str
) -> None:
    before = _stored(project, "auth0|ann")
    run = cli(*args)
    assert run.code == 1
    assert message in run.err
    assert _stored(project, "auth0|ann") == before


# -- grant / withdraw -------------------------------------------------------------------
def test_grant_writes_the_record_and_keeps_every_other_key(
    layout: str, cli: Any, project: Path
) -> None:
    run = cli("consent", "grant", "--user-id", "google-oauth2|ann", "-o", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["changed"] is True
    assert data["before"]["status"] == "missing"
    assert data["after"]["status"] == "valid"
    # Only the record's own key(s) are sent: never a key the record does not own.
    assert data["patched_keys"] == (
        ["consent"]
        if layout == "nested"
        else [
            "consentDate",
            "consentGiven",
            "consentIp",
            "consentMethod",
            "consentTermsVersion",
            "consentTextUrl",
            "consentWithdrawnAt",
            "consentWithdrawnReason",
        ]
    )
    stored = _stored(project, "google-oauth2|ann")
    assert _unrelated(stored) == UNRELATED
    record = _consent_part(layout, stored)
    if layout == "nested":
        assert record["given"] is True
        assert record["method"] == "api"
        assert record["terms_version"] == TERMS
        assert record["text_details"] == f"https://example.com/legal/terms/{TERMS}"
        assert ISO.match(record["date"])
        assert "withdrawn_at" not in record
    else:
        assert record["consentGiven"] is True
        assert record["consentMethod"] == "api"
        assert record["consentTermsVersion"] == TERMS
        assert ISO.match(record["consentDate"])
        assert "consentWithdrawnAt" not in record


def test_withdraw_records_time_reason_and_method_then_grant_clears_them(
    layout: str, cli: Any, project: Path
) -> None:
    run = cli("consent", "withdraw", "--user-id", "auth0|ann", "--reason", "moved away")
    assert run.code == 0, run.err
    assert "valid -> withdrawn" in run.out
    stored = _stored(project, "auth0|ann")
    assert _unrelated(stored) == UNRELATED
    record = _consent_part(layout, stored)
    if layout == "nested":
        assert record["given"] is False
        assert record["method"] == "api"
        assert ISO.match(record["withdrawn_at"])
        assert record["withdrawn_reason"] == "moved away"
        # What had been consented to, and when, stays as evidence.
        assert record["date"] == "2026-01-02T03:04:05.000Z"
        assert record["terms_version"] == TERMS
        # A property of the record this code does not manage survives the write.
        assert record["campaign"] == "spring"
    else:
        assert record["consentGiven"] is False
        assert record["consentMethod"] == "api"
        assert ISO.match(record["consentWithdrawnAt"])
        assert record["consentWithdrawnReason"] == "moved away"
        assert record["consentDate"] == "2026-01-02T03:04:05.000Z"

    again = cli("consent", "withdraw", "--user-id", "auth0|ann", "-o", "json")
    assert again.code == 0
    assert again.json()["changed"] is False
    assert _stored(project, "auth0|ann") == stored

    regrant = cli("consent", "grant", "--user-id", "auth0|ann", "-o", "json")
    assert regrant.json()["after"]["status"] == "valid"
    final = _stored(project, "auth0|ann")
    assert _unrelated(final) == UNRELATED
    record = _consent_part(layout, final)
    withdrawal_keys = (
        {"withdrawn_at", "withdrawn_reason"}
        if layout == "nested"
        else {"consentWithdrawnAt", "consentWithdrawnReason"}
    )
    assert not withdrawal_keys & set(record)
    if layout == "nested":
        assert record["campaign"] == "spring"


def test_withdraw_without_a_record_still_records_the_withdrawal(
    layout: str, cli: Any, project: Path
) -> None:
    run = cli("consent", "withdraw", "--user-id", "google-oauth2|ann", "-o", "json")
    assert run.code == 0, run.err
    after = run.json()["after"]
    assert after["status"] == "withdrawn"
    assert after["record"]["given"] is False
    assert after["record"]["withdrawn_reason"] is None
    assert _unrelated(_stored(project, "google-oauth2|ann")) == UNRELATED


def test_grant_of_valid_consent_writes_nothing(layout: str, cli: Any, project: Path) -> None:
    before = _stored(project, "auth0|ann")
    run = cli("consent", "grant", "--user-id", "auth0|ann")
    assert run.code == 0
    assert "Nothing written" in run.out
    assert _stored(project, "auth0|ann") == before


# -- audit ------------------------------------------------------------------------------
def test_audit_lists_users_without_valid_consent(layout: str, cli: Any) -> None:
    run = cli("consent", "audit", "-o", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["source"] == "search"
    assert data["terms_version"] == TERMS
    assert data["fallback_reason"] is None
    statuses = {u["user_id"]: u["status"] for u in data["users"]}
    assert statuses == {
        "google-oauth2|ann": "missing",
        "auth0|bob": "outdated",
        "auth0|cid": "declined",
    }
    assert data["summary"] == {"missing": 1, "declined": 1, "withdrawn": 0, "outdated": 1}
    assert data["findings"] == 3

    text = cli("consent", "audit")
    assert text.code == 0
    assert "3 user(s) without valid consent: missing 1, declined 1, withdrawn 0, outdated 1" in (
        text.out
    )
    assert "auth0|bob" in text.out
    assert "auth0|ann " not in text.out


def test_audit_against_another_terms_version_and_the_ci_exit_code(layout: str, cli: Any) -> None:
    cli("consent", "withdraw", "--user-id", "auth0|cid")
    older = cli("consent", "audit", "--terms-version", "2025-01-01", "-o", "json").json()
    statuses = {u["user_id"]: u["status"] for u in older["users"]}
    assert statuses["auth0|ann"] == "outdated"
    assert statuses["auth0|cid"] == "withdrawn"
    assert "auth0|bob" not in statuses
    assert cli("consent", "audit", "--fail-on-findings").code == 2


def test_audit_fails_on_findings_only_when_there_are_some(
    layout: str, cli: Any, project: Path
) -> None:
    for user_id in ("google-oauth2|ann", "auth0|bob", "auth0|cid"):
        assert cli("consent", "grant", "--user-id", user_id).code == 0
    run = cli("consent", "audit", "--fail-on-findings", "-o", "json")
    assert run.code == 0
    assert run.json()["users"] == []


def test_audit_past_the_search_window_reads_an_export(project: Path, cli: Any) -> None:
    # 1100 users: more than the 1000 results search can page through.
    users = [
        {
            "email": f"user{i:04d}@example.com",
            "connection": DB,
            "user_id": f"auth0|u{i:04d}",
            "user_metadata": {"consent": {"given": True, "terms_version": "2025-01-01"}}
            if i % 2
            else {"theme": "light"},
        }
        for i in range(1100)
    ]
    _seed(project, users)
    run = cli("consent", "audit", "-o", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert data["source"] == "export"
    assert "1000" in data["fallback_reason"]
    assert data["checked"] == 1100
    assert data["summary"] == {"missing": 550, "declined": 0, "withdrawn": 0, "outdated": 550}
    assert len(data["users"]) == 1100

    only_search = cli("consent", "audit", "--source", "search")
    assert only_search.code == 1
    assert "more than the 1000" in only_search.err
