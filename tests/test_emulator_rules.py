"""The local tenant's rules and rules-configs, over real HTTP on loopback.

Rules reached end of life (https://auth0.com/docs/customize/rules): a new
tenant lists none and refuses every write with a 403 (the first tests). The
rest model a tenant created before the cut-off (``Settings(legacy_rules=True)``),
whose rules Auth0 recorded while they could still be written: replays of the
recorded Auth0 traffic, wire-level checks with httpx (409s, validation,
write-only config values, scopes) and the official auth0-python SDK on every
endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError as SdkApiError
from emulator_support import ServedTenant, Shape, load_recording, replay, report

from auth0_actions.emulator.app import Settings
from auth0_actions.emulator.handlers.rules_eol import DEPRECATED

SCRIPT = "function (user, context, callback) { callback(null, user, context); }"
RULE_SHAPE = Shape(enums={"stage": frozenset({"login_success"})})


@pytest.fixture
def tenant() -> Iterator[SimpleNamespace]:
    served = ServedTenant(settings=Settings(legacy_rules=True))
    http = served.http()
    sdk = Auth0(base_url=served.api_url, token=served.token, max_retries=0)
    try:
        yield SimpleNamespace(served=served, app=served.app, http=http, sdk=sdk)
    finally:
        http.close()
        served.stop()


def test_a_new_tenant_reads_no_rules_and_refuses_every_write() -> None:
    """Rules are unavailable to tenants created since 2023-10-16 and reached end of
    life on 2026-11-18 (https://auth0.com/docs/customize/rules): reads answer an empty
    tenant, writes a 403 that Auth0's deploy CLI recognises (``isDeprecatedError``:
    status 403 or "deprecated feature") and skips."""
    served = ServedTenant()
    try:
        with served.http() as http:
            assert http.get("/api/v2/rules").json() == []
            assert http.get("/api/v2/rules-configs").json() == []
            for method, path, body in (
                (
                    "POST",
                    "/api/v2/rules",
                    {"name": "r", "script": SCRIPT, "stage": "login_success"},
                ),
                ("PATCH", "/api/v2/rules/rul_x", {"enabled": False}),
                ("DELETE", "/api/v2/rules/rul_x", None),
                ("PUT", "/api/v2/rules-configs/KEY", {"value": "v"}),
                ("DELETE", "/api/v2/rules-configs/KEY", None),
            ):
                response = http.request(method, path, json=body)
                assert response.status_code == 403, (method, path)
                assert response.json() == {
                    "statusCode": 403,
                    "error": "Forbidden",
                    "message": DEPRECATED,
                }
                assert "deprecated feature" in response.json()["message"]
            assert served.app.store.count("rule") == 0
    finally:
        served.stop()


def _rule(t: SimpleNamespace, name: str, **extra: Any) -> dict[str, Any]:
    response = t.http.post("/api/v2/rules", json={"name": name, "script": SCRIPT, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    "recording",
    [
        "TestAccRule.yaml",
        "TestAccRuleConfig.yaml",
        "go_TestRuleManager_Create.yaml",
        "go_TestRuleManager_List.yaml",
        "go_TestRuleConfigManager_List.yaml",
        "go_TestRuleConfigManager_Upsert.yaml",
    ],
)
def test_replays_recorded_rules_traffic(tenant: SimpleNamespace, recording: str) -> None:
    steps = replay(tenant.http, load_recording(recording), RULE_SHAPE)
    assert len(steps) >= 2
    assert not report(steps), report(steps)
    for step in steps:
        if step.recorded_status == 204:
            assert step.actual is None
        if isinstance(step.recorded, list) and step.recorded and "key" in step.recorded[0]:
            assert all(set(item) == {"key"} for item in step.actual)  # values never listed


def test_rule_defaults_order_and_conflicts(tenant: SimpleNamespace) -> None:
    first = _rule(tenant, "first")
    assert re.fullmatch(r"rul_[A-Za-z0-9]{16}", first["id"])
    assert first == {
        "id": first["id"],
        "enabled": True,
        "script": SCRIPT,
        "name": "first",
        "order": 1,
        "stage": "login_success",
    }
    second = _rule(tenant, "second", enabled=False)
    assert (second["order"], second["enabled"]) == (2, False)
    placed = _rule(tenant, "placed", order=10)
    assert placed["order"] == 10
    assert _rule(tenant, "after")["order"] == 11
    duplicate = tenant.http.post("/api/v2/rules", json={"name": "first", "script": SCRIPT})
    assert duplicate.status_code == 409
    assert duplicate.json() == {
        "statusCode": 409,
        "error": "Conflict",
        "message": "A rule with the same name already exists",
        "errorCode": "rule_conflict",
    }
    same_order = tenant.http.post("/api/v2/rules", json={"name": "x", "script": SCRIPT, "order": 1})
    assert same_order.status_code == 409
    renamed = tenant.http.patch(f"/api/v2/rules/{second['id']}", json={"name": "first"})
    assert renamed.status_code == 409
    own = tenant.http.patch(f"/api/v2/rules/{first['id']}", json={"name": "first", "order": 1})
    assert own.status_code == 200


def test_rule_get_update_delete_and_errors(tenant: SimpleNamespace) -> None:
    rule = _rule(tenant, "edit-me")
    path = f"/api/v2/rules/{rule['id']}"
    assert tenant.http.get(path).json() == rule
    assert tenant.http.get(path, params={"fields": "name", "include_fields": "true"}).json() == {
        "name": "edit-me"
    }
    updated = tenant.http.patch(path, json={"enabled": False, "script": "function(){}"}).json()
    assert updated["enabled"] is False
    assert updated["script"] == "function(){}"
    assert updated["order"] == rule["order"]
    missing = tenant.http.get("/api/v2/rules/rul_0000000000000000")
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "inexistent_rule"
    assert (
        tenant.http.patch("/api/v2/rules/rul_0000000000000000", json={"enabled": True}).status_code
        == 404
    )
    for body in (
        {"script": SCRIPT},
        {"name": "n"},
        {"name": "bad_name!", "script": SCRIPT},
        {"name": "n", "script": ""},
        {"name": "n", "script": SCRIPT, "enabled": "yes"},
        {"name": "n", "script": SCRIPT, "order": -1},
        {"name": "n", "script": SCRIPT, "stage": "login_success"},
    ):
        response = tenant.http.post("/api/v2/rules", json=body)
        assert response.status_code == 400, body
        assert response.json()["errorCode"] == "invalid_body"
        assert response.json()["message"].startswith("Payload validation error")
    assert tenant.http.patch(path, json={}).status_code == 400
    assert tenant.http.delete(path).status_code == 204
    assert tenant.http.get(path).status_code == 404


def test_rule_list_envelopes_filters_and_paging(tenant: SimpleNamespace) -> None:
    ids = [_rule(tenant, f"r{i}", enabled=i % 2 == 0)["id"] for i in range(5)]
    bare = tenant.http.get("/api/v2/rules").json()
    assert [r["id"] for r in bare] == ids
    envelope = tenant.http.get(
        "/api/v2/rules", params={"include_totals": "true", "per_page": 2, "page": 1}
    ).json()
    assert envelope == {
        "total": 5,
        "start": 2,
        "limit": 2,
        "rules": [tenant.http.get(f"/api/v2/rules/{i}").json() for i in ids[2:4]],
    }
    enabled = tenant.http.get("/api/v2/rules", params={"enabled": "true"}).json()
    assert [r["name"] for r in enabled] == ["r0", "r2", "r4"]
    only_ids = tenant.http.get("/api/v2/rules", params={"fields": "id,order"}).json()
    assert all(set(r) == {"id", "order"} for r in only_ids)
    assert tenant.http.get("/api/v2/rules", params={"page": 9}).json() == []
    assert tenant.http.get("/api/v2/rules", params={"per_page": 101}).status_code == 400


def test_rules_configs_values_are_write_only(tenant: SimpleNamespace) -> None:
    put = tenant.http.put("/api/v2/rules-configs/SLACK_HOOK", json={"value": "https://hook"})
    assert put.status_code == 200
    assert put.json() == {"key": "SLACK_HOOK", "value": "https://hook"}
    assert tenant.http.put("/api/v2/rules-configs/other", json={"value": ""}).status_code == 200
    listed = tenant.http.get("/api/v2/rules-configs", params={"include_totals": "true"})
    assert listed.json() == [{"key": "SLACK_HOOK"}, {"key": "other"}]
    assert "https://hook" not in listed.text
    again = tenant.http.put("/api/v2/rules-configs/SLACK_HOOK", json={"value": "v2"})
    assert again.json() == {"key": "SLACK_HOOK", "value": "v2"}
    assert tenant.http.get("/api/v2/rules-configs").json() == [
        {"key": "SLACK_HOOK"},
        {"key": "other"},
    ]
    assert tenant.http.delete("/api/v2/rules-configs/SLACK_HOOK").status_code == 204
    assert tenant.http.get("/api/v2/rules-configs").json() == [{"key": "other"}]
    for body in ({}, {"value": 3}, {"value": "v", "extra": 1}):
        assert tenant.http.put("/api/v2/rules-configs/k", json=body).status_code == 400, body
    assert (
        tenant.http.put("/api/v2/rules-configs/bad%20key", json={"value": "v"}).status_code == 400
    )


def test_scopes(tenant: SimpleNamespace) -> None:
    token = tenant.served.issue_token(scopes=("read:rules", "read:rules_configs"))
    base = tenant.served.base_url
    headers = {"authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/api/v2/rules", headers=headers).status_code == 200
    assert httpx.get(f"{base}/api/v2/rules-configs", headers=headers).status_code == 200
    for method, path, scope in (
        ("POST", "/api/v2/rules", "create:rules"),
        ("PATCH", "/api/v2/rules/rul_x", "update:rules"),
        ("DELETE", "/api/v2/rules/rul_x", "delete:rules"),
        ("PUT", "/api/v2/rules-configs/k", "update:rules_configs"),
        ("DELETE", "/api/v2/rules-configs/k", "delete:rules_configs"),
    ):
        response = httpx.request(method, f"{base}{path}", headers=headers, json={"value": "v"})
        assert response.status_code == 403, (method, path)
        assert response.json() == {
            "statusCode": 403,
            "error": "Forbidden",
            "message": f"Insufficient scope, expected any of: {scope}",
            "errorCode": "insufficient_scope",
        }
    assert httpx.get(f"{base}/api/v2/rules").status_code == 401


def test_sdk_rules_and_rules_configs(tenant: SimpleNamespace) -> None:
    sdk = tenant.sdk
    created = sdk.rules.create(name="sdk-rule", script=SCRIPT, enabled=False)
    assert created.id
    assert created.enabled is False
    assert created.stage == "login_success"
    fetched = sdk.rules.get(created.id)
    assert fetched.name == "sdk-rule"
    updated = sdk.rules.update(created.id, enabled=True, order=5)
    assert updated.enabled is True
    assert updated.order == 5
    for index in range(4):
        sdk.rules.create(name=f"more-{index}", script=SCRIPT)
    listed = list(sdk.rules.list(per_page=2))
    assert len(listed) == 5
    assert {r.name for r in listed} >= {"sdk-rule", "more-0", "more-3"}
    with pytest.raises(SdkApiError) as conflict:
        sdk.rules.create(name="sdk-rule", script=SCRIPT)
    assert conflict.value.status_code == 409
    sdk.rules.delete(created.id)
    with pytest.raises(SdkApiError) as gone:
        sdk.rules.get(created.id)
    assert gone.value.status_code == 404

    result = sdk.rules_configs.set("API_KEY", value="s3cret")
    assert (result.key, result.value) == ("API_KEY", "s3cret")
    keys = sdk.rules_configs.list()
    assert [k.key for k in keys] == ["API_KEY"]
    assert getattr(keys[0], "value", None) is None
    sdk.rules_configs.delete("API_KEY")
    assert sdk.rules_configs.list() == []
