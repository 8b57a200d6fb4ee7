"""The trigger registry: one module per trigger, and everything else asks it.

Auth0's triggers that bind through the bindings API each have their handlers,
event and api (https://auth0.com/docs/customize/actions/explore-triggers). These
tests hold for every registered trigger, so a new trigger module is covered the
moment it exists: its declaration is complete, the local tenant lists it as
current, a file of it runs in `sandbox run`, and `apply` binds it per trigger.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from auth0_actions.emulator.actions_spec import TRIGGERS as CATALOG
from auth0_actions.errors import ConfigError
from auth0_actions.triggers import registry
from auth0_actions.triggers.base import Trigger
from auth0_actions.triggers.registry import DuplicateTrigger, Registry

TRIGGERS = registry.all_triggers()
IDS = [t.id for t in TRIGGERS]


# --- the declaration -----------------------------------------------------------
@pytest.mark.parametrize("trigger", TRIGGERS, ids=IDS)
def test_each_trigger_module_declares_what_the_toolkit_needs(trigger: Trigger) -> None:
    assert trigger.handlers, "a trigger has at least one handler"
    assert all(h.startswith("on") for h in trigger.handlers)
    assert trigger.resume_handler in (None, *trigger.handlers)
    assert trigger.docs.startswith("https://auth0.com/docs/")
    assert 1 <= trigger.max_actions <= 20
    module = Path(__import__(type(trigger).__module__, fromlist=["_"]).__file__ or "")
    assert (module.parent / trigger.script).is_file(), "the JS half sits next to the module"
    event = trigger.build_event()
    assert json.loads(json.dumps(event)) == event, "the event is JSON data"
    assert trigger.build_event() is not trigger.build_event()  # a fresh copy each time


def test_exactly_one_trigger_is_the_default_and_it_is_post_login() -> None:
    assert [t.id for t in TRIGGERS if t.default] == ["post-login"]
    assert registry.default().id == "post-login"


def test_the_registry_refuses_two_modules_with_one_id() -> None:
    post_login = registry.get("post-login")
    with pytest.raises(DuplicateTrigger, match="'post-login' is defined twice"):
        Registry([post_login, post_login])


def test_an_unknown_trigger_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown trigger 'post-lgin'; known: post-login"):
        registry.get("post-lgin")


@pytest.mark.parametrize("trigger", TRIGGERS, ids=IDS)
def test_the_local_tenant_lists_each_trigger_at_its_current_version(trigger: Trigger) -> None:
    """GET /api/v2/actions/triggers: the version actions are created for is CURRENT there."""
    listed = [t for t in CATALOG if t["id"] == trigger.id and t["version"] == trigger.version]
    assert [t["status"] for t in listed] == ["CURRENT"]


# --- sandbox run, for every trigger ----------------------------------------------
@pytest.mark.parametrize("trigger", TRIGGERS, ids=IDS)
def test_sandbox_run_runs_an_action_of_each_trigger(
    trigger: Trigger, tmp_path: Path, cli: Any
) -> None:
    action = tmp_path / "action.js"
    action.write_text(
        f"exports.{trigger.handlers[0]} = async (event, api) => {{\n"
        "  console.log(Object.keys(event).sort().join(','));\n"
        "  api.cache.set('seen', 'yes');\n"
        "};\n"
    )
    run = cli("sandbox", "run", "--trigger", trigger.id, str(action))
    assert run.code == 0, run.out + run.err
    result = run.json()
    assert result["status"] == "completed"
    # The handler saw the trigger's documented event (its top-level fields, and secrets).
    keys = result["logs"][0]["message"].split(",")
    assert set(keys) == {*trigger.build_event(), "secrets"}
    assert [c["type"] for c in result["commands"]] == ["cache.set"]


@pytest.mark.parametrize("trigger", TRIGGERS, ids=IDS)
def test_a_misspelt_handler_fails_in_sandbox_run_naming_the_expected_ones(
    trigger: Trigger, tmp_path: Path, cli: Any
) -> None:
    action = tmp_path / "action.js"
    misspelt = trigger.handlers[0][:-2]
    action.write_text(f"exports.{misspelt} = async (event, api) => {{}};\n")
    run = cli("sandbox", "run", "--trigger", trigger.id, "-o", "text", str(action))
    assert run.code == 1
    expected = " or ".join(trigger.handlers)
    assert f"exports none of the {trigger.id} trigger's handlers (expected {expected})" in run.out


def test_sandbox_run_refuses_a_handler_of_another_trigger(tmp_path: Path, cli: Any) -> None:
    other = next((t for t in TRIGGERS if t.id != "post-login"), None)
    if other is None:
        pytest.skip("only one trigger is registered")
    action = tmp_path / "action.js"
    action.write_text("exports.onExecutePostLogin = async () => {};\n")
    run = cli(
        "sandbox", "run", "--trigger", other.id, "--handler", "onExecutePostLogin", str(action)
    )
    assert run.code == 1
    assert f"--handler onExecutePostLogin is not a handler of the {other.id} trigger" in run.out


# --- a project with one action per trigger ------------------------------------------
def _add_actions(project: Path, actions: list[tuple[str, Trigger, str]]) -> None:
    """Append actions (name, trigger, handler body) to the project's tenant.yaml."""
    config = yaml.safe_load((project / "tenant.yaml").read_text())
    for name, trigger, handler in actions:
        (project / "rules_templates" / f"{name}.js.j2").write_text(
            f"exports.{handler} = async (event, api) => {{}};\n"
        )
        order = 1 + sum(
            1 for a in config["actions"] if a.get("trigger", "post-login") == trigger.id
        )
        config["actions"].append(
            {"name": name, "template": f"{name}.js.j2", "trigger": trigger.id, "order": order}
        )
    (project / "tenant.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_render_refuses_an_action_that_names_none_of_its_handlers(project: Path, cli: Any) -> None:
    _add_actions(project, [("typo", registry.get("post-login"), "onExecutePostLgin")])
    run = cli("render", "--env", "local")
    assert run.code == 1
    assert (
        "rules_templates/typo.js.j2: action 'typo' (local) exports none of the post-login "
        "trigger's handlers (expected onExecutePostLogin or onContinuePostLogin)"
    ) in run.err
    assert not (project / "actions" / "local" / "typo.js").exists()


def test_apply_binds_one_action_per_trigger_in_its_own_binding_list(
    project: Path, cli: Any
) -> None:
    """Bindings are per trigger (PATCH /api/v2/actions/triggers/{triggerId}/bindings)."""
    extra = [t for t in TRIGGERS if t.id != "post-login"]
    _add_actions(project, [(f"x-{t.id}", t, t.handlers[0]) for t in extra])
    assert cli("render", "--env", "local").code == 0
    applied = cli("apply", "--yes")
    assert applied.code == 0, applied.out + applied.err
    for trigger in extra:
        assert f"bound {trigger.id}: x-{trigger.id}" in applied.out
    listed = cli("plan", "--detailed-exitcode")
    assert listed.code == 0, listed.out + listed.err
    text = textwrap.dedent(listed.out)
    for trigger in extra:
        assert f"x-{trigger.id}" in text


# --- docs that can't drift --------------------------------------------------------------
DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("trigger", TRIGGERS, ids=IDS)
def test_each_trigger_is_documented(trigger: Trigger) -> None:
    """docs/triggers.md has its row and section; tenant-yaml.md names it as a trigger: value."""
    page = (DOCS / "triggers.md").read_text()
    row = f"| `{trigger.id}` | {trigger.version} | "
    assert row in page
    assert f"\n### {trigger.id}\n" in page
    assert all(f"`{handler}`" in page for handler in trigger.handlers)
    field = next(
        line
        for line in (DOCS / "tenant-yaml.md").read_text().splitlines()
        if line.startswith("| `actions[].trigger` |")
    )
    assert f"`{trigger.id}`" in field
