"""password-reset-post-challenge: after the reset link, before the new password.

Auth0's reference for what is checked here:
  trigger: https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers
  event:   https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-challenge-trigger/post-challenge-event-object
  api:     https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-challenge-trigger/post-challenge-api-object
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.scaffold import init_project
from auth0_actions.scenarios.runner import decode_token, sign_token
from auth0_actions.triggers import registry

TRIGGER = registry.get("password-reset-post-challenge")


def unit(
    name: str, body: str = "", resume: str | None = None, handler: str = "onExecutePostChallenge"
) -> dict[str, Any]:
    code = f"exports.{handler} = async (event, api) => {{\n{body}\n}};\n"
    if resume is not None:
        code += f"exports.onContinuePostChallenge = async (event, api) => {{\n{resume}\n}};\n"
    return {
        "name": name,
        "code": code,
        "filename": f"{name}.js",
        "secrets": {"VERIFY": "verify-secret-0123456789"},
        "deps_dir": None,
    }


def run(
    pool: SandboxPool,
    *units: dict[str, Any],
    event: Mapping[str, Any] | None = None,
    resume: int | None = None,
) -> dict[str, Any]:
    request = {
        "op": TRIGGER.id,
        "units": list(units),
        "event": TRIGGER.build_event(event or {}),
        "resume": None if resume is None else {"index": resume},
    }
    reply = pool.call(request)
    assert reply.result is not None, reply.failure
    return reply.result


def messages(result: Mapping[str, Any]) -> list[str]:
    return [line["message"] for line in result["logs"]]


def ran(result: Mapping[str, Any]) -> list[str]:
    return [f"{e['action']}.{e['handler']}" for e in result["executed"]]


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=5000)) as p:
        yield p


# --------------------------------------------------------------------- event


def test_the_event_is_a_user_who_opened_the_reset_link(pool: SandboxPool) -> None:
    """The documented fields: the user, their connection, the email challenge just passed."""
    result = run(pool, unit("probe", "console.log(JSON.stringify(event));"))
    event = json.loads(messages(result)[0])
    assert set(event) >= {
        "authentication",
        "authorization",
        "client",
        "connection",
        "request",
        "secrets",
        "stats",
        "tenant",
        "transaction",
        "user",
    }
    assert event["authentication"]["methods"][0]["name"] == "email"
    assert event["connection"]["strategy"] == "auth0"  # database users reset passwords
    assert event["user"]["enrolledFactors"] == [{"type": "otp"}]
    assert set(event["transaction"]) >= {"locale", "ui_locales", "state"}
    assert event["secrets"] == {"VERIFY": "verify-secret-0123456789"}
    # Unlike a login, there is no session, access token or refresh token here.
    assert not {"session", "accessToken", "refreshToken"} & set(event)


# ---------------------------------------------------------------------- api


def test_deny_ends_the_reset_and_no_later_action_runs(pool: SandboxPool) -> None:
    """api.access.deny(reason): "The password reset flow will immediately stop following
    the completion of this action and no further Actions will be executed"."""
    result = run(pool, unit("gate", "api.access.deny('locked');"), unit("later"))
    assert result["status"] == "denied"
    assert result["deny"] == {"action": "gate", "reason": "locked"}
    assert ran(result) == ["gate.onExecutePostChallenge"]


def test_an_mfa_challenge_is_recorded_and_the_flow_goes_on(pool: SandboxPool) -> None:
    """challengeWith(factor, {additionalFactors}): the user must pass it before the next
    action runs; the sandbox takes the challenge as passed."""
    body = (
        "api.authentication.challengeWith({type: 'otp'}, {additionalFactors: [{type: 'email'}]});"
    )
    result = run(pool, unit("mfa", body), unit("later", "console.log('later');"))
    assert result["status"] == "completed"
    assert result["challenges"] == [
        {"action": "mfa", "factors": [{"type": "otp"}, {"type": "email"}]}
    ]
    assert result["commands"][0] == {
        "action": "mfa",
        "type": "authentication.challengeWith",
        "factor": {"type": "otp"},
        "options": {"additionalFactors": [{"type": "email"}]},
    }
    assert messages(result) == ["later"]


def test_challenge_with_any_offers_every_factor(pool: SandboxPool) -> None:
    body = "api.authentication.challengeWithAny([{type: 'webauthn-roaming'}, {type: 'otp'}]);"
    result = run(pool, unit("mfa", body))
    assert result["challenges"][0]["factors"] == [{"type": "webauthn-roaming"}, {"type": "otp"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "api.authentication.challengeWith({type: 'sms'});",
            'Invalid factor type "sms". Expected one of: '
            "otp, email, webauthn-platform, webauthn-roaming, recovery-code",
        ),
        (
            "api.authentication.challengeWith('otp');",
            "The factor must be an object like { type: 'otp' }",
        ),
        (
            "api.authentication.challengeWithAny([]);",
            "challengeWithAny expects a non-empty array of factors",
        ),
    ],
)
def test_a_factor_must_be_one_the_trigger_allows(
    pool: SandboxPool, body: str, message: str
) -> None:
    """factor.type: "Allowed values: otp, email, webauthn-platform, webauthn-roaming,
    recovery-code"."""
    result = run(pool, unit("mfa", body))
    assert result["status"] == "error"
    assert result["error"]["message"] == message


def test_set_result_url_is_where_the_user_lands_after_the_reset(pool: SandboxPool) -> None:
    """api.transaction.setResultUrl(url, {query}); the last call wins."""
    first = unit("a", "api.transaction.setResultUrl('https://app.example.com/first');")
    second = unit(
        "b",
        "api.transaction.setResultUrl('https://app.example.com/done', {query: {from: 'reset'}});",
    )
    result = run(pool, first, second)
    assert result["status"] == "completed"
    assert result["result_url"] == "https://app.example.com/done?from=reset"


def test_set_result_url_needs_a_url(pool: SandboxPool) -> None:
    result = run(pool, unit("a", "api.transaction.setResultUrl('/relative');"))
    assert result["status"] == "error"
    assert result["error"]["message"] == "Invalid URL"


def test_the_cache_is_shared_along_the_pipeline(pool: SandboxPool) -> None:
    first = unit("a", "api.cache.set('risk', 'low');")
    second = unit("b", "console.log(api.cache.get('risk').value);")
    assert messages(run(pool, first, second)) == ["low"]


# ------------------------------------------------- redirect, prompt, resume


def test_a_redirect_suspends_the_flow(pool: SandboxPool) -> None:
    """api.redirect.sendUserTo: the browser is redirected "immediately after this action
    completes"; the actions after it wait for /continue."""
    body = "api.redirect.sendUserTo('https://verify.example.com/id', {query: {lang: 'en'}});"
    result = run(pool, unit("a"), unit("b", body, resume=""), unit("c", "console.log('c');"))
    assert result["status"] == "redirected"
    assert result["redirect"] == {
        "action": "b",
        "url": "https://verify.example.com/id?lang=en",
        "index": 1,
    }
    assert ran(result) == ["a.onExecutePostChallenge", "b.onExecutePostChallenge"]


def test_continue_resumes_in_the_action_that_redirected(pool: SandboxPool) -> None:
    """password-reset-triggers: "Actions that were executed prior to the redirect are not
    executed again"; the redirecting action resumes in onContinuePostChallenge."""
    units = [unit("a"), unit("b", "", resume="console.log('resumed');"), unit("c")]
    result = run(pool, *units, resume=1)
    assert result["status"] == "completed"
    assert ran(result) == ["b.onContinuePostChallenge", "c.onExecutePostChallenge"]
    assert messages(result) == ["resumed"]


def test_resuming_an_action_without_a_continue_handler_is_an_error(pool: SandboxPool) -> None:
    result = run(pool, unit("b", "api.redirect.sendUserTo('https://x.example.com');"), resume=0)
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "The action redirected but exports no onContinuePostChallenge handler."
    )


def test_encode_token_signs_what_the_redirect_target_verifies(pool: SandboxPool) -> None:
    """encodeToken: a JWT signed with the action's secret (HS256), for the user, issued
    by the tenant's hostname, with the payload and the requested lifetime."""
    send = (
        "const token = api.redirect.encodeToken({secret: event.secrets.VERIFY,"
        " payload: {email: event.user.email}, expiresInSeconds: 60});\n"
        "api.redirect.sendUserTo('https://verify.example.com/id', {query: {session_token: token}});"
    )
    redirected = run(pool, unit("verify", send, resume=""))
    token = parse_qs(urlsplit(redirected["redirect"]["url"]).query)["session_token"][0]
    decoded = decode_token(token, "verify-secret-0123456789")
    assert decoded is not None
    assert decoded["signature_valid"] is True
    assert decoded["ttl"] == 60
    claims = decoded["claims"]
    assert claims["sub"] == TRIGGER.event["user"]["user_id"]
    assert claims["iss"] == TRIGGER.event["request"]["hostname"]
    assert claims["email"] == TRIGGER.event["user"]["email"]


@pytest.mark.parametrize(
    ("secret", "outcome"),
    [
        ("verify-secret-0123456789", "completed: true"),
        ("forged", "error: The session token is invalid: Invalid signature"),
    ],
)
def test_validate_token_checks_the_answer_sent_to_continue(
    pool: SandboxPool, secret: str, outcome: str
) -> None:
    """validateToken: the data of the JWT passed to /continue, once its signature, subject,
    issuer, expiry and state are checked."""
    now = int(time.time())
    claims = {
        "iat": now,
        "exp": now + 60,
        "sub": TRIGGER.event["user"]["user_id"],
        "iss": TRIGGER.event["request"]["hostname"],
        "state": "continue-state",
        "verified": True,
    }
    query = {"session_token": sign_token(claims, secret), "state": "continue-state"}
    check = (
        "const answer = api.redirect.validateToken({secret: event.secrets.VERIFY});\n"
        "console.log(answer.verified);"
    )
    result = run(pool, unit("v", "", resume=check), event={"request": {"query": query}}, resume=0)
    status, _, detail = outcome.partition(": ")
    assert result["status"] == status
    if status == "completed":
        assert messages(result) == ["true"]
    else:
        assert result["error"]["message"] == detail


def test_validate_token_reports_a_missing_parameter(pool: SandboxPool) -> None:
    check = "api.redirect.validateToken({secret: 'x', tokenParameterName: 'answer'});"
    result = run(pool, unit("v", "", resume=check), resume=0)
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "There is no parameter called 'answer' available in either the POST body or query string."
    )


def test_a_prompt_suspends_the_flow(pool: SandboxPool) -> None:
    """api.prompt.render(promptId, promptOptions) renders a custom prompt."""
    body = "api.prompt.render('ap_4f9cQ2', {vars: {reason: 'reset'}});"
    result = run(pool, unit("p", body, resume=""), unit("later"))
    assert result["status"] == "redirected"
    assert result["redirect"] == {"action": "p", "prompt": "ap_4f9cQ2", "index": 0}
    assert result["commands"][0]["prompt_id"] == "ap_4f9cQ2"


def test_redirect_and_render_cannot_share_an_action(pool: SandboxPool) -> None:
    body = "api.prompt.render('ap_1'); api.redirect.sendUserTo('https://x.example.com');"
    result = run(pool, unit("p", body))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "Redirect and render commands cannot be used in the same action."
    )


def test_a_misspelt_handler_is_an_error_naming_the_handlers(pool: SandboxPool) -> None:
    result = run(pool, unit("typo", "", handler="onExecutePostChallange"))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "The action exports none of the password-reset-post-challenge trigger's handlers "
        "(expected onExecutePostChallenge or onContinuePostChallenge)."
    )


# ------------------------------------------------------------ the project

TEMPLATE = """\
exports.onExecutePostChallenge = async (event, api) => {
  if (event.user.app_metadata.locked === true) {
    api.access.deny('locked');
    return;
  }
  api.redirect.sendUserTo('https://verify.example.com/id');
};

exports.onContinuePostChallenge = async (event, api) => {
  if (event.request.query.verified !== 'yes') api.access.deny('not verified');
};
"""

SCENARIOS = """\
pipeline:
  action: [step-up]
environments: [local]
scenarios:
  - name: locked
    event: {user: {app_metadata: {locked: true}}}
    expect: {status: denied, deny: locked}
  - name: verified
    steps:
      - execute
      - continue: {query: {verified: "yes"}}
    expect:
      status: completed
      executed: [step-up.onExecutePostChallenge, step-up.onContinuePostChallenge]
  - name: not verified
    steps:
      - execute
      - continue: {query: {verified: "no"}}
    expect: {status: denied, deny: not verified}
"""


def make_project(root: Path, actions: int = 1, template: str = TEMPLATE) -> Path:
    init_project(root, bare=True)
    tenant = root / "tenant.yaml"
    entries = "".join(
        f"  - name: {'step-up' if n == 1 else f'step-up-{n}'}\n    template: step-up.js.j2\n"
        f"    trigger: password-reset-post-challenge\n    order: {n}\n"
        for n in range(1, actions + 1)
    )
    text = tenant.read_text(encoding="utf-8")
    tenant.write_text(text.replace("actions: []", f"actions:\n{entries}"), encoding="utf-8")
    (root / "rules_templates").mkdir(exist_ok=True)
    (root / "rules_templates" / "step-up.js.j2").write_text(template, encoding="utf-8")
    (root / "rules_templates" / "step-up.scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    return root


def test_a_project_validates_renders_and_tests_its_action(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    monkeypatch.chdir(make_project(tmp_path / "reset"))
    assert cli("config", "validate").code == 0
    assert cli("render", "--all").code == 0
    tested = cli("test", "--output", "json")
    assert tested.code == 0, tested.out
    assert tested.json()["summary"]["passed"] == 3


def test_at_most_four_actions_bind_to_the_trigger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """password-reset-triggers: "You can create up to four Actions in your tenant that
    leverage the post-challenge trigger"."""
    monkeypatch.chdir(make_project(tmp_path / "four", actions=4))
    assert cli("config", "validate").code == 0
    monkeypatch.chdir(make_project(tmp_path / "five", actions=5))
    refused = cli("config", "validate")
    assert refused.code == 1
    assert "actions[4].trigger: password-reset-post-challenge binds at most 4 actions" in (
        refused.err
    )


def test_render_refuses_an_action_without_the_trigger_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    misspelt = TEMPLATE.replace("PostChallenge", "PostChalenge")
    monkeypatch.chdir(make_project(tmp_path / "reset", template=misspelt))
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert (
        "exports none of the password-reset-post-challenge trigger's handlers "
        "(expected onExecutePostChallenge or onContinuePostChallenge)"
    ) in rendered.err


def test_sandbox_run_runs_either_handler(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "step-up.js"
    action.write_text(TEMPLATE, encoding="utf-8")
    trigger = ("sandbox", "run", "--trigger", "password-reset-post-challenge")
    started = cli(*trigger, str(action))
    assert started.code == 0, started.out
    assert started.json()["status"] == "redirected"
    answer = tmp_path / "continue.json"
    answer.write_text(json.dumps({"request": {"query": {"verified": "yes"}}}))
    resumed = cli(
        *trigger, "--handler", "onContinuePostChallenge", "--event", str(answer), str(action)
    )
    assert resumed.code == 0, resumed.out
    assert resumed.json()["status"] == "completed"
    assert resumed.json()["executed"][0]["handler"] == "onContinuePostChallenge"
