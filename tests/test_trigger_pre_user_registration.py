"""pre-user-registration: real actions of the trigger, run in the sandbox as Auth0 runs them.

Sources (Auth0's documentation):
  OVERVIEW  https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger
  EVENT     https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger/pre-user-registration-event-object
  API       https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger/pre-user-registration-api-object
  LIMITS    https://auth0.com/docs/customize/actions/limitations (api.cache)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from signup_trigger_support import (
    coded,
    logged,
    project_with_action,
    run,
    seen_event,
    unit,
)

from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.triggers import registry

TRIGGER = "pre-user-registration"
HANDLER = "onExecutePreUserRegistration"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(1, limits=Limits(timeout_ms=5000)) as p:
        yield p


def signup(pool: SandboxPool, *bodies: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
    units = [unit(f"a{i}", HANDLER, body) for i, body in enumerate(bodies)]
    return run(pool, TRIGGER, *units, event=event)


# ---------------------------------------------------------------- the trigger


def test_the_trigger_is_registered_as_the_bindings_api_names_it() -> None:
    """OVERVIEW: trigger id pre-user-registration, version v2, one handler."""
    trigger = registry.get(TRIGGER)
    assert (trigger.version, trigger.handlers, trigger.resume_handler) == ("v2", (HANDLER,), None)
    assert trigger.max_actions == 20


# ------------------------------------------------------------------ the event


def test_the_event_is_a_signup_with_every_documented_field(pool: SandboxPool) -> None:
    """EVENT: authentication, client, connection, custom_domain, request, secrets,
    security_context, tenant, transaction, user; the user does not exist yet (no user_id)."""
    event = seen_event(signup(pool, "console.log(JSON.stringify(event));"))
    assert set(event) == {
        "authentication",
        "client",
        "connection",
        "custom_domain",
        "request",
        "secrets",
        "security_context",
        "tenant",
        "transaction",
        "user",
    }
    assert set(event["user"]) == {
        "app_metadata",
        "email",
        "family_name",
        "given_name",
        "name",
        "nickname",
        "phone_number",
        "picture",
        "user_metadata",
        "username",
    }
    assert "user_id" not in event["user"]
    assert event["connection"]["strategy"] == "auth0"
    # The signup form's POST: the body is there (EVENT: "available during ...
    # PreUserRegistration Action"), the password never is.
    assert event["request"]["method"] == "POST"
    assert event["request"]["body"]["email"] == event["user"]["email"]
    assert "password" not in json.dumps(event)
    assert set(event["request"]) >= {"ip", "geoip", "hostname", "language", "user_agent"}
    assert set(event["client"]) == {"client_id", "name", "metadata"}


def test_event_overrides_merge_over_the_defaults(pool: SandboxPool) -> None:
    result = signup(
        pool,
        "console.log(JSON.stringify(event));",
        event={"user": {"email": "a@b.example"}, "request": {"body": {"terms": "on"}}},
    )
    event = seen_event(result)
    assert event["user"]["email"] == "a@b.example"
    assert event["user"]["nickname"] == "jane.doe"  # the rest kept
    assert event["request"]["body"]["terms"] == "on"


def test_secrets_are_the_actions_own(pool: SandboxPool) -> None:
    """EVENT: event.secrets, the secret values of this action."""
    action = unit("s", HANDLER, "console.log(event.secrets.API_KEY);", {"API_KEY": "k-123"})
    assert logged(run(pool, TRIGGER, action)) == ["k-123"]


# ------------------------------------------------------------------- the api


def test_the_api_is_the_documented_one(pool: SandboxPool) -> None:
    """API: access, user, cache, validation; nothing of post-login's (no idToken)."""
    result = signup(
        pool,
        "console.log(JSON.stringify(Object.fromEntries("
        "Object.entries(api).map(([k, v]) => [k, Object.keys(v).sort()]))));",
    )
    assert seen_event(result) == {
        "access": ["deny"],
        "user": ["setAppMetadata", "setUserMetadata"],
        "cache": ["delete", "get", "set"],
        "validation": ["error"],
    }


def test_metadata_set_is_what_the_user_is_created_with(pool: SandboxPool) -> None:
    """API: setUserMetadata/setAppMetadata(key, value); null removes the property;
    each returns the api; 'Invoking this method won't update the metadata immediately'."""
    result = signup(
        pool,
        "api.user.setUserMetadata('screen_name', 'jd')"
        ".user.setUserMetadata('plan', {tier: 'free'});\n"
        "api.user.setAppMetadata('crm_id', 'c-1');\n"
        "api.user.setUserMetadata('from_form', null);\n"
        "console.log(JSON.stringify(event.user.user_metadata));",
        event={"user": {"user_metadata": {"from_form": "x", "kept": 1}}},
    )
    assert result["status"] == "completed"
    assert result["user_metadata"] == {"kept": 1, "screen_name": "jd", "plan": {"tier": "free"}}
    assert result["app_metadata"] == {"crm_id": "c-1"}
    # The event the action sees is not changed by its own calls.
    assert seen_event(result) == {"from_form": "x", "kept": 1}
    assert [c["type"] for c in result["commands"]] == [
        "user.setUserMetadata",
        "user.setUserMetadata",
        "user.setAppMetadata",
        "user.setUserMetadata",
    ]


def test_a_metadata_key_must_be_a_string(pool: SandboxPool) -> None:
    result = signup(pool, "api.user.setAppMetadata(7, 'x');")
    assert result["status"] == "error"
    assert result["error"]["message"] == "app_metadata key must be a string"


def test_passwordless_signups_get_no_metadata(pool: SandboxPool) -> None:
    """OVERVIEW: 'You cannot currently use pre-user-registration Actions to add
    metadata to passwordless users.' The call is accepted; nothing is stored."""
    result = signup(
        pool,
        "api.user.setUserMetadata('screen_name', 'jd');",
        event={"connection": {"name": "email", "strategy": "email"}},
    )
    assert result["status"] == "completed"
    assert result["user_metadata"] == {}
    assert "cannot add metadata to passwordless users" in logged(result)[0]


def test_access_deny_refuses_the_signup_with_a_reason_and_a_user_message(
    pool: SandboxPool,
) -> None:
    """API: access.deny(reason, userMessage): the reason goes to the tenant logs, the
    userMessage 'may be presented directly in end-user interfaces'; the action itself
    runs to its end."""
    result = signup(
        pool,
        "api.access.deny('no_signups_from_north_america', 'You are not allowed to register.');\n"
        "console.log('still running');",
    )
    assert result["status"] == "denied"
    assert result["deny"] == {
        "action": "a0",
        "reason": "no_signups_from_north_america",
        "user_message": "You are not allowed to register.",
        "command": "access.deny",
    }
    assert logged(result) == ["still running"]


def test_a_deny_without_a_user_message_shows_its_reason(pool: SandboxPool) -> None:
    """What the app gets for deny(reason) alone is the reason (Auth0 community thread
    https://community.auth0.com/t/help-understanding-error-codes-in-pre-user-registration-and-post-login-actions/89653:
    error_description is the reason)."""
    result = signup(pool, "api.access.deny('USER_ACCOUNT_NOT_ACTIVE');")
    assert result["deny"]["user_message"] == "USER_ACCOUNT_NOT_ACTIVE"


def test_the_first_refusal_is_the_one_shown(pool: SandboxPool) -> None:
    result = signup(pool, "api.access.deny('first', 'First.');\napi.access.deny('second', 'Two.');")
    assert result["deny"]["reason"] == "first"
    assert [c["reason"] for c in result["commands"]] == ["first", "second"]


def test_validation_error_refuses_the_signup_with_its_code_and_message(
    pool: SandboxPool,
) -> None:
    """API: validation.error(errorCode, errorMessage): 'Deny the user from being able
    to register'; the code appears in tenant logs, the message in end-user interfaces."""
    result = signup(pool, "api.validation.error('invalid_username', 'Pick another username.');")
    assert result["status"] == "denied"
    assert result["deny"] == {
        "action": "a0",
        "reason": "invalid_username",
        "code": "invalid_username",
        "user_message": "Pick another username.",
        "command": "validation.error",
    }


def test_api_calls_after_the_handler_finished_are_ignored(pool: SandboxPool) -> None:
    """A deny from a callback that outlives the handler cannot refuse the signup."""
    result = signup(pool, "setTimeout(() => api.access.deny('late'), 0);")
    assert result["status"] == "completed"
    assert result["deny"] is None


def test_the_cache_holds_values_across_the_pipeline_within_its_limits(
    pool: SandboxPool,
) -> None:
    """API/LIMITS: cache.set/get; a value over 4 kB is refused with CacheValueSizeExceeded."""
    first = "console.log(JSON.stringify(api.cache.set('k', 'v', {ttl: 60000})));"
    second = (
        "console.log(api.cache.get('k').value);\n"
        "console.log(api.cache.set('big', 'x'.repeat(4097)).code);"
    )
    result = signup(pool, first, second)
    assert json.loads(logged(result)[0])["type"] == "success"
    assert logged(result)[1:] == ["v", "CacheValueSizeExceeded"]


# ---------------------------------------------------------- two actions, in order


def test_the_second_action_sees_what_the_first_set(pool: SandboxPool) -> None:
    """API: 'You can call this several times throughout multiple actions of the same
    flow and the engine will aggregate the changes.'"""
    result = signup(
        pool,
        "api.user.setAppMetadata('crm_id', 'c-1');",
        "console.log(event.user.app_metadata.crm_id);\napi.user.setUserMetadata('seen', true);",
    )
    assert logged(result) == ["c-1"]
    assert result["app_metadata"] == {"crm_id": "c-1"}
    assert result["user_metadata"] == {"seen": True}
    assert [e["action"] for e in result["executed"]] == ["a0", "a1"]


def test_a_deny_stops_the_later_actions(pool: SandboxPool) -> None:
    """API: 'no further Actions will be executed'."""
    result = signup(pool, "api.access.deny('blocked', 'No.');", "console.log('second ran');")
    assert result["status"] == "denied"
    assert [e["action"] for e in result["executed"]] == ["a0"]
    assert logged(result) == []


def test_a_validation_error_stops_the_later_actions(pool: SandboxPool) -> None:
    result = signup(pool, "api.validation.error('bad', 'Bad.');", "console.log('second ran');")
    assert [e["action"] for e in result["executed"]] == ["a0"]


# ----------------------------------------------------------- wrong handlers


def test_a_misspelt_handler_is_an_error_naming_the_expected_one(pool: SandboxPool) -> None:
    result = run(pool, TRIGGER, unit("typo", "onExecutePreUserRegistraton", ""))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "The action exports none of the pre-user-registration trigger's handlers "
        "(expected onExecutePreUserRegistration)."
    )


def test_a_post_login_handler_does_not_run_as_a_signup_action(pool: SandboxPool) -> None:
    result = run(pool, TRIGGER, unit("wrong", "onExecutePostLogin", "console.log('ran');"))
    assert result["status"] == "error"
    assert "expected onExecutePreUserRegistration" in result["error"]["message"]


def test_a_handler_that_is_not_async_is_refused(pool: SandboxPool) -> None:
    code = "exports.onExecutePreUserRegistration = function (event, api) {};\n"
    result = run(pool, TRIGGER, coded("sync", code))
    assert result["status"] == "error"
    assert "exports.onExecutePreUserRegistration = async function" in result["error"]["message"]


# ------------------------------------------------------------- as a user runs it

BLOCKER = """\
const BLOCKED = new Set({{ action.values.blocked | js }});
exports.onExecutePreUserRegistration = async (event, api) => {
  const domain = (event.user.email || "").split("@")[1];
  if (BLOCKED.has(domain)) api.access.deny("disposable_email", "Use a permanent address.");
};
"""
SCENARIOS = """\
pipeline:
  action: [blocker]
environments: [local]
scenarios:
  - name: allowed
    expect: {status: completed, commands: []}
  - name: blocked
    event: {user: {email: x@mailinator.com}}
    expect:
      status: denied
      deny: disposable_email
      commands:
        - {type: access.deny, reason: disposable_email, user_message: Use a permanent address.}
"""


def _blocker_project(root: Path, scenarios: str = SCENARIOS) -> Path:
    values = "{blocked: [mailinator.com]}"
    return project_with_action(root, "blocker", TRIGGER, BLOCKER, scenarios, values)


def test_scenarios_of_a_signup_action_run_with_auth0_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    project = _blocker_project(tmp_path / "p")
    monkeypatch.chdir(project)
    assert cli("config", "validate").code == 0
    assert cli("render", "--all").code == 0
    tested = cli("test", "--output", "json")
    assert tested.code == 0, tested.out
    assert tested.json()["summary"]["passed"] == 2


def test_a_wrong_signup_expectation_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    project = _blocker_project(tmp_path / "p", SCENARIOS.replace("deny: disposable", "deny: other"))
    monkeypatch.chdir(project)
    assert cli("render", "--all").code == 0
    tested = cli("test")
    assert tested.code == 1
    assert "FAILED blocker::blocked" in tested.out


def test_render_refuses_a_signup_action_without_its_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    template = BLOCKER.replace("onExecutePreUserRegistration", "onExecutePostLogin")
    project = _blocker_project(tmp_path / "p")
    (project / "rules_templates" / "blocker.js.j2").write_text(template)
    monkeypatch.chdir(project)
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert "rules_templates/blocker.js.j2" in rendered.err
    assert "expected onExecutePreUserRegistration" in rendered.err


def test_sandbox_run_runs_a_file_as_a_signup_action(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "block.js"
    action.write_text(
        "exports.onExecutePreUserRegistration = async (event, api) => {\n"
        "  if (event.user.email.endsWith('@mailinator.com'))\n"
        "    api.access.deny('disposable', 'No.');\n"
        "};\n"
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"user": {"email": "x@mailinator.com"}}))
    ran = cli("sandbox", "run", "--trigger", TRIGGER, str(action), "--event", str(event))
    assert ran.code == 0, ran.err
    assert ran.json()["status"] == "denied"
    assert ran.json()["deny"]["user_message"] == "No."
    misspelt = tmp_path / "typo.js"
    misspelt.write_text("exports.onExecutePreUserRegistraton = async () => {};\n")
    failed = cli("sandbox", "run", "--trigger", TRIGGER, str(misspelt))
    assert failed.code == 1
    assert "expected onExecutePreUserRegistration" in failed.json()["error"]["message"]


def test_the_local_tenants_action_test_endpoint_runs_a_signup_action() -> None:
    """POST /api/v2/actions/actions/{id}/test runs the action with its trigger's event
    (https://auth0.com/docs/api/management/v2/actions/post-test-action)."""
    from emulator_support import ServedTenant

    tenant = ServedTenant()
    try:
        with tenant.http() as http:
            code = (
                "exports.onExecutePreUserRegistration = async (event, api) => {\n"
                "  api.access.deny('disposable', 'Use a permanent address: ' + event.user.email);\n"
                "};\n"
            )
            created = http.post(
                "/api/v2/actions/actions",
                json={
                    "name": "blocker",
                    "supported_triggers": [{"id": TRIGGER, "version": "v2"}],
                    "code": code,
                },
            )
            assert created.status_code == 201, created.text
            tested = http.post(
                f"/api/v2/actions/actions/{created.json()['id']}/test",
                json={"payload": {"user": {"email": "x@mailinator.com"}}},
            )
            assert tested.status_code == 200, tested.text
            payload = tested.json()["payload"]
            assert payload["status"] == "denied"
            assert payload["commands"] == [
                {
                    "type": "access.deny",
                    "reason": "disposable",
                    "user_message": "Use a permanent address: x@mailinator.com",
                }
            ]
    finally:
        tenant.app.backends.action_tests.close()
        tenant.stop()


def test_binding_order_is_per_trigger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """Bindings are per trigger (PATCH /api/v2/actions/triggers/{triggerId}/bindings,
    https://auth0.com/docs/api/management/v2/actions/patch-bindings): order 1 of
    pre-user-registration and order 1 of post-login do not clash; two order 1s of
    pre-user-registration do."""
    project = _blocker_project(tmp_path / "p")
    config = project / "tenant.yaml"
    second = (
        "  - name: other\n"
        "    template: blocker.js.j2\n"
        "    trigger: {trigger}\n"
        "    order: 1\n"
        "    values: {{blocked: [a.example]}}\n"
    )
    base = config.read_text()
    monkeypatch.chdir(project)
    config.write_text(base + second.format(trigger="post-login"))
    # Valid as configuration (render would then refuse the post-login one's code).
    assert cli("config", "validate").code == 0
    config.write_text(base + second.format(trigger=TRIGGER))
    refused = cli("config", "validate")
    assert refused.code == 1
    assert "order 1 is already taken by actions[0] in pre-user-registration" in refused.err
