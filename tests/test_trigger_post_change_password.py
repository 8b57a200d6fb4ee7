"""post-change-password: real actions of the trigger, run in the sandbox as Auth0 runs them.

Sources (Auth0's documentation):
  OVERVIEW  https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger
  EVENT     https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger/post-change-password-event-object
  API       https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger/post-change-password-api-object
  LIMITS    https://auth0.com/docs/customize/actions/limitations (api.cache)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from signup_trigger_support import coded, logged, project_with_action, run, seen_event, unit

from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.triggers import registry

TRIGGER = "post-change-password"
HANDLER = "onExecutePostChangePassword"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(1, limits=Limits(timeout_ms=5000)) as p:
        yield p


def changed(pool: SandboxPool, *bodies: str, event: dict[str, Any] | None = None) -> Any:
    units = [unit(f"a{i}", HANDLER, body) for i, body in enumerate(bodies)]
    return run(pool, TRIGGER, *units, event=event)


def test_the_trigger_is_registered_as_the_bindings_api_names_it() -> None:
    """OVERVIEW: post-change-password, v2; no api.access: the change cannot be undone."""
    trigger = registry.get(TRIGGER)
    assert (trigger.version, trigger.handlers) == ("v2", (HANDLER,))
    assert trigger.denies == frozenset()


def test_the_event_is_the_documented_one(pool: SandboxPool) -> None:
    """EVENT: authentication, connection, custom_domain, request, tenant, transaction
    (correlation_id only), user (email, email_verified, last_password_reset,
    phone_number, phone_verified, user_id, username) and secrets; no metadata."""
    event = seen_event(changed(pool, "console.log(JSON.stringify(event));"))
    assert set(event) == {
        "authentication",
        "connection",
        "custom_domain",
        "request",
        "secrets",
        "tenant",
        "transaction",
        "user",
    }
    assert set(event["user"]) == {
        "email",
        "email_verified",
        "last_password_reset",
        "phone_number",
        "phone_verified",
        "user_id",
        "username",
    }
    assert set(event["transaction"]) == {"correlation_id"}
    assert event["connection"]["strategy"] == "auth0"  # database connections only


def test_the_api_is_the_cache_only(pool: SandboxPool) -> None:
    result = changed(pool, "console.log(JSON.stringify(Object.keys(api)));")
    assert seen_event(result) == ["cache"]


def test_there_is_no_deny(pool: SandboxPool) -> None:
    """OVERVIEW: 'the Action's outcome does not affect the Auth0 transaction'."""
    result = changed(pool, "api.access.deny('no');")
    assert result["status"] == "error"
    assert result["deny"] is None


def test_the_cache_is_carried_to_the_next_action_within_its_limits(pool: SandboxPool) -> None:
    """API/LIMITS: a cache lifetime over 24 hours is refused (InvalidExpiry)."""
    first = (
        "api.cache.set('changed:' + event.user.user_id, event.user.last_password_reset);\n"
        "console.log(api.cache.set('long', 'v', {ttl: 24 * 3600 * 1000 + 1}).code);"
    )
    second = "console.log(api.cache.get('changed:' + event.user.user_id).value);"
    result = changed(pool, first, second)
    assert logged(result) == ["InvalidExpiry", "2026-11-27T09:00:00.000Z"]


def test_an_error_ends_the_run(pool: SandboxPool) -> None:
    result = changed(pool, "throw new Error('mail service down');", "console.log('second');")
    assert result["status"] == "error"
    assert result["error"]["message"] == "mail service down"
    assert logged(result) == []


def test_a_misspelt_handler_is_an_error_naming_the_expected_one(pool: SandboxPool) -> None:
    result = run(pool, TRIGGER, unit("typo", "onExecutePostPasswordChange", ""))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "The action exports none of the post-change-password trigger's handlers "
        "(expected onExecutePostChangePassword)."
    )


def test_the_documented_one_argument_handler_runs(pool: SandboxPool) -> None:
    """OVERVIEW's example: `exports.onExecutePostChangePassword = async (event) => {...}`."""
    code = "exports.onExecutePostChangePassword = async (event) => console.log(event.user.email);"
    assert logged(run(pool, TRIGGER, coded("one", code))) == ["jane.doe@example.com"]


TEMPLATE = """\
exports.onExecutePostChangePassword = async (event, api) => {
  api.cache.set("password-changed:" + event.user.user_id, event.user.last_password_reset);
  console.log("password changed on " + event.connection.name);
};
"""
SCENARIOS = """\
pipeline:
  action: [record-change]
environments: [local]
scenarios:
  - name: the change is recorded
    expect:
      status: completed
      commands: [{type: cache.set, key: "password-changed:auth0|6543210fedcba98765432100"}]
"""


def test_scenarios_run_with_auth0_test_and_render_checks_the_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    project = project_with_action(tmp_path / "p", "record-change", TRIGGER, TEMPLATE, SCENARIOS)
    monkeypatch.chdir(project)
    assert cli("config", "validate").code == 0
    assert cli("render", "--all").code == 0
    tested = cli("test")
    assert tested.code == 0, tested.out
    assert "1 passed, 0 failed" in tested.out
    template = project / "rules_templates" / "record-change.js.j2"
    template.write_text(TEMPLATE.replace(HANDLER, "onExecutePostLogin"))
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert "expected onExecutePostChangePassword" in rendered.err


def test_sandbox_run_runs_a_file_as_a_password_change_action(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "notify.js"
    action.write_text(
        "exports.onExecutePostChangePassword = async (event) => {\n"
        "  console.log('changed ' + event.user.user_id);\n"
        "};\n"
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"user": {"user_id": "auth0|abc"}}))
    ran = cli("sandbox", "run", "--trigger", TRIGGER, str(action), "--event", str(event))
    assert ran.code == 0, ran.err
    assert [e["message"] for e in ran.json()["logs"]] == ["changed auth0|abc"]
