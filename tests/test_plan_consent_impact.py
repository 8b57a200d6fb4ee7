"""plan: the consent impact of a purpose change, counted on the local tenant.

The live consent Actions are applied first; users are seeded with ledgers
(and one with only the seed record); then tenant.yaml bumps a purpose's
version and `plan` says how many users gave the old version and will be
asked again. A version bump asks again for that purpose only, and user
search counts through metadata paths with include_totals:
https://auth0.com/docs/manage-users/user-search/user-search-query-syntax
https://auth0.com/docs/api/management/v2/users/get-users
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.faults import Fault
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.plan.consent_impact import (
    Count,
    LivePurpose,
    PurposeImpact,
    UserCounter,
    live_purposes,
    purpose_impacts,
)

DB = "Username-Password-Authentication"
TERMS = "2026-11-01"
NEXT = "2027-01-01"
KEY = b"a ledger key for the test only"


def ledger(*events: tuple[str, ledgers.Decision, str]) -> dict[str, Any]:
    new = [
        ledgers.NewEvent(purpose, decision, version, "2026-11-02T09:00:00.000Z", "page")
        for purpose, decision, version in events
    ]
    return {"consent_ledger": ledgers.append(None, new, KEY, max_events=8)}


def users() -> list[dict[str, Any]]:
    return [
        {"email": "a@example.com", "app_metadata": ledger(("terms", "given", TERMS))},
        {
            "email": "b@example.com",
            "app_metadata": ledger(("terms", "given", TERMS), ("marketing", "given", TERMS)),
        },
        {"email": "c@example.com", "app_metadata": ledger(("terms", "given", "2025-01-01"))},
        {
            "email": "d@example.com",  # withdrawn: asked anyway, not because of the bump
            "app_metadata": ledger(("terms", "given", TERMS), ("terms", "withdrawn", TERMS)),
        },
        {
            "email": "e@example.com",  # no ledger yet: the seed's record gave this version
            "user_metadata": {
                "consent": {
                    "given": True,
                    "date": "2026-11-02T09:00:00.000Z",
                    "terms_version": TERMS,
                }
            },
        },
        {"email": "f@example.com"},
    ]


def bump(project: Path, purpose: str, version: str) -> None:
    config = project / "tenant.yaml"
    text = config.read_text(encoding="utf-8")
    anchor = f"    - id: {purpose}\n"
    head, tail = text.split(anchor, 1)
    old = f'      version: "{TERMS}"\n'
    assert tail.startswith(("      required: true\n" + old, "      required: false\n" + old))
    config.write_text(head + anchor + tail.replace(old, f'      version: "{version}"\n', 1))
    texts = project / "consent_texts"
    for lang in ("en", "de"):
        source = texts / f"{purpose}-{TERMS}.{lang}.txt"
        shutil.copy(source, texts / f"{purpose}-{version}.{lang}.txt")


def deployed_with_users(project: Path, cli: Any) -> None:
    assert cli("apply", "--env", "local", "--yes").code == 0
    with LocalTenant.open(project, serve=False) as tenant:
        tenant.seed([{"connection": DB, **user} for user in users()])


def test_a_version_bump_counts_the_users_who_gave_the_old_version(project: Path, cli: Any) -> None:
    deployed_with_users(project, cli)
    bump(project, "terms", NEXT)
    assert cli("render", "--env", "local").code == 0

    run = cli("plan", "--env", "local", "-o", "json")

    assert run.code == 0, run.err
    impacts = {i["purpose"]: i for i in run.json()["consent_impact"]}
    assert impacts["terms"] == {
        "purpose": "terms",
        "kind": "version",
        "before": TERMS,
        "after": NEXT,
        "users": 3,  # a, b (ledger) and e (seed record); not c, d or f
        "unknown": None,
        "text": f"purpose terms {TERMS} -> {NEXT}: about 3 users will be asked again",
    }
    text = cli("plan", "--env", "local")
    assert text.code == 0
    assert "Consent impact:" in text.out
    assert f"purpose terms {TERMS} -> {NEXT}: about 3 users will be asked again" in text.out
    markdown = cli("plan", "--env", "local", "-o", "markdown")
    assert "#### Consent impact" in markdown.out


def test_no_purpose_change_no_consent_impact(project: Path, cli: Any) -> None:
    deployed_with_users(project, cli)

    run = cli("plan", "--env", "local", "-o", "json")

    assert run.code == 0, run.err
    assert [i for i in run.json()["consent_impact"] if i["purpose"] == "terms"] == []
    assert "Consent impact" not in cli("plan", "--env", "local").out


def test_a_count_that_cannot_be_had_is_unknown_and_the_plan_goes_on(
    project: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed_with_users(project, cli)
    bump(project, "terms", NEXT)
    assert cli("render", "--env", "local").code == 0
    original = LocalTenant.__init__

    def init(self: LocalTenant, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        app: Emulator = self.app
        app.injector.faults.append(Fault("GET", r"^/api/v2/users$", status=403, times=None))

    monkeypatch.setattr(LocalTenant, "__init__", init)

    run = cli("plan", "--env", "local", "-o", "json")

    assert run.code == 0, run.err
    [terms] = [i for i in run.json()["consent_impact"] if i["purpose"] == "terms"]
    assert terms["users"] is None
    assert terms["unknown"] == "the client lacks the read:users scope"
    assert terms["text"].endswith(
        "unknown (the client lacks the read:users scope) users will be asked again"
    )


# -- reading the live code and the rules, without a tenant --------------------------------


def test_the_live_purposes_are_read_from_the_rendered_literal() -> None:
    code = (
        "// header\nconst CONSENT = {\n"
        '  "purposes": [{"id": "terms", "required": true, "version": "1"},\n'
        '   {"id": "marketing", "required": false, "version": "2", "title": "\\u003cb\\u003e"}],\n'
        '  "privacyUrl": "https://example.com/p"\n};\nconst OTHER = 1;\n'
    )
    assert live_purposes(code, "terms") == {
        "terms": LivePurpose("1", True),
        "marketing": LivePurpose("2", False),
    }
    # Code rendered before purposes existed carries the terms version only.
    legacy = 'const CONSENT = {\n  "termsVersion": "2026-11-01"\n};'
    assert live_purposes(legacy, "terms") == {"terms": LivePurpose("2026-11-01", True)}
    assert live_purposes("exports.onExecutePostLogin = async () => {};", "terms") is None
    assert live_purposes("const CONSENT = {broken", "terms") is None


class FixedCounter(UserCounter):
    def __init__(self, answers: dict[str, int]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.failed = None

    def count(self, q: str) -> Count:
        self.asked.append(q)
        return Count(self.answers.get(q, 0))


def test_added_removed_and_required_purposes(project: Path) -> None:
    policy = load_tenant(project / "tenant.yaml").environment("local").consent
    terms = LivePurpose(TERMS, True)
    desired = {"terms": terms, "marketing": LivePurpose(TERMS, False)}
    live = {
        "terms": terms,
        "marketing": LivePurpose(TERMS, True),  # becomes optional
        "analytics": LivePurpose("1", False),  # removed
    }
    counter = FixedCounter({"_exists_:user_id": 10})

    impacts = purpose_impacts(policy, desired, live, counter)

    assert [(i.purpose, i.kind) for i in impacts] == [
        ("marketing", "optional"),
        ("analytics", "removed"),
    ]
    assert impacts[0].count is None
    assert "no one is asked again" in impacts[0].describe()
    assert "recorded decisions stay in their ledgers" in impacts[1].describe()
    assert "app_metadata.consent_ledger.state.analytics" in counter.asked[-1]

    # Optional -> required: everyone but those who gave the current version.
    required = {"terms": terms, "marketing": LivePurpose(TERMS, True)}
    optional = {"terms": terms, "marketing": LivePurpose(TERMS, False)}
    counter = FixedCounter({"_exists_:user_id": 10})
    purpose_impacts(policy, required, optional, counter)
    gave = next(q for q in counter.asked if "marketing.version" in q)
    counter.answers[gave] = 4
    [impact] = purpose_impacts(policy, required, optional, counter)
    assert impact == PurposeImpact("marketing", "required", TERMS, TERMS, Count(6))

    [added] = purpose_impacts(policy, desired, {"terms": terms}, counter)
    assert (added.purpose, added.kind, added.count) == ("marketing", "added", Count(10))
