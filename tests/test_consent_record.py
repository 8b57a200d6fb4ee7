"""A user's consent record: status per purpose from the ledger, and verify's verdicts.

Unit level, on ledgers built with the reference implementation
(auth0_actions.consent.ledger); the commands on the local tenant are in
tests/test_consent_ops.py. The policy (which purpose the next login asks about)
is the one the consent Actions enforce: docs/consent.md, "Consent operations".
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from auth0_actions.config import ConsentPolicy, load_tenant
from auth0_actions.config.model import WithdrawnPolicy
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.mirror import mirror_patch
from auth0_actions.consent.status import judge
from auth0_actions.consent.verify import verify_user

KEY = b"test-ledger-key-0123456789abcdef"
V = "2026-11-01"
AT = "2026-11-02T10:00:00.000Z"


def _policy(scaffolded: Path) -> ConsentPolicy:
    return load_tenant(scaffolded / "tenant.yaml").environment("local").consent


def _event(purpose: str, decision: str, version: str = V) -> ledgers.NewEvent:
    return ledgers.NewEvent(
        purpose=purpose,
        decision=decision,  # type: ignore[arg-type]
        version=version,
        at=AT,
        method="page",
        text_sha256="cd" * 32,
        language="en",
    )


def _user(policy: ConsentPolicy, *events: ledgers.NewEvent, **metadata: Any) -> dict[str, Any]:
    user: dict[str, Any] = {"user_id": "auth0|u", "email": "u@example.com"}
    if events:
        ledger = ledgers.append(None, events, KEY, max_events=policy.ledger.max_events)
        user["app_metadata"] = {"consent_ledger": ledger}
        user["user_metadata"] = {**metadata, **mirror_patch(metadata, ledger, policy)}
    else:
        user["user_metadata"] = metadata
    return user


def _judged(policy: ConsentPolicy, user: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {p.purpose.id: (p.status, p.next_login) for p in judge(user, policy).purposes}


def test_each_purpose_is_judged_on_its_own_version(scaffolded: Path) -> None:
    policy = _policy(scaffolded)
    user = _user(policy, _event("terms", "given", "2025-01-01"), _event("marketing", "given"))
    # A version bump asks again for that purpose only.
    assert _judged(policy, user) == {
        "terms": ("outdated", "asked"),
        "marketing": ("valid", "proceeds"),
    }


def test_optional_declined_or_withdrawn_is_settled_required_is_asked(scaffolded: Path) -> None:
    policy = _policy(scaffolded)
    declined = _user(policy, _event("terms", "declined"), _event("marketing", "declined"))
    assert _judged(policy, declined) == {
        "terms": ("declined", "asked"),
        "marketing": ("declined", "proceeds"),
    }
    withdrawn = _user(
        policy,
        _event("terms", "given"),
        _event("marketing", "given"),
        _event("terms", "withdrawn"),
        _event("marketing", "withdrawn"),
    )
    assert _judged(policy, withdrawn) == {
        "terms": ("withdrawn", "asked"),
        "marketing": ("withdrawn", "proceeds"),
    }
    deny = policy.model_copy(update={"on_withdrawn": WithdrawnPolicy(action="deny")})
    assert _judged(deny, withdrawn)["terms"] == ("withdrawn", "denied")
    assert judge(withdrawn, policy).findings() == [judge(withdrawn, policy).purpose("terms")]


def test_a_seed_record_is_judged_as_its_migrated_view(scaffolded: Path) -> None:
    policy = _policy(scaffolded)
    seed = {"consent": {"given": True, "terms_version": V, "date": AT, "method": "signup"}}
    judged = judge(_user(policy, **seed), policy)
    assert judged.evidence == "user_metadata"
    assert _judged(policy, _user(policy, **seed)) == {
        "terms": ("valid", "proceeds"),
        "marketing": ("missing", "asked"),
    }
    assert judged.ledger is not None
    assert [e["method"] for e in judged.ledger["events"]] == ["migrated"]
    nothing = judge(_user(policy, theme="dark"), policy)
    assert nothing.evidence == "none"
    assert nothing.ledger is None


def test_a_ledger_outranks_the_mirror_users_can_edit(scaffolded: Path) -> None:
    policy = _policy(scaffolded)
    user = _user(policy, _event("terms", "declined"))
    user["user_metadata"]["consent"]["given"] = True  # edited by the user
    assert _judged(policy, user)["terms"] == ("declined", "asked")
    verdict = verify_user(user, policy, KEY)
    assert [f.problem for f in verdict.findings] == ["mirror-differs"]


def test_verify_passes_what_the_tool_wrote_and_names_each_tampering(scaffolded: Path) -> None:
    policy = _policy(scaffolded)
    user = _user(policy, _event("terms", "given"), _event("marketing", "given"), theme="dark")
    assert verify_user(user, policy, KEY).findings == ()
    other_key = b"another-ledger-key-0123456789abcd"
    assert verify_user(user, policy, other_key).findings[0].problem == "mac-invalid"

    dropped = copy.deepcopy(user)
    del dropped["app_metadata"]["consent_ledger"]["events"][0]
    assert {f.problem for f in verify_user(dropped, policy, KEY).findings} >= {"chain-broken"}

    not_object = copy.deepcopy(user)
    not_object["app_metadata"]["consent_ledger"] = "given"
    assert [f.problem for f in verify_user(not_object, policy, KEY).findings] == ["malformed"]

    seed_only = _user(policy, consent={"given": True, "terms_version": V})
    assert verify_user(seed_only, policy, KEY).kind == "user_metadata only"


DECISIONS = st.lists(
    st.tuples(st.sampled_from(["terms", "marketing"]), st.sampled_from(["given", "declined"])),
    max_size=12,
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(decisions=DECISIONS, version=st.sampled_from([V, "2027-01-01"]))
def test_status_always_follows_the_latest_decision(
    scaffolded: Path, decisions: list[tuple[str, str]], version: str
) -> None:
    policy = _policy(scaffolded)
    events = [_event(p, d, version) for p, d in decisions]
    user = _user(policy, *events)
    latest = dict(decisions)
    for status in judge(user, policy).purposes:
        decided = latest.get(status.purpose.id)
        expected = (
            "missing"
            if decided is None
            else "declined"
            if decided == "declined"
            else "outdated"
            if version != V
            else "valid"
        )
        assert status.status == expected
        assert status.asked == (
            expected != "valid" and (status.purpose.required or expected != "declined")
        )
    assert verify_user(user, policy, KEY).findings == ()
