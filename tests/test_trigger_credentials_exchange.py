"""credentials-exchange: an M2M access token request, run as Auth0 runs the trigger's actions.

Auth0's reference for what is checked here:
  event: https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger/credentials-exchange-event-object
  api:   https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger/credentials-exchange-api-object
  claims: https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from emulator_support import ServedTenant

from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.scaffold import init_project
from auth0_actions.triggers import registry

TRIGGER = registry.get("credentials-exchange")
EVENT_DOCS = "machine-to-machine-trigger/credentials-exchange-event-object"


def unit(name: str, body: str, handler: str = "onExecuteCredentialsExchange") -> dict[str, Any]:
    code = f"exports.{handler} = async (event, api) => {{\n{body}\n}};\n"
    return {"name": name, "code": code, "filename": f"{name}.js", "secrets": {}, "deps_dir": None}


def run(
    pool: SandboxPool, *units: dict[str, Any], event: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    request = {
        "op": TRIGGER.id,
        "units": list(units),
        "event": TRIGGER.build_event(event or {}),
        "resume": None,
    }
    reply = pool.call(request)
    assert reply.result is not None, reply.failure
    return reply.result


def logged(result: Mapping[str, Any]) -> Any:
    return json.loads(result["logs"][0]["message"])


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=5000)) as p:
        yield p


# --------------------------------------------------------------------- event


def test_the_event_is_a_client_credentials_token_request(pool: SandboxPool) -> None:
    """The documented fields, with a realistic M2M request (event object reference)."""
    result = run(pool, unit("probe", "console.log(JSON.stringify(event));"))
    event = logged(result)
    assert set(event) >= {
        "accessToken",
        "client",
        "request",
        "resource_server",
        "tenant",
        "transaction",
        "secrets",
    }
    assert event["request"]["body"]["grant_type"] == "client_credentials"
    assert event["request"]["method"] == "POST"
    assert event["resource_server"]["identifier"] == event["request"]["body"]["audience"]
    assert event["transaction"]["requested_scopes"] == event["accessToken"]["scope"]
    assert event["client"]["client_id"] == event["request"]["body"]["client_id"]
    # No user takes part in a client credentials exchange, and the request
    # has no query (the token request is a POST body).
    assert "user" not in event
    assert "query" not in event["request"]
    assert "client_secret" not in event["request"]["body"]


def test_scenario_overrides_merge_into_the_event(pool: SandboxPool) -> None:
    result = run(
        pool,
        unit("probe", "console.log(JSON.stringify(event.client));"),
        event={"client": {"metadata": {"tenant_id": "cust-7"}}},
    )
    client = logged(result)
    assert client["metadata"] == {"tenant_id": "cust-7"}
    assert client["name"] == TRIGGER.event["client"]["name"]


# ---------------------------------------------------------------------- api


def test_a_custom_claim_is_on_the_token(pool: SandboxPool) -> None:
    """api.accessToken.setCustomClaim(key, value) sets a claim on the access token."""
    result = run(
        pool,
        unit(
            "claims",
            "api.accessToken.setCustomClaim('https://claims.example.com/tenant', 'cust-7')"
            ".accessToken.setCustomClaim('region', {eu: true});",
        ),
    )
    assert result["status"] == "completed"
    assert result["access_token_claims"] == {
        "https://claims.example.com/tenant": "cust-7",
        "region": {"eu": True},
    }
    assert [c["type"] for c in result["commands"]] == ["accessToken.setCustomClaim"] * 2
    assert result["dropped_claims"] == []


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("gty", '"gty" is a restricted claim'),
        ("permissions", '"permissions" is a restricted claim'),
        ("sub", '"sub" is a restricted claim'),
        ("https://auth0.com/tenant", "Auth0 domains cannot be used as namespace identifiers"),
        ("https://acme.webtask.run/x", "Auth0 domains cannot be used as namespace identifiers"),
        ("urn:auth0:tenant", "the urn:auth0 namespace is reserved by Auth0"),
    ],
)
def test_a_restricted_claim_is_left_out_and_the_exchange_goes_on(
    pool: SandboxPool, name: str, reason: str
) -> None:
    """create-custom-claims: restricted claims and Auth0 namespaces are not added;
    "In case of collisions, the transaction won't fail, but your custom claim won't be
    added to your tokens"."""
    body = f"api.accessToken.setCustomClaim({json.dumps(name)}, 'x');"
    result = run(pool, unit("claims", body))
    assert result["status"] == "completed"
    assert result["access_token_claims"] == {}
    assert result["dropped_claims"] == [{"action": "claims", "name": name, "reason": reason}]
    assert result["commands"][0]["dropped"] == reason


def test_non_namespaced_claims_are_dropped_only_for_an_auth0_api(pool: SandboxPool) -> None:
    """create-custom-claims: "Access tokens with an Auth0 API audience ... cannot have
    private, non-namespaced custom claims"; a custom API's token can."""
    body = "api.accessToken.setCustomClaim('tier', 'gold');"
    custom = run(pool, unit("claims", body))
    assert custom["access_token_claims"] == {"tier": "gold"}
    management = {"resource_server": {"identifier": "https://acme.eu.auth0.com/api/v2/"}}
    auth0_api = run(pool, unit("claims", body), event=management)
    assert auth0_api["access_token_claims"] == {}
    assert auth0_api["dropped_claims"][0]["name"] == "tier"


def test_the_scope_claim_cannot_be_set(pool: SandboxPool) -> None:
    result = run(pool, unit("claims", "api.accessToken.setCustomClaim('scope', 'admin');"))
    assert result["status"] == "error"
    assert result["error"]["message"] == 'The "scope" claim cannot be set.'


def test_custom_claims_are_capped_at_100_kb(pool: SandboxPool) -> None:
    """create-custom-claims: "Custom claims payload is set to a maximum of 100KB"."""
    body = (
        "api.accessToken.setCustomClaim('https://c.example.com/a', 'x'.repeat(60 * 1024));\n"
        "api.accessToken.setCustomClaim('https://c.example.com/b', 'x'.repeat(60 * 1024));"
    )
    result = run(pool, unit("claims", body))
    assert result["status"] == "error"
    assert result["error"]["message"] == "Custom claims are limited to 100 KB in total"
    assert list(result["access_token_claims"]) == ["https://c.example.com/a"]


@pytest.mark.parametrize("code", ["invalid_scope", "invalid_request", "server_error"])
def test_deny_ends_the_exchange_with_the_documented_code(pool: SandboxPool, code: str) -> None:
    """api.access.deny(code, reason): "Allowed values: invalid_scope, invalid_request,
    server_error"."""
    body = f"api.access.deny({json.dumps(code)}, 'not for you');"
    result = run(pool, unit("gate", body), unit("after", "console.log('ran');"))
    assert result["status"] == "denied"
    assert result["deny"] == {"action": "gate", "code": code, "reason": "not for you"}
    assert [e["action"] for e in result["executed"]] == ["gate"]  # the second never ran


def test_deny_needs_a_documented_code(pool: SandboxPool) -> None:
    result = run(pool, unit("gate", "api.access.deny('access_denied', 'nope');"))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        'Invalid deny code "access_denied". Expected one of: '
        "invalid_scope, invalid_request, server_error"
    )
    assert result["deny"] is None


def test_deny_reason_is_optional(pool: SandboxPool) -> None:
    result = run(pool, unit("gate", "api.access.deny('invalid_scope');"))
    assert result["status"] == "denied"
    assert result["deny"] == {"action": "gate", "code": "invalid_scope", "reason": ""}


def test_the_cache_is_shared_along_the_pipeline(pool: SandboxPool) -> None:
    """api.cache: values are scoped to the trigger; a later action reads what an earlier set."""
    first = unit("first", "const r = api.cache.set('token', 'abc'); console.log(r.type);")
    second = unit("second", "console.log(api.cache.get('token').value);")
    result = run(pool, first, second)
    assert [line["message"] for line in result["logs"]] == ["success", "abc"]
    assert result["cache"]["token"]["value"] == "abc"


# ----------------------------------------------------------------- pipeline


def test_a_later_action_sees_the_claims_set_before_it(pool: SandboxPool) -> None:
    """event.accessToken.customClaims: the claims of the token to be issued so far."""
    first = unit("first", "api.accessToken.setCustomClaim('https://c.example.com/a', 1);")
    second = unit("second", "console.log(JSON.stringify(event.accessToken.customClaims));")
    result = run(pool, first, second)
    assert json.loads(result["logs"][0]["message"]) == {"https://c.example.com/a": 1}
    assert result["access_token_claims"] == {"https://c.example.com/a": 1}


def test_a_misspelt_handler_is_an_error_naming_the_handler(pool: SandboxPool) -> None:
    """An action exporting none of the trigger's handlers would never run on Auth0."""
    result = run(pool, unit("typo", "", handler="onExecuteCredentialExchange"))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "The action exports none of the credentials-exchange trigger's handlers "
        "(expected onExecuteCredentialsExchange)."
    )


def test_a_post_login_action_is_not_a_credentials_exchange_action(pool: SandboxPool) -> None:
    result = run(pool, unit("wrong", "", handler="onExecutePostLogin"))
    assert result["status"] == "error"
    assert "expected onExecuteCredentialsExchange" in result["error"]["message"]


# ------------------------------------------------------------ the project


TEMPLATE = """\
exports.onExecuteCredentialsExchange = async (event, api) => {
  const tenant = (event.client.metadata || {}).tenant_id;
  if (!tenant) {
    api.access.deny('invalid_request', 'no tenant');
    return;
  }
  api.accessToken.setCustomClaim('https://claims.example.com/tenant', tenant);
  api.accessToken.setCustomClaim('gty', 'forged');
};
"""

SCENARIOS = """\
pipeline:
  action: [m2m]
environments: [local]
scenarios:
  - name: claims
    event: {client: {metadata: {tenant_id: cust-1}}}
    expect:
      status: completed
      access_token_claims: {https://claims.example.com/tenant: cust-1}
  - name: refused
    expect:
      status: denied
      deny: no tenant
      commands:
        - {type: access.deny, code: invalid_request, reason: no tenant}
"""


def make_project(root: Path, template: str = TEMPLATE, scenarios: str = SCENARIOS) -> Path:
    init_project(root, bare=True)
    tenant = root / "tenant.yaml"
    text = tenant.read_text(encoding="utf-8")
    action = (
        "  - name: m2m\n    template: m2m.js.j2\n    trigger: credentials-exchange\n    order: 1\n"
    )
    tenant.write_text(text.replace("actions: []", f"actions:\n{action}"), encoding="utf-8")
    (root / "rules_templates").mkdir(exist_ok=True)
    (root / "rules_templates" / "m2m.js.j2").write_text(template, encoding="utf-8")
    (root / "rules_templates" / "m2m.scenarios.yaml").write_text(scenarios, encoding="utf-8")
    return root


def test_a_project_validates_renders_and_tests_its_action(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    monkeypatch.chdir(make_project(tmp_path / "m2m"))
    assert cli("config", "validate").code == 0
    rendered = cli("render", "--all")
    assert rendered.code == 0, rendered.err
    assert "(credentials-exchange, order" in (tmp_path / "m2m/actions/local/m2m.js").read_text()
    tested = cli("test", "--output", "json")
    assert tested.code == 0, tested.out
    assert tested.json()["summary"]["passed"] == 2


def test_apply_binds_the_action_to_its_own_trigger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """Bindings are per trigger (PATCH /api/v2/actions/triggers/credentials-exchange/bindings)."""
    monkeypatch.chdir(make_project(tmp_path / "m2m"))
    assert cli("render", "--all").code == 0
    planned = cli("plan", "--env", "local")
    assert "bind credentials-exchange/m2m at position 1" in planned.out, planned.out
    applied = cli("apply", "--env", "local", "--yes")
    assert applied.code == 0, applied.out + applied.err
    assert "bound credentials-exchange: m2m" in applied.out
    assert "Verified: a fresh plan is empty." in applied.out


def test_a_scenario_that_expects_a_dropped_claim_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """The restricted gty claim never reaches the token: expecting it is a failure."""
    wrong = SCENARIOS.replace(
        "access_token_claims: {https://claims.example.com/tenant: cust-1}",
        "access_token_claims: {gty: forged}",
    )
    monkeypatch.chdir(make_project(tmp_path / "m2m", scenarios=wrong))
    assert cli("render", "--all").code == 0
    tested = cli("test")
    assert tested.code == 1
    assert "1 passed, 1 failed" in tested.out


def test_render_refuses_an_action_without_the_trigger_handler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    post_login = TEMPLATE.replace("onExecuteCredentialsExchange", "onExecutePostLogin")
    monkeypatch.chdir(make_project(tmp_path / "m2m", template=post_login))
    rendered = cli("render", "--all")
    assert rendered.code == 1
    assert (
        "rules_templates/m2m.js.j2: action 'm2m' (local) exports none of the credentials-exchange "
        "trigger's handlers (expected onExecuteCredentialsExchange)"
    ) in rendered.err


def test_sandbox_run_runs_a_file_as_a_credentials_exchange_action(tmp_path: Path, cli: Any) -> None:
    action = tmp_path / "m2m.js"
    action.write_text(TEMPLATE, encoding="utf-8")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"client": {"metadata": {"tenant_id": "cust-9"}}}))
    ran = cli(
        "sandbox", "run", "--trigger", "credentials-exchange", "--event", str(event), str(action)
    )
    assert ran.code == 0, ran.out + ran.err
    result = ran.json()
    assert result["access_token_claims"] == {"https://claims.example.com/tenant": "cust-9"}
    assert result["dropped_claims"][0]["name"] == "gty"
    denied = cli("sandbox", "run", "--trigger", "credentials-exchange", str(action))
    assert denied.json()["deny"]["code"] == "invalid_request"
    wrong = cli(
        "sandbox",
        "run",
        "--trigger",
        "credentials-exchange",
        "--handler",
        "onExecutePostLogin",
        str(action),
    )
    assert wrong.code == 1
    assert "not a handler of the credentials-exchange trigger" in wrong.json()["error"]
    # A file that exports none of the trigger's handlers is an error, not "completed".
    typo = tmp_path / "typo.js"
    typo.write_text(TEMPLATE.replace("onExecuteCredentialsExchange", "onExecuteCredentialExchange"))
    failed = cli("sandbox", "run", "--trigger", "credentials-exchange", str(typo))
    assert failed.code == 1
    assert "(expected onExecuteCredentialsExchange)" in failed.json()["error"]["message"]


# ------------------------------------------------------------ local tenant


@pytest.fixture
def served() -> Iterator[ServedTenant]:
    tenant = ServedTenant()
    yield tenant
    tenant.app.backends.action_tests.close()
    tenant.stop()


def test_the_local_tenant_tests_a_credentials_exchange_action(served: ServedTenant) -> None:
    """POST /api/v2/actions/actions/{id}/test runs the action with its trigger's event."""
    with served.http() as http:
        created = http.post(
            "/api/v2/actions/actions",
            json={
                "name": "m2m",
                "supported_triggers": [{"id": "credentials-exchange", "version": "v2"}],
                "code": TEMPLATE,
            },
        )
        assert created.status_code == 201, created.text
        tested = http.post(
            f"/api/v2/actions/actions/{created.json()['id']}/test",
            json={"payload": {"client": {"metadata": {"tenant_id": "cust-3"}}}},
        )
    assert tested.status_code == 200, tested.text
    payload = tested.json()["payload"]
    assert payload["status"] == "completed"
    assert payload["commands"][0] == {
        "type": "accessToken.setCustomClaim",
        "name": "https://claims.example.com/tenant",
        "value": "cust-3",
    }
