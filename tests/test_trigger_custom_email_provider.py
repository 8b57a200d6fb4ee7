"""custom-email-provider: real actions in the sandbox, as Auth0 runs the trigger.

Sources: the event object
https://auth0.com/docs/actions/reference/custom-email-provider/custom-email-provider-event-object,
the api object
https://auth0.com/docs/actions/reference/custom-email-provider/custom-email-provider-api-object
(drop/retry, "only the last one is considered", reasons truncated at 1024
characters) and the one-action limit
https://auth0.com/docs/customize/email/smtp-email-providers/custom/configure-action
("You can have at most one Action bound to the custom-email-provider trigger").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import ServedTenant
from trigger_project_support import project, request, unit

from auth0_actions.errors import ConfigError
from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.triggers import registry

TRIGGER = registry.get("custom-email-provider")
HANDLER = "onExecuteCustomEmailProvider"
EVENT_DOCS = "https://auth0.com/docs/actions/reference/custom-email-provider/custom-email-provider-event-object"
MESSAGE_TYPES = {
    "verify_email",
    "verify_email_by_code",
    "reset_email",
    "reset_email_by_code",
    "welcome_email",
    "verification_code",
    "mfa_oob_code",
    "enrollment_email",
    "blocked_account",
    "stolen_credentials",
    "try_provider_configuration_email",
    "organization_invitation",
}


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=10_000)) as p:
        yield p


def run(pool: SandboxPool, *bodies: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
    units = [unit(f"mailer{i}", HANDLER, body) for i, body in enumerate(bodies)]
    reply = pool.call(request(TRIGGER.id, units, event or TRIGGER.build_event()))
    assert reply.result is not None, reply.failure
    return reply.result


def logged(result: dict[str, Any]) -> list[Any]:
    return [json.loads(entry["message"]) for entry in result["logs"]]


# --- the trigger as the registry knows it ---------------------------------------------


def test_the_trigger_is_registered_with_auth0s_id_version_and_handler() -> None:
    assert (TRIGGER.id, TRIGGER.version) == ("custom-email-provider", "v1")
    assert TRIGGER.handlers == (HANDLER,)
    assert TRIGGER.resume_handler is None
    # configure-action: "at most one Action bound to the custom-email-provider trigger"
    assert TRIGGER.max_actions == 1


# --- the event ---------------------------------------------------------------------------


def test_the_event_has_every_documented_member(pool: SandboxPool) -> None:
    """Members as the event object reference lists them (EVENT_DOCS)."""
    result = run(
        pool,
        "console.log(JSON.stringify({top: Object.keys(event).sort(),"
        " notification: Object.keys(event.notification).sort(),"
        " request: Object.keys(event.request).sort(), user: Object.keys(event.user).sort(),"
        " tenant: Object.keys(event.tenant).sort(), client: Object.keys(event.client).sort()}));",
    )
    assert result["status"] == "completed"
    (seen,) = logged(result)
    assert set(seen["top"]) >= {
        "client",
        "connection",
        "notification",
        "request",
        "secrets",
        "tenant",
        "transaction",
        "user",
    }
    assert seen["notification"] == sorted(
        ["from", "html", "locale", "message_type", "subject", "text", "to"]
    )
    # The email trigger's request has no method or language, as documented.
    assert seen["request"] == sorted(["geoip", "hostname", "ip", "query", "user_agent"])
    assert set(seen["user"]) == {
        "app_metadata",
        "email",
        "email_verified",
        "family_name",
        "given_name",
        "name",
        "nickname",
        "picture",
        "user_id",
        "user_metadata",
        "username",
    }
    assert set(seen["tenant"]) == {
        "id",
        "friendly_name",
        "home_url",
        "logo_url",
        "support_email",
        "support_url",
    }
    assert set(seen["client"]) == {"client_id", "metadata", "name"}


def test_the_default_notification_is_a_rendered_verification_email() -> None:
    notification = TRIGGER.build_event()["notification"]
    assert notification["message_type"] in MESSAGE_TYPES
    assert notification["to"] == TRIGGER.build_event()["user"]["email"]
    assert notification["html"].startswith("<html>")
    assert "email-verification?ticket=" in notification["text"]
    assert notification["locale"] == "en_US"  # "as defined in the BCP-47 specification"


def test_a_scenario_event_overrides_the_notification(pool: SandboxPool) -> None:
    event = TRIGGER.build_event({"notification": {"message_type": "reset_email", "to": "a@b.ie"}})
    result = run(pool, "console.log(JSON.stringify(event.notification));", event=event)
    (seen,) = logged(result)
    assert seen["message_type"] == "reset_email"
    assert seen["to"] == "a@b.ie"
    assert seen["subject"] == "Verify your email"  # the rest stays


def test_secrets_reach_the_action_as_declared(pool: SandboxPool) -> None:
    action = unit(
        "mailer", HANDLER, "console.log(event.secrets.MAIL_API_KEY);", {"MAIL_API_KEY": "k1"}
    )
    reply = pool.call(request(TRIGGER.id, [action], TRIGGER.build_event()))
    assert reply.result is not None
    assert [e["message"] for e in reply.result["logs"]] == ["k1"]


# --- the api ---------------------------------------------------------------------------


def test_the_api_is_the_cache_and_the_notification(pool: SandboxPool) -> None:
    result = run(
        pool,
        "console.log(JSON.stringify([Object.keys(api).sort(),"
        " Object.keys(api.notification).sort(), Object.keys(api.cache).sort()]));",
    )
    assert logged(result) == [
        [["cache", "notification"], ["drop", "retry"], ["delete", "get", "set"]]
    ]


def test_drop_ends_the_notification_as_dropped_with_its_reason(pool: SandboxPool) -> None:
    """drop: "the notification event is considered failed without recovery"."""
    result = run(pool, "api.notification.drop('mailbox does not exist');")
    assert result["status"] == "dropped"
    assert result["notification"] == {
        "action": "mailer0",
        "outcome": "dropped",
        "reason": "mailbox does not exist",
    }
    assert result["commands"] == [
        {"action": "mailer0", "type": "notification.drop", "reason": "mailbox does not exist"}
    ]
    assert result["deny"] is None  # nothing is denied to anyone: a mail was not sent


def test_retry_ends_the_notification_as_retried(pool: SandboxPool) -> None:
    """retry: "considered failed, but recoverable ... we will retry it up to 5 times"."""
    result = run(pool, "api.notification.retry('mail API answered 503');")
    assert result["status"] == "retried"
    assert result["notification"]["outcome"] == "retried"
    assert result["notification"]["reason"] == "mail API answered 503"


@pytest.mark.parametrize(
    ("calls", "status", "reason"),
    [
        ("api.notification.drop('a'); api.notification.retry('b');", "retried", "b"),
        ("api.notification.retry('a'); api.notification.drop('b');", "dropped", "b"),
        ("api.notification.retry('a'); api.notification.retry('b');", "retried", "b"),
    ],
)
def test_only_the_last_call_is_considered(
    pool: SandboxPool, calls: str, status: str, reason: str
) -> None:
    """ "If several calls are made, only the last one is considered." """
    result = run(pool, calls)
    assert result["status"] == status
    assert result["notification"]["reason"] == reason
    assert len(result["commands"]) == 2  # both calls are on the record


def test_a_reason_is_truncated_at_1024_characters(pool: SandboxPool) -> None:
    """ "this field is limited to 1024 characters and will be truncated if larger" """
    result = run(pool, "api.notification.drop('x'.repeat(1500));")
    assert result["status"] == "dropped"
    assert result["notification"]["reason"] == "x" * 1024


def test_a_mail_the_action_neither_drops_nor_retries_is_completed(pool: SandboxPool) -> None:
    result = run(pool, "console.log('sent');")
    assert result["status"] == "completed"
    assert result["notification"] is None


def test_a_throwing_action_is_an_error_not_a_drop(pool: SandboxPool) -> None:
    result = run(pool, "throw new Error('SMTP connection refused');")
    assert result["status"] == "error"
    assert result["error"]["message"] == "SMTP connection refused"
    assert result["notification"] is None


def test_a_drop_after_the_handler_returned_is_ignored(pool: SandboxPool) -> None:
    """A call from a stray callback after the action finished changes nothing."""
    result = run(pool, "setTimeout(() => api.notification.drop('late'), 0);")
    assert result["status"] == "completed"
    assert result["commands"] == []


def test_the_cache_works_as_on_every_trigger(pool: SandboxPool) -> None:
    """api.cache.set returns {type: 'success', record}; get returns the record."""
    result = run(
        pool,
        "const set = api.cache.set('last-bounce', 'a@b.ie');"
        " console.log(JSON.stringify([set.type, api.cache.get('last-bounce').value]));",
    )
    assert logged(result) == [["success", "a@b.ie"]]
    assert result["cache"]["last-bounce"]["value"] == "a@b.ie"


# --- one action per trigger --------------------------------------------------------------


def test_the_pipeline_refuses_a_second_action(pool: SandboxPool) -> None:
    """Auth0 binds at most one action to this trigger; the sandbox never runs two."""
    with pytest.raises(ConfigError, match=r"at most 1 action .*mailer0, mailer1"):
        run(pool, "api.notification.drop('a');", "console.log('second');")


def test_tenant_yaml_refuses_a_second_bound_action(
    tmp_path: Path, cli: Any, monkeypatch: Any
) -> None:
    code = f"exports.{HANDLER} = async (event, api) => {{}};\n"
    project(tmp_path / "p", TRIGGER.id, {"first": code, "second": code})
    monkeypatch.chdir(tmp_path / "p")
    run_ = cli("config", "validate")
    assert run_.code == 1
    assert "custom-email-provider binds at most 1 action (2 are declared)" in run_.out + run_.err


# --- handlers ----------------------------------------------------------------------------


def test_a_misspelt_handler_is_an_error_naming_the_expected_one(pool: SandboxPool) -> None:
    action = unit("mailer", "onExecuteCustomEmailProvidr", "api.notification.drop('x');")
    reply = pool.call(request(TRIGGER.id, [action], TRIGGER.build_event()))
    assert reply.result is not None
    assert reply.result["status"] == "error"
    assert reply.result["error"]["message"] == (
        "The action exports none of the custom-email-provider trigger's handlers "
        "(expected onExecuteCustomEmailProvider)."
    )


def test_render_refuses_an_action_naming_none_of_the_handlers(
    tmp_path: Path, cli: Any, monkeypatch: Any
) -> None:
    project(
        tmp_path / "p",
        TRIGGER.id,
        {"mailer": "exports.onExecutePostLogin = async (event, api) => {};\n"},
    )
    monkeypatch.chdir(tmp_path / "p")
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert "onExecuteCustomEmailProvider" in rendered.err


# --- as a user drives it: validate, render, test, sandbox run -----------------------------

TEMPLATE = """\
exports.onExecuteCustomEmailProvider = async (event, api) => {
  if (event.notification.to.endsWith('@example.com')) {
    api.notification.drop(`${event.notification.message_type} to a test domain`);
    return;
  }
  const key = event.secrets.MAIL_API_KEY;
  console.log(`would send "${event.notification.subject}" with ${key.length}-char key`);
};
"""

SCENARIOS = """\
pipeline:
  action: [mailer]
secrets: {MAIL_API_KEY: key-0123456789}
environments: [local]
scenarios:
  - name: mail to a real domain is sent
    event: {notification: {to: jane@acme-corp.ie}}
    expect:
      status: completed
      logs: ['[mailer] would send "Verify your email" with 14-char key']
  - name: mail to a test domain is dropped
    expect:
      status: dropped
      commands: [{type: notification.drop, reason: verify_email to a test domain}]
"""


def test_validate_render_and_scenarios(tmp_path: Path, cli: Any, monkeypatch: Any) -> None:
    root = project(
        tmp_path / "p",
        TRIGGER.id,
        {"mailer": TEMPLATE},
        secrets={"MAIL_API_KEY": "MAIL_API_KEY"},
        scenarios={"mailer": SCENARIOS},
    )
    monkeypatch.chdir(root)
    assert cli("config", "validate").code == 0
    rendered = cli("render", "--all")
    assert rendered.code == 0, rendered.err
    assert (
        "(custom-email-provider, order 1, node22)" in (root / "actions/local/mailer.js").read_text()
    )
    tested = cli("test", "--output", "json")
    assert tested.code == 0, tested.out
    assert tested.json()["summary"]["passed"] == 2


def test_a_scenario_expecting_delivery_fails_on_a_drop(
    tmp_path: Path, cli: Any, monkeypatch: Any
) -> None:
    wrong = SCENARIOS.replace("status: dropped", "status: completed")
    root = project(
        tmp_path / "p",
        TRIGGER.id,
        {"mailer": TEMPLATE},
        secrets={"MAIL_API_KEY": "MAIL_API_KEY"},
        scenarios={"mailer": wrong},
    )
    monkeypatch.chdir(root)
    assert cli("render", "--all").code == 0
    tested = cli("test")
    assert tested.code == 1
    assert "-completed" in tested.out
    assert "+dropped" in tested.out


def test_sandbox_run_with_the_trigger(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "mailer.js"
    action.write_text(
        f"exports.{HANDLER} = async (event, api) => {{\n"
        "  api.notification.retry(`provider down for ${event.notification.to}`);\n};\n"
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"notification": {"to": "ops@acme-corp.ie"}}))
    ran = cli("sandbox", "run", "--trigger", TRIGGER.id, "--event", str(event), str(action))
    assert ran.code == 0, ran.err
    result = ran.json()
    assert result["status"] == "retried"
    assert result["notification"]["reason"] == "provider down for ops@acme-corp.ie"


def test_sandbox_run_refuses_a_handler_of_another_trigger(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "mailer.js"
    action.write_text(f"exports.{HANDLER} = async () => {{}};\n")
    ran = cli(
        "sandbox", "run", "--trigger", TRIGGER.id, "--handler", "onExecutePostLogin", str(action)
    )
    assert ran.code == 1
    assert "(its handlers: onExecuteCustomEmailProvider)" in ran.out + ran.err


# --- the local tenant's POST /api/v2/actions/actions/{id}/test ----------------------------


@pytest.fixture
def served() -> Iterator[ServedTenant]:
    tenant = ServedTenant()
    yield tenant
    tenant.app.backends.action_tests.close()
    tenant.stop()


def test_the_local_tenant_tests_a_custom_email_provider_action(served: ServedTenant) -> None:
    """POST /actions/actions/{id}/test runs the action with the trigger's event and api."""
    code = (
        f"exports.{HANDLER} = async (event, api) => {{\n"
        "  console.log('to ' + event.notification.to);\n"
        "  api.notification.drop('no mail in tests');\n};\n"
    )
    with served.http() as http:
        created = http.post(
            "/api/v2/actions/actions",
            json={
                "name": "mailer",
                "supported_triggers": [{"id": TRIGGER.id, "version": TRIGGER.version}],
                "code": code,
            },
        )
        assert created.status_code == 201, created.text
        response: httpx.Response = http.post(
            f"/api/v2/actions/actions/{created.json()['id']}/test",
            json={"payload": {"notification": {"to": "qa@acme-corp.ie"}}},
        )
    assert response.status_code == 200, response.text
    payload = response.json()["payload"]
    assert payload["status"] == "dropped"
    assert payload["logs"] == ["to qa@acme-corp.ie"]
    assert payload["commands"] == [{"type": "notification.drop", "reason": "no mail in tests"}]
