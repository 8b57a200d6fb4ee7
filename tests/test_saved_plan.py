"""plan --out FILE and apply FILE: against the embedded local tenant over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from emulator_support import edit_template, writes

from auth0_actions.config import load_tenant
from auth0_actions.emulator.app import Emulator
from auth0_actions.plan import plan_environment
from auth0_actions.plan.saved import SAVED_PLAN_FORMAT, canonical, sha256_hex
from auth0_actions.secrets import LocalSecretStore, local_state_dir
from auth0_actions.tenant_client import open_tenant_client

FIRST, REDIRECT = "consent-on-first-login", "consent-redirect"


def saved(cli: Any, path: Path, *args: str) -> dict[str, Any]:
    run = cli("plan", "--out", str(path), *args)
    assert run.code == 0, run.err
    assert "Plan: " in run.out  # the report is printed as usual
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_a_saved_plan_is_applied_exactly_and_then_is_spent(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    path = project / "reviewed.plan.json"
    data = saved(cli, path)
    assert (data["format"], data["format_version"]) == (SAVED_PLAN_FORMAT, 1)
    assert data["environment"] == "local"
    shown = cli("plan", "-o", "json").json()
    # The plan as `plan -o json` shows it, but for the consent impact: user counts
    # move as users log in, so a saved plan does not pin them.
    assert data["plan"] == {k: v for k, v in shown.items() if k != "consent_impact"}
    assert [c["kind"] for c in data["plan"]["changes"]] == [
        "create",
        "create",
        "deploy",
        "deploy",
        "bind",
        "bind",
    ]
    live = {k: v for k, v in data["live_state"].items() if k != "sha256"}
    assert data["live_state"]["sha256"] == sha256_hex(canonical(live))
    rendered = project / "actions" / "local" / f"{REDIRECT}.js"
    files = data["desired_state"]["files"]
    assert files[f"actions/local/{REDIRECT}.js"] == sha256_hex(rendered.read_bytes())
    assert data["desired_state"]["tool_version"] == data["tool_version"]
    assert not list(project.glob(".reviewed.plan.json.*"))  # no temporary file left

    applied = cli("apply", str(path), "--yes")
    assert applied.code == 0, applied.err
    assert "Verified: a fresh plan is empty." in applied.out
    # Two creates that deploy in the same call (``deploy: true``), then the bindings.
    assert [m for m, _ in writes(apps[-1])] == ["POST", "POST", "PATCH"]
    assert plan_environment(load_tenant(Path("tenant.yaml")), "local", environ={}).changes == ()

    again = cli("apply", str(path), "--yes")  # the tenant has moved on: the plan is spent
    assert again.code == 1
    assert "the tenant changed since the plan" in again.err
    assert f"action {FIRST} was created" in again.err
    assert "Plan again" in again.err
    assert writes(apps[-1]) == []


def test_no_secret_value_is_in_the_file(project: Path, cli: Any) -> None:
    assert cli("apply", "--yes").code == 0
    edit_template(project, REDIRECT, "// v2\n", cli)
    path = project / "p.json"
    text = json.dumps(saved(cli, path))
    values = LocalSecretStore(local_state_dir(load_tenant(Path("tenant.yaml")))).load()
    assert values
    for value in values.values():
        assert value not in text
    assert "CONSENT_SESSION_SECRET" in text  # the name is


def test_a_plan_with_no_changes_applies_as_a_no_op(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    assert cli("apply", "--yes").code == 0
    path = project / "empty.json"
    assert saved(cli, path)["plan"]["changes"] == []
    run = cli("apply", str(path))  # nothing to confirm
    assert run.code == 0, run.err
    assert "No changes" in run.out
    assert writes(apps[-1]) == []


def test_refused_when_the_tenant_changed_since_the_plan(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    assert cli("apply", "--yes").code == 0
    edit_template(project, REDIRECT, "// v2\n", cli)
    path = project / "p.json"
    saved(cli, path)
    tenant = load_tenant(Path("tenant.yaml"))
    with open_tenant_client(tenant, tenant.environment("local"), {}) as client:
        client.create_action("by-hand", "post-login", "exports.onExecutePostLogin = 0;")
    run = cli("apply", str(path), "--yes")
    assert run.code == 1
    assert f"{path}: the saved plan for local is out of date" in run.err
    assert "the tenant changed since the plan (action by-hand was created)" in run.err
    assert writes(apps[-1]) == []


def test_refused_when_the_render_changed_since_the_plan(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    path = project / "p.json"
    saved(cli, path)
    edit_template(project, REDIRECT, "// not reviewed\n", cli)
    run = cli("apply", str(path), "--yes")
    assert run.code == 1
    assert f"the render changed since the plan (actions/local/{REDIRECT}.js changed)" in run.err
    assert writes(apps[-1]) == []


def test_refused_when_the_plan_now_differs_from_the_saved_one(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    path = project / "p.json"
    data = saved(cli, path)
    data["plan"]["changes"] = [c for c in data["plan"]["changes"] if c["kind"] != "bind"]
    path.write_text(json.dumps(data), encoding="utf-8")
    run = cli("apply", str(path), "--yes")
    assert run.code == 1
    assert "the plan made now differs from the saved one" in run.err
    assert f"now also: bind post-login/{FIRST}" in run.err
    assert writes(apps[-1]) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a saved plan (invalid JSON"),
        ('{"kind": "terraform"}', "not an auth0-actions saved plan"),
        ("[1, 2]", "not an auth0-actions saved plan"),
        (f'{{"format": "{SAVED_PLAN_FORMAT}", "format_version": 9}}', "format_version 9"),
        (f'{{"format": "{SAVED_PLAN_FORMAT}", "format_version": 1}}', "'live_state' is missing"),
    ],
)
def test_a_bad_file_is_a_clear_error_naming_it(
    project: Path, cli: Any, content: str, message: str
) -> None:
    path = project / "bad.json"
    path.write_text(content, encoding="utf-8")
    run = cli("apply", str(path), "--yes")
    assert run.code == 1
    assert f"{path}: " in run.err
    assert message in run.err
    assert not (project / ".auth0-local" / "tenant.sqlite3").exists()  # never reached a tenant


def test_an_edited_state_section_is_corrupt(project: Path, cli: Any) -> None:
    path = project / "p.json"
    data = saved(cli, path)
    data["live_state"]["actions"].append({"id": "act_edited", "name": "x"})
    path.write_text(json.dumps(data), encoding="utf-8")
    run = cli("apply", str(path), "--yes")
    assert run.code == 1
    assert f"{path}: corrupt saved plan: 'live_state' does not match its sha256" in run.err


def test_a_missing_file_is_named(project: Path, cli: Any) -> None:
    run = cli("apply", "nowhere.json", "--yes")
    assert run.code == 1
    assert "nowhere.json: no such saved plan" in run.err


def test_the_environment_comes_from_the_file_and_must_agree(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    path = project / "p.json"
    saved(cli, path)
    opened = len(apps)
    run = cli("apply", str(path), "--env", "dev", "--yes")
    assert run.code == 1
    assert "the saved plan is for environment local, not dev" in run.err
    assert len(apps) == opened  # no tenant was opened
    assert cli("apply", str(path), "--env", "local", "--yes").code == 0


def test_json_output_of_an_applied_saved_plan(project: Path, cli: Any) -> None:
    path = project / "p.json"
    saved(cli, path)
    data = cli("apply", str(path), "--yes", "-o", "json").json()
    assert (data["ok"], data["applied"], data["verified"]) == (True, True, True)
    failed = cli("apply", str(path), "--yes", "-o", "json")
    assert failed.code == 1
    assert failed.json()["ok"] is False
    assert "out of date" in failed.json()["error"]


def test_plan_out_is_not_written_when_planning_fails(project: Path, cli: Any) -> None:
    path = project / "rules_templates" / f"{REDIRECT}.js.j2"
    path.write_text(path.read_text(encoding="utf-8") + "// unrendered\n", encoding="utf-8")
    run = cli("plan", "--out", "p.json")
    assert run.code == 1
    assert "does not match a fresh render" in run.err
    assert not (project / "p.json").exists()
