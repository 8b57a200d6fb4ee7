"""The local tenant's actions endpoints answer as Auth0 does.

docs/reference/management-api.md §1 and the recordings in tests/conformance/recordings:
replayed request by request, over real HTTP with httpx, and through the
official auth0-python 6.8 SDK. Build timing, limits, scopes and the
bound-delete conflict are checked on the wire.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from auth0.management import ActionTrigger, Auth0, DeployActionVersionRequestContent
from auth0.management.core.api_error import ApiError as SdkApiError
from emulator_support import ServedTenant, Shape, load_recording, replay, report

from auth0_actions.emulator import actions_spec
from auth0_actions.emulator.app import Settings
from auth0_actions.emulator.backends import actions as actions_backend
from auth0_actions.emulator.backends.actions import BUILD_FAILURE

API = "/api/v2/actions"
POST_LOGIN = [{"id": "post-login", "version": "v3"}]
CODE = "exports.onExecutePostLogin = async (event, api) => {};"
NOT_FOUND = {"statusCode": 404, "error": "Not Found", "message": "That action does not exist."}
ACTION_KEYS = {
    "id",
    "name",
    "supported_triggers",
    "created_at",
    "updated_at",
    "code",
    "dependencies",
    "runtime",
    "status",
    "secrets",
    "all_changes_deployed",
}
BUILD_STATES = {"pending", "building", "packaged", "built", "retrying", "failed"}
SHAPE = Shape(
    # Present or not depending on how far a build has got when asked, and on
    # what else the recorded tenant held (totals of shared trigger bindings).
    optional_keys=frozenset({"built_at", "build_time", "total", "page", "registry_url"}),
    enums={
        "status": frozenset(
            BUILD_STATES | {s.upper() for s in BUILD_STATES} | {"CURRENT", "DEPRECATED"}
        ),
        "trigger_id": frozenset(actions_spec.TRIGGER_IDS),
        "runtime": frozenset({"node12", "node16", "node18", "node18-actions", "node22"}),
    },
)
RECORDINGS = [
    "TestAccAction.yaml",
    "TestAccTriggerAction.yaml",
    "TestAccTriggerActions.yaml",
    "TestAccDataSourceAction.yaml",
    "TestAccActionWithSecretsWO.yaml",
    "go_TestActionManager_Bindings.yaml",
    "go_TestActionManager_CreateWithDeploy.yaml",
    "go_TestActionManager_Delete.yaml",
    "go_TestActionManager_DeployVersion.yaml",
    "go_TestActionManager_List.yaml",
    "go_TestActionManager_Triggers.yaml",
    "go_TestActionManager_Versions.yaml",
]


@pytest.fixture(scope="module")
def served() -> Iterator[ServedTenant]:
    """One server for the module (stopping one costs half a second)."""
    tenant = ServedTenant()
    yield tenant
    tenant.app.backends.action_tests.close()
    tenant.stop()


@pytest.fixture
def tenant(served: ServedTenant) -> Iterator[ServedTenant]:
    """The served tenant, emptied and with default settings for each test."""
    served.app.store.clear()
    served.app.settings = Settings()
    yield served
    served.app.settings = Settings()


@pytest.fixture
def http(tenant: ServedTenant) -> Iterator[httpx.Client]:
    with tenant.http() as client:
        yield client


def _create(http: httpx.Client, name: str = "my action", **fields: Any) -> dict[str, Any]:
    body = {"name": name, "supported_triggers": POST_LOGIN, "code": CODE, **fields}
    response = http.post(f"{API}/actions", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _deployed(http: httpx.Client, name: str = "my action", **fields: Any) -> dict[str, Any]:
    action = _create(http, name, **fields)
    assert http.post(f"{API}/actions/{action['id']}/deploy").status_code == 200
    return dict(http.get(f"{API}/actions/{action['id']}").json())


def _bind(http: httpx.Client, *refs: tuple[str, str]) -> httpx.Response:
    bindings = [{"ref": {"type": kind, "value": value}} for kind, value in refs]
    return http.patch(f"{API}/triggers/post-login/bindings", json={"bindings": bindings})


def _error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    assert body["message"] == message, body


# ---------------------------------------------------------------- recordings


@pytest.mark.parametrize("name", RECORDINGS)
def test_recordings_replay(tenant: ServedTenant, http: httpx.Client, name: str) -> None:
    steps = replay(http, load_recording(name), SHAPE)
    assert report(steps) == ""
    assert steps, name


def test_replay_compares_keys_types_and_enums() -> None:
    recorded = {"actions": [{"id": "a", "status": "built", "number": 1}], "per_page": 50}
    assert SHAPE.compare(recorded, recorded) == []
    assert SHAPE.compare(recorded, {"actions": [{"id": "b", "status": "built"}], "per_page": 50})
    assert SHAPE.compare(recorded, {"actions": [{"id": "b", "status": "ok", "number": 1}]})
    wrong_type = {"actions": [{"id": "b", "status": "built", "number": "1"}], "per_page": 50}
    assert SHAPE.compare(recorded, wrong_type)


# ------------------------------------------------------------------ actions


def test_create_get_and_the_404_body(http: httpx.Client) -> None:
    action = _create(http, secrets=[{"name": "api_key", "value": "s3cr3t-value"}])
    assert set(action) == ACTION_KEYS
    assert action["status"] == "pending"
    assert action["runtime"] == "node22"
    assert action["dependencies"] == []
    assert [s["name"] for s in action["secrets"]] == ["api_key"]
    assert action["all_changes_deployed"] is False
    assert action["created_at"].endswith("Z")
    assert len(action["created_at"]) == 30
    got = http.get(f"{API}/actions/{action['id']}")
    assert got.status_code == 200
    assert got.json()["status"] == "built"  # build_seconds=0
    missing = "09ee2b9b-282d-4a65-87d1-f01adf007745"
    for method in ("GET", "PATCH", "DELETE"):
        response = http.request(method, f"{API}/actions/{missing}", json={} if method else None)
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    bare = http.post(f"{API}/actions", json={"name": "bare", "supported_triggers": POST_LOGIN})
    assert "code" not in bare.json()  # zero values are left out, as recorded


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"supported_triggers": POST_LOGIN}, "'Missing required property: name'."),
        ({"name": "x"}, "'Missing required property: supported_triggers'."),
        (
            {"name": "x", "supported_triggers": POST_LOGIN, "colour": "red"},
            "'Additional properties not allowed: colour'.",
        ),
        (
            {"name": "x", "supported_triggers": []},
            "'Array is too short (0), minimum 1' on property supported_triggers.",
        ),
        (
            {"name": "x", "supported_triggers": [{"id": "post-logout", "version": "v3"}]},
            "'No enum match for: \"post-logout\"' on property supported_triggers[0].id.",
        ),
        (
            {"name": 7, "supported_triggers": POST_LOGIN},
            "'Expected type string but found type integer' on property name.",
        ),
        (
            {"name": "x", "supported_triggers": POST_LOGIN, "deploy": "yes"},
            "'Expected type boolean but found type string' on property deploy.",
        ),
        (
            {"name": "x", "supported_triggers": POST_LOGIN, "code": "x" * (100 * 1024 + 1)},
            "'String is too long (102401 chars), maximum 102400' on property code.",
        ),
        (
            {
                "name": "x",
                "supported_triggers": POST_LOGIN,
                "dependencies": [{"name": f"d{i}", "version": "1.0.0"} for i in range(11)],
            },
            "'Array is too long (11), maximum 10' on property dependencies.",
        ),
        (
            {
                "name": "x",
                "supported_triggers": POST_LOGIN,
                "secrets": [{"name": f"s{i}", "value": "v"} for i in range(31)],
            },
            "'Array is too long (31), maximum 30' on property secrets.",
        ),
    ],
)
def test_create_validation_errors(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    response = http.post(f"{API}/actions", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": f"Payload validation error: {message}",
        "errorCode": "invalid_body",
    }


def test_bad_json_and_deploy_field_on_update_are_400(http: httpx.Client) -> None:
    action = _create(http)
    broken = http.post(
        f"{API}/actions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["errorCode"] == "invalid_body"
    response = http.patch(f"{API}/actions/{action['id']}", json={"deploy": True})
    _error(response, 400, "Payload validation error: 'Additional properties not allowed: deploy'.")


def test_secret_values_are_write_only(http: httpx.Client, tenant: ServedTenant) -> None:
    action = _create(http, secrets=[{"name": "foo", "value": "first-value-111"}])
    updated = http.patch(
        f"{API}/actions/{action['id']}",
        json={
            "secrets": [
                {"name": "bar", "value": "second-value-222"},
                {"name": "foo", "value": "third-value-333"},
            ]
        },
    ).json()
    # Existing names keep their place; new ones follow (TestAccAction #17).
    assert [s["name"] for s in updated["secrets"]] == ["foo", "bar"]
    assert all(set(s) == {"name", "updated_at"} for s in updated["secrets"])
    http.post(f"{API}/actions/{action['id']}/deploy")
    seen = [
        http.get(f"{API}/actions/{action['id']}").text,
        http.get(f"{API}/actions/{action['id']}/versions").text,
        http.get(f"{API}/actions").text,
    ]
    for text in seen:
        for value in ("first-value-111", "second-value-222", "third-value-333"):
            assert value not in text
    stored = tenant.app.store.get("action", action["id"])
    assert stored is not None
    assert stored["_secret_values"] == {"foo": "third-value-333", "bar": "second-value-222"}
    cleared = http.patch(f"{API}/actions/{action['id']}", json={"secrets": []}).json()
    assert cleared["secrets"] == []


def test_list_filters_and_envelopes(http: httpx.Client) -> None:
    assert http.get(f"{API}/actions", params={"per_page": 50}).json() == {
        "actions": [],
        "per_page": 50,
    }
    first = _create(http, "alpha")
    _create(http, "alpha beta")
    _create(http, "gamma", supported_triggers=[{"id": "credentials-exchange", "version": "v2"}])
    http.post(f"{API}/actions/{first['id']}/deploy")

    def names(**params: Any) -> list[str]:
        body = http.get(f"{API}/actions", params=params).json()
        return [a["name"] for a in body["actions"]]

    assert names(actionName="alpha") == ["alpha"]  # exact
    assert names(triggerId="credentials-exchange") == ["gamma"]
    assert names(deployed="true") == ["alpha"]
    assert names(deployed="false") == ["alpha beta", "gamma"]
    assert names(installed="true") == []
    assert names(installed="false") == ["alpha", "alpha beta", "gamma"]
    page = http.get(f"{API}/actions", params={"page": 0, "per_page": 2}).json()
    assert set(page) == {"actions", "total", "per_page"}
    assert (len(page["actions"]), page["total"], page["per_page"]) == (2, 3, 2)
    last = http.get(f"{API}/actions", params={"page": 1, "per_page": 2}).json()
    assert (len(last["actions"]), last["total"], last["page"]) == (1, 3, 1)
    past = http.get(f"{API}/actions", params={"page": 2, "per_page": 2}).json()
    assert past == {"actions": [], "page": 2, "per_page": 2}
    bad = http.get(f"{API}/actions", params={"triggerId": "nope"})
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "invalid_query_string"
    bad = http.get(f"{API}/actions", params={"per_page": "many"})
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "invalid_query_string"


def test_deploy_versions_and_all_changes_deployed(http: httpx.Client) -> None:
    action = _create(http)
    deployed = http.post(f"{API}/actions/{action['id']}/deploy")
    assert deployed.status_code == 200  # not the spec's 202 (recorded)
    version = deployed.json()
    assert version["deployed"] is False
    assert version["number"] == 1
    assert version["status"] == "built"
    assert set(version["action"]) == {
        "id",
        "name",
        "supported_triggers",
        "created_at",
        "updated_at",
        "all_changes_deployed",
    }
    got = http.get(f"{API}/actions/{action['id']}").json()
    assert got["all_changes_deployed"] is True
    assert got["deployed_version"]["id"] == version["id"]
    assert got["deployed_version"]["deployed"] is True
    assert got["deployed_version"]["status"] == "built"
    assert "built_at" in got["deployed_version"]
    assert got["current_version"]["status"] == "BUILT"
    assert "build_time" in got["current_version"]
    patched = http.patch(f"{API}/actions/{action['id']}", json={"code": CODE + "\n// v2"})
    assert patched.json()["status"] == "pending"
    assert patched.json()["all_changes_deployed"] is False
    assert patched.json()["deployed_version"]["id"] == version["id"]  # untouched
    second = http.post(f"{API}/actions/{action['id']}/deploy").json()
    assert second["number"] == 2
    listed = http.get(f"{API}/actions/{action['id']}/versions").json()
    assert set(listed) == {"versions", "total", "per_page"}
    assert [v["number"] for v in listed["versions"]] == [2, 1]
    assert [v["deployed"] for v in listed["versions"]] == [True, False]
    one = http.get(f"{API}/actions/{action['id']}/versions/{version['id']}")
    assert one.status_code == 200
    assert one.json()["code"] == CODE
    missing = http.get(f"{API}/actions/{action['id']}/versions/nope")
    _error(missing, 404, "That action version does not exist.")
    assert http.post(f"{API}/actions/nope/deploy").json() == NOT_FOUND


def test_rollback_creates_a_new_version(http: httpx.Client) -> None:
    action = _create(http)
    first = http.post(f"{API}/actions/{action['id']}/deploy").json()
    http.patch(f"{API}/actions/{action['id']}", json={"code": CODE + "// two"})
    http.post(f"{API}/actions/{action['id']}/deploy")
    rolled = http.post(f"{API}/actions/{action['id']}/versions/{first['id']}/deploy")
    assert rolled.status_code == 200
    assert rolled.json()["number"] == 3
    assert rolled.json()["code"] == CODE
    got = http.get(f"{API}/actions/{action['id']}").json()
    assert got["deployed_version"]["number"] == 3
    assert got["code"] == CODE + "// two"  # the draft is untouched
    assert got["all_changes_deployed"] is False
    again = http.post(
        f"{API}/actions/{action['id']}/versions/{first['id']}/deploy",
        json={"update_draft": True},
    ).json()
    assert again["number"] == 4
    got = http.get(f"{API}/actions/{action['id']}").json()
    assert got["code"] == CODE
    assert got["all_changes_deployed"] is True
    bad = http.post(
        f"{API}/actions/{action['id']}/versions/{first['id']}/deploy", json={"draft": True}
    )
    _error(bad, 400, "Payload validation error: 'Additional properties not allowed: draft'.")


def test_versions_kept_evicts_the_oldest(tenant: ServedTenant, http: httpx.Client) -> None:
    tenant.app.settings = Settings(versions_kept=3)
    action = _create(http)
    for n in range(5):
        http.patch(f"{API}/actions/{action['id']}", json={"code": f"{CODE}//{n}"})
        assert http.post(f"{API}/actions/{action['id']}/deploy").status_code == 200
    listed = http.get(f"{API}/actions/{action['id']}/versions").json()
    assert [v["number"] for v in listed["versions"]] == [5, 4, 3]
    assert tenant.app.store.count("action_version") == 3


def test_triggers(http: httpx.Client) -> None:
    triggers = http.get(f"{API}/triggers").json()["triggers"]
    current = [t for t in triggers if t["id"] == "post-login" and t["status"] == "CURRENT"]
    assert current
    assert current[0]["version"] == "v3"
    assert "node22" in current[0]["runtimes"]
    assert {t["id"] for t in triggers} <= set(actions_spec.SPEC_TRIGGERS)


# ----------------------------------------------------------------- bindings


def test_bindings_replace_the_whole_list(http: httpx.Client) -> None:
    a = _deployed(http, "first")
    b = _deployed(http, "second")
    response = http.patch(
        f"{API}/triggers/post-login/bindings",
        json={
            "bindings": [
                {"ref": {"type": "action_id", "value": a["id"]}, "display_name": "One"},
                {"ref": {"type": "action_name", "value": "second"}},
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"bindings"}
    first_ids = [x["id"] for x in body["bindings"]]
    assert [x["display_name"] for x in body["bindings"]] == ["One", "second"]
    embedded = body["bindings"][0]["action"]
    assert set(embedded) == {
        "id",
        "name",
        "supported_triggers",
        "created_at",
        "updated_at",
        "current_version",
        "deployed_version",
        "all_changes_deployed",
    }
    assert body["bindings"][0]["trigger_id"] == "post-login"
    # Reordered by binding id: new binding ids every time.
    again = _bind(http, ("binding_id", first_ids[1]), ("action_id", a["id"])).json()
    assert [x["action"]["id"] for x in again["bindings"]] == [b["id"], a["id"]]
    assert not {x["id"] for x in again["bindings"]} & set(first_ids)
    listed = http.get(f"{API}/triggers/post-login/bindings", params={"per_page": 50}).json()
    assert set(listed) == {"bindings", "total", "per_page"}
    assert listed["total"] == 2
    past = http.get(f"{API}/triggers/post-login/bindings", params={"page": 1, "per_page": 100})
    assert past.json() == {"bindings": [], "page": 1, "per_page": 100}
    cleared = http.patch(f"{API}/triggers/post-login/bindings", json={"bindings": []})
    assert cleared.json() == {"bindings": []}
    listed = http.get(f"{API}/triggers/post-login/bindings", params={"per_page": 50}).json()
    assert listed == {"bindings": [], "per_page": 50}


def test_binding_errors(http: httpx.Client) -> None:
    undeployed = _create(http, "draft only")
    _error(
        _bind(http, ("action_id", undeployed["id"])),
        400,
        actions_backend.NOT_DEPLOYED,
    )
    response = http.patch(
        f"{API}/triggers/post-login/bindings", json={"bindings": [{"display_name": "x"}]}
    )
    _error(
        response,
        400,
        "Payload validation error: 'Data does not match any schemas from 'oneOf'' "
        "on property bindings[0].",
    )
    deployed = _deployed(http, "deployed")
    many = _bind(http, *[("action_id", deployed["id"])] * 21)
    _error(
        many,
        400,
        "Payload validation error: 'Array is too long (21), maximum 20' on property bindings.",
    )
    assert _bind(http, *[("action_id", deployed["id"])] * 20).status_code == 200
    other = _deployed(
        http, "other trigger", supported_triggers=[{"id": "credentials-exchange", "version": "v2"}]
    )
    assert _bind(http, ("action_id", other["id"])).status_code == 400
    assert _bind(http, ("action_name", "no such action")).status_code == 400
    unknown = http.get(f"{API}/triggers/post-logout/bindings")
    assert unknown.status_code == 400


def test_bound_delete_is_409_unless_forced(http: httpx.Client, tenant: ServedTenant) -> None:
    action = _deployed(http)
    assert _bind(http, ("action_id", action["id"])).status_code == 200
    refused = http.delete(f"{API}/actions/{action['id']}")
    assert refused.status_code == 409
    assert refused.json() == {
        "statusCode": 409,
        "error": "Conflict",
        "message": "Unable to delete an action bound to a trigger.",
    }
    forced = http.delete(f"{API}/actions/{action['id']}", params={"force": "true"})
    assert forced.status_code == 204
    assert forced.content == b""
    assert http.get(f"{API}/actions/{action['id']}").status_code == 404
    assert http.get(f"{API}/triggers/post-login/bindings").json()["bindings"] == []
    assert tenant.app.store.count("action_version") == 0


def test_store_holds_what_the_login_flow_reads(http: httpx.Client, tenant: ServedTenant) -> None:
    """Shared data model: bindings per trigger; the action's deployed_version and secrets."""
    action = _deployed(http, secrets=[{"name": "K", "value": "v"}])
    _bind(http, ("action_id", action["id"]))
    store = tenant.app.store
    bound = store.get("bindings", "post-login")
    assert bound is not None
    assert bound["trigger_id"] == "post-login"
    assert [b["action_id"] for b in bound["bindings"]] == [action["id"]]
    assert set(bound["bindings"][0]) == {
        "id",
        "action_id",
        "display_name",
        "created_at",
        "updated_at",
    }
    stored = store.get("action", action["id"])
    assert stored is not None
    assert stored["deployed_version"]["code"] == CODE
    assert stored["_secret_values"] == {"K": "v"}
    version = store.get("action_version", stored["deployed_version"]["id"])
    assert version is not None
    assert version["_action_id"] == action["id"]
    assert version["deployed"] is True


# --------------------------------------------------------------- build clock


def test_build_state_machine_timing(tenant: ServedTenant, http: httpx.Client) -> None:
    tenant.app.settings = Settings(build_seconds=0.2)
    started = time.monotonic()
    action = _create(http)
    assert action["status"] == "pending"
    seen = []
    while True:
        status = http.get(f"{API}/actions/{action['id']}").json()["status"]
        elapsed = time.monotonic() - started
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "built":
            break
        assert elapsed < 5
        time.sleep(0.01)
    assert seen[-2:] == ["building", "built"]
    assert set(seen) <= {"pending", "building", "built"}
    assert time.monotonic() - started >= 0.2
    # A deploy of a draft still building is refused, as Auth0 refuses it (clients
    # such as auth0-deploy-cli wait and retry on this message: auth0/auth0-deploy-cli#524);
    # nothing is deployed and the action cannot be bound yet.
    http.patch(f"{API}/actions/{action['id']}", json={"code": CODE + "//2"})
    refused = http.post(f"{API}/actions/{action['id']}/deploy")
    assert refused.status_code == 400
    assert "must be in the 'built' state" in refused.json()["message"]
    assert "deployed_version" not in http.get(f"{API}/actions/{action['id']}").json()
    assert _bind(http, ("action_id", action["id"])).status_code == 400
    time.sleep(0.25)
    assert http.get(f"{API}/actions/{action['id']}").json()["status"] == "built"
    version = http.post(f"{API}/actions/{action['id']}/deploy").json()
    assert version["deployed"] is False  # the answer is the version as created
    time.sleep(0.05)
    got = http.get(f"{API}/actions/{action['id']}").json()
    assert got["deployed_version"]["status"] == "built"
    assert got["deployed_version"]["deployed"] is True
    assert _bind(http, ("action_id", action["id"])).status_code == 200


def test_injected_build_failure(tenant: ServedTenant, http: httpx.Client) -> None:
    tenant.app.settings = Settings(build_seconds=0.05)
    action = _create(http)
    time.sleep(0.06)
    http.post(f"{API}/actions/{action['id']}/deploy")
    time.sleep(0.06)
    good = http.get(f"{API}/actions/{action['id']}").json()["deployed_version"]
    broken = f"{CODE}\n{BUILD_FAILURE}\n"
    http.patch(f"{API}/actions/{action['id']}", json={"code": broken})
    time.sleep(0.06)
    got = http.get(f"{API}/actions/{action['id']}").json()
    assert got["status"] == "failed"
    deploy = http.post(f"{API}/actions/{action['id']}/deploy").json()
    assert deploy["number"] == 2
    time.sleep(0.06)
    got = http.get(f"{API}/actions/{action['id']}").json()
    assert got["deployed_version"]["id"] == good["id"]  # still the one that built
    versions = http.get(f"{API}/actions/{action['id']}/versions").json()["versions"]
    assert [v["status"] for v in versions] == ["failed", "built"]
    assert versions[0]["errors"][0]["id"] == "build_failed"


# -------------------------------------------------------------------- scopes


def test_scopes_per_route(tenant: ServedTenant) -> None:
    read_only = tenant.issue_token(("read:actions",))
    with tenant.http(read_only) as http:
        assert http.get(f"{API}/actions").status_code == 200
        assert http.get(f"{API}/triggers").status_code == 200
        refused = http.post(f"{API}/actions", json={"name": "x", "supported_triggers": POST_LOGIN})
        assert refused.status_code == 403
        assert refused.json() == {
            "statusCode": 403,
            "error": "Forbidden",
            "message": "Insufficient scope, expected any of: create:actions",
            "errorCode": "insufficient_scope",
        }
        assert http.patch(f"{API}/triggers/post-login/bindings", json={}).status_code == 403
        assert http.delete(f"{API}/actions/x").status_code == 403
    creator = tenant.issue_token(("create:actions",))
    with tenant.http(creator) as http:
        assert http.get(f"{API}/actions").status_code == 403
        action = http.post(f"{API}/actions", json={"name": "x", "supported_triggers": POST_LOGIN})
        assert action.status_code == 201
        assert http.post(f"{API}/actions/{action.json()['id']}/deploy").status_code == 200
        assert http.patch(f"{API}/actions/{action.json()['id']}", json={}).status_code == 403
    anonymous = httpx.get(f"{tenant.base_url}{API}/actions")
    assert anonymous.status_code == 401


# -------------------------------------------------------------------- sandbox


def test_action_test_runs_in_the_sandbox(http: httpx.Client) -> None:
    code = (
        "exports.onExecutePostLogin = async (event, api) => {\n"
        "  console.log('hello ' + event.user.email);\n"
        "  api.idToken.setCustomClaim('https://example.com/k', event.secrets.KEY);\n"
        "};\n"
    )
    action = _create(http, code=code, secrets=[{"name": "KEY", "value": "v1"}])
    response = http.post(
        f"{API}/actions/{action['id']}/test",
        json={"payload": {"user": {"email": "tester@example.com"}}},
    )
    assert response.status_code == 200, response.text
    payload = response.json()["payload"]
    assert payload["status"] == "completed"
    assert "hello tester@example.com" in payload["logs"]
    claims = [c for c in payload["commands"] if c["type"] == "idToken.setCustomClaim"]
    assert claims == [
        {"type": "idToken.setCustomClaim", "name": "https://example.com/k", "value": "v1"}
    ]
    missing = http.post(f"{API}/actions/{action['id']}/test", json={})
    _error(missing, 400, "Payload validation error: 'Missing required property: payload'.")


def test_action_test_logs_keep_256_characters_per_action(http: httpx.Client) -> None:
    """https://auth0.com/docs/customize/actions/limitations ("Logs"): at most 256
    characters of console.log output are stored for each action; the rest is cut."""
    code = (
        "exports.onExecutePostLogin = async (event, api) => {\n"
        "  console.log('a'.repeat(200));\n"
        "  console.log('b'.repeat(100));\n"
        "  console.log('never stored');\n"
        "};\n"
    )
    action = _create(http, code=code)
    response = http.post(f"{API}/actions/{action['id']}/test", json={"payload": {}})
    logs = response.json()["payload"]["logs"]
    assert logs == ["a" * 200, "b" * 56]


# ------------------------------------------------------------------------ SDK


def test_sdk_exercises_every_endpoint(tenant: ServedTenant) -> None:
    client = Auth0(base_url=tenant.api_url, token=tenant.token, max_retries=0)
    trigger = [ActionTrigger(id="post-login", version="v3")]
    created = [
        client.actions.create(name=f"sdk {n}", supported_triggers=trigger, code=CODE)
        for n in range(5)
    ]
    assert created[0].status == "pending"
    assert created[0].runtime == "node22"
    # The pager asks for page+1 until a page comes back empty.
    pager = client.actions.list(per_page=2)
    assert [a.name for a in pager] == [f"sdk {n}" for n in range(5)]
    assert [a.name for a in client.actions.list(action_name="sdk 3")] == ["sdk 3"]
    action_id = created[0].id
    assert action_id is not None
    assert client.actions.get(action_id).name == "sdk 0"
    updated = client.actions.update(
        action_id, code=CODE + "//sdk", secrets=[{"name": "S", "value": "v"}]
    )
    assert updated.all_changes_deployed is False
    assert [s.name for s in updated.secrets or []] == ["S"]
    first = client.actions.deploy(action_id)
    assert first.number == 1
    assert first.deployed is False
    got = client.actions.get(action_id)
    assert got.deployed_version is not None
    assert got.deployed_version.deployed is True
    assert got.model_extra is not None
    assert "current_version" in got.model_extra
    second = client.actions.deploy(action_id)
    versions = list(client.actions.versions.list(action_id, per_page=1))
    assert [v.number for v in versions] == [2, 1]
    assert first.id is not None
    assert second.id is not None
    assert client.actions.versions.get(action_id, first.id).number == 1
    rolled = client.actions.versions.deploy(
        action_id, first.id, request=DeployActionVersionRequestContent(update_draft=False)
    )
    assert rolled.number == 3
    triggers = client.actions.triggers.list().triggers or []
    assert any(t.id == "post-login" and t.status == "CURRENT" for t in triggers)
    bound = client.actions.triggers.bindings.update_many(
        "post-login",
        bindings=[{"ref": {"type": "action_id", "value": action_id}, "display_name": "SDK"}],
    )
    assert [b.display_name for b in bound.bindings or []] == ["SDK"]
    listed = list(client.actions.triggers.bindings.list("post-login"))
    assert [b.action.id for b in listed if b.action] == [action_id]
    with pytest.raises(SdkApiError) as refused:
        client.actions.delete(action_id)
    assert refused.value.status_code == 409
    client.actions.delete(action_id, force=True)
    with pytest.raises(SdkApiError) as gone:
        client.actions.get(action_id)
    assert gone.value.status_code == 404
    assert gone.value.body == NOT_FOUND
    assert list(client.actions.triggers.bindings.list("post-login")) == []


def test_sdk_scope_enforcement(tenant: ServedTenant) -> None:
    token = tenant.issue_token(("read:actions",))
    client = Auth0(base_url=tenant.api_url, token=token, max_retries=0)
    assert list(client.actions.list()) == []
    with pytest.raises(SdkApiError) as refused:
        client.actions.create(
            name="x", supported_triggers=[ActionTrigger(id="post-login", version="v3")]
        )
    assert refused.value.status_code == 403
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["errorCode"] == "insufficient_scope"
    assert json.dumps(refused.value.body)
