"""custom-phone-provider: real actions in the sandbox, as Auth0 runs the trigger.

Sources: the event object
https://auth0.com/docs/actions/reference/custom-phone-provider/custom-phone-provider-event-object,
the api object
https://auth0.com/docs/actions/reference/custom-phone-provider/custom-phone-provider-api-object
(drop/retry, "only the last one is considered", reasons truncated at 1024
characters) and the one-action limit
https://auth0.com/docs/customize/phone-messages/configure-phone-messaging-providers/configure-a-custom-phone-provider/configure-a-custom-phone-provider-with-terraform
("a maximum limit of one Action ... custom-phone-provider and custom-email-provider").
The drop/retry machinery is shared with custom-email-provider, whose tests
cover its every rule; these check that this trigger has it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trigger_project_support import project, request, unit

from auth0_actions.errors import ConfigError
from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.triggers import registry

TRIGGER = registry.get("custom-phone-provider")
HANDLER = "onExecuteCustomPhoneProvider"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=10_000)) as p:
        yield p


def run(pool: SandboxPool, *bodies: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
    units = [unit(f"sms{i}", HANDLER, body) for i, body in enumerate(bodies)]
    reply = pool.call(request(TRIGGER.id, units, event or TRIGGER.build_event()))
    assert reply.result is not None, reply.failure
    return reply.result


def logged(result: dict[str, Any]) -> list[Any]:
    return [json.loads(entry["message"]) for entry in result["logs"]]


def test_the_trigger_is_registered_with_auth0s_id_version_and_handler() -> None:
    assert (TRIGGER.id, TRIGGER.version) == ("custom-phone-provider", "v1")
    assert TRIGGER.handlers == (HANDLER,)
    assert TRIGGER.max_actions == 1


def test_the_event_has_every_documented_member(pool: SandboxPool) -> None:
    result = run(
        pool,
        "console.log(JSON.stringify({top: Object.keys(event).sort(),"
        " notification: Object.keys(event.notification).sort(),"
        " request: Object.keys(event.request).sort(), user: Object.keys(event.user).sort()}));",
    )
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
        [
            "as_text",
            "as_voice",
            "code",
            "delivery_method",
            "from",
            "locale",
            "message_type",
            "recipient",
        ]
    )
    assert seen["request"] == sorted(
        ["geoip", "hostname", "ip", "language", "method", "user_agent"]
    )
    assert {"phone_number", "phone_verified", "created_at", "updated_at"} <= set(seen["user"])


def test_the_default_notification_is_a_one_time_code_by_text() -> None:
    """message_type among the documented ones; numbers E.164; the code in the text."""
    notification = TRIGGER.build_event()["notification"]
    assert notification["message_type"] in {
        "otp_verify",
        "otp_enroll",
        "blocked_account",
        "change_password",
        "password_breach",
    }
    assert notification["delivery_method"] in {"text", "voice"}
    assert E164.match(notification["recipient"])
    assert E164.match(notification["from"])
    assert notification["code"] in notification["as_text"]


def test_the_api_is_the_cache_and_the_notification(pool: SandboxPool) -> None:
    result = run(
        pool,
        "console.log(JSON.stringify([Object.keys(api).sort(),"
        " Object.keys(api.notification).sort()]));",
    )
    assert logged(result) == [[["cache", "notification"], ["drop", "retry"]]]


def test_drop_and_retry_end_the_notification(pool: SandboxPool) -> None:
    dropped = run(pool, "api.notification.drop('premium-rate number');")
    assert dropped["status"] == "dropped"
    assert dropped["notification"] == {
        "action": "sms0",
        "outcome": "dropped",
        "reason": "premium-rate number",
    }
    retried = run(pool, "api.notification.drop('a'); api.notification.retry('gateway 502');")
    assert retried["status"] == "retried"  # the last call is considered
    assert retried["notification"]["reason"] == "gateway 502"


def test_voice_delivery_reads_the_voice_rendering(pool: SandboxPool) -> None:
    event = TRIGGER.build_event({"notification": {"delivery_method": "voice"}})
    result = run(
        pool,
        "const n = event.notification;"
        " console.log(JSON.stringify(n.delivery_method === 'voice' ? n.as_voice : n.as_text));",
        event=event,
    )
    assert logged(result) == [TRIGGER.event["notification"]["as_voice"]]


def test_the_pipeline_refuses_a_second_action(pool: SandboxPool) -> None:
    with pytest.raises(ConfigError, match="custom-phone-provider trigger runs at most 1 action"):
        run(pool, "", "")


def test_a_misspelt_handler_is_an_error_naming_the_expected_one(pool: SandboxPool) -> None:
    action = unit("sms", "onExecuteSendPhoneMessage")
    reply = pool.call(request(TRIGGER.id, [action], TRIGGER.build_event()))
    assert reply.result is not None
    assert reply.result["status"] == "error"
    assert "(expected onExecuteCustomPhoneProvider)" in reply.result["error"]["message"]


TEMPLATE = """\
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  const n = event.notification;
  if (n.recipient.startsWith('+882')) {
    api.notification.drop(`${n.message_type} to a satellite range`);
    return;
  }
  console.log(`${n.delivery_method} to ${n.recipient.slice(-4)}: ${n.as_text}`);
};
"""

SCENARIOS = """\
pipeline:
  action: [sms]
environments: [local]
scenarios:
  - name: a code is sent
    expect:
      status: completed
      logs: ['[sms] text to 0186: Your Acme Web verification code is 482913']
  - name: a satellite number is dropped
    event: {notification: {recipient: "+88216500000"}}
    expect:
      status: dropped
      commands: [{type: notification.drop, reason: otp_verify to a satellite range}]
"""


def test_validate_render_and_scenarios(tmp_path: Path, cli: Any, monkeypatch: Any) -> None:
    root = project(tmp_path / "p", TRIGGER.id, {"sms": TEMPLATE}, scenarios={"sms": SCENARIOS})
    monkeypatch.chdir(root)
    assert cli("config", "validate").code == 0
    assert cli("render", "--all").code == 0
    tested = cli("test", "--output", "json")
    assert tested.code == 0, tested.out
    assert tested.json()["summary"]["passed"] == 2


def test_tenant_yaml_refuses_a_second_bound_action(
    tmp_path: Path, cli: Any, monkeypatch: Any
) -> None:
    project(tmp_path / "p", TRIGGER.id, {"first": TEMPLATE, "second": TEMPLATE})
    monkeypatch.chdir(tmp_path / "p")
    validated = cli("config", "validate")
    assert validated.code == 1
    assert "custom-phone-provider binds at most 1 action" in validated.out + validated.err


def test_render_refuses_an_action_naming_none_of_the_handlers(
    tmp_path: Path, cli: Any, monkeypatch: Any
) -> None:
    misspelt = TEMPLATE.replace(HANDLER, "onExecuteCustomPhoneProviders")
    project(tmp_path / "p", TRIGGER.id, {"sms": misspelt})
    monkeypatch.chdir(tmp_path / "p")
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert "expected onExecuteCustomPhoneProvider" in rendered.out + rendered.err


def test_sandbox_run_with_the_trigger(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "sms.js"
    action.write_text(TEMPLATE)
    event = tmp_path / "event.yaml"
    event.write_text("notification: {recipient: '+88216500000', message_type: otp_enroll}\n")
    ran = cli("sandbox", "run", "--trigger", TRIGGER.id, "--event", str(event), str(action))
    assert ran.code == 0, ran.err
    assert ran.json()["status"] == "dropped"
    assert ran.json()["notification"]["reason"] == "otp_enroll to a satellite range"
