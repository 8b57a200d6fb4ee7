"""Actions Modules at runtime: `require('actions:<name>')` in the sandbox and the local tenant.

Auth0 (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module):
an action loads a module with `require('actions:<name>')`; the module reads its
own secrets as `actions.secrets.NAME`, independent of the action's secrets;
"Each Action must explicitly reference the Action Module Version", so a
published version reaches an action only when the action is re-pinned and
deployed. A module may depend on npm packages but not on another module, and
runs in the runtime of the action that requires it
(https://auth0.com/docs/customize/actions/limitations#actions-modules).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import test_deps
from flows_support import APP, FlowTenant
from test_deps import PACKAGE, Registry

from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.triggers import registry as triggers

# test_deps.py's loopback npm registry: nothing reaches the internet.
registry = test_deps.registry

GREETER = """
let evaluations = 0;
evaluations += 1;
module.exports = {
  greet: (who) => `${actions.secrets.GREETING}, ${who}`,
  evaluations: () => evaluations,
};
"""
GREET_ACTION = """
const greeter = require('actions:greeter');
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/greeting', greeter.greet(event.user.email));
  // The module's secrets are its own: the action sees neither them nor `actions`.
  api.idToken.setCustomClaim('https://example.com/action-secrets', Object.keys(event.secrets));
  api.idToken.setCustomClaim('https://example.com/actions-global', typeof actions);
};
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _claims(run: Any) -> dict[str, Any]:
    assert run.code == 0, run.out + run.err
    result = json.loads(run.out)
    assert result["status"] == "completed", result.get("error")
    return dict(result["id_token_claims"])


# --- sandbox run -----------------------------------------------------------------------
def test_sandbox_run_loads_a_module_that_reads_its_own_secrets(cli: Any, tmp_path: Path) -> None:
    action = _write(tmp_path / "greet.js", GREET_ACTION)
    module = _write(tmp_path / "greeter.js", GREETER)
    secrets = _write(tmp_path / "module-secrets.json", '{"greeter": {"GREETING": "Hello"}}')
    own = _write(tmp_path / "secrets.json", '{"ACTION_ONLY": "x"}')

    run = cli(
        "sandbox", "run", str(action), "--module", f"greeter={module}",
        "--module-secrets", str(secrets), "--secrets", str(own),
    )  # fmt: skip
    claims = _claims(run)

    assert claims["https://example.com/greeting"] == "Hello, jane.doe@example.com"
    assert claims["https://example.com/action-secrets"] == ["ACTION_ONLY"]
    assert claims["https://example.com/actions-global"] == "undefined"


def test_a_module_the_action_does_not_pin_cannot_be_required(cli: Any, tmp_path: Path) -> None:
    """Only pinned modules load; a module cannot require another module (limitations)."""
    unknown = _write(
        tmp_path / "unknown.js",
        "const m = require('actions:nope');\nexports.onExecutePostLogin = async () => {};\n",
    )
    run = cli("sandbox", "run", str(unknown), "-o", "json")
    assert run.code == 1
    assert json.loads(run.out)["error"]["message"] == "Cannot find module 'actions:nope'"

    chained = _write(
        tmp_path / "chain.js",
        "module.exports = { load: () => require('actions:greeter') };\n",
    )
    action = _write(
        tmp_path / "uses-chain.js",
        """
const chain = require('actions:chain');
exports.onExecutePostLogin = async (event, api) => {
  try { chain.load(); } catch (err) { api.access.deny(`${err.code}: ${err.message}`); }
};
""",
    )
    greeter = _write(tmp_path / "greeter.js", GREETER)
    run = cli(
        "sandbox", "run", str(action),
        "--module", f"chain={chained}", "--module", f"greeter={greeter}",
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    result = json.loads(run.out)
    assert result["status"] == "denied"
    assert result["deny"]["reason"] == "MODULE_NOT_FOUND: Cannot find module 'actions:greeter'"


def test_sandbox_run_takes_a_project_action_s_modules_from_their_rendered_files(
    cli: Any, project: Path
) -> None:
    config = project / "tenant.yaml"
    text = config.read_text()
    anchor = "    order: 2\n    secrets:\n"
    assert text.count(anchor) == 1
    text = text.replace(anchor, "    order: 2\n    modules: [greeter]\n    secrets:\n")
    config.write_text(text + "\nmodules:\n  - name: greeter\n    template: greeter.js.j2\n")
    _write(project / "rules_templates" / "greeter.js.j2", GREETER)
    rendered = _write(project / "actions" / "local" / "consent-redirect.js", GREET_ACTION)
    module = project / "actions" / "local" / "modules" / "greeter.js"

    missing = cli("sandbox", "run", str(rendered))
    assert missing.code == 1
    # The error names the file to render (shown relative to the project).
    assert "actions/local/modules/greeter.js: module 'greeter', which the action requires, " in (
        missing.out + missing.err
    )
    assert "auth0-actions render --env local" in missing.out + missing.err

    _write(module, GREETER)
    secrets = _write(project / "module-secrets.json", '{"greeter": {"GREETING": "Hi"}}')
    claims = _claims(cli("sandbox", "run", str(rendered), "--module-secrets", str(secrets)))
    assert claims["https://example.com/greeting"] == "Hi, jane.doe@example.com"


def test_a_module_s_npm_dependencies_are_installed_for_the_action_that_pins_it(
    cli: Any, project: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module may depend on npm packages (limitations#actions-modules): tenant.yaml's
    modules[].dependencies are installed into the action's cache entry, as its own are."""
    monkeypatch.setenv("npm_config_registry", registry.url)
    config = project / "tenant.yaml"
    text = config.read_text().replace(
        "    order: 2\n    secrets:\n", "    order: 2\n    modules: [greeter]\n    secrets:\n"
    )
    module_entry = (
        "\nmodules:\n  - name: greeter\n    template: greeter.js.j2\n"
        f'    dependencies: [{{name: {PACKAGE}, version: "1.0.0"}}]\n'
    )
    config.write_text(text + module_entry)
    _write(project / "rules_templates" / "greeter.js.j2", "")
    _write(
        project / "actions" / "local" / "modules" / "greeter.js",
        f"const greet = require('{PACKAGE}');\nmodule.exports = {{ greet }};\n",
    )
    rendered = _write(
        project / "actions" / "local" / "consent-redirect.js",
        """
const { greet } = require('actions:greeter');
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/greeting', greet(event.user.email));
};
""",
    )
    claims = _claims(cli("sandbox", "run", str(rendered)))
    assert "jane.doe@example.com" in claims["https://example.com/greeting"]

    # One cache entry holds one version of a package: a conflict is named, not guessed.
    conflict = cli("sandbox", "run", str(rendered), "--dependency", f"{PACKAGE}@2.0.0")
    assert conflict.code == 1
    assert (
        f"npm package {PACKAGE} is 2.0.0 for action 'consent-redirect' and 1.0.0 for "
        "module 'greeter'" in conflict.out + conflict.err
    )


# --- the worker: evaluated once per action instance, isolated like the action ------------
def _post_login(units: list[dict[str, Any]]) -> dict[str, Any]:
    trigger = triggers.get("post-login")
    return {"op": trigger.id, "units": units, "event": trigger.build_event({}), "resume": None}


def test_a_module_is_evaluated_once_per_action_instance() -> None:
    """Module-level code runs once per instance and its state persists across executions,
    as the action's own does (https://auth0.com/docs/customize/actions/action-coding-guidelines#actions-modules:
    reuse object instances at the module, singleton pattern)."""
    action = {
        "name": "counts",
        "code": """
const greeter = require('actions:greeter');
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/evaluations', greeter.evaluations());
};
""",
        "filename": "counts.js",
        "secrets": {},
        "modules": [{"name": "greeter", "code": GREETER, "secrets": {"GREETING": "Hi"}}],
    }
    with SandboxPool(1) as pool:
        seen = [pool.call(_post_login([action])).result or {} for _ in range(3)]  # one warm worker
    assert [r["id_token_claims"]["https://example.com/evaluations"] for r in seen] == [1, 1, 1]
    assert [r["status"] for r in seen] == ["completed"] * 3


def test_module_code_cannot_read_the_host_nor_reach_another_action() -> None:
    """A module is untrusted code in its action's worker: no host file, no environment,
    and another action of the same login cannot load it or read its secrets."""
    probe = """
const fs = require('fs');
const attempt = (fn) => { try { fn(); return 'read'; } catch (err) { return 'refused'; } };
module.exports = {
  host: () => [
    attempt(() => fs.readFileSync('/etc/passwd')),
    attempt(() => fs.readdirSync(process.env.HOME || '/root')),
  ],
  env: () => Object.keys(process.env).sort(),
};
"""
    first = {
        "name": "holder",
        "code": """
const probe = require('actions:probe');
exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/host', probe.host());
  api.idToken.setCustomClaim('https://example.com/env', probe.env());
};
""",
        "filename": "holder.js",
        "secrets": {},
        "modules": [{"name": "probe", "code": probe, "secrets": {"TOKEN": "module-secret-1"}}],
    }
    second = {
        "name": "other",
        "code": """
exports.onExecutePostLogin = async (event, api) => {
  let outcome;
  try { outcome = require('actions:probe').env(); } catch (err) { outcome = err.code; }
  api.idToken.setCustomClaim('https://example.com/other', outcome);
};
""",
        "filename": "other.js",
        "secrets": {},
    }
    with SandboxPool(1) as pool:
        reply = pool.call(_post_login([first, second]))
    assert reply.result is not None, reply.failure
    claims = reply.result["id_token_claims"]
    assert claims["https://example.com/host"] == ["refused", "refused"]
    assert claims["https://example.com/env"] == ["TZ"]
    assert claims["https://example.com/other"] == "MODULE_NOT_FOUND"
    assert "module-secret-1" not in json.dumps(reply.result)


# --- the local tenant: the pinned version runs in a real login ----------------------------
@pytest.fixture
def tenant() -> Iterator[FlowTenant]:
    served = FlowTenant()
    try:
        yield served
    finally:
        served.close()


def _wait_built(tenant: FlowTenant, action_id: str) -> None:
    deadline = time.monotonic() + 30
    while tenant.api.get(f"/actions/actions/{action_id}").json().get("status") != "built":
        assert time.monotonic() < deadline, "the action never built"
        time.sleep(0.02)


def _login_greeting(tenant: FlowTenant, email: str, *, signup: bool) -> str:
    """Sign up (or in) through /authorize and Universal Login; the ID token's greeting claim."""
    tx = tenant.login_transaction(scope="openid email", response_type="code")
    form = {"tx": tx, "email": email, "password": "Sup3r-secret-passw0rd"}
    if signup:
        done = tenant.web.post("/u/signup", data={**form, "ulp-terms_accepted": "true"})
    else:
        done = tenant.web.post("/u/login", data=form)
    assert done.status_code == 302, done.text
    arrived = urlsplit(done.headers["location"])
    code = parse_qs(arrived.query)["code"][0]
    answer = tenant.web.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "app",
            "code": code,
            "redirect_uri": APP,
        },
    )
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["id_token"], options={"verify_signature": False})
    return str(claims["https://example.com/greeting"])


def test_a_login_runs_the_module_version_the_deployed_action_pins(tenant: FlowTenant) -> None:
    api = tenant.api
    created = api.post(
        "/actions/modules",
        json={
            "name": "greeter",
            "code": GREETER,
            "secrets": [{"name": "GREETING", "value": "Hello"}],
            "publish": True,
        },
    )
    assert created.status_code == 201, created.text
    module = created.json()
    v1 = module["latest_version"]["id"]
    action = api.post(
        "/actions/actions",
        json={
            "name": "greet",
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": GREET_ACTION,
            "modules": [{"module_id": module["id"], "module_version_id": v1}],
        },
    )
    assert action.status_code == 201, action.text
    action_id = action.json()["id"]
    _wait_built(tenant, action_id)
    assert api.post(f"/actions/actions/{action_id}/deploy").status_code == 200
    bound = api.patch(
        "/actions/triggers/post-login/bindings",
        json={"bindings": [{"ref": {"type": "action_id", "value": action_id}}]},
    )
    assert bound.status_code == 200, bound.text

    assert _login_greeting(tenant, "ada@example.com", signup=True) == "Hello, ada@example.com"

    # Version 2 is published: the deployed action still pins version 1.
    changed = api.patch(
        f"/actions/modules/{module['id']}",
        json={
            "code": GREETER.replace("${actions.secrets.GREETING}, ${who}", "${who}: v2"),
        },
    )
    assert changed.status_code == 200, changed.text
    published = api.post(f"/actions/modules/{module['id']}/versions")
    assert published.status_code in (200, 201), published.text
    v2 = published.json()["id"]
    assert _login_greeting(tenant, "ada@example.com", signup=False) == "Hello, ada@example.com"

    # Re-pinned and deployed: the next login runs version 2.
    repinned = api.patch(
        f"/actions/actions/{action_id}",
        json={"modules": [{"module_id": module["id"], "module_version_id": v2}]},
    )
    assert repinned.status_code == 200, repinned.text
    _wait_built(tenant, action_id)
    assert api.post(f"/actions/actions/{action_id}/deploy").status_code == 200
    assert _login_greeting(tenant, "ada@example.com", signup=False) == "ada@example.com: v2"


def test_the_action_test_endpoint_runs_the_draft_with_its_pinned_module(
    tenant: FlowTenant,
) -> None:
    """POST /api/v2/actions/actions/{id}/test runs the draft as a login would
    (https://auth0.com/docs/api/management/v2/actions/post-test-action)."""
    api = tenant.api
    module = api.post(
        "/actions/modules",
        json={
            "name": "greeter",
            "code": GREETER,
            "secrets": [{"name": "GREETING", "value": "Hey"}],
            "publish": True,
        },
    ).json()
    action = api.post(
        "/actions/actions",
        json={
            "name": "greet",
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": GREET_ACTION,
            "modules": [
                {"module_id": module["id"], "module_version_id": module["latest_version"]["id"]}
            ],
        },
    ).json()
    _wait_built(tenant, action["id"])
    ran = api.post(
        f"/actions/actions/{action['id']}/test",
        json={"payload": {"user": {"email": "ada@example.com"}}},
    )
    assert ran.status_code == 200, ran.text
    record = ran.json()["payload"]
    assert record["status"] == "completed", record.get("error")
    greeting = next(
        c for c in record["commands"] if c.get("name") == "https://example.com/greeting"
    )
    assert greeting["value"] == "Hey, ada@example.com"


# --- auth0-actions test ------------------------------------------------------------------
def test_scenarios_run_an_action_with_the_module_it_requires(cli: Any, project: Path) -> None:
    """`test` gives the action the code its module's template renders to."""
    config = project / "tenant.yaml"
    text = config.read_text().replace(
        "    order: 2\n    secrets:\n", "    order: 2\n    modules: [audit]\n    secrets:\n"
    )
    config.write_text(text + "\nmodules:\n  - name: audit\n    template: audit.js.j2\n")
    module = project / "rules_templates" / "audit.js.j2"
    _write(module, "module.exports = {};\n")
    template = project / "rules_templates" / "consent-redirect.js.j2"
    template.write_text("const audit = require('actions:audit');\n" + template.read_text())
    assert cli("render").code == 0
    passed = cli("test", "--env", "local", "-k", "redirect", "--output", "json")
    assert passed.code == 0, passed.out[-2000:]

    # The module really runs: its top-level error fails the cases that run the action
    # (they end in "error"), and only those: the legacy Rule forms do not load it.
    _write(module, "throw new Error('audit module failed to start');\n")
    assert cli("render").code == 0
    failed = cli("test", "--env", "local", "-k", "redirect", "--output", "json")
    assert failed.code == 1
    broken = [c for c in json.loads(failed.out)["cases"] if not c["passed"]]
    assert broken
    assert {c["form"] for c in broken} == {"action"}
    assert all(
        m["actual"] == "error" for c in broken for m in c["mismatches"] if m["path"] == "status"
    )
