"""import brings in the Actions Modules the imported actions pin (and, whole-tenant, the rest).

Local tenants are served on loopback; modules and actions are made through the
Management API directly, as a team running Auth0 by hand would have them: a
module created and published in one call (POST /api/v2/actions/modules with
``publish``), actions pinning a version by module_id/module_version_id, then
deployed and bound. Auth0: "Each Action must explicitly reference the Action
Module Version"
(https://auth0.com/docs/customize/actions/modules/write-your-first-action-module);
API: https://auth0.com/docs/api/management/v2/actions/get-actions-modules.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import add_environments
from emulator_support import ServedTenant

from auth0_actions.scaffold import init_project

GREETER = (
    "// shared by the login and the m2m action  \n"
    "module.exports = {\n"
    "  greet: (who) => `${actions.secrets.GREETING}, ${who}`,\n"
    "};"  # no final newline, trailing spaces above: kept byte for byte
)
UNUSED = "module.exports = { unused: true };\n"
LOGIN = (
    "post-login",
    "v3",
    "const greeter = require('actions:greeter');\n"
    "exports.onExecutePostLogin = async (event, api) => {\n"
    "  api.idToken.setCustomClaim('https://example.com/greeting', "
    "greeter.greet(event.user.email));\n"
    "};\n",
)
M2M = (
    "credentials-exchange",
    "v2",
    "const greeter = require('actions:greeter');\n"
    "exports.onExecuteCredentialsExchange = async (event, api) => {\n"
    "  api.accessToken.setCustomClaim('https://example.com/greeting', "
    "greeter.greet(event.client.name));\n"
    "};\n",
)
PLAIN = (
    "post-login",
    "v3",
    "exports.onExecutePostLogin = async (event, api) => {\n"
    "  api.idToken.setCustomClaim('https://example.com/plain', true);\n"
    "};\n",
)

ENVIRONMENTS = """\
  dev:
    domain: {dev}
    client_id_env: AUTH0_DEV_CLIENT_ID
    client_secret_env: AUTH0_DEV_CLIENT_SECRET
  prod:
    domain: {prod}
    client_id_env: AUTH0_PROD_CLIENT_ID
    client_secret_env: AUTH0_PROD_CLIENT_SECRET
  stage:
    domain: {stage}
    client_id_env: AUTH0_STAGE_CLIENT_ID
    client_secret_env: AUTH0_STAGE_CLIENT_SECRET
"""


class ByHand:
    """Management API calls made as a team would by hand (not through this tool)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.bindings: dict[str, list[dict[str, Any]]] = {}

    def module(self, name: str, code: str, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
        created = self.http.post(
            "/api/v2/actions/modules",
            json={
                "name": name,
                "code": code,
                "secrets": [{"name": s, "value": f"live-{s.lower()}-value"} for s in secrets],
                "publish": True,
            },
        )
        assert created.status_code == 201, created.text
        return dict(created.json())

    def publish(self, module: dict[str, Any], code: str) -> str:
        """A new version of the module's code; its id."""
        changed = self.http.patch(f"/api/v2/actions/modules/{module['id']}", json={"code": code})
        assert changed.status_code == 200, changed.text
        published = self.http.post(f"/api/v2/actions/modules/{module['id']}/versions")
        assert published.status_code in (200, 201), published.text
        return str(published.json()["id"])

    def action(
        self, name: str, spec: tuple[str, str, str], pins: list[tuple[dict[str, Any], str]]
    ) -> None:
        """Created pinning (module, version id) pairs, built, deployed and bound last."""
        trigger, version, code = spec
        created = self.http.post(
            "/api/v2/actions/actions",
            json={
                "name": name,
                "supported_triggers": [{"id": trigger, "version": version}],
                "code": code,
                "runtime": "node22",
                "modules": [{"module_id": m["id"], "module_version_id": v} for m, v in pins],
            },
        )
        assert created.status_code == 201, created.text
        action_id = created.json()["id"]
        deadline = time.monotonic() + 30
        while self.http.get(f"/api/v2/actions/actions/{action_id}").json()["status"] != "built":
            assert time.monotonic() < deadline, "the action never built"
            time.sleep(0.02)
        deployed = self.http.post(f"/api/v2/actions/actions/{action_id}/deploy")
        assert deployed.status_code in (200, 201), deployed.text
        self.bindings.setdefault(trigger, []).append(
            {"ref": {"type": "action_id", "value": action_id}, "display_name": name}
        )
        bound = self.http.patch(
            f"/api/v2/actions/triggers/{trigger}/bindings",
            json={"bindings": self.bindings[trigger]},
        )
        assert bound.status_code == 200, bound.text


def _greeted_tenant(greeter: str) -> ServedTenant:
    """greeter (published once) pinned by a login and an m2m action; plain pins nothing;
    unused is a module no action pins."""
    tenant = ServedTenant()
    with tenant.http() as http:
        hand = ByHand(http)
        module = hand.module("greeter", greeter, ("GREETING",))
        v1 = module["latest_version"]["id"]
        hand.module("unused", UNUSED)
        hand.action("greet-login", LOGIN, [(module, v1)])
        hand.action("greet-m2m", M2M, [(module, v1)])
        hand.action("plain", PLAIN, [])
    return tenant


def _split_tenant() -> ServedTenant:
    """greeter has versions 1 and 2: greet-login pins 1, greet-m2m pins 2."""
    tenant = ServedTenant()
    with tenant.http() as http:
        hand = ByHand(http)
        module = hand.module("greeter", GREETER, ("GREETING",))
        v1 = module["latest_version"]["id"]
        v2 = hand.publish(module, GREETER.replace("${who}`", "${who}!`"))
        hand.action("greet-login", LOGIN, [(module, v1)])
        hand.action("greet-m2m", M2M, [(module, v2)])
    return tenant


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, ServedTenant]]:
    tenants: dict[str, ServedTenant] = {}
    try:
        tenants["dev"] = _greeted_tenant(GREETER)
        # prod's module was hotfixed by hand: same actions, another greeting format.
        tenants["prod"] = _greeted_tenant(GREETER.replace("${who}`", "dear ${who}`"))
        tenants["stage"] = _split_tenant()
        yield tenants
    finally:
        for tenant in tenants.values():
            tenant.stop()


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: dict[str, ServedTenant]
) -> Path:
    root = tmp_path / "project"
    init_project(root, bare=True)
    add_environments(root, ENVIRONMENTS.format(**{e: t.base_url for e, t in served.items()}))
    monkeypatch.chdir(root)
    for env, tenant in served.items():
        monkeypatch.setenv(f"AUTH0_{env.upper()}_CLIENT_ID", tenant.client_id)
        monkeypatch.setenv(f"AUTH0_{env.upper()}_CLIENT_SECRET", tenant.client_secret)
    return root


def _config(root: Path) -> dict[str, Any]:
    return dict(yaml.safe_load((root / "tenant.yaml").read_text(encoding="utf-8")))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".auth0" not in p.parts
    }


def test_modules_come_in_byte_identical_with_the_actions_pinning_them(
    project: Path, cli: Any
) -> None:
    ran = cli("import", "--env", "dev")
    assert ran.code == 0, ran.out + ran.err
    assert "imported module greeter from dev" in ran.out
    assert "imported module unused from dev" in ran.out  # whole tenant: every module
    assert "GREETING  (secret GREETING)" in ran.out
    assert "live-greeting-value" not in ran.out  # values stay in Auth0

    config = _config(project)
    assert config["modules"] == [
        {
            "name": "greeter",
            "template": "modules/greeter.js.j2",
            "secrets": {"GREETING": "GREETING"},
            "header": False,
        },
        {"name": "unused", "template": "modules/unused.js.j2", "header": False},
    ]
    actions = {a["name"]: a for a in config["actions"]}
    assert actions["greet-login"]["modules"] == ["greeter"]
    assert actions["greet-m2m"]["modules"] == ["greeter"]
    assert "modules" not in actions["plain"]
    assert set(config["environments"]["dev"]["adopted"]["modules"]) == {"greeter", "unused"}

    # dev's render is the live module, byte for byte; other environments get the header.
    rendered = project / "actions" / "dev" / "modules" / "greeter.js"
    assert rendered.read_text(encoding="utf-8") == GREETER
    local = project / "actions" / "local" / "modules" / "greeter.js"
    assert local.read_text(encoding="utf-8").startswith("// Generated by auth0-actions")
    assert not (project / "rules_templates" / "modules" / "greeter.scenarios.yaml").exists()

    assert cli("render", "--check").code == 0
    plan = cli("plan", "--env", "dev", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err

    # The starter scenarios run each action with its module (and a placeholder GREETING).
    scenario = yaml.safe_load(
        (project / "rules_templates" / "greet-login.scenarios.yaml").read_text(encoding="utf-8")
    )
    assert scenario["secrets"] == {"GREETING": "placeholder-greeting"}
    assert scenario["scenarios"][0]["expect"]["status"] == "completed"
    assert scenario["scenarios"][0]["expect"]["commands"] == [{"type": "idToken.setCustomClaim"}]
    tested = cli("test", "--env", "dev")
    assert tested.code == 0, tested.out
    assert "3 passed, 0 failed" in tested.out


def test_a_second_environment_s_differing_module_is_reported(project: Path, cli: Any) -> None:
    assert cli("import", "--env", "dev").code == 0
    second = cli("import", "--env", "prod")
    assert second.code == 1, second.out + second.err
    assert "module greeter: prod's live module differs from its render" in second.out
    assert "-  greet: (who) => `${actions.secrets.GREETING}, dear ${who}`," in second.out
    assert "environments.prod.adopted.modules" in second.out

    prod = _config(project)["environments"]["prod"]["adopted"]
    assert set(prod["modules"]) == {"unused"}  # identical: recorded; greeter is not
    assert set(prod["actions"]) == {"greet-login", "greet-m2m", "plain"}
    assert (project / "actions/prod/modules/unused.js").read_text(encoding="utf-8") == UNUSED
    greeter = (project / "actions/prod/modules/greeter.js").read_text(encoding="utf-8")
    assert greeter.startswith("// Generated by auth0-actions")
    assert cli("render", "--check").code == 0
    # Not adopted, prod's greeter is not this tool's: plan refuses to replace it.
    refused = cli("plan", "--env", "prod")
    assert refused.code == 1
    assert "greeter" in refused.out + refused.err


def test_action_filter_imports_only_the_modules_those_actions_pin(project: Path, cli: Any) -> None:
    ran = cli("import", "--env", "dev", "--action", "greet-m2m", "-o", "json")
    assert ran.code == 0, ran.err
    report = ran.json()
    assert report["imported"] == ["greet-m2m"]
    assert report["imported_modules"] == ["greeter"]
    assert [m["name"] for m in _config(project)["modules"]] == ["greeter"]
    assert not (project / "rules_templates/modules/unused.js.j2").exists()
    assert cli("plan", "--env", "dev", "--detailed-exitcode").code == 0

    # --action plain pins no module: none is imported.
    assert cli("import", "--env", "dev", "--action", "plain").code == 0
    assert [m["name"] for m in _config(project)["modules"]] == ["greeter"]


def test_dry_run_lists_module_files_and_existing_ones_are_never_overwritten(
    project: Path, cli: Any
) -> None:
    before = _snapshot(project)
    ran = cli("import", "--env", "dev", "--dry-run", "-o", "json")
    assert ran.code == 0, ran.err
    listed = ran.json()["files"]
    assert "rules_templates/modules/greeter.js.j2" in listed
    assert "actions/dev/modules/greeter.js" in listed
    assert "actions/prod/modules/unused.js" in listed
    assert _snapshot(project) == before

    mine = project / "rules_templates" / "modules" / "greeter.js.j2"
    mine.parent.mkdir(parents=True)
    mine.write_text("module.exports = {};\n", encoding="utf-8")
    before = _snapshot(project)
    refused = cli("import", "--env", "dev")
    assert refused.code == 1
    assert "rules_templates/modules/greeter.js.j2" in refused.err
    assert _snapshot(project) == before


def test_actions_pinning_different_versions_of_a_module_are_refused(
    project: Path, cli: Any
) -> None:
    before = _snapshot(project)
    refused = cli("import", "--env", "stage")
    assert refused.code == 1
    assert "module greeter: greet-login v1, greet-m2m v2" in refused.err
    assert _snapshot(project) == before


def test_an_older_pinned_version_is_imported_and_the_next_apply_reported(
    project: Path, cli: Any
) -> None:
    """greet-login runs version 1 while version 2 is the latest: the template holds what
    runs; the plan publishes it again (version 3) and re-pins greet-login, as reported."""
    ran = cli("import", "--env", "stage", "--action", "greet-login")
    assert ran.code == 1, ran.out + ran.err
    assert "module greeter: the template holds version 1, what runs" in ran.out
    assert "greet-login pins version 1, the latest is 2" in ran.out
    assert "publishes version 1's code as version 3 and re-pins it to the new version" in ran.out
    assert (project / "actions/stage/modules/greeter.js").read_text(encoding="utf-8") == GREETER
    assert cli("render", "--check").code == 0
    plan = cli("plan", "--env", "stage")
    assert plan.code == 0, plan.out + plan.err
    assert "publish module greeter version 3 (replacing version 2)" in plan.out
    assert 'modules: ["greeter v1"] -> ["greeter v3"]' in plan.out


def test_a_declared_module_this_tool_did_not_deploy_is_refused(project: Path, cli: Any) -> None:
    """tenant.yaml's own greeter is not the live one: import never takes either over."""
    config = project / "tenant.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "modules:\n  - name: greeter\n    template: greeter.js.j2\n",
        encoding="utf-8",
    )
    (project / "rules_templates").mkdir(exist_ok=True)
    (project / "rules_templates" / "greeter.js.j2").write_text("module.exports = {};\n")
    before = _snapshot(project)
    refused = cli("import", "--env", "dev", "--action", "greet-login")
    assert refused.code == 1
    assert "already declares module greeter" in refused.err
    assert _snapshot(project) == before
