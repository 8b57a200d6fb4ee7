"""Connections, actions modules and the new-tenant defaults of the local tenant, over HTTP.

Auth0's answers: the Management API reference
(https://auth0.com/docs/api/management/v2/connections/get-connections,
https://auth0.com/docs/api/management/v2/actions/get-actions-modules) and the
recording go_TestJobManager_ExportUsers (a new tenant's database connection).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from emulator_support import ServedTenant, Shape, load_recording

from auth0_actions.emulator.auth import MANAGEMENT_SCOPES
from auth0_actions.emulator.backends.tenant_defaults import (
    DEFAULTS,
    Setting,
    Unset,
    scopes,
)
from auth0_actions.emulator.backends.users import connection_id

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
