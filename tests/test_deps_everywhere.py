"""Declared npm dependencies everywhere an action runs, not only in `auth0-actions test`.

Auth0 installs an action's declared dependencies when it builds the action, and
the action requires them wherever it runs; a package that cannot be installed
fails the build (https://auth0.com/docs/customize/actions/manage-dependencies).
Here: `sandbox run`, the local tenant's build, its login flow and
`POST /api/v2/actions/actions/{id}/test`, all from the content-addressed cache
`test` uses. An application is never sent a stack trace or a path of this
machine (https://community.auth0.com/t/63027: an uncaught error reaches the
app as `access_denied` with the error's message).

npm installs from the loopback registry of tests/test_deps.py: nothing reaches
the internet.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import test_deps
from emulator_support import login_client, management_token
from test_deps import PACKAGE, Registry

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.server import ServerThread
from auth0_actions.sandbox.deps import cache_root

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX paths and permissions")

# test_deps.py's loopback npm registry, and its npm settings (no proxy, no retries).
registry = test_deps.registry
_npm_environment = test_deps._npm_environment

POST_LOGIN = [{"id": "post-login", "version": "v3"}]
PASSWORD = "correct horse battery staple"
APP = "https://app.example.com/callback"
GREET_ACTION = """
exports.onExecutePostLogin = async (event, api) => {
  const greet = require('a0-fixture-greet');
  api.idToken.setCustomClaim('https://example.com/greeting', greet(event.user.email));
};
"""
# A message with a path of this machine, thrown from a nested function (a stack).
SECRET_DIR = "/home/ada/private-project"
THROWING_ACTION = f"""
function readConfig() {{
  throw new Error('cannot open {SECRET_DIR}/config.json');
}}
exports.onExecutePostLogin = async (event, api) => {{
  readConfig();
}};
"""


# --- sandbox run ---------------------------------------------------------------------
def _write(path: Path, code: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code, encoding="utf-8")
    return path


def test_sandbox_run_installs_a_dependency_given_on_the_command_line(
    cli: Any, tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a project the packages go to the user's cache, and the action requires them."""
    monkeypatch.setenv("npm_config_registry", registry.url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    loose = tmp_path / "loose"
    loose.mkdir()
    monkeypatch.chdir(loose)
    action = _write(loose / "greet.js", GREET_ACTION)

    run = cli("sandbox", "run", str(action), "--dependency", f"{PACKAGE}@1.0.0")
    assert run.code == 0, run.out + run.err
    result = json.loads(run.out)
    assert result["status"] == "completed", result.get("error")
    assert result["id_token_claims"]["https://example.com/greeting"].startswith("hello, ")
    entries = (tmp_path / "cache" / "auth0-actions" / "deps").iterdir()
    assert [e.name for e in entries if len(e.name) == 64]  # one content-addressed entry

    # Without the option the package is missing, as on Auth0 without the declaration.
    bare = cli("sandbox", "run", str(action))
    assert bare.code == 1
    assert "Cannot find module 'a0-fixture-greet'" in json.loads(bare.out)["error"]["message"]


def test_sandbox_run_uses_what_tenant_yaml_declares_for_a_rendered_action(
    cli: Any, project: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FILE under actions/<env>/ (or --action NAME) brings that action's declared set,
    installed into the project's cache, the one `auth0-actions test` uses."""
    config = project / "tenant.yaml"
    text = config.read_text()
    anchor = "    order: 2\n    secrets:\n"
    assert text.count(anchor) == 1
    config.write_text(
        text.replace(
            anchor,
            f'    order: 2\n    dependencies: [{{name: {PACKAGE}, version: "1.0.0"}}]\n'
            "    secrets:\n",
        )
    )
    monkeypatch.setenv("npm_config_registry", registry.url)
    rendered = _write(project / "actions" / "local" / "consent-redirect.js", GREET_ACTION)

    run = cli("sandbox", "run", str(rendered))
    assert run.code == 0, run.out + run.err
    assert json.loads(run.out)["status"] == "completed"
    assert [p.name for p in cache_root(project).iterdir() if len(p.name) == 64]

    loose = _write(project / "scratch.js", GREET_ACTION)
    named = cli("sandbox", "run", str(loose), "--action", "consent-redirect", "-o", "text")
    assert named.code == 0, named.out + named.err
    assert "status: completed" in named.out

    unknown = cli("sandbox", "run", str(loose), "--action", "no-such-action")
    assert unknown.code == 1
    assert "no action named 'no-such-action'" in unknown.out + unknown.err


def test_sandbox_run_names_a_dependency_that_cannot_be_installed(
    cli: Any, tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("npm_config_registry", registry.url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    action = _write(tmp_path / "greet.js", GREET_ACTION)
    run = cli("sandbox", "run", str(action), "--dependency", f"{PACKAGE}@9.9.9")
    assert run.code == 1
    assert f"{PACKAGE}@9.9.9" in run.out + run.err
    assert "Traceback" not in run.out + run.err

    malformed = cli("sandbox", "run", str(action), "--dependency", "no-version")
    assert malformed.code == 1
    assert "NAME@VERSION" in malformed.out + malformed.err


# --- the local tenant ------------------------------------------------------------------
class Served:
    def __init__(self, app: Emulator, base: str) -> None:
        self.app = app
        self.base = base
        token = management_token(app, base)
        self.api = httpx.Client(
            base_url=f"{base}/api/v2", headers={"authorization": f"Bearer {token}"}, timeout=60
        )

    def create(self, name: str, code: str, dependencies: list[dict[str, str]]) -> str:
        created = self.api.post(
            "/actions/actions",
            json={
                "name": name,
                "supported_triggers": POST_LOGIN,
                "code": code,
                "dependencies": dependencies,
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "pending"
        return str(created.json()["id"])

    def settled(self, path: str, field: str = "status") -> dict[str, Any]:
        """GET path until its status leaves pending/building (npm runs in the background)."""
        deadline = time.monotonic() + 120
        while True:
            body: dict[str, Any] = self.api.get(path).json()
            value = body
            for key in field.split("."):
                value = value.get(key) or {}
            if value not in ("pending", "building", {}) or time.monotonic() > deadline:
                return body
            time.sleep(0.05)

    def deploy_and_bind(self, action_id: str) -> None:
        assert self.api.post(f"/actions/actions/{action_id}/deploy").status_code == 200
        got = self.settled(f"/actions/actions/{action_id}", "deployed_version.status")
        assert got["deployed_version"]["status"] == "built", got
        bound = self.api.patch(
            "/actions/triggers/post-login/bindings",
            json={"bindings": [{"ref": {"type": "action_id", "value": action_id}}]},
        )
        assert bound.status_code == 200, bound.text

    def user(self, email: str) -> None:
        made = self.api.post(
            "/users",
            json={
                "connection": "Username-Password-Authentication",
                "email": email,
                "password": PASSWORD,
            },
        )
        assert made.status_code == 201, made.text

    def login(self, email: str) -> httpx.Response:
        client = httpx.Client(base_url=self.base, follow_redirects=False, timeout=60)
        page = client.get(
            "/authorize",
            params={"client_id": "app", "redirect_uri": APP, "state": "s1", "scope": "openid"},
        )
        tx = page.text.split('name="tx" value="')[1].split('"')[0]
        return client.post("/u/login", data={"tx": tx, "email": email, "password": PASSWORD})


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A local tenant with a state directory: its builds install into <state>/deps."""
    app = Emulator(state_dir=tmp_path / "state")
    login_client(app, [APP])
    server = ServerThread(app).start()
    try:
        yield Served(app, server.base_url)
    finally:
        server.stop()
        app.close()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_the_local_tenant_builds_dependencies_and_its_flows_require_them(
    served: Served, registry: Registry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("npm_config_registry", registry.url)
    action_id = served.create("greeter", GREET_ACTION, [{"name": PACKAGE, "version": "1.0.0"}])
    built = served.settled(f"/actions/actions/{action_id}")
    assert built["status"] == "built", built
    assert (tmp_path / "state" / "deps").is_dir()

    # POST /actions/actions/{id}/test runs the draft with its dependencies.
    tested = served.api.post(
        f"/actions/actions/{action_id}/test",
        json={"payload": {"user": {"email": "ada@example.com"}}},
    ).json()["payload"]
    assert tested["status"] == "completed", tested
    assert {"type": "idToken.setCustomClaim", "name": "https://example.com/greeting"}.items() <= (
        tested["commands"][0].items()
    )
    assert tested["commands"][0]["value"] == "hello, ada@example.com"

    # The login flow runs the bound, deployed version with them too.
    served.deploy_and_bind(action_id)
    served.user("grace@example.com")
    done = served.login("grace@example.com")
    assert done.status_code == 302
    query = parse_qs(urlsplit(done.headers["location"]).query)
    assert "error" not in query, query
    tokens = httpx.post(
        f"{served.base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "client_id": "app",
            "redirect_uri": APP,
        },
    ).json()
    assert _claims(tokens["id_token"])["https://example.com/greeting"] == (
        "hello, grace@example.com"
    )


def test_a_dependency_that_cannot_be_installed_fails_the_build(
    served: Served, registry: Registry, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("npm_config_registry", registry.url)
    action_id = served.create("broken", GREET_ACTION, [{"name": PACKAGE, "version": "9.9.9"}])
    failed = served.settled(f"/actions/actions/{action_id}")
    assert failed["status"] == "failed", failed

    deployed = served.api.post(f"/actions/actions/{action_id}/deploy").json()
    version = served.settled(f"/actions/actions/{action_id}/versions/{deployed['id']}")
    assert version["status"] == "failed"
    message = version["errors"][0]["msg"]
    assert version["errors"][0]["id"] == "build_failed"
    assert f"{PACKAGE}@9.9.9" in message
    assert str(tmp_path) not in message

    # Such a version is never deployed: not live, not bindable, not re-deployable.
    action = served.api.get(f"/actions/actions/{action_id}").json()
    assert "deployed_version" not in action
    bound = served.api.patch(
        "/actions/triggers/post-login/bindings",
        json={"bindings": [{"ref": {"type": "action_id", "value": action_id}}]},
    )
    assert bound.status_code == 400
    again = served.api.post(f"/actions/actions/{action_id}/versions/{deployed['id']}/deploy")
    assert again.status_code == 400
    assert again.json()["message"] == "Unable to deploy a version that failed to build."

    tested = served.api.post(f"/actions/actions/{action_id}/test", json={"payload": {}}).json()[
        "payload"
    ]
    assert tested["status"] == "error"
    assert f"{PACKAGE}@9.9.9" in tested["error"]["message"]

    # Fixing the declaration builds again.
    fixed = served.api.patch(
        f"/actions/actions/{action_id}",
        json={"dependencies": [{"name": PACKAGE, "version": "1.0.0"}]},
    )
    assert fixed.status_code == 200
    assert served.settled(f"/actions/actions/{action_id}")["status"] == "built"


def test_an_action_that_throws_gives_the_app_no_stack_and_no_path(served: Served) -> None:
    """access_denied with the error's first line (KB 63027), never its stack or a host
    path; the detail goes to the action's log."""
    action_id = served.create("thrower", THROWING_ACTION, [])
    assert served.settled(f"/actions/actions/{action_id}")["status"] == "built"
    served.deploy_and_bind(action_id)
    served.user("alan@example.com")

    denied = served.login("alan@example.com")
    assert denied.status_code == 302
    location = denied.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s1"]
    description = query["error_description"][0]
    assert description == "cannot open config.json"
    for leak in (SECRET_DIR, "/home/", "readConfig", " at ", "\n"):
        assert leak not in location

    entry = served.app.login_flow.action_log[-1]
    assert entry["action"] == "thrower"
    assert "cannot open config.json" in entry["message"]
    assert "readConfig" in entry["stack"]
    assert SECRET_DIR not in json.dumps(entry)

    tested = served.api.post(f"/actions/actions/{action_id}/test", json={"payload": {}}).json()[
        "payload"
    ]
    assert tested["status"] == "error"
    assert tested["error"]["message"] == "cannot open config.json"
    assert "readConfig" in tested["error"]["stack"]
    assert SECRET_DIR not in json.dumps(tested)
