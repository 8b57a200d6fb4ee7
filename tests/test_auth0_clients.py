"""Auth0's own clients, untouched, against a served local tenant (TLS, loopback).

The npm ``auth0`` ManagementClient (4.x and the latest major), auth0-python's
``ManagementClient`` with its own token provider, and Auth0's deploy CLI
(``a0deploy`` 8.x: a default ``export`` of a new tenant whose settings import
back, then an
``import`` of actions on several triggers with secrets, dependencies and a
module, tenant settings, prompts and an MFA factor). Each is
pointed at the tenant only through its documented options (domain, audience,
client credentials) and trusts the tenant's CA through the platform's own
setting (``NODE_EXTRA_CA_CERTS``, ``SSL_CERT_FILE``); nothing is patched. The npm
packages are installed once per session from the npm registry.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.sandbox.deps import npm_command

HERE = Path(__file__).resolve().parent
SDK_SCRIPT = HERE / "auth0_clients" / "management_sdk.cjs"
# One install, each major under its own alias (npm's "npm:" specifiers).
NPM_PACKAGES = {
    "auth0-v4": "npm:auth0@4",
    "auth0-latest": "npm:auth0@latest",
    "auth0-deploy-cli": "8",
}
SECRET = "a-secret-value-no-answer-may-carry"


@pytest.fixture(scope="session")
def npm_clients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """node_modules with the Auth0 npm clients, installed from the registry once."""
    root = tmp_path_factory.mktemp("auth0-clients")
    (root / "package.json").write_text('{"private": true}', encoding="utf-8")
    specs = [f"{alias}@{spec}" for alias, spec in NPM_PACKAGES.items()]
    done = subprocess.run(
        [*npm_command(), "install", "--no-audit", "--no-fund", "--ignore-scripts", *specs],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"npm install {' '.join(specs)} failed:\n{done.stderr[-3000:]}"
    return root / "node_modules"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LocalTenant]:
    with LocalTenant.open(tmp_path / "project", tls=True) as tenant:
        yield tenant


def _node_env(tenant: LocalTenant, **extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "TMPDIR", "LANG")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        AUTH0_DOMAIN=tenant.domain,
        AUTH0_AUDIENCE=tenant.audience,
        AUTH0_CLIENT_ID=tenant.client_id,
        AUTH0_CLIENT_SECRET=tenant.client_secret.reveal(),
        NODE_EXTRA_CA_CERTS=str(tenant.ca_path),
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def _node(*args: str | Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    node = npm_command()[0]
    return subprocess.run(
        [node, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _api(tenant: LocalTenant) -> httpx.Client:
    """A plain client of the tenant, to look at what the Auth0 clients left behind."""
    token = httpx.post(
        f"{tenant.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret.reveal(),
            "audience": tenant.audience,
        },
        verify=ssl.create_default_context(cafile=str(tenant.ca_path)),
    ).json()["access_token"]
    return httpx.Client(
        base_url=f"{tenant.base_url}/api/v2",
        headers={"authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(tenant.ca_path)),
        timeout=30,
    )


# ---------------------------------------------------------------- npm auth0 SDK


@pytest.mark.parametrize("alias", ["auth0-v4", "auth0-latest"])
def test_npm_auth0_management_client(
    npm_clients: Path, served: LocalTenant, tmp_path: Path, alias: str
) -> None:
    """Actions (create, build polling, deploy, versions), bindings on two triggers,
    modules (latest major only: 4.x has no modules methods), users (create, update,
    get, search v3, users-by-email), a users export job, clients and connections:
    every answer parsed by the SDK's own models, its token from client credentials."""
    done = _node(
        SDK_SCRIPT,
        env=_node_env(served, SDK_DIR=str(npm_clients / alias)),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    assert out["versions"] == [1]
    assert out["bindings"] == {
        "post-login": ["sdk-post-login"],
        "credentials-exchange": ["sdk-credentials-exchange"],
    }
    major = out["major"]
    assert out["user"] == {
        "email": f"sdk-{major}@example.com",
        # Auth0 merges user_metadata at the top level on PATCH.
        "user_metadata": {"consent": {"given": True}, "plan": "pro"},
    }
    assert out["search"] == [True]
    assert out["byEmail"] == 1
    assert out["export"] == "completed"
    # The management client and the login application every served tenant has.
    assert sorted(out["clients"]) == sorted(
        [served.client_id, served.login_client.client_id, served.self_service_client.client_id]
    )
    # A new tenant's database connection, enabled for the tenant's clients.
    assert out["connections"] == ["Username-Password-Authentication"]
    assert out["connection"] == "auth0"
    if alias == "auth0-latest":
        assert out["module"] == {
            "name": "shared-helpers",
            "published": 1,
            "actions": ["sdk-post-login"],
        }
    assert "not-in-any-answer" not in done.stdout + done.stderr


# ---------------------------------------------------------------- auth0-python


def test_auth0_python_management_client_with_its_token_provider(
    served: LocalTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auth0-python's ManagementClient fetches and caches its own token (its
    TokenProvider's client-credentials exchange) and drives actions, modules,
    bindings, users, search, jobs, clients and connections."""
    from auth0.management import ManagementClient

    assert served.ca_path is not None
    # The token provider opens its own httpx.Client, which trusts SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(served.ca_path))
    tls = ssl.create_default_context(cafile=str(served.ca_path))
    client = ManagementClient(
        domain=served.domain,
        client_id=served.client_id,
        client_secret=served.client_secret.reveal(),
        audience=served.audience,
        httpx_client=httpx.Client(verify=tls, timeout=30),
    )

    module = client.actions.modules.create(name="py-helpers", code="module.exports = {};")
    version = client.actions.modules.versions.create(module.id)
    assert version.version_number == 1
    action = client.actions.create(
        name="py-post-login",
        supported_triggers=[{"id": "post-login", "version": "v3"}],
        code="exports.onExecutePostLogin = async (event, api) => {};",
        secrets=[{"name": "API_KEY", "value": SECRET}],
        modules=[{"module_id": module.id, "module_version_id": version.id}],
    )
    for _ in range(200):
        if client.actions.get(action.id).status == "built":
            break
        time.sleep(0.05)
    client.actions.deploy(action.id)
    time.sleep(0.05)
    assert [v.number for v in client.actions.versions.list(action.id)] == [1]
    client.actions.triggers.bindings.update_many(
        "post-login", bindings=[{"ref": {"type": "action_id", "value": action.id}}]
    )
    bound = list(client.actions.triggers.bindings.list("post-login"))
    assert [b.action.name for b in bound if b.action] == ["py-post-login"]
    users_of_module = list(client.actions.modules.list_actions(module.id))
    assert [a.action_name for a in users_of_module] == ["py-post-login"]
    assert SECRET not in json.dumps(client.actions.get(action.id).model_dump(mode="json"))

    user = client.users.create(
        connection="Username-Password-Authentication",
        email="py@example.com",
        password="correct horse battery staple",
        user_metadata={"consent": {"given": True}},
    )
    assert user.user_id is not None
    client.users.update(user.user_id, user_metadata={"plan": "pro"})
    assert client.users.get(user.user_id).user_metadata == {
        "consent": {"given": True},
        "plan": "pro",
    }
    found = list(client.users.list(q='email:"py@example.com"', search_engine="v3"))
    assert [u.user_id for u in found] == [user.user_id]
    assert len(client.users.list_users_by_email(email="py@example.com")) == 1

    job = client.jobs.users_exports.create(format="json")
    status = job.status
    for _ in range(200):
        if status in ("completed", "failed"):
            break
        time.sleep(0.05)
        status = client.jobs.get(job.id).status
    assert status == "completed"

    listed = [c.client_id for c in client.clients.list()]
    assert sorted(listed) == sorted(
        [served.client_id, served.login_client.client_id, served.self_service_client.client_id]
    )
    connections = list(client.connections.list())
    assert [c.name for c in connections] == ["Username-Password-Authentication"]
    assert connections[0].id is not None
    assert client.connections.get(connections[0].id).strategy == "auth0"


# ---------------------------------------------------------------- auth0-deploy-cli

IMPORT_CONFIG: dict[str, Any] = {
    "actionModules": [
        {
            "name": "greeting",
            "code": "./greeting.js",
            "all_changes_published": True,
            "dependencies": [],
            "secrets": [],
        }
    ],
    "actions": [
        {
            "name": "add-claim",
            "code": "./post-login.js",
            "runtime": "node22",
            "deployed": True,
            "status": "built",
            "dependencies": [{"name": "ms", "version": "2.1.3"}],
            "secrets": [{"name": "API_KEY", "value": SECRET}],
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "modules": [{"module_name": "greeting", "module_version_number": 1}],
        },
        {
            "name": "check-signup",
            "code": "./pre-user-registration.js",
            "runtime": "node22",
            "deployed": True,
            "status": "built",
            "dependencies": [],
            "secrets": [],
            "supported_triggers": [{"id": "pre-user-registration", "version": "v2"}],
        },
        {
            "name": "m2m-claims",
            "code": "./credentials-exchange.js",
            "runtime": "node22",
            "deployed": True,
            "status": "built",
            "dependencies": [],
            "secrets": [],
            "supported_triggers": [{"id": "credentials-exchange", "version": "v2"}],
        },
    ],
    "triggers": {
        "post-login": [{"action_name": "add-claim", "display_name": "add-claim"}],
        "pre-user-registration": [{"action_name": "check-signup", "display_name": "check-signup"}],
        "credentials-exchange": [{"action_name": "m2m-claims", "display_name": "m2m-claims"}],
    },
    # The settings singletons: PATCH /tenants/settings, PATCH /prompts, PUT /guardian/factors/{name}
    # (https://auth0.com/docs/api/management/v2/tenants/patch-settings,
    # https://auth0.com/docs/api/management/v2/prompts/patch-prompts,
    # https://auth0.com/docs/api/management/v2/guardian/put-factors-by-name).
    "tenant": {
        "friendly_name": "Local Deploy Tenant",
        "support_email": "support@example.com",
        "enabled_locales": ["en", "fr"],
        "flags": {
            "enable_client_connections": False,
            "revoke_refresh_token_grant": False,
            "disable_clickjack_protection_headers": False,
        },
    },
    "prompts": {"identifier_first": True, "universal_login_experience": "new"},
    "guardianFactors": [{"name": "otp", "enabled": True}],
}
# The sections of a0deploy's export that are settings singletons of the tenant.
SETTINGS_SECTIONS = (
    "tenant",
    "prompts",
    "branding",
    "attackProtection",
    "riskAssessment",
    "supplementalSignals",
    "guardianFactors",
    "guardianPolicies",
    "guardianPhoneFactorMessageTypes",
    "guardianPhoneFactorSelectedProvider",
    "guardianFactorProviders",
    "guardianFactorTemplates",
)
CODE = {
    "greeting.js": "module.exports = { greet: (name) => `hello ${name}` };\n",
    "post-login.js": (
        "const ms = require('ms');\n"
        "exports.onExecutePostLogin = async (event, api) => {\n"
        "  api.idToken.setCustomClaim('https://example.com/ttl', ms('1h'));\n};\n"
    ),
    "pre-user-registration.js": (
        "exports.onExecutePreUserRegistration = async (event, api) => {\n"
        "  api.user.setUserMetadata('checked', true);\n};\n"
    ),
    "credentials-exchange.js": (
        "exports.onExecuteCredentialsExchange = async (event, api) => {\n"
        "  api.accessToken.setCustomClaim('https://example.com/m2m', true);\n};\n"
    ),
}


def _a0deploy(npm_clients: Path, served: LocalTenant, cwd: Path, *args: str) -> str:
    cli = npm_clients / "auth0-deploy-cli" / "lib" / "index.js"
    done = _node(cli, *args, env=_node_env(served, AUTH0_ALLOW_DELETE="false"), cwd=cwd)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert SECRET not in output
    return output


def test_deploy_cli_exports_a_new_tenant_then_imports_actions_on_several_triggers(
    npm_clients: Path, served: LocalTenant, tmp_path: Path
) -> None:
    """``a0deploy export`` (YAML, every resource type) completes on a new tenant and
    its settings import back; ``a0deploy import`` of actions on three triggers with a secret, an
    npm dependency and a module, a ``tenant:`` section, prompts and an MFA factor
    leaves them deployed, bound and set, and a second export carries them
    (https://github.com/auth0/auth0-deploy-cli, docs: configuring
    the Deploy CLI, https://auth0.com/docs/deploy-monitor/deploy-cli-tool)."""
    _a0deploy(npm_clients, served, tmp_path, "export", "--format", "yaml", "--output_folder", "new")
    exported = yaml.safe_load((tmp_path / "new" / "tenant.yaml").read_text(encoding="utf-8"))
    assert [d["name"] for d in exported["databases"]] == ["Username-Password-Authentication"]
    assert exported["rules"] == []  # rules: end of life, none on a new tenant
    assert exported["actions"] == []
    assert exported["tenant"]["enabled_locales"] == ["en"]
    # The new tenant's export imports back whole: its applications, connection and
    # every settings singleton (tenant, prompts, attack protection, MFA factors,
    # policies, ...) written with the PATCH or PUT a0deploy sends for each, session
    # lifetimes in minutes included (Auth0 accepts them beyond its OpenAPI document).
    settings = exported
    assert {"tenant", "prompts", "attackProtection", "guardianFactors"} <= settings.keys()
    defaults = tmp_path / "defaults"
    defaults.mkdir()
    defaults_file = defaults / "tenant.yaml"
    defaults_file.write_text(yaml.safe_dump(settings), encoding="utf-8")
    _a0deploy(npm_clients, served, tmp_path, "import", "--input_file", str(defaults_file))
    assert served.app.store.count("setting") > 0

    config = tmp_path / "config"
    config.mkdir()
    for name, code in CODE.items():
        (config / name).write_text(code, encoding="utf-8")
    (config / "tenant.yaml").write_text(yaml.safe_dump(IMPORT_CONFIG), encoding="utf-8")
    _a0deploy(npm_clients, served, tmp_path, "import", "--input_file", str(config / "tenant.yaml"))

    with _api(served) as api:
        actions = {a["name"]: a for a in api.get("/actions/actions").json()["actions"]}
        assert set(actions) == {"add-claim", "check-signup", "m2m-claims"}
        for action in actions.values():
            assert action["deployed_version"]["status"] == "built"
            assert action["deployed_version"]["deployed"] is True
        for trigger, name in (
            ("post-login", "add-claim"),
            ("pre-user-registration", "check-signup"),
            ("credentials-exchange", "m2m-claims"),
        ):
            bindings = api.get(f"/actions/triggers/{trigger}/bindings").json()["bindings"]
            assert [b["action"]["name"] for b in bindings] == [name]
        claim = actions["add-claim"]
        assert claim["dependencies"] == [{"name": "ms", "version": "2.1.3"}]
        assert [s["name"] for s in claim["secrets"]] == ["API_KEY"]
        stored = served.app.store.get("action", claim["id"])
        assert stored is not None
        assert stored["_secret_values"] == {"API_KEY": SECRET}
        module = api.get("/actions/modules").json()["modules"][0]
        assert (module["name"], module["latest_version_number"]) == ("greeting", 1)
        assert [m["module_name"] for m in claim["modules"]] == ["greeting"]
        used = api.get(f"/actions/modules/{module['id']}/actions").json()["actions"]
        assert [a["action_name"] for a in used] == ["add-claim"]
        settings = api.get("/tenants/settings").json()
        assert settings["friendly_name"] == "Local Deploy Tenant"
        assert settings["support_email"] == "support@example.com"
        assert settings["enabled_locales"] == ["en", "fr"]
        assert settings["flags"]["enable_client_connections"] is False
        assert api.get("/prompts").json()["identifier_first"] is True
        factors = {f["name"]: f["enabled"] for f in api.get("/guardian/factors").json()}
        assert [name for name, enabled in factors.items() if enabled] == ["otp"]

    _a0deploy(
        npm_clients, served, tmp_path, "export", "--format", "yaml", "--output_folder", "after"
    )
    again = yaml.safe_load((tmp_path / "after" / "tenant.yaml").read_text(encoding="utf-8"))
    assert {a["name"]: a["deployed"] for a in again["actions"]} == {
        "add-claim": True,
        "check-signup": True,
        "m2m-claims": True,
    }
    assert [m["name"] for m in again["actionModules"]] == ["greeting"]
    assert again["triggers"]["credentials-exchange"][0]["action_name"] == "m2m-claims"
    assert again["tenant"]["friendly_name"] == "Local Deploy Tenant"
    assert again["tenant"]["support_email"] == "support@example.com"
    assert again["prompts"]["identifier_first"] is True
    assert {f["name"]: f["enabled"] for f in again["guardianFactors"]}["otp"] is True
