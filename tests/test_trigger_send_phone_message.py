"""send-phone-message: real actions in the sandbox, as Auth0 runs the trigger.

Sources: the trigger
https://auth0.com/docs/customize/actions/explore-triggers/send-phone-message
(runs at MFA enrollment and challenge by SMS or voice; actions are blocking),
the event object
https://auth0.com/docs/actions/reference/send-phone-message/send-phone-message-event-object
and the api object
https://auth0.com/docs/actions/reference/send-phone-message/send-phone-message-api-object
(api.cache only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trigger_project_support import project, request, unit

from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.triggers import registry
from auth0_actions.triggers.base import MAX_ACTIONS_PER_TRIGGER

TRIGGER = registry.get("send-phone-message")
HANDLER = "onExecuteSendPhoneMessage"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=10_000)) as p:
        yield p


def run(pool: SandboxPool, *bodies: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
    units = [unit(f"gateway{i}", HANDLER, body) for i, body in enumerate(bodies)]
    reply = pool.call(request(TRIGGER.id, units, event or TRIGGER.build_event()))
    assert reply.result is not None, reply.failure
    return reply.result


def logged(result: dict[str, Any]) -> list[Any]:
    return [json.loads(entry["message"]) for entry in result["logs"]]


def test_the_trigger_is_registered_with_auth0s_id_version_and_handler() -> None:
    assert (TRIGGER.id, TRIGGER.version) == ("send-phone-message", "v2")
    assert TRIGGER.handlers == (HANDLER,)
    # No documented limit of its own: the general one.
    assert TRIGGER.max_actions == MAX_ACTIONS_PER_TRIGGER


def test_the_event_has_every_documented_member(pool: SandboxPool) -> None:
    result = run(
        pool,
        "console.log(JSON.stringify({top: Object.keys(event).sort(),"
        " options: Object.keys(event.message_options).sort(),"
        " request: Object.keys(event.request).sort(), client: Object.keys(event.client).sort()}));",
    )
    assert result["status"] == "completed"
    (seen,) = logged(result)
    assert set(seen["top"]) >= {
        "client",
        "message_options",
        "request",
        "secrets",
        "tenant",
        "transaction",
        "user",
    }
    assert seen["options"] == sorted(["action", "code", "message_type", "recipient", "text"])
    assert seen["request"] == sorted(
        ["geoip", "hostname", "ip", "language", "method", "user_agent"]
    )
    assert seen["client"] == sorted(["client_id", "metadata", "name"])


def test_the_default_message_is_an_sms_challenge_carrying_its_code() -> None:
    options = TRIGGER.build_event()["message_options"]
    assert options["action"] in {"enrollment", "second-factor-authentication"}
    assert options["message_type"] in {"sms", "voice"}
    assert options["code"] in options["text"]
    assert options["recipient"].startswith("+")


def test_a_voice_enrollment_is_one_override_away(pool: SandboxPool) -> None:
    event = TRIGGER.build_event(
        {"message_options": {"action": "enrollment", "message_type": "voice"}}
    )
    result = run(pool, "console.log(JSON.stringify(event.message_options));", event=event)
    (seen,) = logged(result)
    assert (seen["action"], seen["message_type"]) == ("enrollment", "voice")
    assert seen["code"] == TRIGGER.event["message_options"]["code"]


def test_the_api_is_the_cache_alone(pool: SandboxPool) -> None:
    """No access.deny, no notification: the api object documents api.cache only."""
    result = run(pool, "console.log(JSON.stringify([Object.keys(api), typeof api.access]));")
    assert logged(result) == [[["cache"], "undefined"]]


def test_the_cache_limits_hold(pool: SandboxPool) -> None:
    """Keys up to 64 bytes, values up to 4 kB (https://auth0.com/docs/customize/actions/limitations)."""
    result = run(
        pool,
        "console.log(JSON.stringify([api.cache.set('k'.repeat(65), 'v').code,"
        " api.cache.set('k', 'v'.repeat(4097)).code, api.cache.set('k', 'v').type]));",
    )
    assert logged(result) == [["CacheKeySizeExceeded", "CacheValueSizeExceeded", "success"]]


def test_a_throw_fails_the_delivery(pool: SandboxPool) -> None:
    result = run(pool, "throw new Error('gateway refused +88216500000');")
    assert result["status"] == "error"
    assert result["error"]["message"] == "gateway refused +88216500000"
    assert result["error"]["action"] == "gateway0"


def test_the_second_action_sees_the_cache_the_first_set(pool: SandboxPool) -> None:
    """The cache is "available for all Actions in the same trigger for a single execution"."""
    result = run(
        pool,
        "api.cache.set('route', 'voice-fallback');",
        "console.log(JSON.stringify(api.cache.get('route').value));",
    )
    assert result["status"] == "completed"
    assert logged(result) == ["voice-fallback"]
    assert [e["action"] for e in result["executed"]] == ["gateway0", "gateway1"]


def test_a_failing_action_stops_the_second(pool: SandboxPool) -> None:
    result = run(pool, "throw new Error('no route');", "console.log('\"never\"');")
    assert result["status"] == "error"
    assert [e["action"] for e in result["executed"]] == ["gateway0"]
    assert result["logs"] == []


def test_a_misspelt_handler_is_an_error_naming_the_expected_one(pool: SandboxPool) -> None:
    action = unit("gateway", "onExecuteSendPhoneMesage")
    reply = pool.call(request(TRIGGER.id, [action], TRIGGER.build_event()))
    assert reply.result is not None
    assert reply.result["status"] == "error"
    assert reply.result["error"]["message"] == (
        "The action exports none of the send-phone-message trigger's handlers "
        "(expected onExecuteSendPhoneMessage)."
    )


TEMPLATE = """\
exports.onExecuteSendPhoneMessage = async (event, api) => {
  const { recipient, message_type, text } = event.message_options;
  if (recipient.startsWith('+882')) {
    throw new Error(`Refusing ${message_type} to a satellite range.`);
  }
  const via = event.secrets.GATEWAY_TOKEN ? 'gateway' : 'nothing';
  console.log(`${message_type} via ${via}: ${text}`);
};
"""

SCENARIOS = """\
pipeline:
  action: [gateway]
secrets: {GATEWAY_TOKEN: token-0123456789}
environments: [local]
scenarios:
  - name: an sms goes to the gateway
    expect:
      status: completed
      logs: ['[gateway] sms via gateway: 482913 is your verification code for Acme']
      executed: [gateway.onExecuteSendPhoneMessage]
  - name: a satellite number fails the delivery
    event: {message_options: {recipient: "+88216500000", message_type: voice}}
    expect:
      status: error
      error: Refusing voice to a satellite range.
"""


def test_validate_render_and_scenarios(tmp_path: Path, cli: Any, monkeypatch: Any) -> None:
    root = project(
        tmp_path / "p",
        TRIGGER.id,
        {"gateway": TEMPLATE},
        secrets={"GATEWAY_TOKEN": "GATEWAY_TOKEN"},
        scenarios={"gateway": SCENARIOS},
    )
    monkeypatch.chdir(root)
    assert cli("config", "validate").code == 0
    assert cli("render", "--all").code == 0
    tested = cli("test", "--output", "json")
    assert tested.code == 0, tested.out
    assert tested.json()["summary"]["passed"] == 2


def test_tenant_yaml_accepts_several_actions(tmp_path: Path, cli: Any, monkeypatch: Any) -> None:
    project(tmp_path / "p", TRIGGER.id, {"first": TEMPLATE, "second": TEMPLATE})
    monkeypatch.chdir(tmp_path / "p")
    validated = cli("config", "validate")
    assert validated.code == 0, validated.out + validated.err


def test_render_refuses_an_action_naming_none_of_the_handlers(
    tmp_path: Path, cli: Any, monkeypatch: Any
) -> None:
    misspelt = TEMPLATE.replace(HANDLER, "onSendPhoneMessage")
    secrets = {"GATEWAY_TOKEN": "GATEWAY_TOKEN"}
    project(tmp_path / "p", TRIGGER.id, {"gateway": misspelt}, secrets=secrets)
    monkeypatch.chdir(tmp_path / "p")
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert "expected onExecuteSendPhoneMessage" in rendered.out + rendered.err


def test_sandbox_run_with_the_trigger(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "gateway.js"
    action.write_text(TEMPLATE)
    ran = cli("sandbox", "run", "--trigger", TRIGGER.id, "-o", "text", str(action))
    assert ran.code == 0, ran.err
    assert "status: completed" in ran.out
    assert "log: sms via nothing: 482913 is your verification code for Acme" in ran.out


def test_sandbox_run_exits_1_when_the_delivery_fails(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "gateway.js"
    action.write_text(TEMPLATE)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"message_options": {"recipient": "+88216500000"}}))
    ran = cli("sandbox", "run", "--trigger", TRIGGER.id, "--event", str(event), str(action))
    assert ran.code == 1
    assert ran.json()["error"]["message"] == "Refusing sms to a satellite range."
