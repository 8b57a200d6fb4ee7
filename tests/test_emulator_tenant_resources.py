"""Connections, actions modules, the new-tenant defaults and the settings singletons, over HTTP.

Auth0's answers: the Management API reference
(https://auth0.com/docs/api/management/v2/connections/get-connections,
https://auth0.com/docs/api/management/v2/actions/get-actions-modules; the
settings writes: https://auth0.com/docs/api/management/v2/tenants/patch-settings,
https://auth0.com/docs/api/management/v2/prompts/patch-prompts,
https://auth0.com/docs/api/management/v2/prompts/put-custom-text-by-language,
https://auth0.com/docs/api/management/v2/branding/patch-branding,
https://auth0.com/docs/api/management/v2/attack-protection/patch-brute-force-protection,
https://auth0.com/docs/api/management/v2/attack-protection/patch-suspicious-ip-throttling,
https://auth0.com/docs/api/management/v2/attack-protection/patch-breached-password-detection,
https://auth0.com/docs/api/management/v2/attack-protection/patch-bot-detection,
https://auth0.com/docs/api/management/v2/attack-protection/patch-captcha,
https://auth0.com/docs/api/management/v2/guardian/put-factors-by-name,
https://auth0.com/docs/api/management/v2/guardian/put-policies,
https://auth0.com/docs/api/management/v2/guardian/put-message-types) and the
recording go_TestJobManager_ExportUsers (a new tenant's database connection).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import ServedTenant, Shape, load_recording

from auth0_actions.emulator.auth import MANAGEMENT_SCOPES
from auth0_actions.emulator.backends.settings import FACTOR, WRITES
from auth0_actions.emulator.backends.tenant_defaults import (
    DEFAULTS,
    Setting,
    Unset,
    scopes,
)
from auth0_actions.emulator.backends.users import connection_id
from auth0_actions.emulator.tenant import LocalTenant

DATABASE = "Username-Password-Authentication"
CODE = "exports.onExecutePostLogin = async (event, api) => {};"


@pytest.fixture
def tenant() -> Iterator[ServedTenant]:
    served = ServedTenant()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def http(tenant: ServedTenant) -> Iterator[httpx.Client]:
    with tenant.http() as client:
        yield client


# ---------------------------------------------------------------- connections


def test_a_new_tenant_has_its_database_connection_as_auth0_answers_it(
    tenant: ServedTenant, http: httpx.Client
) -> None:
    recorded = next(
        json.loads(i["response"]["body"])
        for i in load_recording("go_TestJobManager_ExportUsers.yaml")
        if "/api/v2/connections" in i["request"]["url"]
    )
    got = http.get(
        "/api/v2/connections", params={"include_totals": "true", "name": DATABASE}
    ).json()
    assert Shape(optional_keys=frozenset({"validation"})).compare(recorded, got) == []
    (connection,) = got["connections"]
    # The same con_ id the login flow and exports give the connection.
    assert connection["id"] == connection_id(DATABASE)
    assert (connection["name"], connection["strategy"]) == (DATABASE, "auth0")
    # Enabled for every client of the tenant, one registered later included.
    later = tenant.app.oauth.register()
    enabled = http.get(f"/api/v2/connections/{connection['id']}").json()["enabled_clients"]
    assert set(enabled) == {tenant.client_id, later.client_id}
    assert http.get("/api/v2/connections").json() == [
        http.get(f"/api/v2/connections/{connection['id']}").json()
    ]
    # Nothing is stored until it changes: a new tenant's state stays empty.
    assert tenant.app.store.count("connection") == 0


def test_connections_create_update_delete(tenant: ServedTenant, http: httpx.Client) -> None:
    created = http.post(
        "/api/v2/connections",
        json={"name": "google", "strategy": "google-oauth2", "options": {"scope": ["email"]}},
    )
    assert created.status_code == 201
    google = created.json()
    assert google["enabled_clients"] == []
    assert google["realms"] == ["google"]
    again = http.post("/api/v2/connections", json={"name": "google", "strategy": "github"})
    assert again.status_code == 409
    assert again.json()["errorCode"] == "connection_conflict"
    missing = http.post("/api/v2/connections", json={"name": "x"})
    assert missing.status_code == 400
    assert "strategy" in missing.json()["message"]

    by_strategy = http.get("/api/v2/connections", params={"strategy": "google-oauth2"}).json()
    assert [c["name"] for c in by_strategy] == ["google"]
    paged = http.get("/api/v2/connections", params={"take": 1}).json()
    assert [c["name"] for c in paged["connections"]] == [DATABASE]
    rest = http.get("/api/v2/connections", params={"take": 1, "from": paged["next"]}).json()
    assert [c["name"] for c in rest["connections"]] == ["google"]
    assert "next" not in rest

    # PATCH replaces options as a whole; name and strategy cannot change.
    patched = http.patch(
        f"/api/v2/connections/{google['id']}",
        json={"options": {"scope": ["profile"]}, "enabled_clients": [tenant.client_id]},
    ).json()
    assert patched["options"] == {"scope": ["profile"]}
    assert patched["enabled_clients"] == [tenant.client_id]
    renamed = http.patch(f"/api/v2/connections/{google['id']}", json={"name": "other"})
    assert renamed.status_code == 400

    assert http.delete(f"/api/v2/connections/{google['id']}").status_code == 202
    gone = http.get(f"/api/v2/connections/{google['id']}")
    assert gone.status_code == 404
    assert gone.json()["message"] == "The connection does not exist"

    # The default one can be deleted too, and stays deleted; a reset brings it back.
    default_id = connection_id(DATABASE)
    assert http.delete(f"/api/v2/connections/{default_id}").status_code == 202
    assert http.get("/api/v2/connections").json() == []
    tenant.app.store.clear()
    assert [c["name"] for c in http.get("/api/v2/connections").json()] == [DATABASE]


def test_connection_clients_are_enabled_and_disabled(
    tenant: ServedTenant, http: httpx.Client
) -> None:
    default_id = connection_id(DATABASE)
    other = tenant.app.oauth.register()
    answer = http.patch(
        f"/api/v2/connections/{default_id}/clients",
        json=[{"client_id": other.client_id, "status": False}],
    )
    assert answer.status_code == 204
    listed = http.get(f"/api/v2/connections/{default_id}/clients").json()
    assert listed == {"clients": [{"client_id": tenant.client_id}]}
    # Set explicitly now: a client registered later is not enabled by itself.
    tenant.app.oauth.register()
    assert http.get(f"/api/v2/connections/{default_id}").json()["enabled_clients"] == [
        tenant.client_id
    ]


def test_connections_need_their_scopes(tenant: ServedTenant) -> None:
    token = tenant.issue_token(scopes=("read:actions",))
    with tenant.http(token) as http:
        answer = http.get("/api/v2/connections")
    assert answer.status_code == 403
    assert answer.json()["message"] == "Insufficient scope, expected any of: read:connections"


# ---------------------------------------------------------------- actions modules


def test_module_drafts_versions_rollback_and_the_actions_using_them(
    http: httpx.Client,
) -> None:
    created = http.post(
        "/api/v2/actions/modules",
        json={
            "name": "helpers",
            "code": "module.exports = 1;",
            "secrets": [{"name": "TOKEN", "value": "never-returned"}],
            "dependencies": [{"name": "ms", "version": "2.1.3"}],
        },
    )
    assert created.status_code == 201
    module = created.json()
    assert (module["latest_version_number"], module["all_changes_published"]) == (0, False)
    assert [s["name"] for s in module["secrets"]] == ["TOKEN"]
    assert "never-returned" not in created.text
    assert (
        http.post("/api/v2/actions/modules", json={"name": "helpers", "code": ""}).status_code
        == 409
    )
    base = f"/api/v2/actions/modules/{module['id']}"

    first = http.post(f"{base}/versions").json()
    assert (first["version_number"], first["code"]) == (1, "module.exports = 1;")
    edited = http.patch(base, json={"code": "module.exports = 2;"}).json()
    assert edited["all_changes_published"] is False
    second = http.post(f"{base}/versions").json()
    assert second["version_number"] == 2
    listed = http.get(f"{base}/versions").json()
    assert [v["version_number"] for v in listed["versions"]] == [2, 1]
    assert listed["total"] == 2
    assert http.get(f"{base}/versions/{first['id']}").json()["code"] == "module.exports = 1;"

    rolled = http.post(f"{base}/rollback", json={"module_version_id": first["id"]}).json()
    assert rolled["code"] == "module.exports = 1;"
    assert rolled["latest_version"]["version_number"] == 3
    assert rolled["all_changes_published"] is True
    assert "never-returned" not in json.dumps(rolled)

    action = http.post(
        "/api/v2/actions/actions",
        json={
            "name": "uses-helpers",
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": CODE,
            "modules": [{"module_id": module["id"], "module_version_id": second["id"]}],
        },
    ).json()
    # The reference is completed from the version it names, as Auth0 renders it.
    assert action["modules"] == [
        {
            "module_id": module["id"],
            "module_name": "helpers",
            "module_version_id": second["id"],
            "module_version_number": 2,
        }
    ]
    by_name = http.patch(
        f"/api/v2/actions/actions/{action['id']}",
        json={"modules": [{"module_name": "helpers", "module_version_number": 2}]},
    ).json()
    assert by_name["modules"] == action["modules"]
    unknown = http.patch(
        f"/api/v2/actions/actions/{action['id']}",
        json={"modules": [{"module_id": module["id"], "module_version_id": "nope"}]},
    )
    assert unknown.status_code == 400
    assert unknown.json()["message"] == "The module version in modules[0] does not exist."
    using = http.get(f"{base}/actions").json()
    assert [(a["action_name"], a["action_id"]) for a in using["actions"]] == [
        ("uses-helpers", action["id"])
    ]
    assert http.get(base).json()["actions_using_module_total"] == 1
    # A module an action uses cannot be deleted (412), then it can.
    assert http.delete(base).status_code == 412
    assert http.delete(f"/api/v2/actions/actions/{action['id']}").status_code == 204
    assert http.delete(base).status_code == 204
    assert http.get(base).status_code == 404
    assert http.get("/api/v2/actions/modules").json()["modules"] == []


# ---------------------------------------------------------------- new-tenant defaults


def test_every_resource_type_not_modelled_answers_as_a_new_tenant(
    tenant: ServedTenant, http: httpx.Client
) -> None:
    """Empty collections in their endpoint's envelope, settings with their defaults,
    404 for what a new tenant has not configured: never the 404 of an unknown path
    (which stops Auth0's deploy CLI's export)."""
    for default in DEFAULTS:
        path = "/api/v2" + default.path.replace("{prompt}", "login").replace(
            "{language}", "en"
        ).replace("{templateName}", "verify_email")
        answer = http.get(path)
        if isinstance(default, Unset):
            assert answer.status_code == 404, path
            assert answer.json()["message"] == default.message
            continue
        assert answer.status_code == 200, path
        if isinstance(default, Setting):
            assert answer.json() == default.body, path
        elif default.paging == "offset":
            assert answer.json() == [], path
            totals = http.get(path, params={"include_totals": "true"}).json()
            assert totals == {default.key: [], "start": 0, "limit": 50, "total": 0}, path
        elif default.paging == "array":
            assert answer.json() == [], path
        else:
            assert answer.json() == {default.key: []}, path
    resource_servers = http.get("/api/v2/resource-servers").json()
    assert [r["identifier"] for r in resource_servers] == [f"https://{tenant.app.domain}/api/v2/"]
    assert http.get("/api/v2/clients").json()[0]["client_id"] == tenant.client_id


def test_the_management_client_holds_every_scope_the_defaults_check(
    tenant: ServedTenant,
) -> None:
    assert set(scopes()) <= set(MANAGEMENT_SCOPES)
    token = tenant.issue_token(scopes=("read:actions",))
    with tenant.http(token) as http:
        assert http.get("/api/v2/tenants/settings").status_code == 403


# ---------------------------------------------------------------- settings singletons

# One valid body per write, and the path its GET reads: (method, path) -> (path, body).
_TWILIO = {"from": "+15550100", "messaging_service_sid": "MG1", "auth_token": "t", "sid": "AC1"}
WRITE_CASES: dict[tuple[str, str], tuple[str, Any]] = {
    ("PATCH", "/tenants/settings"): (
        "/tenants/settings",
        {
            "friendly_name": "Local Tenant",
            "support_email": "support@example.com",
            "flags": {"enable_client_connections": True},
        },
    ),
    ("PATCH", "/prompts"): ("/prompts", {"identifier_first": True}),
    ("PUT", "/prompts/{prompt}/custom-text/{language}"): (
        "/prompts/login/custom-text/en",
        {"login": {"title": "Welcome back"}},
    ),
    ("PUT", "/prompts/{prompt}/partials"): (
        "/prompts/login/partials",
        {"login": {"form-content-start": "<p>hi</p>"}},
    ),
    ("PATCH", "/branding"): ("/branding", {"colors": {"primary": "#112233"}}),
    ("PATCH", "/attack-protection/brute-force-protection"): (
        "/attack-protection/brute-force-protection",
        {"max_attempts": 5},
    ),
    ("PATCH", "/attack-protection/suspicious-ip-throttling"): (
        "/attack-protection/suspicious-ip-throttling",
        {"enabled": False},
    ),
    ("PATCH", "/attack-protection/breached-password-detection"): (
        "/attack-protection/breached-password-detection",
        {"enabled": True, "shields": ["block"]},
    ),
    ("PATCH", "/attack-protection/bot-detection"): (
        "/attack-protection/bot-detection",
        {"bot_detection_level": "high"},
    ),
    ("PATCH", "/attack-protection/captcha"): (
        "/attack-protection/captcha",
        {"active_provider_id": "simple_captcha"},
    ),
    ("PATCH", "/risk-assessments/settings"): ("/risk-assessments/settings", {"enabled": True}),
    ("PATCH", "/risk-assessments/settings/new-device"): (
        "/risk-assessments/settings/new-device",
        {"remember_for": 7},
    ),
    ("PATCH", "/supplemental-signals"): ("/supplemental-signals", {"akamai_enabled": True}),
    ("PUT", FACTOR): ("/guardian/factors/otp", {"enabled": True}),
    ("PUT", "/guardian/policies"): ("/guardian/policies", ["all-applications"]),
    ("PUT", "/guardian/factors/phone/message-types"): (
        "/guardian/factors/phone/message-types",
        {"message_types": ["sms", "voice"]},
    ),
    ("PUT", "/guardian/factors/phone/selected-provider"): (
        "/guardian/factors/phone/selected-provider",
        {"provider": "twilio"},
    ),
    ("PUT", "/guardian/factors/sms/selected-provider"): (
        "/guardian/factors/sms/selected-provider",
        {"provider": "twilio"},
    ),
    ("PUT", "/guardian/factors/push-notification/selected-provider"): (
        "/guardian/factors/push-notification/selected-provider",
        {"provider": "sns"},
    ),
    ("PUT", "/guardian/factors/phone/templates"): (
        "/guardian/factors/phone/templates",
        {"enrollment_message": "enrol {{code}}", "verification_message": "verify {{code}}"},
    ),
    ("PUT", "/guardian/factors/sms/templates"): (
        "/guardian/factors/sms/templates",
        {"enrollment_message": "enrol {{code}}", "verification_message": "verify {{code}}"},
    ),
    ("PUT", "/guardian/factors/phone/providers/twilio"): (
        "/guardian/factors/phone/providers/twilio",
        _TWILIO,
    ),
    ("PUT", "/guardian/factors/sms/providers/twilio"): (
        "/guardian/factors/sms/providers/twilio",
        _TWILIO,
    ),
    ("PUT", "/guardian/factors/push-notification/providers/apns"): (
        "/guardian/factors/push-notification/providers/apns",
        {"sandbox": True, "bundle_id": "com.example.app"},
    ),
    ("PATCH", "/guardian/factors/push-notification/providers/apns"): (
        "/guardian/factors/push-notification/providers/apns",
        {"bundle_id": "com.example.other"},
    ),
    ("PUT", "/guardian/factors/push-notification/providers/sns"): (
        "/guardian/factors/push-notification/providers/sns",
        {"aws_region": "eu-west-1"},
    ),
    ("PATCH", "/guardian/factors/push-notification/providers/sns"): (
        "/guardian/factors/push-notification/providers/sns",
        {"aws_region": "us-east-1"},
    ),
    ("PUT", "/guardian/factors/duo/settings"): (
        "/guardian/factors/duo/settings",
        {"ikey": "DIXXX", "skey": "secret", "host": "api-x.duosecurity.com"},
    ),
    ("PATCH", "/guardian/factors/duo/settings"): (
        "/guardian/factors/duo/settings",
        {"host": "api-y.duosecurity.com"},
    ),
}


def _default(path: str) -> Any:
    """The body a new tenant's GET answers at ``path``, before any write."""
    for default in DEFAULTS:
        if isinstance(default, Setting):
            template = default.path.replace("{prompt}", "login").replace("{language}", "en")
            if template == path:
                return default.body
    raise AssertionError(path)


def test_every_settings_write_has_a_case_and_a_default_it_writes_over() -> None:
    assert set(WRITE_CASES) == {(w.method, w.path) for w in WRITES}
    settings = {d.path for d in DEFAULTS if isinstance(d, Setting)}
    assert {w.path for w in WRITES} - settings == {FACTOR}  # a factor is an item of the list


@pytest.mark.parametrize(("method", "template"), list(WRITE_CASES), ids="{0[0]} {0[1]}".format)
def test_a_settings_write_is_answered_and_read_back(
    tenant: ServedTenant, http: httpx.Client, method: str, template: str
) -> None:
    """PATCH merges the body's keys into the current value (Auth0's top-level merge: a
    nested object sent replaces that key); PUT replaces it; the GET answers the result."""
    path, body = WRITE_CASES[(method, template)]
    before = _default("/guardian/factors" if template == FACTOR else path)
    answer = http.request(method, f"/api/v2{path}", json=body)
    assert answer.status_code == 200, answer.text
    if template == FACTOR:
        assert answer.json() == body
        factors = {f["name"]: f for f in http.get("/api/v2/guardian/factors").json()}
        assert factors["otp"] == {"name": "otp", "enabled": True, "trial_expired": False}
        assert [f["name"] for f in before if factors[f["name"]]["enabled"]] == ["otp"]
        return
    expected = {**before, **body} if method == "PATCH" else body
    assert answer.json() == expected
    assert http.get(f"/api/v2{path}").json() == expected


def test_patches_merge_at_the_top_level_and_other_paths_keep_their_defaults(
    http: httpx.Client,
) -> None:
    first = {"friendly_name": "One", "flags": {"enable_client_connections": True}}
    http.patch("/api/v2/tenants/settings", json=first)
    second = http.patch("/api/v2/tenants/settings", json={"support_email": "s@example.com"})
    got = second.json()
    assert (got["friendly_name"], got["support_email"]) == ("One", "s@example.com")
    assert got["flags"] == {"enable_client_connections": True}  # replaced as a whole
    assert got["enabled_locales"] == ["en"]  # untouched defaults stay
    http.put("/api/v2/prompts/login/custom-text/en", json={"login": {"title": "Hi"}})
    assert http.get("/api/v2/prompts/login/custom-text/fr").json() == {}
    assert http.get("/api/v2/prompts/signup/custom-text/en").json() == {}


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        (
            "PATCH",
            "/tenants/settings",
            {"friendly_name": 7},
            "Payload validation error: 'Expected type string but found type integer'"
            " on property friendly_name.",
        ),
        (
            "PATCH",
            "/prompts",
            {"universal_login_experience": "newest"},
            "Payload validation error: 'No enum match for: \"newest\"'"
            " on property universal_login_experience.",
        ),
        (
            "PATCH",
            "/attack-protection/brute-force-protection",
            {"max_attempts": "ten"},
            "Payload validation error: 'Expected type integer but found type string'"
            " on property max_attempts.",
        ),
        (
            "PUT",
            "/guardian/factors/otp",
            {},
            "Payload validation error: 'Missing required property: enabled'.",
        ),
        (
            "PUT",
            "/guardian/factors/phone/message-types",
            {"message_types": ["fax"]},
            "Payload validation error: 'No enum match for: \"fax\"' on property message_types[0].",
        ),
    ],
)
def test_a_bad_settings_body_is_refused_by_the_documents_schema(
    tenant: ServedTenant, http: httpx.Client, method: str, path: str, body: Any, message: str
) -> None:
    answer = http.request(method, f"/api/v2{path}", json=body)
    assert answer.status_code == 400
    assert answer.json()["message"] == message
    assert answer.json()["errorCode"] == "invalid_body"
    assert tenant.app.store.count("setting") == 0  # nothing Auth0 would refuse is stored


def test_an_unknown_factor_is_a_path_validation_error(http: httpx.Client) -> None:
    answer = http.put("/api/v2/guardian/factors/carrier-pigeon", json={"enabled": True})
    assert answer.status_code == 400
    assert answer.json()["errorCode"] == "invalid_uri"


def test_settings_writes_need_their_update_scope(tenant: ServedTenant) -> None:
    reads = tuple(s for s in MANAGEMENT_SCOPES if not s.startswith("update:"))
    with tenant.http(tenant.issue_token(scopes=reads)) as http:
        for (method, template), (path, body) in WRITE_CASES.items():
            answer = http.request(method, f"/api/v2{path}", json=body)
            assert answer.status_code == 403, (method, path)
            (scope,) = [w.scope for w in WRITES if (w.method, w.path) == (method, template)]
            expected = f"Insufficient scope, expected any of: {scope}"
            assert answer.json()["message"] == expected
        assert http.get("/api/v2/tenants/settings").status_code == 200
    assert tenant.app.store.count("setting") == 0


def test_reset_brings_the_defaults_back_and_counts_the_settings(tmp_path: Path) -> None:
    with LocalTenant.open(tmp_path) as local:
        token = httpx.post(
            f"{local.base_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": local.client_id,
                "client_secret": local.client_secret.reveal(),
                "audience": local.audience,
            },
        ).json()["access_token"]
        with httpx.Client(
            base_url=f"{local.base_url}/api/v2", headers={"authorization": f"Bearer {token}"}
        ) as http:
            http.patch("/tenants/settings", json={"friendly_name": "Before reset"})
            http.put("/guardian/factors/email", json={"enabled": True})
            assert local.reset() == {"setting": 2}
            assert "friendly_name" not in http.get("/tenants/settings").json()
            assert not any(f["enabled"] for f in http.get("/guardian/factors").json())


def test_session_lifetimes_in_minutes_are_accepted_and_answered_in_hours(
    http: httpx.Client,
) -> None:
    """Auth0 accepts ``session_lifetime_in_minutes`` and ``idle_session_lifetime_in_minutes``
    (what its SDKs send for a lifetime under an hour: go-auth0's tenant MarshalJSON; what
    a0deploy sends from a YAML ``session_lifetime``) though its OpenAPI document does not
    list them, and answers the lifetimes in hours
    (https://auth0.com/docs/api/management/v2/tenants/patch-settings)."""
    answer = http.patch(
        "/api/v2/tenants/settings",
        json={"session_lifetime_in_minutes": 15, "idle_session_lifetime_in_minutes": 120},
    )
    assert answer.status_code == 200, answer.text
    settings = http.get("/api/v2/tenants/settings").json()
    assert (settings["session_lifetime"], settings["idle_session_lifetime"]) == (0.25, 2)
    assert "session_lifetime_in_minutes" not in settings
    refused = http.patch("/api/v2/tenants/settings", json={"session_lifetime_in_minutes": 0})
    assert refused.status_code == 400
    assert "session_lifetime_in_minutes" in refused.json()["message"]
