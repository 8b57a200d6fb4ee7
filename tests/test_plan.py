"""plan: desired vs live state against the embedded local tenant over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import Project, load_tenant
from auth0_actions.plan import Plan, desired_state, plan_environment
from auth0_actions.plan.planner import unified_diff
from auth0_actions.secrets import LocalSecretStore, local_state_dir, resolve_secret_values
from auth0_actions.tenant_client import BindingRef, LiveAction, TenantClient, open_tenant_client

FIRST, REDIRECT = "consent-on-first-login", "consent-redirect"
ENV_SECRET = "env-secret-value-that-must-never-print-42"


def _tenant() -> Project:
    return load_tenant(Path("tenant.yaml"))


@pytest.fixture
def client(project: Path) -> Iterator[TenantClient]:
    tenant = _tenant()
    with open_tenant_client(tenant, tenant.environment("local"), {}) as opened:
        yield opened


def converge(client: TenantClient, tenant: Project) -> dict[str, LiveAction]:
    """Make the tenant exactly what tenant.yaml and actions/local/ describe."""
    view = tenant.environment("local")
    values = resolve_secret_values(tenant, view)
    made: dict[str, LiveAction] = {}
    for d in desired_state(tenant, "local").actions:
        action = client.create_action(
            d.name,
            d.trigger,
            d.code,
            runtime=d.runtime,
            dependencies=d.dependencies,
            secrets={name: values[name] for name in d.secret_names},
        )
        client.deploy_action(action.id)
        made[d.name] = action
    client.set_bindings(
        "post-login", [BindingRef("action_id", made[n].id) for n in (FIRST, REDIRECT)]
    )
    return made


def plan(allow_delete: bool = False) -> Plan:
    return plan_environment(_tenant(), "local", allow_delete=allow_delete, environ={})


def kinds(p: Plan) -> list[tuple[str, str | None]]:
    return [(c.kind, c.action) for c in p.changes]


def test_a_fresh_tenant_gets_create_deploy_bind_in_order(project: Path, cli: Any) -> None:
    p = plan()
    assert kinds(p) == [
        ("create", FIRST),
        ("create", REDIRECT),
        ("deploy", FIRST),
        ("deploy", REDIRECT),
        ("bind", FIRST),
        ("bind", REDIRECT),
    ]
    assert p.bindings == {
        "post-login": {
            "live": [],
            "planned": [FIRST, REDIRECT],
            "managed": [FIRST, REDIRECT],
            "interleaved": [],
        }
    }
    assert [c.data["position"] for c in p.changes if c.kind == "bind"] == [0, 1]

    text = cli("plan", "--detailed-exitcode")
    assert text.code == 2, text.err
    assert "Plan: 2 to create, 0 to update, 2 to deploy, 2 to bind/reorder/unbind, 0 to delete" in (
        text.out
    )
    assert "\x1b[" not in text.out  # no colour when not a terminal
    assert cli("plan").code == 0  # without --detailed-exitcode

    data = cli("plan", "-o", "json", "--detailed-exitcode").json()
    assert set(data) == {
        "schema_version",
        "environment",
        "allow_delete",
        "adopt",
        "summary",
        "changes",
        "drift",
        "unmanaged",
        "bindings",
        "consent_impact",
    }
    assert data["consent_impact"] == []  # nothing live to compare the purposes with
    assert data["schema_version"] == 1
    assert data["environment"] == "local"
    assert data["summary"] == {
        "adopt": 0,
        "module-create": 0,
        "module-update": 0,
        "module-publish": 0,
        "module-delete": 0,
        "create": 2,
        "update": 0,
        "deploy": 2,
        "bind": 2,
        "reorder": 0,
        "unbind": 0,
        "delete": 0,
        "drift": 0,
    }
    create = data["changes"][1]
    assert create == {
        "kind": "create",
        "trigger": "post-login",
        "action": REDIRECT,
        "runtime": "node22",
        "dependencies": [],
        "secrets": ["CONSENT_LEDGER_SECRET", "CONSENT_SESSION_SECRET"],
        "modules": [],
    }
    deploy = data["changes"][2]
    assert set(deploy) == {
        "kind",
        "trigger",
        "action",
        "action_id",
        "live_version",
        "reason",
        "diff",
    }
    assert deploy["reason"] == "new"
    assert deploy["diff"].startswith("--- /dev/null\n+++ b/actions/local/consent-on-first-login.js")

    markdown = cli("plan", "-o", "markdown")
    assert markdown.code == 0
    assert "```diff\n--- /dev/null" in markdown.out
    assert "**Plan: 2 to create" in markdown.out
    assert "| 1 | create post-login/consent-on-first-login" in markdown.out


def test_a_matching_tenant_plans_nothing(client: TenantClient, cli: Any) -> None:
    converge(client, _tenant())
    p = plan()
    assert p.changes == ()
    assert p.drift == ()
    assert p.unmanaged == ()
    result = cli("plan", "--detailed-exitcode")
    assert result.code == 0, result.out + result.err
    assert "No changes" in result.out
    assert cli("plan", "-o", "json").json()["changes"] == []


def test_a_draft_edited_by_hand_is_drift_and_an_update(client: TenantClient) -> None:
    made = converge(client, _tenant())
    live = client.get_action(made[REDIRECT].id)
    client.update_action(live.id, code=live.code + "// hotfix by hand\n")
    p = plan()
    assert kinds(p) == [("update", REDIRECT)]  # the deployed version is still right
    update = p.changes[0].data
    assert update["fields"] == ["code"]
    assert "-// hotfix by hand" in update["diff"]
    [drift] = p.drift
    assert (drift.kind, drift.action) == ("draft-not-deployed", REDIRECT)
    assert drift.diff is not None
    assert "+// hotfix by hand" in drift.diff


def test_changed_deployed_code_shows_the_changed_lines(client: TenantClient, cli: Any) -> None:
    made = converge(client, _tenant())
    live = client.get_action(made[FIRST].id)
    original = "exports.onExecutePostLogin = async (event, api) => {"
    assert original in live.code
    client.update_action(live.id, code=live.code.replace(original, original + " // edited"))
    client.deploy_action(live.id)
    p = plan()
    assert kinds(p) == [("update", FIRST), ("deploy", FIRST)]
    deploy = p.changes[1].data
    assert deploy["reason"] == "changed"
    assert deploy["live_version"] == 2
    diff = deploy["diff"]
    assert f"-{original} // edited\n+{original}\n" in diff
    assert diff.startswith(f"--- a/{FIRST} (version 2)\n+++ b/actions/local/{FIRST}.js\n")
    assert p.changes[0].data["diff"] is None  # the draft is what is deployed: one diff suffices
    assert p.drift == ()
    markdown = cli("plan", "-o", "markdown").out
    assert f"```diff\n--- a/{FIRST} (version 2)" in markdown
    assert f"+{original}\n" in cli("plan").out


def test_swapped_bindings_are_reordered_and_reported_as_drift(client: TenantClient) -> None:
    made = converge(client, _tenant())
    client.set_bindings(
        "post-login", [BindingRef("action_id", made[n].id) for n in (REDIRECT, FIRST)]
    )
    p = plan()
    assert kinds(p) == [("reorder", None)]
    assert p.changes[0].data["live"] == [REDIRECT, FIRST]
    assert p.changes[0].data["planned"] == [FIRST, REDIRECT]
    assert [d.kind for d in p.drift] == ["binding-order"]


def test_an_unmanaged_binding_keeps_its_place(client: TenantClient, cli: Any) -> None:
    made = converge(client, _tenant())
    custom = client.create_action(
        "team-custom", "post-login", "exports.onExecutePostLogin = async () => {};"
    )
    client.deploy_action(custom.id)
    order = [made[REDIRECT].id, custom.id, made[FIRST].id]
    client.set_bindings("post-login", [BindingRef("action_id", i) for i in order])
    p = plan()
    assert kinds(p) == [("reorder", None)]
    assert p.bindings["post-login"]["planned"] == [FIRST, "team-custom", REDIRECT]
    assert [(u.name, u.orphan) for u in p.unmanaged] == [("team-custom", False)]

    # In its place among ours, it is no change at all.
    client.set_bindings(
        "post-login",
        [BindingRef("action_id", i) for i in (made[FIRST].id, custom.id, made[REDIRECT].id)],
    )
    p = plan()
    assert p.changes == ()
    assert p.drift == ()
    assert p.bindings["post-login"]["planned"] == [FIRST, "team-custom", REDIRECT]
    text = cli("plan", "--detailed-exitcode")
    assert text.code == 0
    assert "Unmanaged (not in tenant.yaml; never changed):\n  team-custom (post-login)" in text.out


def test_an_orphan_is_deleted_only_when_allowed(client: TenantClient, cli: Any) -> None:
    made = converge(client, _tenant())
    code = (
        "// Generated by auth0-actions 0.0.9. Do not edit.\n"
        "exports.onExecutePostLogin = async () => {};\n"
    )
    old = client.create_action("consent-legacy", "post-login", code)
    client.deploy_action(old.id)
    ids = [made[FIRST].id, old.id, made[REDIRECT].id]
    client.set_bindings("post-login", [BindingRef("action_id", i) for i in ids])

    kept = plan()
    assert kept.changes == ()
    assert [(d.kind, d.action) for d in kept.drift] == [("orphan", "consent-legacy")]
    assert [(u.name, u.orphan) for u in kept.unmanaged] == [("consent-legacy", True)]
    assert cli("plan", "--detailed-exitcode").code == 2  # drift counts for CI

    deleting = plan(allow_delete=True)
    assert kinds(deleting) == [("unbind", "consent-legacy"), ("delete", "consent-legacy")]
    assert deleting.bindings["post-login"]["planned"] == [FIRST, REDIRECT]
    data = cli("plan", "-o", "json", "--allow-delete").json()
    assert data["allow_delete"] is True
    assert data["changes"][-1] == {
        "kind": "delete",
        "trigger": "post-login",
        "action": "consent-legacy",
        "action_id": old.id,
        "reason": "orphan",
    }
    assert "1 to bind/reorder/unbind, 1 to delete" in cli("plan", "--allow-delete").out


def test_a_secret_name_added_in_tenant_yaml_is_an_update(client: TenantClient, cli: Any) -> None:
    converge(client, _tenant())
    config = Path("tenant.yaml")
    text = config.read_text(encoding="utf-8")
    text = text.replace(
        "    trigger: post-login\n    order: 1\n    secrets:\n",
        "    trigger: post-login\n    order: 1\n    secrets:\n      AUDIT_KEY: AUDIT_KEY\n",
    )
    config.write_text(text, encoding="utf-8")
    assert cli("render", "--env", "local").code == 0
    p = plan()
    assert kinds(p) == [("update", FIRST), ("deploy", FIRST)]
    update = p.changes[0].data
    assert update["fields"] == ["code", "secrets"]  # the header names the secrets too
    assert update["values"] == {
        "secrets": {
            "live": ["CONSENT_LEDGER_SECRET"],
            "desired": ["AUDIT_KEY", "CONSENT_LEDGER_SECRET"],
        }
    }


def test_no_secret_value_ever_appears(
    client: TenantClient, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENT_SESSION_SECRET", ENV_SECRET)
    monkeypatch.setenv("CONSENT_SESSION_SECRET_DEV", ENV_SECRET + "-dev")
    monkeypatch.setenv("CONSENT_LEDGER_SECRET_DEV", ENV_SECRET + "-ledger-dev")
    made = converge(client, _tenant())
    client.update_action(made[REDIRECT].id, code="// by hand\n", secrets={})
    local_values = LocalSecretStore(local_state_dir(_tenant())).load()
    assert local_values
    for output in ("text", "json", "markdown"):
        result = cli("plan", "-o", output, "--allow-delete")
        assert result.code == 0
        assert "CONSENT_SESSION_SECRET" in result.out  # names are fine
        for value in [ENV_SECRET, *local_values.values()]:
            assert value not in result.out + result.err


def test_a_stale_render_is_refused(project: Path, cli: Any) -> None:
    path = project / "actions" / "local" / f"{REDIRECT}.js"
    path.write_text(path.read_text(encoding="utf-8") + "// edited\n", encoding="utf-8")
    result = cli("plan", "--detailed-exitcode")
    assert result.code == 1
    assert "does not match a fresh render" in result.err
    assert f"actions/local/{REDIRECT}.js (updated)" in result.err
    assert cli("plan", "-o", "json").json()["ok"] is False
    assert not (project / ".auth0-local").exists()  # refused before reaching the tenant


def test_plan_needs_a_known_environment(project: Path, cli: Any) -> None:
    result = cli("plan", "--env", "staging")
    assert result.code == 1
    assert "no environment 'staging'" in result.err


def test_unified_diff_is_none_for_equal_text() -> None:
    assert unified_diff("a\n", "a\n", "x", "y") is None
    assert unified_diff("a\n", "b\n", "x", "y") == "--- x\n+++ y\n@@ -1 +1 @@\n-a\n+b\n"


def test_json_is_deterministic(project: Path, cli: Any) -> None:
    first = cli("plan", "-o", "json").out
    assert first == cli("plan", "-o", "json").out
    assert json.loads(first)["changes"][0]["kind"] == "create"
