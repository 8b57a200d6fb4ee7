"""The OS sandbox around every worker (issue 11, item 1), and how a weaker level is named.

Each wall is checked from inside: a Node started with exactly the command
:meth:`Isolation.launch` builds runs a small script and reports what it saw.
The walls are checked twice, as shipped (Node's permission model on) and with
the permission model stripped from the command, so that the OS sandbox alone
is shown to hold: the permission model is documented as no protection
against malicious code, and it hides /proc and child processes, which is
where the OS limits are visible.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.node import selected_node
from auth0_actions.sandbox import deps as deps_module
from auth0_actions.sandbox.isolation import (
    ADDRESS_SPACE_OVERHEAD_MB,
    API_BLOCK,
    BUBBLEWRAP,
    HARNESS_DIR,
    LEVEL_ENV,
    NAMESPACE,
    NETNS,
    PERMISSION_MODEL,
    REQUIRE_ENV,
    TRIGGERS_DIR,
    Isolation,
    IsolationError,
    Launch,
    Tools,
    detect_isolation,
    ensure_required_level,
    probe_isolation,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux namespaces")

REPO = Path(__file__).resolve().parents[1]
MEMORY_MB = 128
SANDBOX_UIDS = range(2_000_000_000, 2_100_000_000)
CANARY = "canary-5d1e0c"


@pytest.fixture(scope="module")
def isolation() -> Isolation:
    found = detect_isolation()
    if not found.full:
        if os.environ.get(REQUIRE_ENV) or shutil.which("bwrap"):
            # ./dev test installs bubblewrap and requires it: a weaker level is a failure.
            pytest.fail(f"the OS sandbox did not start here: {found.reason}")
        pytest.skip(f"no OS sandbox on this machine: {found.reason}")
    return found


@pytest.fixture(scope="module")
def node() -> Path:
    return selected_node().path


@pytest.fixture
def deps_dir(tmp_path: Path) -> Path:
    """A dependency directory as the cache publishes it (0755/0644), with a canary file."""
    directory = tmp_path / "deps"
    (directory / "node_modules" / "left-pad").mkdir(parents=True)
    (directory / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1;\n")
    (directory / "canary.txt").write_text(CANARY)
    # As the dependency cache leaves an entry (see the last test).
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


def launch_for(
    isolation: Isolation, node: Path, deps: Path | None = None, cpu_seconds: int = 60
) -> Launch:
    return isolation.launch(
        node, harness=HARNESS_DIR, deps=deps, memory_mb=MEMORY_MB, cpu_seconds=cpu_seconds
    )


def script_argv(launch: Launch, script: str, *, permission: bool) -> list[str]:
    """launch.argv with ``-e script`` in place of worker.js, optionally without the
    permission model (to test the OS layer alone)."""
    assert launch.argv[-1] == f"{launch.harness_dir}/worker.js"
    argv = launch.argv[:-1]
    if not permission:
        argv = [a for a in argv if a != "--permission" and not a.startswith("--allow-fs-")]
    return [*argv, "-e", script]


def run_script(launch: Launch, script: str, *, permission: bool = True) -> dict[str, Any]:
    done = subprocess.run(
        script_argv(launch, script, permission=permission),
        env=launch.env,
        cwd=launch.cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


# Tries only what it reports; every attempt is caught, so the script always
# prints what it saw.
WALLS = """
const fs = require('fs'), os = require('os');
const attempt = (f) => {
  try { return f(); } catch (e) { return 'refused:' + (e.code || e.message); }
};
const paths = PATHS;
const seen = {
  uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), pid: process.pid,
  hostname: os.hostname(), nets: Object.keys(os.networkInterfaces()),
  env: process.env, root: attempt(() => fs.readdirSync('/').sort()),
  procs: attempt(() => fs.readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p))),
  reads: {}, writes: {},
};
for (const p of paths.read) seen.reads[p] = attempt(() => String(fs.readFileSync(p)).slice(0, 40));
for (const p of paths.list) seen.reads[p] = attempt(() => fs.readdirSync(p).length);
for (const p of paths.write) {
  seen.writes[p] = attempt(() => { fs.writeFileSync(p, 'x'); return 'written'; });
}
console.log(JSON.stringify(seen));
"""


def walls_script(deps: bool) -> str:
    read = ["/etc/passwd", "/etc/hostname", "/proc/1/environ", str(REPO / "tenant.yaml")]
    read += [str(REPO / ".auth0-local" / "tenant.db"), str(Path.home() / ".bashrc")]
    tmp = tempfile.gettempdir()
    listing = [str(REPO), "/work", "/home", "/root", tmp, str(REPO / ".auth0-local")]
    write = ["/x", f"{tmp}/x", "/dev/shm/x", "/sandbox/x", "/sandbox/harness/x", "/proc/x"]  # noqa: S108
    write += [str(HARNESS_DIR / "x"), str(REPO / "x")]
    if deps:
        write.append("/sandbox/deps/x")
    paths = json.dumps({"read": read, "list": listing, "write": write})
    return WALLS.replace("PATHS", paths)


# --- the probe -----------------------------------------------------------------


def test_the_probe_picks_bubblewrap_here(isolation: Isolation) -> None:
    assert isolation.level == BUBBLEWRAP
    assert isolation.full
    assert isolation.reason is None
    assert isolation.network == NETNS
    assert isolation.description.startswith("OS sandbox:")
    assert isolation.summary == f"isolation: bubblewrap ({isolation.description})"


def test_launch_builds_a_bubblewrap_sandbox_with_only_node_libraries_harness_and_deps(
    isolation: Isolation, node: Path, deps_dir: Path
) -> None:
    launch = launch_for(isolation, node, deps_dir)
    argv = launch.argv
    assert Path(argv[0]).name == "bwrap"
    sandbox = argv[: argv.index("--")]
    for option in (
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ):
        assert option in sandbox
    assert ("--unshare-user" in sandbox) == (os.geteuid() != 0)
    assert sandbox[sandbox.index("--cap-drop") + 1] == "ALL"
    # Nothing writable is mounted, and nothing of the host but what is named.
    for writable in ("--bind", "--dev-bind", "--tmpfs", "--bind-try", "--dev-bind-try"):
        assert writable not in sandbox
    binds = {sandbox[i + 2]: sandbox[i + 1] for i, a in enumerate(sandbox) if a == "--ro-bind"}
    assert binds.pop("/sandbox/node") == str(node.resolve())
    assert binds.pop("/sandbox/harness") == str(HARNESS_DIR)
    # The triggers' JS halves: harness code, read-only like it.
    assert binds.pop("/sandbox/triggers") == str(TRIGGERS_DIR)
    assert binds.pop("/sandbox/deps") == str(deps_dir.resolve())
    for inside in [p for p in binds if p.startswith("/sandbox/bin/")]:
        assert Path(binds.pop(inside)).name in ("prlimit", "setpriv")
    # What is left is the loader and the shared libraries, each a file bound at
    # the path the loader asks for.
    assert binds
    for inside, host in binds.items():
        assert ".so" in Path(inside).name
        assert Path(host).is_file()
        assert Path(host).resolve() == Path(inside).resolve()
    # Node's flags: the permission model stays as a second layer.
    node_at = len(argv) - 1 - argv[::-1].index("/sandbox/node")
    assert argv[node_at + 1 :] == [
        "--permission",
        "--allow-fs-read=/sandbox/harness",
        "--allow-fs-read=/sandbox/triggers",
        "--allow-fs-read=/sandbox/deps",
        "--disable-wasm-trap-handler",
        "--zero-fill-buffers",
        "/sandbox/harness/worker.js",
    ]
    assert launch.env == {"TZ": "UTC", "MALLOC_ARENA_MAX": "2"}
    assert (launch.harness_dir, launch.deps_dir) == ("/sandbox/harness", "/sandbox/deps")
    assert launch_for(isolation, node).deps_dir is None


def test_each_worker_gets_a_uid_of_its_own_as_root(isolation: Isolation, node: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("as a non-root user the sandbox is uid 65534 in its own user namespace")
    uids = set()
    for _ in range(5):
        argv = launch_for(isolation, node).argv
        uids.add(int(argv[argv.index("--reuid") + 1]))
    assert len(uids) == 5
    assert all(uid in SANDBOX_UIDS for uid in uids)


# --- the walls, seen from inside -------------------------------------------------


@pytest.mark.parametrize("permission", [True, False], ids=["as-shipped", "os-layer-alone"])
def test_a_sandboxed_node_sees_no_host(
    isolation: Isolation,
    node: Path,
    deps_dir: Path,
    permission: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH0_ACTIONS_CANARY", CANARY)
    harness_before = sorted(p.name for p in HARNESS_DIR.iterdir())
    seen = run_script(
        launch_for(isolation, node, deps_dir), walls_script(True), permission=permission
    )

    expected_uid = 65534 if os.geteuid() != 0 else seen["uid"]
    assert seen["uid"] == expected_uid
    assert seen["uid"] != 0
    assert seen["uid"] == 65534 or seen["uid"] in SANDBOX_UIDS
    assert seen["gid"] == seen["uid"]
    assert seen["groups"] in ([], [seen["gid"]])
    assert seen["hostname"] == "sandbox"
    assert seen["nets"] == ["lo"]
    assert seen["pid"] <= 3  # bwrap's init is pid 1 of the sandbox's own pid namespace
    # bwrap always sets PWD after its chdir; nothing else from the host.
    assert set(seen["env"]) <= {"TZ", "PWD", "MALLOC_ARENA_MAX"}
    assert seen["env"]["TZ"] == "UTC"
    assert CANARY not in json.dumps(seen["env"])
    for path, result in seen["reads"].items():
        assert str(result).startswith("refused:"), (path, result)
    for path, result in seen["writes"].items():
        assert str(result).startswith("refused:"), (path, result)
    assert sorted(p.name for p in HARNESS_DIR.iterdir()) == harness_before
    assert sorted(p.name for p in deps_dir.iterdir()) == ["canary.txt", "node_modules"]
    if permission:
        assert str(seen["procs"]).startswith("refused:")  # /proc is not an allowed read
    else:
        assert seen["root"] == ["dev", "lib", "lib64", "proc", "sandbox"]
        assert set(seen["procs"]) <= {"1", "2", "3"}
        assert str(seen["pid"]) in seen["procs"]


def test_the_harness_and_the_dependencies_are_readable_inside(
    isolation: Isolation, node: Path, deps_dir: Path
) -> None:
    script = (
        "const fs = require('fs');"
        "console.log(JSON.stringify({"
        " canary: fs.readFileSync('/sandbox/deps/canary.txt', 'utf8'),"
        " leftPad: require('/sandbox/deps/node_modules/left-pad'),"
        " harness: fs.readFileSync('/sandbox/harness/worker.js', 'utf8').length }))"
    )
    seen = run_script(launch_for(isolation, node, deps_dir), script)
    assert seen == {
        "canary": CANARY,
        "leftPad": 1,
        "harness": len((HARNESS_DIR / "worker.js").read_text(encoding="utf-8")),
    }


def test_the_limits_are_in_force_inside(isolation: Isolation, node: Path) -> None:
    script = (
        "const rows = require('fs').readFileSync('/proc/self/limits', 'utf8').split('\\n');"
        "const limit = (name) => rows.find((r) => r.startsWith(name)).slice(26).trim()"
        "  .split(/\\s+/).slice(0, 2);"
        "const s = require('fs').readFileSync('/proc/self/status', 'utf8');"
        "const caps = s.split('\\n').filter((l) => /^(Cap|NoNewPrivs)/.test(l));"
        "console.log(JSON.stringify({ as: limit('Max address space'), cpu: limit('Max cpu time'),"
        " fsize: limit('Max file size'), nproc: limit('Max processes'),"
        " core: limit('Max core file size'), nofile: limit('Max open files'), caps }))"
    )
    seen = run_script(launch_for(isolation, node, cpu_seconds=7), script, permission=False)
    address_space = str((MEMORY_MB + ADDRESS_SPACE_OVERHEAD_MB) * 1024 * 1024)
    assert seen["as"] == [address_space, address_space]
    assert seen["cpu"] == ["7", "7"]
    assert seen["fsize"] == ["0", "0"]
    assert seen["nproc"] == ["64", "64"]
    assert seen["core"] == ["0", "0"]
    assert seen["nofile"] == ["256", "256"]
    caps = dict(line.split(":\t") for line in seen["caps"])
    for name in ("CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"):
        assert int(caps[name], 16) == 0, name
    assert caps["NoNewPrivs"] == "1"


def test_the_process_limit_stops_a_fork_bomb(isolation: Isolation, node: Path) -> None:
    """OS layer alone: even with child processes allowed, no more than 64 tasks."""
    script = (
        "const cp = require('child_process'); const kids = []; let error = null;"
        "for (let i = 0; i < 80; i++) {"
        "  const kid = cp.spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);"
        "  kid.on('error', (e) => { error = error || e.code; }); kids.push(kid); }"
        "setTimeout(() => { const started = kids.filter((k) => k.pid).length;"
        "  for (const k of kids) { try { k.kill('SIGKILL'); } catch {} }"
        "  console.log(JSON.stringify({ started, error })); process.exit(0); }, 1500);"
    )
    seen = run_script(launch_for(isolation, node), script, permission=False)
    assert seen["error"] == "EAGAIN"
    assert seen["started"] < 64


def test_the_cpu_limit_kills_a_busy_worker(isolation: Isolation, node: Path) -> None:
    launch = launch_for(isolation, node, cpu_seconds=1)
    started = time.monotonic()
    done = subprocess.run(
        script_argv(launch, "for (;;) {}", permission=True),
        env=launch.env,
        cwd=launch.cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert time.monotonic() - started < 10


def test_the_address_space_cap_refuses_a_huge_buffer(isolation: Isolation, node: Path) -> None:
    script = (
        "let result;"
        "try { Buffer.alloc(3 * 1024 ** 3); result = 'allocated'; }"
        "catch (e) { result = 'refused:' + (e.code || e.name); }"
        "console.log(JSON.stringify({ result }))"
    )
    seen = run_script(launch_for(isolation, node), script)
    assert seen["result"].startswith("refused:")


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            line = next(ln for ln in status.splitlines() if ln.startswith("Uid:"))
            if int(line.split()[1]) == uid:
                found.append(int(entry.name))
    return found


def test_the_sandbox_dies_with_its_parent(isolation: Isolation, node: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the sandbox uid is only visible from the host as root")
    launch = launch_for(isolation, node)
    uid = int(launch.argv[launch.argv.index("--reuid") + 1])
    process = subprocess.Popen(
        script_argv(launch, "console.log('ready'); setInterval(() => {}, 1000);", permission=True),
        env=launch.env,
        cwd=launch.cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        assert _processes_of(uid)
        process.send_signal(signal.SIGKILL)  # bwrap itself, not the sandbox
        process.wait(timeout=5)
        deadline = time.monotonic() + 5
        while _processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_of(uid) == []
    finally:
        for pid in _processes_of(uid):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream:
                stream.close()


def _python_for_nobody() -> str | None:
    """A Python 3.11+ that uid 65534 can run (a venv's may live under /root)."""
    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3"):
        done = subprocess.run(
            [
                "setpriv",
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                candidate,
                "-c",
                "import sys; sys.exit(sys.version_info < (3, 11))",
            ],
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            return candidate
    return None


@pytest.fixture
def world_readable_copy() -> Iterator[Path]:
    """The package and Node where uid 65534 can read them (pytest's tmp dirs are 0700)."""
    directory = Path(tempfile.mkdtemp(prefix="auth0-actions-isolation-"))
    try:
        directory.chmod(0o755)
        shutil.copytree(REPO / "deploy" / "auth0_actions", directory / "auth0_actions")
        node = selected_node().path.resolve()
        try:
            os.link(node, directory / "node")
        except OSError:
            shutil.copy2(node, directory / "node")
        for path in [directory, *directory.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
            else:
                path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_as_a_non_root_user_the_sandbox_is_uid_65534_in_its_own_user_namespace(
    world_readable_copy: Path,
) -> None:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to become an unprivileged user for the test")
    python = _python_for_nobody()
    if python is None:
        pytest.skip("no Python 3.11+ that uid 65534 can run")
    copy = world_readable_copy
    child = f"""
import json, subprocess
from pathlib import Path
from auth0_actions.sandbox.isolation import HARNESS_DIR, probe_isolation
node = Path({str(copy / "node")!r})
found = probe_isolation(node)
print(json.dumps({{"level": found.level, "reason": found.reason}}))
if found.full:
    launch = found.launch(node, harness=HARNESS_DIR, deps=None, memory_mb=128, cpu_seconds=60)
    argv = [a for a in launch.argv[:-1] if a != "--permission" and not a.startswith("--allow-fs")]
    script = {FORK_BOMB!r}
    done = subprocess.run([*argv, "-e", script], env=launch.env, cwd=launch.cwd,
                          capture_output=True, text=True, timeout=30)
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr)
"""
    done = subprocess.run(
        [
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            python,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(copy)!r})\n{child}",
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    probed = json.loads(lines[0])
    if probed["level"] != BUBBLEWRAP:
        pytest.skip(f"unprivileged user namespaces are not allowed here: {probed['reason']}")
    seen = json.loads(lines[1])
    assert seen["uid"] == 65534
    assert seen["nproc"] == "64"
    assert seen["error"] == "EAGAIN"
    assert seen["started"] < 64


FORK_BOMB = (
    "const cp = require('child_process'); const kids = []; let error = null;"
    "for (let i = 0; i < 80; i++) {"
    "  const kid = cp.spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);"
    "  kid.on('error', (e) => { error = error || e.code; }); kids.push(kid); }"
    "const limits = require('fs').readFileSync('/proc/self/limits', 'utf8');"
    "const nproc = limits.split('\\n').find((r) => r.startsWith('Max processes'))"
    "  .slice(26).trim().split(/\\s+/)[0];"
    "setTimeout(() => { const started = kids.filter((k) => k.pid).length;"
    "  for (const k of kids) { try { k.kill('SIGKILL'); } catch {} }"
    "  console.log(JSON.stringify({ uid: process.getuid(), nproc, started, error }));"
    "  process.exit(0); }, 1500);"
)


# --- weaker levels, and refusing them ---------------------------------------------


def _without(*names: str) -> Any:
    def which(name: str) -> str | None:
        return None if name in names else shutil.which(name)

    return which


def test_without_bwrap_a_weaker_level_runs_and_says_why(node: Path) -> None:
    found = probe_isolation(node, environ={}, which=_without("bwrap"))
    assert found.level in (NAMESPACE, PERMISSION_MODEL)
    assert not found.full
    assert found.reason == (
        "the OS sandbox could not start: bwrap not found on PATH (install Debian's bubblewrap)"
    )
    assert "no OS sandbox" in found.description
    assert found.summary.endswith(f"; weaker than bubblewrap: {found.reason}")

    weakest = probe_isolation(node, environ={}, which=_without("bwrap", "unshare"))
    assert (weakest.level, weakest.network) == (PERMISSION_MODEL, API_BLOCK)
    assert "bwrap not found" in (weakest.reason or "")
    assert "no network namespace" in weakest.description


@pytest.mark.parametrize(
    ("value", "level"),
    [("permission-model", PERMISSION_MODEL), ("namespace", NAMESPACE)],
)
def test_the_environment_can_pick_a_weaker_level_on_purpose(
    node: Path, value: str, level: str
) -> None:
    if level == NAMESPACE and not shutil.which("unshare"):
        pytest.skip("no unshare here")
    found = probe_isolation(node, environ={LEVEL_ENV: value})
    assert found.level == level
    assert found.reason is not None
    assert LEVEL_ENV in found.reason


def test_an_unknown_level_in_the_environment_is_named_and_not_trusted(node: Path) -> None:
    found = probe_isolation(node, environ={LEVEL_ENV: "bubblewarp"})
    assert found.level == PERMISSION_MODEL
    assert found.reason == (
        f"{LEVEL_ENV}='bubblewarp' is not one of bubblewrap, network-namespace, permission-model"
    )


@pytest.mark.parametrize("level", [NAMESPACE, PERMISSION_MODEL])
def test_weaker_levels_still_apply_the_permission_model_and_limits(node: Path, level: str) -> None:
    if level == NAMESPACE and not shutil.which("unshare"):
        pytest.skip("no unshare here")
    weaker = probe_isolation(node, environ={LEVEL_ENV: level})
    assert weaker.level == level
    launch = launch_for(weaker, node)
    assert launch.harness_dir == str(HARNESS_DIR)
    assert launch.argv[-7:] == [
        str(node),
        "--permission",
        f"--allow-fs-read={HARNESS_DIR}",
        f"--allow-fs-read={TRIGGERS_DIR}",
        "--disable-wasm-trap-handler",
        "--zero-fill-buffers",
        f"{HARNESS_DIR}/worker.js",
    ]
    seen = run_script(
        launch,
        "const os = require('os');"
        "let read; try { require('fs').readFileSync('/etc/passwd'); read = 'read'; }"
        "catch (e) { read = e.code; }"
        "console.log(JSON.stringify({ read, nets: Object.keys(os.networkInterfaces()) }))",
    )
    assert seen["read"] == "ERR_ACCESS_DENIED"
    if level == NAMESPACE:
        assert set(seen["nets"]) <= {"lo"}  # its own namespace: loopback at most


def test_a_required_level_refuses_anything_weaker(
    node: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weaker = probe_isolation(node, environ={}, which=_without("bwrap"))
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    ensure_required_level(weaker)  # not required: runs, named as weaker

    with pytest.raises(IsolationError) as refused:
        ensure_required_level(weaker, require=True)
    message = str(refused.value)
    assert f"would use {weaker.level}, not bubblewrap" in message
    assert "bwrap not found on PATH" in message
    assert "apt-get install bubblewrap" in message
    assert refused.value.exit_code == 1

    for value in ("1", "true", "yes"):
        monkeypatch.setenv(REQUIRE_ENV, value)
        with pytest.raises(IsolationError):
            ensure_required_level(weaker)
    monkeypatch.setenv(REQUIRE_ENV, "0")
    ensure_required_level(weaker)


def test_the_full_level_satisfies_the_requirement(
    isolation: Isolation, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    ensure_required_level(isolation, require=True)


# --- the CLI: doctor, test, sandbox run ------------------------------------------


def run_cli(
    *args: str, cwd: Path, level: str | None = None, require: bool = False
) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process, so its isolation is probed under this environment."""
    env = {k: v for k, v in os.environ.items() if k not in (LEVEL_ENV, REQUIRE_ENV)}
    if level is not None:
        env[LEVEL_ENV] = level
    if require:
        env[REQUIRE_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-m", "auth0_actions.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def action_file(tmp_path: Path) -> Path:
    path = tmp_path / "probe.js"
    path.write_text(
        "exports.onExecutePostLogin = async (event, api) => {\n"
        f"  console.log('{CANARY}');\n"
        "  api.user.setUserMetadata('seen', true);\n"
        "};\n"
    )
    return path


def test_doctor_names_the_full_level(isolation: Isolation, tmp_path: Path) -> None:
    text = run_cli("doctor", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "isolation: bubblewrap\n" in text.stdout
    assert isolation.description in text.stdout
    report = json.loads(run_cli("doctor", "-o", "json", cwd=tmp_path).stdout)
    assert report["ok"] is True
    assert report["isolation"]["level"] == BUBBLEWRAP
    assert report["isolation"]["full"] is True
    assert report["isolation"]["reason"] is None


def test_doctor_names_a_weaker_level_why_and_what_would_refuse_it(tmp_path: Path) -> None:
    text = run_cli("doctor", cwd=tmp_path, level=PERMISSION_MODEL)
    assert text.returncode == 0, text.stderr
    assert "isolation: permission-model (weaker than bubblewrap)" in text.stdout
    assert f"why: {LEVEL_ENV}=permission-model picks a weaker level on purpose" in text.stdout
    assert f"--require-isolation (or {REQUIRE_ENV}=1) would refuse" in text.stdout
    refusing = run_cli("doctor", cwd=tmp_path, level=PERMISSION_MODEL, require=True)
    assert f"refused: {REQUIRE_ENV} is set, so test and sandbox run exit 1" in refusing.stdout

    required = run_cli("doctor", "-o", "json", cwd=tmp_path, level=PERMISSION_MODEL, require=True)
    assert required.returncode == 0  # doctor diagnoses; test and sandbox run refuse
    report = json.loads(required.stdout)
    assert report["isolation"]["level"] == PERMISSION_MODEL
    assert report["isolation"]["required"] is True
    assert LEVEL_ENV in report["isolation"]["reason"]


@pytest.mark.parametrize("how", ["option", "environment"])
def test_sandbox_run_refuses_a_weaker_level_before_running_anything(
    tmp_path: Path, action_file: Path, how: str
) -> None:
    args = ["sandbox", "run", str(action_file), "-o", "text"]
    if how == "option":
        args.append("--require-isolation")
    run = run_cli(*args, cwd=tmp_path, level=PERMISSION_MODEL, require=how == "environment")
    assert run.returncode == 1
    assert "would use permission-model, not bubblewrap" in run.stderr
    assert f"{LEVEL_ENV}=permission-model" in run.stderr
    assert CANARY not in run.stdout + run.stderr
    assert "status:" not in run.stdout


def test_test_refuses_a_weaker_level_before_reading_the_project(tmp_path: Path) -> None:
    run = run_cli("test", "--require-isolation", cwd=tmp_path, level=NAMESPACE)
    assert run.returncode == 1
    assert "would use" in run.stderr
    assert "tenant.yaml" not in run.stderr  # refused before looking for a project


def test_sandbox_run_names_the_level_that_ran(
    isolation: Isolation, tmp_path: Path, action_file: Path
) -> None:
    text = run_cli(
        "sandbox", "run", str(action_file), "-o", "text", "--require-isolation", cwd=tmp_path
    )
    assert text.returncode == 0, text.stderr
    assert f"log: {CANARY}" in text.stdout
    assert text.stdout.rstrip().endswith(isolation.summary)

    as_json = json.loads(run_cli("sandbox", "run", str(action_file), cwd=tmp_path).stdout)
    assert as_json["status"] == "completed"
    assert as_json["isolation"]["level"] == BUBBLEWRAP

    weaker = run_cli(
        "sandbox", "run", str(action_file), "-o", "text", cwd=tmp_path, level=PERMISSION_MODEL
    )
    assert weaker.returncode == 0, weaker.stderr
    assert "isolation: permission-model (" in weaker.stdout
    assert f"weaker than bubblewrap: {LEVEL_ENV}=permission-model" in weaker.stdout


def test_the_test_reports_name_the_level_that_ran(isolation: Isolation, project: Path) -> None:
    text = run_cli("test", "-k", "Action", cwd=project)
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout.rstrip().endswith(isolation.summary)

    junit = project / "report.xml"
    as_json = run_cli("test", "-k", "Action", "-o", "json", "--junit-xml", str(junit), cwd=project)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["isolation"]["level"] == BUBBLEWRAP
    suite = ET.parse(junit).getroot()  # noqa: S314 (a report this run wrote)
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["isolation"] == BUBBLEWRAP
    assert properties["isolation.description"] == isolation.description


# --- the dependency cache the sandbox reads ---------------------------------------


def _fake_npm_install(staging: Path, deps: Any, node_major: int, registry: Any) -> None:
    """What npm leaves under a private umask: 0700 directories, 0600 files."""
    package = staging / "node_modules" / "pkg"
    (package / "bin").mkdir(parents=True)
    (package / "index.js").write_text("module.exports = 1;\n")
    (package / "bin" / "cli").write_text("#!/bin/sh\n")
    (package / "index.js").chmod(0o600)
    (package / "bin" / "cli").chmod(0o700)
    package.chmod(0o700)
    (staging / "node_modules" / ".bin").mkdir()
    (staging / "node_modules" / ".bin" / "cli").symlink_to("../pkg/bin/cli")
    (staging / deps_module.MARKER).write_text("{}")
    (staging / deps_module.MARKER).chmod(0o600)


def _modes(entry: Path) -> dict[str, int]:
    modes = {".": entry.stat().st_mode & 0o777}
    for path in entry.rglob("*"):
        if not path.is_symlink():
            modes[str(path.relative_to(entry))] = path.stat().st_mode & 0o777
    return modes


PUBLISHED = {
    ".": 0o755,
    "node_modules": 0o755,
    "node_modules/.bin": 0o755,
    "node_modules/pkg": 0o755,
    "node_modules/pkg/bin": 0o755,
    "node_modules/pkg/bin/cli": 0o755,
    "node_modules/pkg/index.js": 0o644,
    deps_module.MARKER: 0o644,
}


def test_dependency_cache_entries_are_readable_by_the_sandbox_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandboxed worker runs as a uid of its own: it must read the entry (0755/0644)."""
    from auth0_actions.config.model import Dependency

    monkeypatch.setattr(deps_module, "_install", _fake_npm_install)
    wanted = [Dependency(name="pkg", version="1.0.0")]
    entry = deps_module.ensure_dependencies(tmp_path, wanted)
    assert entry is not None
    assert _modes(entry) == PUBLISHED

    # An entry made before entries were published is published when next used.
    entry.chmod(0o700)
    (entry / "node_modules" / "pkg" / "index.js").chmod(0o600)
    assert deps_module.ensure_dependencies(tmp_path, wanted) == entry
    assert _modes(entry) == PUBLISHED


def test_without_prlimit_the_weaker_levels_still_set_the_limits(node: Path) -> None:
    """util-linux' prlimit missing: Python applies the limits and execs Node (no preexec_fn)."""
    weaker = Isolation(PERMISSION_MODEL, API_BLOCK, "for the test", Tools())
    launch = launch_for(weaker, node, cpu_seconds=9)
    assert launch.argv[0] == sys.executable
    seen = run_script(
        launch,
        "const rows = require('fs').readFileSync('/proc/self/limits', 'utf8').split('\\n');"
        "const limit = (name) => rows.find((r) => r.startsWith(name)).slice(26).trim()"
        "  .split(/\\s+/)[0];"
        "console.log(JSON.stringify({ cpu: limit('Max cpu time'), fsize: limit('Max file size'),"
        " as: limit('Max address space') }))",
        permission=False,
    )
    address_space = str((MEMORY_MB + ADDRESS_SPACE_OVERHEAD_MB) * 1024 * 1024)
    assert seen == {"cpu": "9", "fsize": "0", "as": address_space}
