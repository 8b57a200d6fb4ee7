"""post-login as Auth0 runs it: what ends a login, which claims reach a token, the limits.

Each test runs small inline actions through the sandbox pool, as the pipeline runs
them for scenarios and the local tenant, and cites the Auth0 page it checks.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.emulator.actions_spec import CREATE_SCHEMA
from auth0_actions.emulator.http import ApiError
from auth0_actions.emulator.validation import validate
from auth0_actions.errors import SecretError
from auth0_actions.sandbox.event import build_event
from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.secrets import resolve_secret_values
from auth0_actions.triggers.post_login_tokens import issued_scopes

API_OBJECT = (
    "https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/"
    "login-trigger/post-login-api-object"
)
CUSTOM_CLAIMS = "https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims"
CLAIMS_MIGRATION = (
    "https://auth0.com/docs/troubleshoot/product-lifecycle/past-migrations/custom-claims-migration"
)
LIMITATIONS = "https://auth0.com/docs/customize/actions/limitations"
TX_METADATA = "https://auth0.com/docs/customize/actions/transaction-metadata"

PRELUDE = """
const out = (x) => console.log('OUT ' + JSON.stringify(x === undefined ? '<undefined>' : x));
const err = (fn) => { try { fn(); return null; } catch (e) { return e.message; } };
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=2000)) as p:
        yield p


def unit(execute: str, name: str = "a", cont: str | None = None) -> dict[str, Any]:
    code = f"{PRELUDE}\nexports.onExecutePostLogin = async (event, api) => {{\n{execute}\n}};\n"
    if cont is not None:
        code += f"exports.onContinuePostLogin = async (event, api) => {{\n{cont}\n}};\n"
    return {"name": name, "code": code, "filename": f"/actions/{name}.js", "secrets": {}}


def post_login(
    pool: SandboxPool, *units: dict[str, Any], event: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    reply = pool.call(
        {
            "op": "post-login",
            "units": list(units),
            "event": event if event is not None else build_event(),
            "resume": None,
            **extra,
        }
    )
    assert reply.result is not None, reply.failure
    return reply.result


def outputs(result: dict[str, Any], name: str | None = None) -> list[Any]:
    return [
        json.loads(entry["message"][4:])
        for entry in result["logs"]
        if entry["message"].startswith("OUT ") and name in (None, entry["action"])
    ]


# --- what ends the login as failed ------------------------------------------------
@pytest.mark.parametrize(
    ("call", "deny"),
    [
        (
            "api.session.revoke('risky session', { preserveRefreshTokens: true })",
            {"reason": "risky session", "code": "access_denied", "command": "session.revoke"},
        ),
        (
            "api.refreshToken.revoke('stolen token')",
            {"reason": "stolen token", "code": "access_denied", "command": "refreshToken.revoke"},
        ),
        (
            "api.validation.error('invalid_payload', 'Missing full name')",
            {
                "reason": "Missing full name",
                "code": "invalid_payload",
                "command": "validation.error",
            },
        ),
    ],
)
def test_revoke_and_validation_error_end_the_login_as_failed(
    pool: SandboxPool, call: str, deny: dict[str, str]
) -> None:
    """API_OBJECT: session.revoke, refreshToken.revoke ("no further Actions will be
    executed") and validation.error prevent the user from completing the login; the action
    itself runs to its end."""
    first = unit(f"const same = {call}; out(same === api); out('after');", "first")
    second = unit("out('second ran');", "second")
    result = post_login(pool, first, second)
    assert result["status"] == "failed"
    assert result["deny"] == {"action": "first", **deny}
    assert outputs(result) == [True, "after"]
    assert [e["action"] for e in result["executed"]] == ["first"]


# --- restricted claims ------------------------------------------------------------------
def test_restricted_claims_are_dropped_and_reported(pool: SandboxPool) -> None:
    """CUSTOM_CLAIMS "General restrictions" and CLAIMS_MIGRATION "Restricted claims": the
    transaction goes on, the claim is not added; Auth0 domains can't be namespaces."""
    result = post_login(
        pool,
        unit(
            """
            api.idToken.setCustomClaim('sub', 'someone-else');
            api.idToken.setCustomClaim('roles', ['admin']);
            api.idToken.setCustomClaim('https://acme.example/roles', ['admin']);
            api.idToken.setCustomClaim('https://login.auth0.com/x', 1);
            api.idToken.setCustomClaim('urn:auth0:x', 1);
            api.idToken.setCustomClaim('name', 'Jane D.');
            api.idToken.setCustomClaim('employee_id', 'e-1');
            api.accessToken.setCustomClaim('permissions', ['read:all']);
            api.accessToken.setCustomClaim('org_id', 'org_1');
            api.accessToken.setCustomClaim('tier', 'gold');
            """
        ),
    )
    assert result["status"] == "completed"
    assert result["id_token_claims"] == {
        "https://acme.example/roles": ["admin"],
        "name": "Jane D.",
        "employee_id": "e-1",
    }
    assert result["access_token_claims"] == {"tier": "gold"}
    assert result["dropped_claims"] == [
        {"token": "id_token", "claim": "sub", "reason": "restricted claim"},
        {"token": "id_token", "claim": "roles", "reason": "restricted claim"},
        {"token": "id_token", "claim": "https://login.auth0.com/x", "reason": "Auth0 namespace"},
        {"token": "id_token", "claim": "urn:auth0:x", "reason": "Auth0 namespace"},
        {"token": "access_token", "claim": "permissions", "reason": "restricted claim"},
        {"token": "access_token", "claim": "org_id", "reason": "restricted claim"},
    ]


def test_non_namespaced_access_token_claims_dropped_for_an_auth0_api(pool: SandboxPool) -> None:
    """CLAIMS_MIGRATION "Restricted token audience": a private, non-namespaced claim on an
    access token for an Auth0 API (/api/v2, /mfa) is ignored; namespaced ones are kept."""
    event = build_event({"resource_server": {"identifier": "https://acme.eu.auth0.com/api/v2/"}})
    code = """
        api.accessToken.setCustomClaim('tier', 'gold');
        api.accessToken.setCustomClaim('https://acme.example/tier', 'gold');
        api.idToken.setCustomClaim('tier', 'gold');
    """
    result = post_login(pool, unit(code), event=event)
    assert result["access_token_claims"] == {"https://acme.example/tier": "gold"}
    assert result["id_token_claims"] == {"tier": "gold"}
    assert result["dropped_claims"] == [
        {
            "token": "access_token",
            "claim": "tier",
            "reason": "non-namespaced claim on an Auth0 API audience",
        }
    ]


def test_custom_claims_over_100_kb_fail_the_login(pool: SandboxPool) -> None:
    """CLAIMS_MIGRATION "Maximum token size": over 100 KB of custom claims (names and
    values) in one token fails the authentication; each token is counted on its own."""
    fifty = "x" * (50 * 1024)
    ok = post_login(
        pool,
        unit(
            f"""
            api.accessToken.setCustomClaim('myclaim', '{fifty}');
            api.idToken.setCustomClaim('https://myDomain.com/myClaim', '{fifty}');
            """
        ),
    )
    assert ok["status"] == "completed"
    failed = post_login(
        pool,
        unit(
            f"""
            api.idToken.setCustomClaim('myclaim', '{fifty}');
            api.idToken.setCustomClaim('https://myDomain.com/myClaim', '{fifty}');
            """
        ),
        unit("out('second ran');", "second"),
    )
    assert failed["status"] == "error"
    assert "100 KB" not in failed["error"]["message"]  # it names bytes, exactly
    assert "at most 102400 bytes" in failed["error"]["message"]
    assert outputs(failed) == []


# --- scopes -------------------------------------------------------------------------------
def test_add_and_remove_scope_give_the_issued_scope() -> None:
    """API_OBJECT accessToken.addScope / removeScope: scopes on the Access Token that will
    be issued, applied in call order over the requested ones."""
    commands = [
        {"type": "accessToken.addScope", "scope": "read:orders"},
        {"type": "accessToken.removeScope", "scope": "email"},
        {"type": "accessToken.addScope", "scope": "openid"},
        {"type": "user.setUserMetadata", "key": "k"},
    ]
    assert issued_scopes(["openid", "profile", "email"], commands) == [
        "openid",
        "profile",
        "read:orders",
    ]


# --- transaction metadata ------------------------------------------------------------------
def test_transaction_metadata_null_deletes_and_unsafe_integers_are_refused(
    pool: SandboxPool,
) -> None:
    """TX_METADATA "Remove metadata": null removes the key (undefined for later actions);
    LIMITATIONS "Transaction metadata": numbers failing the safe-integer check are refused."""
    first = unit(
        """
        api.transaction.setMetadata('custom_tx_id', 'xyz123');
        api.transaction.setMetadata('n', 2 ** 53 - 1);
        out(err(() => api.transaction.setMetadata('big', 2 ** 60)));
        out(err(() => api.transaction.setMetadata('inf', Infinity)));
        out(api.transaction.setMetadata('half', 0.5) === api);
        """,
        "first",
    )
    second = unit(
        """
        out(event.transaction.metadata.custom_tx_id);
        api.transaction.setMetadata('custom_tx_id', null);
        out(event.transaction.metadata.custom_tx_id);
        """,
        "second",
    )
    third = unit("out(Object.keys(event.transaction.metadata).sort());", "third")
    result = post_login(pool, first, second, third)
    big, inf, chained = outputs(result, "first")
    assert "not a safe number" in big
    assert "serialize" in big
    assert "not a safe number" in inf
    assert chained is True
    assert outputs(result, "second") == ["xyz123", "<undefined>"]
    assert outputs(result, "third") == [["half", "n"]]
    assert result["transaction_metadata"] == {"n": 2**53 - 1, "half": 0.5}


def test_transaction_metadata_reaches_on_continue(pool: SandboxPool) -> None:
    """TX_METADATA "Preserve values on redirect to external sites": values set before the
    redirect are in event.transaction.metadata in onContinuePostLogin and later actions."""
    first = unit(
        """
        api.transaction.setMetadata('custom_tx_id', 'xyz123');
        api.redirect.sendUserTo('https://consent.example/page');
        """,
        "first",
        cont="out(event.transaction.metadata);",
    )
    second = unit("out(event.transaction.metadata.custom_tx_id);", "second")
    suspended = post_login(pool, first, second)
    assert suspended["status"] == "redirected"
    event = build_event({"transaction": {"metadata": suspended["transaction_metadata"]}})
    resumed = post_login(pool, first, second, event=event, resume={"index": 0})
    assert resumed["status"] == "completed"
    assert outputs(resumed, "first") == [{"custom_tx_id": "xyz123"}]
    assert outputs(resumed, "second") == ["xyz123"]


# --- the api members ---------------------------------------------------------------------------
SAML_SETTERS = {
    "setAudience": "'urn:sp'",
    "setRecipient": "'https://sp.example/acs'",
    "setCreateUpnClaim": "false",
    "setPassthroughClaimsWithNoMapping": "false",
    "setMapUnknownClaimsAsIs": "true",
    "setMapIdentities": "false",
    "setSignatureAlgorithm": "'rsa-sha1'",
    "setDigestAlgorithm": "'sha1'",
    "setDestination": "'https://sp.example/acs'",
    "setLifetimeInSeconds": "600",
    "setSignResponse": "true",
    "setNameIdentifierFormat": "'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'",
    "setNameIdentifierProbes": "['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress']",
    "setAuthnContextClassRef": "'urn:oasis:names:tc:SAML:2.0:ac:classes:Password'",
    "setSigningCert": "'-----BEGIN CERTIFICATE-----'",
    "setIncludeAttributeNameFormat": "false",
    "setTypedAttributes": "false",
    "setEncryptionCert": "'-----BEGIN CERTIFICATE-----'",
    "setEncryptionPublicKey": "'-----BEGIN PUBLIC KEY-----'",
    "setCert": "'-----BEGIN CERTIFICATE-----'",
    "setKey": "'-----BEGIN PRIVATE KEY-----'",
    "setRelayState": "'relay'",
    "setIssuer": "'urn:acme'",
    "setEncryptionAlgorithm": "'aes256-gcm'",
}


def test_every_saml_response_setter_is_recorded(pool: SandboxPool) -> None:
    """API_OBJECT api.samlResponse: setAttribute and the 24 setters, each recorded."""
    calls = "\n".join(f"api.samlResponse.{n}({v});" for n, v in SAML_SETTERS.items())
    result = post_login(
        pool, unit(f"api.samlResponse.setAttribute('department', 'sales');\n{calls}")
    )
    assert result["status"] == "completed", result["error"]
    types = [c["type"] for c in result["commands"]]
    assert types == ["samlResponse.setAttribute"] + [f"samlResponse.{n}" for n in SAML_SETTERS]
    assert result["commands"][0]["attribute"] == "department"
    assert result["commands"][1]["value"] == "urn:sp"


def test_saml_response_setters_check_their_arguments(pool: SandboxPool) -> None:
    """API_OBJECT allowed values (signature, digest, encryption algorithms) and LIMITATIONS
    "SAML configuration" / "SAML attributes" sizes."""
    result = post_login(
        pool,
        unit(
            """
            out(err(() => api.samlResponse.setSignatureAlgorithm('rsa-md5')));
            out(err(() => api.samlResponse.setEncryptionAlgorithm('des')));
            out(err(() => api.samlResponse.setAudience('a'.repeat(2049))));
            out(err(() => api.samlResponse.setSignResponse('yes')));
            out(err(() => api.samlResponse.setNameIdentifierProbes(new Array(11).fill('p'))));
            for (let i = 0; i < 100; i += 1) api.samlResponse.setAttribute(`a${i}`, i);
            out(err(() => api.samlResponse.setAttribute('one-more', 1)));
            """
        ),
    )
    algorithm, encryption, audience, sign, probes, attributes = outputs(result)
    assert "Allowed values: rsa-sha256, rsa-sha1" in algorithm
    assert "Allowed values: aes256-gcm, aes256-cbc" in encryption
    assert audience == "api.samlResponse.setAudience is limited to 2048 bytes"
    assert sign == "api.samlResponse.setSignResponse expects a boolean"
    assert "at most 10 probes" in probes
    assert attributes == "At most 100 SAML attributes can be changed or added by Actions"


def test_session_and_refresh_token_members(pool: SandboxPool) -> None:
    """API_OBJECT session.setCookieMode ('persistent' | 'non-persistent') and
    refreshToken.evictMetadata."""
    result = post_login(
        pool,
        unit(
            """
            api.session.setCookieMode('non-persistent');
            out(err(() => api.session.setCookieMode('forever')));
            api.refreshToken.evictMetadata();
            api.session.evictMetadata();
            """
        ),
    )
    assert outputs(result) == [
        'Invalid cookie mode "forever". Expected one of: persistent, non-persistent'
    ]
    assert [c["type"] for c in result["commands"]] == [
        "session.setCookieMode",
        "refreshToken.evictMetadata",
        "session.evictMetadata",
    ]
    assert result["commands"][0]["mode"] == "non-persistent"


def test_roles_and_groups_lookups(pool: SandboxPool) -> None:
    """API_OBJECT api.roles (checkpoint paging, take up to 100, ids up to 100, names up to
    50) and api.groups; the roles are the event's authorization.roles."""
    event = build_event(
        {
            "authorization": {"roles": ["admin", "editor", "viewer"]},
            "user": {"groups": [{"id": "grp_1", "name": "sales"}]},
        }
    )
    result = post_login(
        pool,
        unit(
            """
            const first = await api.roles.getUserEffectiveRoles({ take: 2 });
            out(first);
            out(await api.roles.getUserEffectiveRoles({ take: 2, from: first.next }));
            out(await api.roles.getUserEffectiveRolesByNames(['editor', 'nobody']));
            const many = new Array(51).fill('x');
            out(await api.roles.getUserEffectiveRolesByNames(many).catch((e) => e.message));
            out(await api.groups.hasGroupMembership(['sales']));
            out(await api.groups.getUserGroups());
            """
        ),
        event=event,
    )
    first, rest, by_name, too_many, member, groups = outputs(result)
    assert first == {"roles": [{"name": "admin"}, {"name": "editor"}], "next": "2"}
    assert rest == {"roles": [{"name": "viewer"}]}
    assert by_name == {"roles": [{"name": "editor"}]}
    assert "at most 50" in too_many
    assert member["isMember"] is True
    assert groups == {"groups": [{"id": "grp_1", "name": "sales"}]}


# --- limits ----------------------------------------------------------------------------------
def test_metadata_is_limited_to_32_kb_each_per_session(pool: SandboxPool) -> None:
    """LIMITATIONS "User metadata and app metadata": at most 32 kB of each persisted per
    session; a write past it throws and is not applied."""
    result = post_login(
        pool,
        unit(
            """
            api.user.setUserMetadata('notes', 'n'.repeat(30 * 1024));
            out(err(() => api.user.setUserMetadata('more', 'm'.repeat(3 * 1024))));
            out(err(() => api.user.setAppMetadata('plan', 'p'.repeat(33 * 1024))));
            api.user.setAppMetadata('plan', 'gold');
            """
        ),
    )
    user, app = outputs(result)
    assert "limited to 32768 bytes per session" in user
    assert '"more"' in user
    assert "app_metadata is limited to 32768 bytes" in app
    assert set(result["user_metadata"]) == {"notes"}
    assert result["app_metadata"] == {"plan": "gold"}


def test_cache_is_limited_to_8_kb_in_total(pool: SandboxPool) -> None:
    """LIMITATIONS "Cached data": keys and values together at most 8 kB per trigger;
    past it cache.set returns CacheSizeExceeded (it does not throw)."""
    result = post_login(
        pool,
        unit(
            """
            out(api.cache.set('a', 'v'.repeat(4000)).type);
            out(api.cache.set('b', 'v'.repeat(4000)).type);
            out(api.cache.set('c', 'v'.repeat(400)));
            out(api.cache.set('a', 'v'.repeat(10)).type);  // replacing frees room
            out(api.cache.set('c', 'v'.repeat(400)).type);
            """
        ),
    )
    assert outputs(result) == [
        "success",
        "success",
        {"type": "error", "code": "CacheSizeExceeded"},
        "success",
        "success",
    ]


def test_organization_is_absent_without_an_organization() -> None:
    """post-login-event-object: event.organization is optional, present only when the
    login is for an organization (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-event-object)."""
    assert "organization" not in build_event()
    org = {"id": "org_1", "name": "acme", "display_name": "Acme", "metadata": {}}
    assert build_event({"organization": org})["organization"] == org


@pytest.mark.remote_envs
def test_secret_values_up_to_4096_characters(project: Path) -> None:
    """LIMITATIONS "Secrets": each secret value may have at most 4096 characters. apply
    refuses a longer one before any call, naming the variable and never the value."""
    tenant = load_tenant(project / "tenant.yaml")
    view = tenant.environment("dev")
    ledger = {"CONSENT_LEDGER_SECRET_DEV": "ledger-key-0123456789abcdefghijklmnop"}
    fits = resolve_secret_values(tenant, view, {"CONSENT_SESSION_SECRET_DEV": "s" * 4096, **ledger})
    assert fits["CONSENT_SESSION_SECRET"].reveal() == "s" * 4096
    with pytest.raises(SecretError) as refused:
        resolve_secret_values(tenant, view, {"CONSENT_SESSION_SECRET_DEV": "t" * 4097, **ledger})
    assert "CONSENT_SESSION_SECRET_DEV (4097 characters)" in str(refused.value)
    assert "at most 4096 characters" in str(refused.value)
    assert "tttt" not in str(refused.value)


def test_the_local_tenant_accepts_4096_character_secrets() -> None:
    """LIMITATIONS "Secrets": the local tenant's POST /actions/actions takes secret values
    of 4096 characters, and refuses longer ones with Auth0's payload validation error."""

    def body(value: str) -> dict[str, Any]:
        return {
            "name": "a",
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "secrets": [{"name": "KEY", "value": value}],
        }

    validate(body("v" * 4096), CREATE_SCHEMA)
    with pytest.raises(ApiError) as refused:
        validate(body("v" * 4097), CREATE_SCHEMA)
    assert "maximum 4096" in str(refused.value)


def test_sandbox_run_reports_a_failed_login_and_dropped_claims(tmp_path: Path, cli: Any) -> None:
    """`sandbox run` shows what Auth0 would do: the claims it drops
    (CUSTOM_CLAIMS) and a validation error that ends the login (API_OBJECT)."""
    script = tmp_path / "claims.js"
    script.write_text(
        "exports.onExecutePostLogin = async (event, api) => {\n"
        "  api.idToken.setCustomClaim('roles', ['admin']);\n"
        "  api.validation.error('invalid_payload', 'Missing full name');\n"
        "};\n"
    )
    text = cli("sandbox", "run", str(script), "-o", "text")
    assert text.code == 0, text.err
    assert "status: failed" in text.out
    assert "failed: Missing full name" in text.out
    assert "dropped id_token claim 'roles': restricted claim" in text.out
    as_json = cli("sandbox", "run", str(script)).json()
    assert as_json["dropped_claims"] == [
        {"token": "id_token", "claim": "roles", "reason": "restricted claim"}
    ]
    assert as_json["deny"]["code"] == "invalid_payload"


SCENARIO_ACTION = """\
exports.onExecutePostLogin = async (event, api) => {
  api.transaction.setMetadata('custom_tx_id', 'xyz123');
  api.accessToken.addScope('read:orders');
  api.redirect.sendUserTo('https://consent.example/page');
};
exports.onContinuePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://acme.example/tx', event.transaction.metadata.custom_tx_id);
  api.accessToken.setCustomClaim('org_id', 'org_1');
  api.session.revoke('revoked after the redirect');
};
"""
SCENARIOS = """\
pipeline:
  action: [tx-carrier]
scenarios:
  - name: transaction metadata survives the redirect; the revoke fails the login
    steps: [execute, {continue: {query: {}}}]
    expect:
      status: failed
      deny: revoked after the redirect
      app_error: access_denied
      id_token_claims: {https://acme.example/tx: xyz123}
      dropped_claims: [{token: access_token, claim: org_id, reason: restricted claim}]
      scopes: [openid, profile, email, read:orders]
"""


def test_scenarios_see_transaction_metadata_after_the_redirect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """TX_METADATA "Preserve values on redirect": a scenario's /continue step resumes with
    the metadata set before the redirect; the outcome shows the failed status, the dropped
    claim and the resulting scopes (API_OBJECT, CUSTOM_CLAIMS)."""
    example = Path(__file__).resolve().parent.parent / "examples" / "triggers" / "post-login"
    project = tmp_path / "project"
    shutil.copytree(example, project, ignore=shutil.ignore_patterns("actions"))
    templates = project / "rules_templates"
    (templates / "tx-carrier.js.j2").write_text(SCENARIO_ACTION)
    (templates / "tx-carrier.scenarios.yaml").write_text(SCENARIOS)
    config = project / "tenant.yaml"
    config.write_text(
        config.read_text()
        # The last order a trigger allows: free whatever the example binds.
        + "  - name: tx-carrier\n    template: tx-carrier.js.j2\n    trigger: post-login\n"
        "    order: 20\n"
    )
    monkeypatch.chdir(project)
    assert cli("render", "--all").code == 0
    tested = cli("test", "-k", "tx-carrier::")
    assert tested.code == 0, tested.out + tested.err
    assert "1 passed, 0 failed" in tested.out
