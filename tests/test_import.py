"""import: a tenant running actions this tool never deployed, brought under management.

Two local tenants are served on loopback (dev and prod, by URL, credentials in
the environment variables tenant.yaml names, as CI sets them). Seven actions
on three triggers are deployed to them through the Management API directly
(POST /actions/actions, /deploy, PATCH the bindings), as a team running
Auth0 by hand would have them; the project is a bare `init`.
Auth0's API: https://auth0.com/docs/api/management/v2/actions/get-actions and
https://auth0.com/docs/api/management/v2/actions/get-bindings.
"""

from __future__ import annotations

import shutil
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

# name -> (trigger, code, secret names); bound per trigger in this order.
ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # CRLF line endings, as code written on Windows and pasted into the dashboard.
    "add-roles": (
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\r\n"
        "  api.idToken.setCustomClaim('https://example.com/roles', ['admin']);\r\n"
        "};\r\n",
        (),
    ),
    # Jinja syntax in the code (a comment and a string), trailing spaces, no final newline.
    "tag-login": (
        "post-login",
        "// {% endraw %} and {{ user }} are code here, not a template   \n"
        "exports.onExecutePostLogin = async (event, api) => {\n"
        '  const note = "{{ user }} {%- endraw %} {% raw %}";\n'
        "  api.user.setAppMetadata('note', note);  \n"
        "};",
        (),
    ),
    # Secrets read by destructuring: allowed for imported code (its names are the live ones).
    "deny-blocked": (
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n"
        "  const { BLOCK_LIST } = event.secrets;\n"
        "  if ((BLOCK_LIST || '').split(',').includes(event.user.email)) {\n"
        "    api.access.deny('blocked');\n"
        "  }\n"
        "};\n",
        ("BLOCK_LIST",),
    ),
    "m2m-claim": (
        "credentials-exchange",
        "exports.onExecuteCredentialsExchange = async (event, api) => {\n"
        "  api.accessToken.setCustomClaim('https://example.com/tier', 'gold');\n"
        "};\n",
        (),
    ),
    "m2m-deny": (
        "credentials-exchange",
        "exports.onExecuteCredentialsExchange = async (event, api) => {\n"
        "  if (event.client.name === 'blocked') api.access.deny('invalid_request', 'no');\n"
        "};\n",
        (),
    ),
    "signup-source": (
        "pre-user-registration",
        "exports.onExecutePreUserRegistration = async (event, api) => {\n"
        "  api.user.setUserMetadata('source', 'import');\n"
        "};\n",
        (),
    ),
    # Outbound HTTP: the starter scenario stubs what it sent.
    "signup-risk": (
        "pre-user-registration",
        "exports.onExecutePreUserRegistration = async (event, api) => {\n"
        "  const answer = await fetch('https://risk.example.com/check', {\n"
        "    headers: { authorization: `Bearer ${event.secrets.RISK_TOKEN}` },\n"
        "  });\n"
        "  api.user.setUserMetadata('risk_status', answer.status);\n"
        "};\n",
        ("RISK_TOKEN",),
    ),
}
VERSIONS = {"post-login": "v3", "credentials-exchange": "v2", "pre-user-registration": "v2"}

BARE_COMMENTS = ("# Each action renders rules_templates/<template>", "# GDPR Article 7")


def deploy_by_hand(
    tenant: ServedTenant, actions: dict[str, tuple[str, str, tuple[str, ...]]]
) -> None:
    """Create, deploy and bind each action through the Management API (not this tool)."""
    bound: dict[str, list[dict[str, Any]]] = {}
    with tenant.http() as http:
        for name, (trigger, code, secrets) in actions.items():
            created = http.post(
                "/api/v2/actions/actions",
                json={
                    "name": name,
                    "supported_triggers": [{"id": trigger, "version": VERSIONS[trigger]}],
                    "code": code,
                    "runtime": "node22",
                    "secrets": [{"name": s, "value": f"live-{s.lower()}-value"} for s in secrets],
                },
            )
            assert created.status_code == 201, created.text
            action_id = created.json()["id"]
            deployed = http.post(f"/api/v2/actions/actions/{action_id}/deploy")
            assert deployed.status_code in (200, 201), deployed.text
            bound.setdefault(trigger, []).append(
                {"ref": {"type": "action_id", "value": action_id}, "display_name": name}
            )
        for trigger, bindings in bound.items():
            answer = http.patch(
                f"/api/v2/actions/triggers/{trigger}/bindings", json={"bindings": bindings}
            )
            assert answer.status_code == 200, answer.text
        wait_deployed(http, set(actions))


def wait_deployed(http: httpx.Client, names: set[str]) -> None:
    for _ in range(200):
        listed = http.get("/api/v2/actions/actions", params={"per_page": 50}).json()["actions"]
        if all(a.get("deployed_version") for a in listed if a["name"] in names):
            return
        time.sleep(0.05)
    raise AssertionError("the actions were never deployed")


def live_code(tenant: ServedTenant) -> dict[str, str]:
    with tenant.http() as http:
        listed = http.get("/api/v2/actions/actions", params={"per_page": 50}).json()["actions"]
    return {a["name"]: a["deployed_version"]["code"] for a in listed}


ENVIRONMENTS = """\
  dev:
    domain: {dev}
    client_id_env: AUTH0_DEV_CLIENT_ID
    client_secret_env: AUTH0_DEV_CLIENT_SECRET
  prod:
    domain: {prod}
    client_id_env: AUTH0_PROD_CLIENT_ID
    client_secret_env: AUTH0_PROD_CLIENT_SECRET
"""


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, ServedTenant]]:
    tenants = {"dev": ServedTenant(), "prod": ServedTenant()}
    try:
        deploy_by_hand(tenants["dev"], ACTIONS)
        # prod runs the same actions, one of them hotfixed by hand.
        prod = dict(ACTIONS)
        trigger, code, secrets = prod["m2m-claim"]
        prod["m2m-claim"] = (trigger, code.replace("'gold'", "'platinum'"), secrets)
        deploy_by_hand(tenants["prod"], prod)
        yield tenants
    finally:
        for tenant in tenants.values():
            tenant.stop()


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory, served: dict[str, ServedTenant]) -> Path:
    """`init --bare` with dev and prod pointing at the served tenants."""
    root = tmp_path_factory.mktemp("bare") / "project"
    init_project(root, bare=True)
    add_environments(
        root, ENVIRONMENTS.format(dev=served["dev"].base_url, prod=served["prod"].base_url)
    )
    return root


@pytest.fixture
def fresh(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: dict[str, ServedTenant]
) -> Path:
    root = tmp_path / "project"
    shutil.copytree(bare, root, symlinks=True)
    monkeypatch.chdir(root)
    for env, tenant in served.items():
        monkeypatch.setenv(f"AUTH0_{env.upper()}_CLIENT_ID", tenant.client_id)
        monkeypatch.setenv(f"AUTH0_{env.upper()}_CLIENT_SECRET", tenant.client_secret)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".auth0" not in p.parts
    }


def test_import_renders_byte_identical_and_plans_no_change(
    fresh: Path, cli: Any, served: dict[str, ServedTenant]
) -> None:
    before = (fresh / "tenant.yaml").read_text(encoding="utf-8")
    ran = cli("import", "--env", "dev")
    assert ran.code == 0, ran.out + ran.err
    assert "RISK_TOKEN  (secret RISK_TOKEN)" in ran.out
    assert "live-risk_token-value" not in ran.out  # values never leave Auth0 (nor print)

    # Every environment renders the imported actions: dev's equal the live code, byte for byte.
    live = live_code(served["dev"])
    for name in ACTIONS:
        assert (fresh / "actions" / "dev" / f"{name}.js").read_bytes() == live[name].encode()
        assert (fresh / "actions" / "local" / f"{name}.js").is_file()
    assert (fresh / "actions/dev/add-roles.js").read_bytes().count(b"\r\n") == 3

    # tenant.yaml: the bare file's comments kept, entries added in binding order.
    after = (fresh / "tenant.yaml").read_text(encoding="utf-8")
    assert after.startswith(before.split("\nactions:")[0].rsplit("\n  dev:", 1)[0])
    for comment in BARE_COMMENTS:
        assert comment in after
    data = yaml.safe_load(after)
    entries = {a["name"]: a for a in data["actions"]}
    assert [(entries[n]["trigger"], entries[n]["order"]) for n in ACTIONS] == [
        ("post-login", 1),
        ("post-login", 2),
        ("post-login", 3),
        ("credentials-exchange", 1),
        ("credentials-exchange", 2),
        ("pre-user-registration", 1),
        ("pre-user-registration", 2),
    ]
    assert entries["deny-blocked"]["secrets"] == {"BLOCK_LIST": "BLOCK_LIST"}
    assert all(e["header"] is False and e["runtime"] == "node22" for e in entries.values())
    assert set(data["environments"]["dev"]["adopted"]["actions"]) == set(ACTIONS)
    assert "adopted" not in data["environments"]["prod"]

    assert cli("render", "--check").code == 0
    plan = cli("plan", "--env", "dev", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err

    # The starter scenarios are green and pin what the actions did.
    tested = cli("test", "--env", "dev")
    assert tested.code == 0, tested.out
    assert "7 passed, 0 failed" in tested.out
    risk = yaml.safe_load((fresh / "rules_templates/signup-risk.scenarios.yaml").read_text())
    assert risk["http"] == [
        {"method": "GET", "url": "https://risk.example.com/check", "status": 200, "body": {}}
    ]
    blocked = yaml.safe_load((fresh / "rules_templates/m2m-claim.scenarios.yaml").read_text())
    assert blocked["scenarios"][0]["expect"]["commands"] == [{"type": "accessToken.setCustomClaim"}]

    # A second environment: the same actions but one, reported with its diff, exit 1.
    second = cli("import", "--env", "prod")
    assert second.code == 1, second.out + second.err
    assert "m2m-claim (credentials-exchange): prod's live action differs" in second.out
    assert "-  api.accessToken.setCustomClaim('https://example.com/tier', 'platinum');" in (
        second.out
    )
    prod = yaml.safe_load((fresh / "tenant.yaml").read_text())["environments"]["prod"]
    assert set(prod["adopted"]["actions"]) == set(ACTIONS) - {"m2m-claim"}

    # Adopted in prod, an action renders there as the live code; the one that differs
    # keeps the header this tool would deploy it with, and taking it over needs --adopt.
    assert cli("render", "--check").code == 0
    rendered = fresh / "actions" / "prod"
    assert (rendered / "m2m-deny.js").read_text() == ACTIONS["m2m-deny"][1]
    assert (rendered / "m2m-claim.js").read_text().startswith("// Generated by auth0-actions")
    refused = cli("plan", "--env", "prod")
    assert refused.code == 1
    assert "--adopt m2m-claim" in refused.out + refused.err
    assert cli("plan", "--env", "prod", "--adopt", "m2m-claim").code == 0


def test_a_scenario_changes_when_the_behaviour_does(fresh: Path, cli: Any) -> None:
    assert cli("import", "--env", "dev", "--action", "m2m-claim").code == 0
    template = fresh / "rules_templates/m2m-claim.js.j2"
    template.write_text(
        template.read_text().replace("api.accessToken.setCustomClaim(", "void ("), "utf-8"
    )
    assert cli("render").code == 0
    failed = cli("test", "--env", "dev")
    assert failed.code == 1
    assert "1 failed" in failed.out


def test_action_filter_and_unknown_name(fresh: Path, cli: Any) -> None:
    unknown = cli("import", "--env", "dev", "--action", "no-such-action")
    assert unknown.code == 1
    assert "no-such-action: no action of that name in dev's tenant" in unknown.err
    ran = cli("import", "--env", "dev", "--action", "add-roles", "--action", "m2m-deny")
    assert ran.code == 0, ran.err
    names = [a["name"] for a in yaml.safe_load((fresh / "tenant.yaml").read_text())["actions"]]
    assert names == ["add-roles", "m2m-deny"]
    assert not (fresh / "rules_templates/tag-login.js.j2").exists()


def test_dry_run_lists_and_writes_nothing(fresh: Path, cli: Any) -> None:
    before = snapshot(fresh)
    ran = cli("import", "--env", "dev", "--dry-run", "-o", "json")
    assert ran.code == 0, ran.err
    listed = ran.json()["files"]
    assert "rules_templates/add-roles.js.j2" in listed
    assert "rules_templates/add-roles.scenarios.yaml" in listed
    assert "actions/dev/add-roles.js" in listed
    assert "tenant.yaml" in listed
    assert snapshot(fresh) == before


def test_never_overwrites(fresh: Path, cli: Any) -> None:
    mine = fresh / "rules_templates/tag-login.js.j2"
    mine.parent.mkdir(exist_ok=True)
    mine.write_text("// my own template\n", encoding="utf-8")
    before = snapshot(fresh)
    ran = cli("import", "--env", "dev")
    assert ran.code == 1
    assert "refusing to overwrite 1 existing file(s); nothing was written" in ran.err
    assert "rules_templates/tag-login.js.j2" in ran.err
    assert snapshot(fresh) == before
