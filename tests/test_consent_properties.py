"""Property: for any sequence of decisions, the Actions' ledger is the Python reference's.

The consent Actions append to the ledger in JavaScript
(rules_templates/_consent_ledger.js.j2), the CLI and the self-service page in
Python (deploy/auth0_actions/consent/ledger.py). Whatever the decisions
(purposes, given / declined / withdrawn, methods, languages, IPs, reasons
with any Unicode text, enough to fold events into the summary), both must
write the same bytes: the same hashes, macs, summary and state, a ledger
``verify`` accepts, and the same user_metadata mirror, which keeps every
unrelated user_metadata key. The JavaScript runs as it ships: the rendered
consent-redirect Action of a project ``init`` wrote, in the sandbox, with a
handler appended that hands it the decisions.

Runs are derandomized (no example database), so CI sees the same examples
every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth0_actions.config import ConsentPolicy, load_tenant
from auth0_actions.config.model import MetadataLayout
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.mirror import mirror_patch
from auth0_actions.render import TemplateRenderer, units_for
from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.triggers import registry

SECRET = "property-ledger-secret-ü-0123456789"  # non-ASCII: the key is its UTF-8 bytes
MAX_EVENTS = 8  # the smallest allowed: long sequences fold into the summary

# Appended to the rendered Action: the ledger functions are in scope.
HARNESS = """
exports.onExecutePostLogin = async (event, api) => {
  const input = event.user.app_metadata;
  const secret = event.secrets.CONSENT_LEDGER_SECRET;
  const ledger = appendEvents(input.start, input.decisions, secret, input.max);
  api.user.setAppMetadata("out", ledger);
  api.user.setAppMetadata("problems", ledgerProblems(ledger, secret));
  for (const [key, value] of Object.entries(mirrorUpdate(event.user.user_metadata, ledger))) {
    api.user.setUserMetadata(key, value);
  }
};
"""


@pytest.fixture(scope="module")
def code(scaffolded: Path) -> dict[str, tuple[ConsentPolicy, str]]:
    """The rendered consent-redirect Action per mirror layout, with the harness."""
    tenant = load_tenant(scaffolded / "tenant.yaml")
    base = tenant.environment("local")
    renderer = TemplateRenderer(tenant.templates_dir, tenant.root)
    found = {}
    for layout in ("nested", "root"):
        policy = base.consent.model_copy(
            update={"metadata": MetadataLayout(layout=layout, object_key="consent")}  # type: ignore[arg-type]
        )
        view = type(base)(base.name, base.settings, policy)
        [unit] = [u for u in units_for(tenant, view) if u.name == "consent-redirect"]
        found[layout] = (policy, renderer.render(unit).text + HARNESS)
    return found


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(1) as opened:
        yield opened


TEXT = st.text(max_size=12)  # any Unicode, control characters and astral planes included
DECISION = st.fixed_dictionaries(
    {
        "purpose": st.sampled_from(["terms", "marketing", "analytics"]),
        "decision": st.sampled_from(["given", "given", "declined", "withdrawn"]),
        "version": st.sampled_from(["2026-11-01", "2027-01-01", "1.10"]),
        "at": st.integers(0, 10**12).map(
            lambda ms: f"2026-{ms % 12 + 1:02d}-01T00:00:00.{ms % 1000:03d}Z"
        ),
        "method": st.sampled_from(list(ledgers.METHODS)),
        "text_sha256": st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
        "language": st.none() | st.sampled_from(["en", "de"]),
        "ip": st.none() | st.sampled_from(["203.0.113.9", "2001:db8::1"]),
        "reason": st.none() | TEXT,
    }
)
KEYS = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,7}", fullmatch=True).filter(
    lambda k: k not in ("consent",) and not k.startswith("consent")
)
UNRELATED = st.dictionaries(KEYS, st.booleans() | st.integers(-99, 99) | TEXT, max_size=3)


def _valid(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only what the ledger accepts: a withdrawal needs a standing consent."""
    given: dict[str, bool] = {}
    kept = []
    for decision in decisions:
        if decision["decision"] == "withdrawn" and not given.get(decision["purpose"]):
            continue
        given[decision["purpose"]] = decision["decision"] == "given"
        kept.append(decision)
    return kept


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layout=st.sampled_from(["nested", "root"]),
    first=st.lists(DECISION, max_size=6),
    then=st.lists(DECISION, min_size=1, max_size=12),
    unrelated=UNRELATED,
)
def test_the_actions_append_exactly_as_python_and_keep_unrelated_metadata(
    code: dict[str, tuple[ConsentPolicy, str]],
    pool: SandboxPool,
    layout: str,
    first: list[dict[str, Any]],
    then: list[dict[str, Any]],
    unrelated: dict[str, Any],
) -> None:
    policy, source = code[layout]
    key = SECRET.encode()
    valid = _valid(first + then)
    start_decisions, more = valid[: len(first)], valid[len(first) :]
    start = (
        ledgers.append(
            None, [ledgers.NewEvent(**d) for d in start_decisions], key, max_events=MAX_EVENTS
        )
        if start_decisions
        else None
    )
    expected = ledgers.append(
        start, [ledgers.NewEvent(**d) for d in more], key, max_events=MAX_EVENTS
    )

    login = registry.get("post-login")
    event = login.build_event(
        {
            "user": {
                "user_metadata": unrelated,
                "app_metadata": {"start": start, "decisions": more, "max": MAX_EVENTS},
            }
        }
    )
    unit = {
        "name": "consent-redirect",
        "code": source,
        "filename": "consent-redirect.js",
        "secrets": {"CONSENT_LEDGER_SECRET": SECRET},
    }
    reply = pool.call({"op": login.id, "units": [unit], "event": event, "resume": None})
    assert reply.result is not None, reply.failure
    assert reply.result["status"] == "completed", reply.result.get("error")
    written = reply.result["app_metadata"]["out"]

    assert written == expected
    assert ledgers.verify(written, key) == []
    assert reply.result["app_metadata"]["problems"] == []
    # The mirror: what consent/mirror.py computes, beside every unrelated key untouched.
    mirror = mirror_patch(unrelated, expected, policy)
    stored = reply.result["user_metadata"]
    assert {k: v for k, v in stored.items() if k not in mirror} == {
        k: v for k, v in unrelated.items() if k not in mirror
    }
    assert {k: stored.get(k) for k in mirror if mirror[k] is not None} == {
        k: v for k, v in mirror.items() if v is not None
    }
