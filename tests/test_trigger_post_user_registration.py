"""post-user-registration: real actions of the trigger, run in the sandbox as Auth0 runs them.

Sources (Auth0's documentation):
  OVERVIEW  https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger
  EVENT     https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger/post-user-registration-event-object
  API       https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger/post-user-registration-api-object
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

TRIGGER = "post-user-registration"
HANDLER = "onExecutePostUserRegistration"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(1, limits=Limits(timeout_ms=5000)) as p:
        yield p


def registered(pool: SandboxPool, *bodies: str, event: dict[str, Any] | None = None) -> Any:
    units = [unit(f"a{i}", HANDLER, body) for i, body in enumerate(bodies)]
    return run(pool, TRIGGER, *units, event=event)


def test_the_trigger_is_registered_as_the_bindings_api_names_it() -> None:
    """OVERVIEW: post-user-registration, v2; no api.access: nothing can stop the signup."""
    trigger = registry.get(TRIGGER)
    assert (trigger.version, trigger.handlers) == ("v2", (HANDLER,))
    assert trigger.denies == frozenset()


def test_the_event_is_the_user_just_created(pool: SandboxPool) -> None:
    """EVENT: the documented fields; the user exists (user_id, created_at) and has no
    last_password_reset ('At user creation, this field does not exist'); no client."""
    event = seen_event(registered(pool, "console.log(JSON.stringify(event));"))
    assert set(event) == {
        "authentication",
        "connection",
        "custom_domain",
        "request",
        "secrets",
        "security_context",
        "tenant",
        "transaction",
        "user",
    }
    user = event["user"]
    assert user["user_id"].startswith("auth0|")
    assert user["created_at"] == user["updated_at"]
    assert user["email_verified"] is False
    assert "last_password_reset" not in user
    assert set(user) >= {"app_metadata", "user_metadata", "email", "phone_verified", "picture"}
    assert set(event["request"]) == {"ip", "method", "hostname", "language", "user_agent", "geoip"}


def test_the_api_is_the_cache_only(pool: SandboxPool) -> None:
    """API: api.cache is the whole api."""
    result = registered(pool, "console.log(JSON.stringify(Object.keys(api)));")
    assert seen_event(result) == ["cache"]


def test_there_is_no_deny(pool: SandboxPool) -> None:
    """OVERVIEW: 'the Action's outcome does not affect the Auth0 transaction'."""
    result = registered(pool, "api.access.deny('no');")
    assert result["status"] == "error"
    assert result["deny"] is None
    assert "reading 'deny'" in result["error"]["message"]


def test_the_cache_is_carried_to_the_next_action_within_its_limits(pool: SandboxPool) -> None:
    """API/LIMITS: cache.set/get; keys over 64 bytes are refused (CacheKeySizeExceeded)."""
    first = (
        "api.cache.set('welcome:' + event.user.user_id, 'pending');\n"
        "console.log(api.cache.set('k'.repeat(65), 'v').code);"
    )
    second = "console.log(api.cache.get('welcome:' + event.user.user_id).value);"
    result = registered(pool, first, second)
    assert logged(result) == ["CacheKeySizeExceeded", "pending"]
    assert [e["action"] for e in result["executed"]] == ["a0", "a1"]
    assert [c["type"] for c in result["commands"]] == ["cache.set"]


def test_an_error_ends_the_run_but_not_the_signup(pool: SandboxPool) -> None:
    """The actions run in order; an action that throws ends the run with an error."""
    result = registered(pool, "throw new Error('CRM down');", "console.log('second');")
    assert result["status"] == "error"
    assert result["error"]["message"] == "CRM down"
    assert logged(result) == []


def test_a_misspelt_handler_is_an_error_naming_the_expected_one(pool: SandboxPool) -> None:
    result = run(pool, TRIGGER, unit("typo", "onExecutePostUserRegistraton", ""))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "The action exports none of the post-user-registration trigger's handlers "
        "(expected onExecutePostUserRegistration)."
    )


def test_a_handler_taking_only_the_event_runs(pool: SandboxPool) -> None:
    """OVERVIEW's examples declare `async (event, api)`; `api` may be left out."""
    code = "exports.onExecutePostUserRegistration = async (event) => console.log(event.user.email);"
    assert logged(run(pool, TRIGGER, coded("one", code))) == ["jane.doe@example.com"]


TEMPLATE = """\
exports.onExecutePostUserRegistration = async (event, api) => {
  const ttl = {{ action.values.ttl_ms | js }};
  api.cache.set("welcome:" + event.user.user_id, "pending", { ttl });
  console.log("welcome pending for " + event.user.user_id);
};
"""
SCENARIOS = """\
pipeline:
  action: [welcome]
environments: [local]
scenarios:
  - name: a new user is marked for a welcome
    expect:
      status: completed
      commands: [{type: cache.set, key: "welcome:auth0|6543210fedcba98765432100"}]
      logs: ["[welcome] welcome pending for auth0|6543210fedcba98765432100"]
"""


def test_scenarios_run_with_auth0_test_and_render_checks_the_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    project = project_with_action(
        tmp_path / "p", "welcome", TRIGGER, TEMPLATE, SCENARIOS, "{ttl_ms: 86400000}"
    )
    monkeypatch.chdir(project)
    assert cli("config", "validate").code == 0
    assert cli("render", "--all").code == 0
    tested = cli("test")
    assert tested.code == 0, tested.out
    assert "1 passed, 0 failed" in tested.out
    scenarios = project / "rules_templates" / "welcome.scenarios.yaml"
    scenarios.write_text(SCENARIOS.replace("welcome pending", "welcome sent"))
    assert cli("test").code == 1
    template = project / "rules_templates" / "welcome.js.j2"
    template.write_text(TEMPLATE.replace(HANDLER, "onExecutePostUserRegister"))
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert "expected onExecutePostUserRegistration" in rendered.err


def test_sandbox_run_runs_a_file_as_a_post_registration_action(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "welcome.js"
    action.write_text(
        "exports.onExecutePostUserRegistration = async (event, api) => {\n"
        "  console.log('hello ' + event.user.email);\n"
        "};\n"
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"user": {"email": "new@example.com"}}))
    ran = cli("sandbox", "run", "--trigger", TRIGGER, str(action), "--event", str(event))
    assert ran.code == 0, ran.err
    assert ran.json()["status"] == "completed"
    assert [e["message"] for e in ran.json()["logs"]] == ["hello new@example.com"]
