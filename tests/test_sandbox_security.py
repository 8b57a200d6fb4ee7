"""Isolation of the sandbox: hostile action code is contained and the host untouched.

Each attack runs as action code through the pool. The reply must be a clean
failure (status "error" with a clear message, or Reply.failure for timeouts,
memory and tampering), the host must show no trace of it (no file, no
connection to a loopback server started here, no host variable, no child
process), and the pool must keep serving normal requests afterwards.

The second half (from "breaking out") is issue 11's attacks, tried as an
attacker would with action code alone, through ``SandboxPool.call``,
``auth0-actions test``, ``auth0-actions sandbox run`` and the local tenant's
login flow. Each is proven against a canary a breach would reveal (another
action's secret, a file in the project, the local tenant's database) and
checks the host is untouched; the helpers are in tests/attack_support.py.

The isolation itself is docs/reference/actions-runtime.md §6 (Sandboxing on
Node 20/22); the limits are §3.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from attack_support import (
    SHARED_DIRS,
    SHM,
    TMP,
    HostSnapshot,
    action_code,
    assert_no_leak,
    assert_no_leaks,
    attacker_channels,
    hostile,
    new_canary,
    post_login,
    reply_channels,
    unit,
)
from emulator_support import login_client

from auth0_actions.consent import ledger as ledgers
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.node import selected_node
from auth0_actions.sandbox.event import HOSTNAME, build_event
from auth0_actions.sandbox.isolation import (
    API_BLOCK,
    BUBBLEWRAP,
    LEVEL_ENV,
    NAMESPACE,
    NETNS,
    PERMISSION_MODEL,
    REQUIRE_ENV,
    TRIGGERS_DIR,
    Isolation,
    detect_isolation,
    probe_isolation,
)
from auth0_actions.sandbox.pool import HARNESS_DIR, TIMEOUT_MESSAGE, Limits, Reply, SandboxPool
from auth0_actions.triggers import registry

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX sandbox")

TIMEOUT_MS = 1000
MEMORY_MB = 128
NETWORK_DISABLED = "Network access is disabled in the auth0-actions sandbox."
# What the lockdown (a second layer in front of the permission model) says of a
# refused built-in module; either layer refusing is a pass.
SANDBOX_MODULE = "is not available in the auth0-actions sandbox"
PRELUDE = "const out = (x) => console.log('OUT ' + JSON.stringify(x));\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=TIMEOUT_MS, memory_mb=MEMORY_MB)) as p:
        yield p


def action(body: str) -> str:
    return f"{PRELUDE}exports.onExecutePostLogin = async (event, api) => {{\n{body}\n}};\n"


def call(pool: SandboxPool, body: str, event: dict[str, Any] | None = None) -> Reply:
    unit = {
        "name": "hostile",
        "code": action(body),
        "filename": "/actions/hostile.js",
        "secrets": {},
        "deps_dir": None,
    }
    return pool.call(
        {"op": "post-login", "units": [unit], "event": event or build_event(), "resume": None}
    )


def refused(reply: Reply, message: str | re.Pattern[str]) -> dict[str, Any]:
    """The action failed with a clear error (not a crash of the worker)."""
    assert reply.ok, reply.failure
    assert reply.result is not None
    assert reply.result["status"] == "error", reply.result
    got = reply.result["error"]["message"]
    if isinstance(message, str):
        assert message in got
    else:
        assert message.search(got), got
    return reply.result


def outputs(reply: Reply) -> list[Any]:
    assert reply.result is not None
    return [
        json.loads(entry["message"][4:])
        for entry in reply.result["logs"]
        if entry["message"].startswith("OUT ")
    ]


def workers_of(pool: SandboxPool, body: str) -> list[int]:
    """The live workers serving the action made of ``body`` (its isolation domain)."""
    code = action(body)
    return [w.process.pid for w in pool.workers() if w.domain.code == code]


def worker_pids(pool: SandboxPool) -> set[int]:
    return {worker.process.pid for worker in pool.workers()}


def descendants_of(pids: set[int]) -> dict[int, str]:
    """Every process below pids (from /proc), with its command name."""
    found: dict[int, str] = {}
    frontier = set(pids)
    while frontier:
        frontier = set(children_of(frontier)) - found.keys()
        for pid in frontier:
            try:
                found[pid] = (Path("/proc") / str(pid) / "comm").read_text().strip()
            except OSError:
                found[pid] = "?"
    return found


def children_of(pids: set[int]) -> list[int]:
    """Processes whose parent is one of pids (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid in pids:
            found.append(int(entry.name))
    return found


def assert_pool_works(pool: SandboxPool) -> None:
    """A normal action still runs, cleanly, after the attack."""
    reply = call(pool, "api.user.setUserMetadata('ok', true); out('clean');")
    assert reply.ok, reply.failure
    assert reply.result is not None
    assert reply.result["status"] == "completed"
    assert reply.result["user_metadata"] == {"ok": True}
    assert outputs(reply) == ["clean"]
    assert reply.stray_output == []


@dataclass
class Listener:
    """A TCP and a UDP server on 127.0.0.1 that record whatever reaches them."""

    tcp_port: int
    udp_port: int
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def listener() -> Iterator[Listener]:
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    tcp.settimeout(0.1)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.1)
    server = Listener(tcp.getsockname()[1], udp.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server.hits.append("tcp")
            conn.close()

    def receive() -> None:
        while not stop.is_set():
            try:
                udp.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            server.hits.append("udp")

    threads = [threading.Thread(target=f, daemon=True) for f in (accept, receive)]
    for thread in threads:
        thread.start()
    try:
        yield server
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=2)
        tcp.close()
        udp.close()


# Every way of reaching the loopback listener from action code; TCP_PORT and
# UDP_PORT are replaced by the listener's ports.
SETTLE = "await new Promise((resolve) => setTimeout(resolve, 100));"
NETWORK_ATTEMPTS = {
    "fetch": "await fetch('http://127.0.0.1:TCP_PORT/');",
    "http.get": "require('http').get('http://127.0.0.1:TCP_PORT/');",
    "http.request": "require('http').request({ host: '127.0.0.1', port: TCP_PORT }).end();",
    "https.get": "require('https').get('https://127.0.0.1:TCP_PORT/');",
    "http.ClientRequest": (
        "const r = new (require('http').ClientRequest)('http://127.0.0.1:TCP_PORT/');"
        f"r.on('error', () => {{}}); r.end(); {SETTLE}"
    ),
    "http.Agent": (
        "new (require('http').Agent)().createConnection({ host: '127.0.0.1', port: TCP_PORT });"
    ),
    "net.connect": "require('net').connect(TCP_PORT, '127.0.0.1');",
    "net.createConnection": (
        "require('net').createConnection({ port: TCP_PORT, host: '127.0.0.1' });"
    ),
    "net.Socket": "new (require('net').Socket)().connect(TCP_PORT, '127.0.0.1');",
    "tls.connect": "require('tls').connect(TCP_PORT, '127.0.0.1');",
    "tls.TLSSocket": "new (require('tls').TLSSocket)().connect(TCP_PORT, '127.0.0.1');",
    "http2.connect": "require('http2').connect('http://127.0.0.1:TCP_PORT');",
    "WebSocket": "new WebSocket('ws://127.0.0.1:TCP_PORT/');",
    "dgram.createSocket": "require('dgram').createSocket('udp4').send('x', UDP_PORT, '127.0.0.1');",
    "dgram.Socket": (
        f"new (require('dgram').Socket)('udp4').send('x', UDP_PORT, '127.0.0.1'); {SETTLE}"
    ),
    "dns.lookup": (
        "await new Promise((ok, no) =>"
        " require('dns').lookup('localhost', (e) => e ? no(e) : ok()));"
    ),
    "dns.promises.lookup": "await require('dns').promises.lookup('localhost');",
    "dns.resolveTxt": (
        "await new Promise((ok, no) =>"
        " require('dns').resolveTxt('x.example', (e) => e ? no(e) : ok()));"
    ),
    "dns.Resolver": (
        "const r = new (require('dns').Resolver)(); r.setServers(['127.0.0.1:UDP_PORT']);"
        f"r.resolve4('leak.example', () => {{}}); {SETTLE}"
    ),
    "dns.promises.Resolver": (
        "const r = new (require('dns').promises.Resolver)(); r.setServers(['127.0.0.1:UDP_PORT']);"
        "await r.resolve4('leak.example');"
    ),
    "net.Server.listen": (
        "await new Promise((ok, no) => { const s = new (require('net').Server)();"
        " s.on('error', no); s.listen(0, ok); });"
    ),
    "undici": "require('undici').request('http://127.0.0.1:TCP_PORT/');",
    "process.binding": "process.binding('tcp_wrap');",
}
NETWORK_ERRORS = {
    "undici": "Cannot find module 'undici'",  # not bundled for require(); fetch is blocked
    "process.binding": "process.binding",
}


def attempt(name: str, server: Listener) -> str:
    code = NETWORK_ATTEMPTS[name]
    return code.replace("TCP_PORT", str(server.tcp_port)).replace("UDP_PORT", str(server.udp_port))


# --- file system, processes, workers, environment ---------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "require('fs').readFileSync('/etc/passwd', 'utf8');",
        "await require('fs').promises.readFile('/etc/passwd', 'utf8');",
        "await new Promise((ok, no) =>"
        " require('fs').readFile('/etc/passwd', (e) => e ? no(e) : ok()));",
        "require('fs').readdirSync('/');",
        "require('fs').readFileSync('/proc/self/environ');",
        "require('fs').readFileSync(`/proc/${process.ppid}/environ`);",
        "require(require('path').join(__dirname, '..', '..', 'etc', 'passwd'));",
    ],
    ids=["readFileSync", "promises", "callback", "readdir", "environ", "parent-environ", "require"],
)
def test_reading_host_files_is_refused(pool: SandboxPool, body: str) -> None:
    """§6 Permission model: the worker reads only the harness and dependencies."""
    result = refused(call(pool, body), re.compile("allow-fs-read|ERR_ACCESS_DENIED|Cannot find"))
    assert "root:" not in json.dumps(result)
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "template",
    [
        "require('fs').writeFileSync(TARGET, 'pwned');",
        "await require('fs').promises.writeFile(TARGET, 'pwned');",
        "require('fs').appendFileSync(TARGET, 'pwned');",
        "require('fs').mkdirSync(TARGET);",
        "require('fs').symlinkSync('/etc/passwd', TARGET);",
        "await new Promise((ok, no) => require('fs').createWriteStream(TARGET)"
        ".on('error', no).on('open', ok));",
    ],
    ids=["writeFileSync", "promises", "append", "mkdir", "symlink", "stream"],
)
def test_writing_a_file_is_refused(pool: SandboxPool, tmp_path: Path, template: str) -> None:
    """§3 Node 22: filesystem writes are disabled (§6 permission model, no --allow-fs-write)."""
    target = tmp_path / "pwned"
    reply = call(pool, template.replace("TARGET", json.dumps(str(target))))
    refused(reply, re.compile("allow-fs-write|allow-fs-read"))  # a symlink needs both
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    assert_pool_works(pool)


def seen_harness(pool: SandboxPool) -> Path:
    """The harness directory as the worker sees it (bound elsewhere inside the OS sandbox)."""
    launch = pool.isolation.launch(
        pool.node, harness=HARNESS_DIR, deps=None, memory_mb=64, cpu_seconds=1
    )
    return Path(launch.harness_dir)


def test_writing_the_harness_is_refused_but_reading_it_is_allowed(pool: SandboxPool) -> None:
    """§6 Permission model: --allow-fs-read=<bundle> only; the harness is read-only."""
    worker_js = HARNESS_DIR / "worker.js"
    inside = seen_harness(pool)
    before = worker_js.read_bytes()
    reply = call(
        pool, f"out(require('fs').readFileSync({json.dumps(str(inside / 'worker.js'))}, 'utf8'));"
    )
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "completed"
    assert outputs(reply) == [before.decode()]
    for body in (
        f"require('fs').writeFileSync({json.dumps(str(inside / 'worker.js'))}, 'pwned');",
        f"require('fs').writeFileSync({json.dumps(str(inside / 'evil.js'))}, 'x');",
        f"require('fs').unlinkSync({json.dumps(str(inside / 'worker.js'))});",
    ):
        refused(call(pool, body), "allow-fs-write")
    assert worker_js.read_bytes() == before
    assert not (HARNESS_DIR / "evil.js").exists()
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "template",
    [
        "require('child_process').execSync('touch ' + MARKER);",
        "require('child_process').spawnSync('touch', [MARKER]);",
        "require('child_process').execFileSync('/usr/bin/touch', [MARKER]);",
        "require('child_process').spawn('touch', [MARKER]);",
        "require('child_process').exec('touch ' + MARKER);",
        "require('child_process').fork(MARKER);",
    ],
    ids=["execSync", "spawnSync", "execFileSync", "spawn", "exec", "fork"],
)
def test_spawning_a_process_is_refused(pool: SandboxPool, tmp_path: Path, template: str) -> None:
    """§6 Permission model: no child processes (no --allow-child-process)."""
    marker = tmp_path / "spawned"
    pids = worker_pids(pool)
    reply = call(pool, template.replace("MARKER", json.dumps(str(marker))))
    refused(reply, re.compile(f"allow-child-process|{SANDBOX_MODULE}"))
    assert not marker.exists()
    # Below each worker: at most the OS sandbox's own processes and Node.
    started = set(descendants_of(pids | worker_pids(pool)).values())
    assert started <= {"bwrap", "node"}, started
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "body",
    [
        "new (require('worker_threads').Worker)('1', { eval: true });",
        "new (require('worker_threads').Worker)(__filename);",
    ],
    ids=["eval", "file"],
)
def test_starting_a_worker_is_refused(pool: SandboxPool, body: str) -> None:
    """§6 Permission model: no worker threads (no --allow-worker)."""
    refused(call(pool, body), re.compile(f"allow-worker|{SANDBOX_MODULE}"))
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "body",
    [
        "process.dlopen({ exports: {} }, '/tmp/addon.node');",
        "require('inspector').open(0);",
        "new (require('wasi').WASI)({ version: 'preview1' });",
    ],
    ids=["addon", "inspector", "wasi"],
)
def test_addons_inspector_and_wasi_are_refused(pool: SandboxPool, body: str) -> None:
    """§6 Permission model: no addons (--allow-addons), inspector or WASI (--allow-wasi)."""
    refused(
        call(pool, body),
        re.compile(f"addons|restricted|allow-wasi|WASI|{SANDBOX_MODULE}", re.IGNORECASE),
    )
    assert_pool_works(pool)


def test_process_binding_is_denied(pool: SandboxPool) -> None:
    """§6 Permission model: process.binding is denied."""
    for name in ("fs", "tcp_wrap", "spawn_sync"):
        refused(call(pool, f"process.binding('{name}');"), "process.binding")
    assert_pool_works(pool)


def test_signalling_the_host_is_refused(pool: SandboxPool) -> None:
    """§6: action code cannot signal processes (the permission model does not stop it)."""
    priority = os.getpriority(os.PRIO_PROCESS, 0)
    for body in (
        "process.kill(process.ppid, 0);",
        "process._kill(process.ppid, 0);",
        "require('os').setPriority(process.ppid, 19);",
    ):
        refused(call(pool, body), "Signalling processes is disabled")
    assert os.getpriority(os.PRIO_PROCESS, 0) == priority
    assert_pool_works(pool)


def test_host_environment_is_not_visible(monkeypatch: pytest.MonkeyPatch) -> None:
    """§6 Recommendation / isolation: an empty environment apart from TZ (Auth0 runs in UTC)."""
    monkeypatch.setenv("AUTH0_ACTIONS_CANARY", "canary-7f3a")
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", "host-secret")
    # A pool started after the variables were set, so its workers could inherit them.
    with SandboxPool(1, limits=Limits(timeout_ms=TIMEOUT_MS)) as fresh:
        reply = call(fresh, "out(process.env); out(Object.keys(process.env));")
    assert reply.ok
    env, keys = outputs(reply)
    assert env == {"TZ": "UTC"}
    assert keys == ["TZ"]
    assert "canary-7f3a" not in json.dumps(reply.result)
    assert "host-secret" not in json.dumps(reply.result)


# --- network ----------------------------------------------------------------------


def test_the_listener_records_connections(listener: Listener) -> None:
    """Control: the loopback listener does see a connection and a datagram from the host."""
    with socket.create_connection(("127.0.0.1", listener.tcp_port), timeout=2):
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"x", ("127.0.0.1", listener.udp_port))
    deadline = time.monotonic() + 2
    while len(listener.hits) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(listener.hits) == ["tcp", "udp"]


@pytest.mark.parametrize("name", sorted(NETWORK_ATTEMPTS))
def test_network_is_blocked(pool: SandboxPool, listener: Listener, name: str) -> None:
    """§6 Permission model has no --allow-net on Node 22: the network is cut separately."""
    reply = call(pool, attempt(name, listener))
    refused(reply, NETWORK_ERRORS.get(name, NETWORK_DISABLED))
    assert_pool_works(pool)
    time.sleep(0.05)  # anything still in flight would have landed
    assert listener.hits == []


def test_the_namespace_level_uses_a_network_namespace() -> None:
    """§6 Recommendation: without bubblewrap, a network namespace where the OS allows one."""
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    if not probe or probe.returncode != 0:
        pytest.skip("unshare --net is not permitted on this machine")
    isolation = probe_isolation(selected_node().path, environ={LEVEL_ENV: NAMESPACE})
    assert isolation.level == NAMESPACE
    assert isolation.network == NETNS
    assert "own network namespace" in isolation.description


def test_the_namespace_has_no_network(pool: SandboxPool) -> None:
    """§6: inside the namespace there is no interface but (down) loopback."""
    if pool.isolation.network != NETNS:
        pytest.skip("no network namespace on this machine")
    reply = call(pool, "out(require('os').networkInterfaces());")
    assert reply.ok
    [interfaces] = outputs(reply)
    assert set(interfaces) <= {"lo"}


def test_network_is_blocked_without_a_namespace(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§6: without a namespace (API_BLOCK) the harness still blocks every network API."""
    monkeypatch.delenv(REQUIRE_ENV, raising=False)  # this weaker level on purpose
    isolation = Isolation(PERMISSION_MODEL, API_BLOCK, "chosen by the test")
    assert "no network namespace" in isolation.description
    with SandboxPool(1, limits=Limits(timeout_ms=TIMEOUT_MS), isolation=isolation) as plain:
        # the loopback listener is reachable from this (host) network namespace
        reply = call(plain, "out(require('os').networkInterfaces().lo !== undefined);")
        assert outputs(reply) == [True]
        for name in sorted(NETWORK_ATTEMPTS):
            reply = call(plain, attempt(name, listener))
            refused(reply, NETWORK_ERRORS.get(name, NETWORK_DISABLED))
        assert_pool_works(plain)
    time.sleep(0.1)
    assert listener.hits == []


# --- time and memory -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["for (;;) {}", "while (true) { JSON.stringify({}); }", "for (;;) { await null; }"],
    ids=["sync", "sync-calls", "microtasks"],
)
def test_looping_forever_is_stopped(pool: SandboxPool, body: str) -> None:
    """§3 Limits: the trigger limit ends a loop that never yields; the worker is replaced."""
    reply = call(pool, body)
    assert reply.result is None
    assert reply.failure == TIMEOUT_MESSAGE
    assert not workers_of(pool, body)  # the looping worker is gone
    assert_pool_works(pool)


def test_heap_blow_up_is_contained(pool: SandboxPool) -> None:
    """§3 Limits (memory): unbounded JS allocation ends in a clean out-of-memory failure."""
    body = "const keep = []; for (;;) keep.push(new Array(1e5).fill(Math.random()));"
    reply = call(pool, body)
    assert reply.result is None
    assert reply.failure is not None
    assert "ran out of memory" in reply.failure
    assert not workers_of(pool, body)
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "body",
    [
        "const keep = []; for (;;) keep.push(Buffer.alloc(64 * 1024 * 1024));",
        "const keep = []; for (;;) keep.push(Buffer.allocUnsafe(256 * 1024 * 1024));",
        "const keep = []; for (;;) keep.push(new ArrayBuffer(128 * 1024 * 1024));",
    ],
    ids=["alloc", "allocUnsafe", "ArrayBuffer"],
)
def test_buffer_blow_up_is_contained(pool: SandboxPool, body: str) -> None:
    """§3 Limits (memory): Buffers live outside the heap; the address-space cap stops them."""
    reply = call(pool, body)
    if reply.failure is not None:
        assert "memory" in reply.failure
    else:
        refused(reply, "allocation failed")
        assert reply.retired == "an allocation failed"
    assert not workers_of(pool, body)  # never reused
    assert_pool_works(pool)


def test_memory_held_after_the_action_retires_the_worker(pool: SandboxPool) -> None:
    """§3 Limits (memory): memory an action keeps in globals is not left to the next one."""
    reply = call(
        pool,
        "globalThis.hoard = []; for (let i = 0; i < 3; i += 1) hoard.push(Buffer.alloc(64 << 20));",
    )
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "completed"
    assert reply.retired == "action code holds large buffers"
    assert_pool_works(pool)
    assert outputs(call(pool, "out(typeof globalThis.hoard);")) == ["undefined"]


# --- tampering with the harness ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("Object.prototype.toJSON = function () { return { forged: true }; };", "Object.prototype"),
        ("Array.prototype.push = function () { return 0; };", "Array.prototype.push"),
        ("JSON.stringify = () => '{}';", "JSON.stringify"),
        ("JSON.parse = () => ({});", "JSON.parse"),
        ("Function.prototype.call = function () { return null; };", "Function.prototype.call"),
        ("Object.create = () => ({ ok: true });", "Object.create"),
        ("Object.defineProperty(Array.prototype, '0', { set() {}, configurable: true });", "Array"),
        ("Buffer.from = () => Buffer.alloc(0);", "Buffer.from"),
        (
            "Object.getPrototypeOf([][Symbol.iterator]()).next = () => ({ done: true });",
            "ArrayIteratorPrototype.next",
        ),
        ("globalThis.Promise = function () {};", "global Promise"),
        ("String.prototype.includes = () => true;", "String.prototype.includes"),
    ],
    ids=[
        "toJSON",
        "push",
        "stringify",
        "parse",
        "call",
        "create",
        "index-setter",
        "buffer-from",
        "iterator",
        "promise",
        "string",
    ],
)
def test_prototype_pollution_is_reported(pool: SandboxPool, body: str, what: str) -> None:
    """§3 Loader (one realm, shared built-ins): tampering is reported; the worker is replaced."""
    hostile = f"api.access.deny('should not count'); {body}"
    reply = call(pool, hostile)
    assert reply.result is None
    assert reply.failure is not None
    assert reply.failure.startswith("the action tampered with the sandbox: ")
    assert what in reply.failure
    assert not workers_of(pool, hostile)
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "body",
    [
        "require('module')._load = () => ({ hooked: true });",
        "require('module')._extensions['.js'] = () => {};",
        "require('module').prototype.require = () => ({ hooked: true });",
    ],
    ids=["load", "extensions", "prototype-require"],
)
def test_patching_the_module_loader_retires_the_worker(pool: SandboxPool, body: str) -> None:
    """§3 Loader (require = createRequire): a patched loader never serves a later request."""
    reply = call(pool, f"{body} api.access.deny('real');")
    assert reply.ok, reply.failure
    assert reply.result is not None
    assert reply.result["status"] == "denied"
    assert reply.retired == "action code changed the module loader"
    for _ in range(3):
        assert outputs(call(pool, "out(typeof require('crypto').createHmac);")) == ["function"]


def test_tampering_after_the_handler_returned_is_reported(pool: SandboxPool) -> None:
    """§3 Loader: tampering from a later microtask is still caught before the reply."""
    reply = call(pool, "Promise.resolve().then(() => { Array.prototype.push = () => 0; });")
    assert reply.failure is not None
    assert "Array.prototype.push" in reply.failure
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "body",
    [
        "require('./tokens').verify = () => ({ forged: true });",
        "require('crypto').createHmac ="
        " () => ({ update: () => ({ digest: () => Buffer.alloc(32) }) });",
        "require('crypto').timingSafeEqual = () => true;",
        "require('vm').compileFunction = () => () => {};",
        "require('util').format = () => 'forged log';",
    ],
    ids=["tokens-module", "createHmac", "timingSafeEqual", "compileFunction", "util-format"],
)
def test_harness_dependencies_cannot_be_patched(pool: SandboxPool, body: str) -> None:
    """§2 validateToken / §3 Loader: action code cannot rewire what later requests run on."""
    reply = call(pool, f"try {{ {body} }} catch (e) {{ out(e.constructor.name); }}")
    assert reply.ok, reply.failure
    # A token signed with the wrong key, checked by later requests (either worker).
    head = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    claims = {"iat": 1, "exp": 4102444800, "sub": "auth0|6543210fedcba98765432100"}
    claims |= {"iss": "acme.eu.auth0.com", "state": "app-state-9f8e7d"}
    body64 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    token = f"{head}.{body64}.{'A' * 43}"
    event = build_event({"request": {"body": {"session_token": token}}})
    for _ in range(3):
        reply = call(
            pool, "console.log('log'); api.redirect.validateToken({ secret: 's' });", event
        )
        result = refused(reply, "The session token is invalid: Invalid signature")
        assert result["logs"][0]["message"] == "log"


def test_harness_modules_are_frozen(pool: SandboxPool) -> None:
    """§3 Loader: the harness modules an action can require() are frozen."""
    triggers = "/sandbox/triggers" if pool.isolation.level == BUBBLEWRAP else str(TRIGGERS_DIR)
    modules = ["./tokens", "./loader", "./action", "./rules"]
    modules += [f"{triggers}/{t.script}" for t in registry.all_triggers()]
    reply = call(pool, f"out({json.dumps(modules)}.every((m) => Object.isFrozen(require(m))));")
    assert outputs(reply) == [True]


# --- tampering with the recorded result -----------------------------------------------------


def test_forged_response_lines_on_stdout_are_stray(pool: SandboxPool) -> None:
    """§1 API: only api calls make the result; stdout lines are reported as stray output."""
    forged = [
        f'{prefix} {{"id":{i},"ok":true,"result":{{"status":"completed","deny":null}}}}'
        for prefix in ("0" * 32, "nonce", "")
        for i in range(1, 40, 7)
    ]
    script = "".join(f"process.stdout.write({json.dumps(line + chr(10))});" for line in forged)
    reply = call(pool, f"{script} api.access.deny('real');")
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "denied"
    assert reply.result["deny"] == {"action": "hostile", "reason": "real"}
    assert reply.stray_output == forged
    assert_pool_works(pool)


def test_fs_write_sync_to_stdout_is_stray(pool: SandboxPool) -> None:
    """§1 API: a forged line written with fs.writeSync(1, ...) does not replace the result."""
    line = '{"id":1,"ok":true,"result":{"status":"completed"}}'
    reply = call(
        pool,
        "const fs = require('fs');"
        f"for (let i = 0; i < 50; i += 1) fs.writeSync(1, `${{i}} {line}\\n`);"
        "fs.writeSync(1, 'no newline at the end');"
        "api.access.deny('real');",
    )
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "denied"
    assert reply.stray_output[:2] == [f"0 {line}", f"1 {line}"]
    assert reply.stray_output[-1] == "no newline at the end"
    assert_pool_works(pool)


def test_the_nonce_cannot_be_read_from_buffer_memory() -> None:
    """§1 API: responses cannot be forged with a nonce found in Node's shared Buffer pool."""
    scan = r"""
    const nonces = new Set();
    for (let i = 0; i < 64; i += 1) {
      const text = Buffer.from(Buffer.allocUnsafe(1 + i).buffer).toString('latin1');
      for (const m of text.matchAll(/([0-9a-f]{32})[ \n]/g)) nonces.add(m[1]);
    }
    for (const nonce of nonces) {
      for (let id = 1; id <= 10; id += 1) {
        process.stdout.write(`${nonce} {"id":${id},"ok":true,"result":{"status":"forged"}}\n`);
      }
    }
    out(nonces.size);
    api.access.deny('real');
    """
    # A small event keeps requests and responses in one 8 KB pool.
    event = {"user": {"user_id": "u", "user_metadata": {}, "app_metadata": {}}, "request": {}}
    with SandboxPool(1, limits=Limits(timeout_ms=TIMEOUT_MS)) as single:
        for _ in range(3):  # earlier responses of the same worker are the ones to find
            reply = call(single, scan, event)
            assert reply.ok, reply.failure
            assert reply.result is not None
            assert reply.result["status"] == "denied"
            assert outputs(reply) == [0]


def test_replacing_api_methods_after_calling_them(pool: SandboxPool) -> None:
    """§1 API: the recorded commands are the calls made, whatever happens to `api` later."""
    reply = call(
        pool,
        """
        api.user.setUserMetadata('consentGiven', true);
        api.user.setUserMetadata = () => api;
        api.user = { setUserMetadata() {} };
        api.access = null;
        Object.freeze(api);
        """,
    )
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "completed"
    assert reply.result["user_metadata"] == {"consentGiven": True}
    assert reply.result["commands"] == [
        {"action": "hostile", "type": "user.setUserMetadata", "key": "consentGiven", "value": True}
    ]


def test_values_are_recorded_at_call_time(pool: SandboxPool) -> None:
    """§1 API user.set*Metadata: the value at the call, not a later mutation of it."""
    reply = call(
        pool,
        """
        const consent = { given: true, version: '1.0' };
        const list = ['a'];
        api.user.setUserMetadata('consent', consent);
        api.idToken.setCustomClaim('https://x/list', list);
        consent.given = false; consent.version = '9.9'; list.push('b');
        event.user.user_metadata.consent = 'mutated';
        """,
    )
    assert reply.ok
    assert reply.result is not None
    expected = {"given": True, "version": "1.0"}
    assert reply.result["user_metadata"] == {"consent": expected}
    assert reply.result["commands"][0]["value"] == expected
    assert reply.result["id_token_claims"] == {"https://x/list": ["a"]}


def test_reading_stdin_changes_nothing(pool: SandboxPool) -> None:
    """§1 API: action code listening on the harness's stdin cannot read or steal requests."""
    reply = call(
        pool,
        """
        process.stdin.on('data', (d) => { process.stdout.write('stole ' + d); });
        process.stdin.resume();
        api.access.deny('real');
        """,
    )
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "denied"
    assert reply.retired is not None  # the listening worker is not reused
    for _ in range(3):
        assert_pool_works(pool)


def test_closing_stdin_does_not_break_the_next_request(pool: SandboxPool) -> None:
    """§1 API: closing the harness's stdin retires the worker instead of failing the next call."""
    reply = call(pool, "require('fs').closeSync(0); api.access.deny('real');")
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "denied"
    assert reply.retired == "action code closed or replaced stdin/stdout"
    for _ in range(3):
        assert_pool_works(pool)


@pytest.mark.parametrize(
    "body",
    [
        "setTimeout(() => { for (;;) {} }, 10);",
        "setTimeout(() => { throw new Error('late'); }, 10);",
        "setInterval(() => { require('fs').readSync(0, Buffer.alloc(8)); }, 10);",
    ],
    ids=["loop", "throw", "read-stdin"],
)
def test_leftover_timers_do_not_reach_the_next_request(pool: SandboxPool, body: str) -> None:
    """§3 Loader: executions share a process; a timer left behind must not hit the next one."""
    reply = call(pool, body)
    assert reply.ok
    assert reply.retired == "action code left a Timeout pending"
    for _ in range(3):
        reply = call(pool, "await new Promise((r) => setTimeout(r, 40)); out('clean');")
        assert reply.ok, reply.failure
        assert outputs(reply) == ["clean"]


def test_process_exit_is_a_clean_failure(pool: SandboxPool) -> None:
    """§3 Limits: an action that ends its process fails cleanly; the pool recovers."""
    for body in ("process.exit(0);", "process.reallyExit(0);"):
        reply = call(pool, body)
        assert reply.result is None
        assert reply.failure is not None
        assert "crashed" in reply.failure
    # process.abort() would dump core: the sandbox refuses it (lockdown.js).
    refused(call(pool, "process.abort();"), "process.abort() is not available")
    assert_pool_works(pool)


def test_flooding_stdout_is_bounded(pool: SandboxPool) -> None:
    """§3 Limits (console.log persisted up to 256 chars): stray stdout is capped on the host."""
    reply = call(
        pool,
        "for (let i = 0; i < 5000; i += 1) process.stdout.write('x'.repeat(5000) + '\\n');"
        "api.access.deny('real');",
    )
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "denied"
    assert 0 < len(reply.stray_output) <= 200
    assert all(len(line) <= 2000 for line in reply.stray_output)
    assert_pool_works(pool)


def test_an_endless_stdout_line_is_cut_off(pool: SandboxPool) -> None:
    """§3 Limits: stdout without a newline cannot make the host buffer without bound."""
    # Written synchronously, a megabyte at a time: the host stops it, not memory.
    reply = call(pool, "const mb = 'x'.repeat(1 << 20); for (;;) require('fs').writeSync(1, mb);")
    assert reply.result is None
    assert reply.failure == "the action wrote too much to stdout"
    assert_pool_works(pool)


@pytest.mark.parametrize(
    "body",
    [
        "process.on('uncaughtException', () => {});",
        "process.on('unhandledRejection', () => {});",
        "process.once('exit', () => require('fs').writeSync(1, 'forged at exit'));",
    ],
    ids=["uncaughtException", "unhandledRejection", "exit"],
)
def test_process_listeners_retire_the_worker(pool: SandboxPool, body: str) -> None:
    """§3 Loader: process-wide handlers an action installs never see a later request."""
    reply = call(pool, f"{body} api.access.deny('real');")
    assert reply.ok, reply.failure
    assert reply.retired == "action code changed the process event listeners"
    for _ in range(3):
        reply = call(pool, "setTimeout(() => { throw new Error('late'); }, 0); out('clean');")
        assert reply.ok, reply.failure
        assert outputs(reply) == ["clean"]


# =====================================================================================
# Breaking out (issue 11): each attack as action code alone, proven against a canary.
# =====================================================================================

# A secret-holding action doing ordinary things with its secret: a Buffer of it
# (small Buffers come from Node's shared pool), an HMAC, a random id, a cached
# copy on the warm instance, an error quoting it, a promise resolving to it,
# and a process warning. It never writes the secret anywhere itself.
VICTIM = """
const crypto = require('crypto');
exports.onExecutePostLogin = async (event, api) => {
  const key = event.secrets.API_KEY;
  const keyBytes = Buffer.from(key);
  const signature = crypto.createHmac('sha256', key).update(event.user.user_id).digest('hex');
  const requestId = crypto.randomUUID();
  globalThis.cachedKey = key;
  try { throw new Error('upstream rejected key ' + key); } catch (err) { void err.stack; }
  const fetched = await new Promise((resolve) => setImmediate(() => resolve(key)));
  process.emitWarning('rotating ' + fetched);
  api.user.setAppMetadata('request_id', requestId);
  api.user.setAppMetadata('signature', signature);
  api.user.setAppMetadata('key_bytes', keyBytes.length);
};
"""
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEAP_SCAN = """
let heap = '';
try { for await (const chunk of require('v8').getHeapSnapshot()) heap += chunk; }
catch (e) { loot.push('heap snapshot refused: ' + e.message); }
grab(heap);
heap = '';
"""
BUFFER_SCAN = """
try {
  for (let i = 0; i < 64; i += 1) {
    grab(Buffer.from(Buffer.allocUnsafe(1 + i).buffer).toString('latin1'));
  }
  grab(Buffer.allocUnsafeSlow(1 << 16).toString('latin1'));
  grab(Buffer.allocUnsafe(1 << 20).toString('latin1'));
} catch (e) { loot.push('buffer scan failed: ' + e.message); }
"""


@pytest.fixture
def canary() -> str:
    return new_canary()


@pytest.fixture
def lone() -> Iterator[SandboxPool]:
    """One worker, so that under a shared-worker design every action would share it."""
    with SandboxPool(1, limits=Limits(timeout_ms=5000)) as p:
        yield p


def victim(canary: str, name: str = "victim") -> dict[str, Any]:
    return unit(name, VICTIM, {"API_KEY": canary})


def spied(reply: Reply, name: str = "hostile") -> list[Any]:
    """What the hostile action reported; it must have run and reported (else no proof)."""
    assert reply.result is not None, reply.failure
    reports = [
        e for e in reply.result["logs"] if e["action"] == name and e["message"].startswith("LEAK ")
    ]
    assert reports, f"the hostile action {name} did not run to its report"
    return [json.loads(e["message"][5:]) for e in reports]


class TestCrossActionReads:
    """§ issue 11 "Why": another action's secret through memory or shared state."""

    @pytest.mark.parametrize("order", ["spy-first", "spy-after"])
    def test_a_heap_snapshot_in_the_same_login_holds_no_other_secret(
        self, lone: SandboxPool, canary: str, order: str
    ) -> None:
        spy = hostile(f"{HEAP_SCAN} leak(api, loot);")
        units = [spy, victim(canary)] if order == "spy-first" else [victim(canary), spy]
        reply = post_login(lone, *units)
        spied(reply)
        assert_no_leak(canary, **attacker_channels(reply))

    def test_a_heap_snapshot_on_a_later_execution_holds_no_earlier_secret(
        self, lone: SandboxPool, canary: str
    ) -> None:
        for _ in range(3):
            assert post_login(lone, victim(canary)).ok
        reply = post_login(lone, hostile(f"{HEAP_SCAN} leak(api, loot);"))
        spied(reply)
        assert_no_leak(canary, **reply_channels(reply))

    def test_heap_snapshots_cannot_be_written(
        self, lone: SandboxPool, canary: str, tmp_path: Path
    ) -> None:
        marker = f"attack-{secrets.token_hex(4)}"
        host = HostSnapshot.take(
            marker,
            trees=[HARNESS_DIR, tmp_path],
            shared=[*SHARED_DIRS, Path.cwd()],
        )
        targets = [None, f"{TMP}/{marker}.heapsnapshot", f"{tmp_path}/{marker}.heapsnapshot"]
        targets += [f"{SHM}/{marker}.heapsnapshot", f"{HARNESS_DIR}/{marker}.heapsnapshot"]
        body = f"""
        for (const target of {json.dumps(targets)}) {{
          try {{ loot.push('wrote ' + require('v8').writeHeapSnapshot(target ?? undefined)); }}
          catch (e) {{ loot.push('refused'); }}
        }}
        leak(api, loot);
        """
        reply = post_login(lone, victim(canary), hostile(body))
        [report] = spied(reply)
        host.assert_untouched()
        assert report == ["refused"] * len(targets)

    @pytest.mark.parametrize("same_login", [False, True], ids=["later-login", "same-login"])
    def test_the_shared_buffer_pool_holds_no_other_secret(
        self, lone: SandboxPool, canary: str, same_login: bool
    ) -> None:
        spy = hostile(f"{BUFFER_SCAN} leak(api, loot);")
        if same_login:
            reply = post_login(lone, victim(canary), spy)
            channels = attacker_channels(reply)
        else:
            for _ in range(3):
                assert post_login(lone, victim(canary)).ok
            reply = post_login(lone, spy)
            channels = reply_channels(reply)
        spied(reply)
        assert_no_leak(canary, **channels)


# Traps one action sets for later ones: (installed on its first execution,
# collected on a later one). Each reports what it caught through `loot`.
TRAPS = {
    "global-read": (
        "",
        "for (const k of Object.getOwnPropertyNames(globalThis)) {"
        " let v; try { v = globalThis[k]; } catch (e) { continue; }"
        " if (typeof v === 'string') grab(v); }",
    ),
    "global-setter": (
        "Object.defineProperty(globalThis, 'cachedKey',"
        " { configurable: true, get() { return undefined; }, set(v) { grab(v); } });",
        "",
    ),
    "prepareStackTrace": (
        "Error.prepareStackTrace = (err, frames) => {"
        " grab(err && err.message); return String(err); };",
        "",
    ),
    "async_hooks": (
        "globalThis.__promises = []; require('async_hooks').createHook({"
        " init(id, type, trigger, resource) {"
        " if (type === 'PROMISE' && __promises.length < 20000) __promises.push(resource); }"
        " }).enable();",
        "const seen = (globalThis.__promises || []).splice(0);"
        " await Promise.race([new Promise((resolve) => setTimeout(resolve, 200)),"
        " Promise.all(seen.map((p) => Promise.resolve(p).then((v) => {"
        " try { grab(typeof v === 'string' ? v : JSON.stringify(v)); } catch (e) {}"
        " }, () => {})))]);",
    ),
    "crypto-wrappers": (
        "const c = require('crypto'); const uuid = c.randomUUID; const hmac = c.createHmac;"
        " c.randomUUID = (...a) => {"
        " const v = uuid.apply(c, a); loot.push('uuid:' + v); return v; };"
        " c.createHmac = (alg, key, ...rest) => { grab(String(key));"
        " return hmac.apply(c, [alg, key, ...rest]); };",
        "",
    ),
    "process-listener": ("process.on('warning', (w) => grab(w && w.message));", ""),
}


def trap_action(install: str, collect: str) -> str:
    return f"""
    if (!globalThis.__installed) {{
      globalThis.__installed = true;
      try {{ {install} }} catch (e) {{ loot.push('install refused: ' + e.message); }}
    }} else {{
      try {{ {collect} }} catch (e) {{ loot.push('collect failed: ' + e.message); }}
    }}
    leak(api, loot);
    """


class TestStateLeftForOtherActions:
    """§ issue 11: patched built-ins, globals and hooks set by one action for another."""

    @pytest.mark.parametrize("same_login", [False, True], ids=["later-logins", "same-login"])
    @pytest.mark.parametrize("trap", sorted(TRAPS))
    def test_a_trap_catches_nothing_of_another_action(
        self, lone: SandboxPool, canary: str, trap: str, same_login: bool
    ) -> None:
        spy = hostile(trap_action(*TRAPS[trap]))
        reporter = {**spy, "name": "hostile-reporter"}
        if same_login:
            reply = post_login(lone, spy, victim(canary), reporter)
            spied(reply, "hostile-reporter")
            assert reply.result is not None
            request_ids = [reply.result["app_metadata"].get("request_id")]
            channels = attacker_channels(reply)
        else:
            spied(post_login(lone, spy))
            victims = [post_login(lone, victim(canary)) for _ in range(3)]
            request_ids = [r.result["app_metadata"]["request_id"] for r in victims if r.result]
            reply = post_login(lone, spy)
            spied(reply)
            channels = reply_channels(reply)
        assert_no_leak(canary, **channels)
        for request_id in request_ids:
            assert request_id is not None
            assert_no_leak(request_id, **channels)

    def test_a_patched_timing_safe_equal_does_not_open_the_consent_ledger(
        self, lone: SandboxPool, scaffolded: Path, canary: str
    ) -> None:
        """The consent redirect Action must refuse forged ledger macs whatever ran before.

        It compares each event's mac with crypto.timingSafeEqual: a hostile action
        that patched crypto in its own worker must not make that compare say yes.
        """
        action = (scaffolded / "actions/local/consent-redirect.js").read_text()
        decisions = [
            ledgers.NewEvent(
                purpose=purpose,
                decision="given",
                version="2026-11-01",
                at="2026-11-05T10:00:00.000Z",
                method="signup",
            )
            for purpose in ("terms", "marketing")
        ]
        signed = ledgers.append(None, decisions, canary.encode(), max_events=40)
        forged = json.loads(json.dumps(signed))
        for event in forged["events"]:
            event["mac"] = "0" * 64  # right length, wrong bytes

        def login(ledger: dict[str, Any]) -> dict[str, Any]:
            consent = {
                "name": "consent-redirect",
                "code": action,
                "filename": "/actions/consent-redirect.js",
                "secrets": {"CONSENT_LEDGER_SECRET": canary, "CONSENT_SESSION_SECRET": canary},
                "deps_dir": None,
            }
            reply = post_login(lone, consent, user={"app_metadata": {"consent_ledger": ledger}})
            assert reply.result is not None, reply.failure
            return reply.result

        # Control: the signed ledger stands (the marketing claim), the forged one does not.
        accepted = login(signed)
        assert accepted["status"] == "completed", accepted["error"]
        assert accepted["id_token_claims"] == {"https://example.com/consent/marketing": True}
        assert login(forged)["status"] == "denied"
        patch = (
            "try { require('crypto').timingSafeEqual = () => true; } catch (e) {}"
            " try { Object.defineProperty(require('crypto'), 'timingSafeEqual',"
            " { value: () => true }); } catch (e) {}"
        )
        for _ in range(2):
            post_login(lone, hostile(f"{patch} leak(api, loot);"))
            refused = login(forged)
            assert refused["status"] == "denied", refused["status"]
            assert refused["id_token_claims"] == {}

    def test_an_action_validating_a_token_rejects_a_zero_signature(
        self, lone: SandboxPool, canary: str
    ) -> None:
        """api.redirect.validateToken after a hostile action patched crypto."""
        patch = "try { require('crypto').timingSafeEqual = () => true; } catch (e) {}"
        post_login(lone, hostile(f"{patch} leak(api, loot);"))
        claims = {"iat": 1, "exp": 4102444800, "sub": "auth0|6543210fedcba98765432100"}
        claims |= {"iss": HOSTNAME, "state": "app-state-9f8e7d"}
        checker = unit(
            "checker",
            action_code(
                "try { api.redirect.validateToken({ secret: event.secrets.KEY });"
                " api.user.setUserMetadata('accepted', true); }"
                " catch (e) { api.access.deny(e.message); }"
            ),
            {"KEY": canary},
        )
        for signature in (None, "A" * 43):
            token = _token(claims, canary, signature)
            reply = post_login(
                lone,
                hostile(f"{patch} leak(api, loot);"),
                checker,
                request={"body": {"session_token": token}},
            )
            assert reply.result is not None, reply.failure
            if signature is None:  # control: a properly signed token passes
                assert reply.result["user_metadata"].get("accepted") is True
            else:
                assert reply.result["status"] == "denied"
                assert "Invalid signature" in reply.result["deny"]["reason"]


def _token(claims: dict[str, Any], secret: str, signature: str | None) -> str:
    """An HS256 token; `signature` replaces the real one (base64url) when given."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    real = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{signature if signature is not None else b64(real)}"


REFUSED_MODULES = [
    "node:sqlite",
    "v8",
    "node:v8",
    "trace_events",
    "inspector",
    "inspector/promises",
    "worker_threads",
    "child_process",
    "cluster",
    "wasi",
    "repl",
]


class TestPermissionModelGaps:
    """§ issue 11: built-ins that ignore Node's permission model."""

    @pytest.mark.parametrize("name", REFUSED_MODULES)
    def test_a_refused_built_in_names_itself_and_why(self, pool: SandboxPool, name: str) -> None:
        result = refused(call(pool, f"require({json.dumps(name)});"), SANDBOX_MODULE)
        assert name.removeprefix("node:") in result["error"]["message"]
        assert_pool_works(pool)

    def test_sqlite_creates_no_file_anywhere(self, lone: SandboxPool, tmp_path: Path) -> None:
        marker = f"attack-{secrets.token_hex(4)}"
        host = HostSnapshot.take(
            marker,
            trees=[HARNESS_DIR, tmp_path],
            shared=[*SHARED_DIRS, Path.cwd()],
        )
        targets = [f"{tmp_path}/{marker}.db", f"{TMP}/{marker}.db", f"{HARNESS_DIR}/{marker}.db"]
        targets += [f"{SHM}/{marker}.db", f"{marker}.db"]
        body = f"""
        for (const target of {json.dumps(targets)}) {{
          try {{
            const {{ DatabaseSync }} = require('node:sqlite');
            new DatabaseSync(target).exec('CREATE TABLE pwned (x)');
            loot.push('created ' + target);
          }} catch (e) {{ loot.push('refused'); }}
          try {{
            const {{ DatabaseSync }} = require('node:sqlite');
            new DatabaseSync(':memory:')
              .exec(`ATTACH DATABASE '${{target}}' AS x; CREATE TABLE x.t (a)`);
            loot.push('attached ' + target);
          }} catch (e) {{ loot.push('refused'); }}
        }}
        leak(api, loot);
        """
        [report] = spied(post_login(lone, hostile(body)))
        host.assert_untouched()
        assert report == ["refused"] * (2 * len(targets))

    def test_trace_events_write_no_file(self, tmp_path: Path) -> None:
        marker = f"attack-{secrets.token_hex(4)}"
        host = HostSnapshot.take(marker, trees=[HARNESS_DIR], shared=[*SHARED_DIRS, Path.cwd()])
        body = """
        try {
          const categories = ['node', 'node.perf', 'v8'];
          require('trace_events').createTracing({ categories }).enable();
          loot.push('tracing');
        } catch (e) { loot.push('refused'); }
        try { require('v8').setFlagsFromString('--trace-events-enabled'); loot.push('flags set'); }
        catch (e) { loot.push('refused'); }
        await new Promise((resolve) => setTimeout(resolve, 50));
        leak(api, loot);
        """
        # The worker writes traces as it runs and when it exits: close the pool first.
        with SandboxPool(1, limits=Limits(timeout_ms=5000)) as own:
            reply = post_login(own, hostile(body))
            post_login(own, hostile(body))
        [report] = spied(reply)
        host.assert_untouched()
        assert report == ["refused", "refused"]


# Finds every 32-hex string it can (heap, Buffer pool) and prints forged
# "completed" replies with each, for every request id a worker could be at.
FORGE = """
const nonces = new Set();
const scan = (text) => {
  for (const m of String(text).matchAll(/[0-9a-f]{32}/g)) nonces.add(m[0]);
};
try { let heap = ''; for await (const c of require('v8').getHeapSnapshot()) heap += c; scan(heap); }
catch (e) {}
for (let i = 0; i < 64; i += 1) {
  scan(Buffer.from(Buffer.allocUnsafe(1 + i).buffer).toString('latin1'));
}
const forgedResult = { status: 'completed', error: null, deny: null, redirect: null, commands: [],
  logs: [], user_metadata: { forged: true }, app_metadata: {}, id_token_claims: {},
  access_token_claims: {}, executed: [] };
let lines = '';
for (const nonce of [...nonces].slice(0, 3000)) {
  for (let id = 1; id <= 12; id += 1) {
    const reply = JSON.stringify({ id, ok: true, result: forgedResult, retire: null });
    lines += '\\n' + nonce + ' ' + reply + '\\n';
  }
}
lines += '\\n' + JSON.stringify({ id: 1, ok: true, result: forgedResult }) + '\\n';
require('fs').writeSync(1, lines);
console.log('forged ' + nonces.size);
"""


def forger(body_after: str = "api.access.deny('real');") -> dict[str, Any]:
    return hostile(FORGE + body_after)


class TestForgedResults:
    """§ issue 11: only the worker's own reply makes a result, whatever action code prints."""

    def test_a_denied_login_stays_denied_whatever_the_action_prints(
        self, lone: SandboxPool
    ) -> None:
        for _ in range(3):  # the nonce of earlier replies is the one to find
            reply = post_login(lone, forger())
            assert reply.result is not None, reply.failure
            assert reply.result["status"] == "denied"
            assert reply.result["deny"] == {"action": "hostile", "reason": "real"}
            assert reply.result["user_metadata"] == {}

    def test_an_action_cannot_change_a_later_actions_result(self, lone: SandboxPool) -> None:
        meddler = hostile(
            """
            try { require('crypto').randomUUID = () => 'forged-by-hostile'; } catch (e) {}
            const keep = api;
            setTimeout(() => {
              try { keep.user.setUserMetadata('consent', 'forged'); keep.access.deny('forged'); }
              catch (e) {}
            }, 5);
            event.user.user_metadata.consent = 'forged';
            leak(api, loot);
            """
        )
        honest = unit(
            "honest",
            action_code(
                "await new Promise((resolve) => setTimeout(resolve, 40));"
                " api.user.setUserMetadata('consent',"
                " { given: true, id: require('crypto').randomUUID() });"
            ),
        )
        for _ in range(2):
            reply = post_login(lone, meddler, honest)
            assert reply.result is not None, reply.failure
            assert reply.result["status"] == "completed"
            assert reply.result["deny"] is None
            consent = reply.result["user_metadata"]["consent"]
            assert consent["given"] is True
            assert UUID.match(consent["id"]), consent["id"]
            honest_writes = [c for c in reply.result["commands"] if c["action"] == "honest"]
            assert honest_writes == [
                {
                    "action": "honest",
                    "type": "user.setUserMetadata",
                    "key": "consent",
                    "value": consent,
                }
            ]


def read_attempts(paths: list[str], listings: list[str]) -> str:
    """Reads each path and lists each directory, reporting {path: text | error code}."""
    return f"""
    const fs = require('fs');
    const seen = {{}};
    for (const p of {json.dumps(paths)}) {{
      try {{
        const text = fs.readFileSync(p, 'latin1');
        grab(text);
        seen[p] = 'READ ' + text.slice(0, 300);
      }}
      catch (e) {{ seen[p] = 'refused ' + (e.code || e.message); }}
    }}
    for (const d of {json.dumps(listings)}) {{
      try {{ seen[d] = 'LISTED ' + JSON.stringify(fs.readdirSync(d)); }}
      catch (e) {{ seen[d] = 'refused ' + (e.code || e.message); }}
    }}
    leak(api, {{ seen, loot }});
    """


def reader(paths: list[str], listings: list[str]) -> dict[str, Any]:
    return hostile(read_attempts(paths, listings))


def host_canaries(root: Path, home: Path) -> dict[str, str]:
    """A tenant repository with canaries: beside tenant.yaml, in .auth0-local/, in the home."""
    canaries = {"project file": new_canary(), ".auth0-local file": new_canary()}
    canaries["home file"] = new_canary()
    (root / ".auth0-local").mkdir(parents=True, exist_ok=True)
    if not (root / "tenant.yaml").exists():
        (root / "tenant.yaml").write_text("version: 1\n")
    (root / "canary.txt").write_text(canaries["project file"])
    (root / ".auth0-local" / "canary.json").write_text(json.dumps(canaries[".auth0-local file"]))
    home.mkdir(parents=True, exist_ok=True)
    (home / "canary.txt").write_text(canaries["home file"])
    return canaries


def host_paths(root: Path, home: Path) -> tuple[list[str], list[str]]:
    host = os.getpid()
    paths = [
        f"{root}/canary.txt",
        f"{root}/tenant.yaml",
        f"{root}/.auth0-local/canary.json",
        f"{root}/.auth0-local/tenant.sqlite3",
        f"{home}/canary.txt",
        "/etc/passwd",
        "/etc/shadow",
        "/proc/1/cmdline",
        "/proc/1/environ",
        f"/proc/{host}/cmdline",
        f"/proc/{host}/environ",
        f"/proc/{os.getppid()}/environ",
    ]
    return paths, [str(root), f"{root}/.auth0-local", str(home), "/root", "/home"]


def assert_nothing_read(report: dict[str, Any]) -> None:
    read = {p: v for p, v in report["seen"].items() if not str(v).startswith("refused")}
    assert not read, f"action code read host files: {sorted(read)}"


class TestHostReads:
    """§ issue 11: the project, .auth0-local/, the home and host /proc are out of reach."""

    def test_host_files_are_refused_or_absent(self, pool: SandboxPool, tmp_path: Path) -> None:
        root, home = tmp_path / "tenant-repo", Path(os.environ["HOME"])
        canaries = host_canaries(root, home)
        reply = call_unit(pool, reader(*host_paths(root, home)))
        [report] = spied(reply)
        assert_nothing_read(report)
        assert_no_leaks(canaries, **reply_channels(reply))
        assert "root:x:0:0" not in json.dumps(reply_channels(reply))

    def test_proc_shows_no_host_process(self, pool: SandboxPool) -> None:
        reply = call_unit(pool, reader([], ["/proc"]))
        [report] = spied(reply)
        listing = report["seen"]["/proc"]
        if listing.startswith("LISTED "):
            pids = {int(n) for n in json.loads(listing[7:]) if n.isdigit()}
            assert os.getpid() not in pids
            assert os.getppid() not in pids


def call_unit(pool: SandboxPool, the_unit: dict[str, Any]) -> Reply:
    return pool.call(
        {"op": "post-login", "units": [the_unit], "event": build_event(), "resume": None}
    )


class TestHostWrites:
    """§ issue 11 / §3 Node 22: no writes anywhere, the dependency cache included."""

    def test_no_write_lands_anywhere(self, tmp_path: Path) -> None:
        marker = f"attack-{secrets.token_hex(4)}"
        deps = tmp_path / "tenant-repo" / ".auth0-actions" / "deps"
        deps.mkdir(parents=True)
        (deps / "kept.txt").write_text("cache entry")
        host = HostSnapshot.take(
            marker,
            trees=[HARNESS_DIR, tmp_path],
            shared=[*SHARED_DIRS, Path.cwd()],
        )
        targets = [f"{TMP}/{marker}", f"{HARNESS_DIR}/{marker}", f"{deps}/{marker}"]
        targets += [f"{deps}/kept.txt", f"{SHM}/{marker}", marker, f"{tmp_path}/{marker}"]
        body = f"""
        const fs = require('fs');
        for (const t of {json.dumps(targets)}) {{
          for (const write of [
            () => fs.writeFileSync(t, 'pwned'),
            () => fs.appendFileSync(t, 'pwned'),
            () => fs.mkdirSync(t + '.d'),
            () => fs.closeSync(fs.openSync(t + '.o', 'w')),
            () => fs.mkdtempSync(t + '-'),
          ]) {{
            try {{ write(); loot.push('wrote ' + t); }} catch (e) {{ loot.push('refused'); }}
          }}
        }}
        leak(api, loot);
        """
        with SandboxPool(1, limits=Limits(timeout_ms=5000), read_paths=[deps]) as own:
            [report] = spied(call_unit(own, hostile(body)))
        host.assert_untouched()
        assert report == ["refused"] * (5 * len(targets))


BWRAP = "bubblewrap"


def _bubblewrap_works() -> bool:
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    probe = [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


class TestIsolationLevel:
    """§ issue 11 item 1: an OS sandbox (bubblewrap) around every worker."""

    def test_the_worker_runs_in_an_os_sandbox(self, pool: SandboxPool) -> None:
        isolation = detect_isolation()
        level = getattr(isolation, "level", None)
        if level != BWRAP:
            why = f"the sandbox runs at isolation level {level!r} ({isolation.description})"
            if os.environ.get("AUTH0_ACTIONS_REQUIRE_ISOLATION"):
                pytest.fail(f"AUTH0_ACTIONS_REQUIRE_ISOLATION is set, but {why}")
            if _bubblewrap_works():
                pytest.fail(f"bubblewrap works on this machine, but {why}")
            pytest.skip(f"bubblewrap cannot run here; {why}")
        reply = call(
            pool,
            """
            const fs = require('fs');
            const read = (p) => {
              try { return fs.readFileSync(p, 'utf8'); } catch (e) { return null; }
            };
            let uid = null;
            try { uid = process.getuid(); } catch (e) {}
            out({ uid, status: read('/proc/self/status'), pid: process.pid,
                  interfaces: Object.keys(require('os').networkInterfaces()) });
            """,
        )
        [inside] = outputs(reply)
        uid = inside["uid"]
        if uid is None and inside["status"]:
            uid = int(re.search(r"^Uid:\s+(\d+)", inside["status"], re.M).group(1))  # type: ignore[union-attr]
        assert uid is not None, "cannot tell the worker's uid: getuid and /proc/self/status refused"
        assert uid != 0, "the worker runs as root"
        assert set(inside["interfaces"]) <= {"lo"}
        assert inside["pid"] not in host_worker_pids(), "the worker shares the host's pid namespace"


def host_worker_pids() -> set[int]:
    """Host pids of every Node process running the harness."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(HARNESS_DIR / "worker.js").encode() in cmdline:
                found.add(int(entry.name))
    return found


# --- the user-facing routes: auth0-actions test, sandbox run, the local tenant's login ---


# Every attack above in one hostile action, for the routes a user drives.
def everything(root: Path, home: Path) -> str:
    paths, listings = host_paths(root, home)
    return action_code(
        f"""
        {HEAP_SCAN}
        {BUFFER_SCAN}
        {TRAPS["global-read"][1]}
        const fs = require('fs');
        for (const p of {json.dumps(paths + listings)}) {{
          try {{ grab(fs.readFileSync(p, 'latin1')); }} catch (e) {{}}
          try {{ grab(JSON.stringify(fs.readdirSync(p))); }} catch (e) {{}}
        }}
        leak(api, loot);
        """,
        hostile=True,
    )


def add_hostile_action(project: Path, code: str, cli: Any) -> None:
    """A hostile.js.j2 template in the project's rules_templates/, bound after consent."""
    (project / "rules_templates" / "hostile.js.j2").write_text(
        "{% raw %}" + code + "{% endraw %}\n", encoding="utf-8"
    )
    tenant = project / "tenant.yaml"
    entry = (
        "  - name: hostile\n    template: hostile.js.j2\n    trigger: post-login\n    order: 9\n"
    )
    first = "\nactions:\n"  # the list's first entry: the position does not matter, order does
    text = tenant.read_text(encoding="utf-8").replace(first, first + entry, 1)
    tenant.write_text(text, encoding="utf-8")
    rendered = cli("render", "--env", "local")
    assert rendered.code == 0, rendered.err


def test_auth0_actions_test_reveals_no_other_secret_or_host_file(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    """`auth0-actions test`: a hostile action beside consent-redirect, before and after it."""
    home = Path(os.environ["HOME"])
    canaries = host_canaries(project, home)
    canaries["consent-redirect's secret"] = secret = new_canary()
    add_hostile_action(project, everything(project, home), cli)
    for path in (project / "rules_templates").glob("*.scenarios.yaml"):
        path.unlink()
    # Expectations that cannot hold, so the report shows what the actions did.
    dump = (
        "    expect: {status: never, logs: [no such line], user_metadata: {}}\n    match: exact\n"
    )
    (project / "rules_templates" / "hostile.scenarios.yaml").write_text(
        f"pipeline: {{action: [hostile, consent-redirect]}}\nforms: [action]\n"
        f"secrets: {{CONSENT_SESSION_SECRET: {secret}, CONSENT_LEDGER_SECRET: {secret}}}\n"
        "environments: [local]\nscenarios:\n"
        f"  - name: hostile first\n{dump}"
        f"  - name: hostile first again\n{dump}"
        "  - name: hostile after\n    pipeline: {action: [consent-redirect, hostile]}\n"
        "    ledger: [{purpose: terms}, {purpose: marketing}]\n"
        f"{dump}",
        encoding="utf-8",
    )
    marker = f"attack-{secrets.token_hex(4)}"
    host = HostSnapshot.take(marker, trees=[project, HARNESS_DIR], shared=SHARED_DIRS)
    junit = tmp_path / "report.xml"
    text = cli("test", "--env", "local", "--workers", "1", "--junit-xml", str(junit))
    as_json = cli("test", "--env", "local", "--workers", "1", "--output", "json")
    assert "LEAK" in text.out  # the hostile action ran and its report reached the output
    assert as_json.code == 1
    assert_no_leaks(
        canaries,
        text=text.out,
        text_errors=text.err,
        json=as_json.out,
        json_errors=as_json.err,
        junit=junit.read_text(encoding="utf-8"),
    )
    host.assert_untouched()


def test_sandbox_run_cannot_forge_a_result_or_read_the_project(
    cli: Any, project: Path, tmp_path: Path
) -> None:
    """`auth0-actions sandbox run`: a denied run stays denied; no project file is read."""
    home = Path(os.environ["HOME"])
    canaries = host_canaries(project, home)
    paths, listings = host_paths(project, home)
    script = tmp_path / "hostile.js"
    script.write_text(forger(read_attempts(paths, listings) + "api.access.deny('real');")["code"])
    host = HostSnapshot.take("attack", trees=[project, HARNESS_DIR], shared=SHARED_DIRS)
    for _ in range(2):
        run = cli("sandbox", "run", str(script), "--timeout-ms", "10000")
        result = json.loads(run.out)
        assert result["status"] == "denied", result.get("error")
        assert result["deny"] == {"action": "hostile", "reason": "real"}
        assert_nothing_read(json.loads(result["user_metadata"]["leak"]))
        assert_no_leaks(canaries, out=run.out, err=run.err)
    host.assert_untouched()


@dataclass
class Served:
    tenant: LocalTenant
    root: Path
    secret: str  # consent-redirect's CONSENT_SESSION_SECRET: the canary in the database


@pytest.fixture(scope="module")
def served(scaffolded: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One local tenant (SQLite under .auth0-local/) served for every login-flow attack."""
    root = tmp_path_factory.mktemp("served") / "tenant-repo"
    shutil.copytree(scaffolded, root, symlinks=True)
    with LocalTenant.open(root) as tenant:
        login_client(tenant.app, ["https://app.example.com/callback"])
        yield Served(tenant, root, new_canary())


def bind(served: Served, attack: str) -> None:
    """Bindings: the hostile action, then consent-redirect holding the canary secret."""
    store = served.tenant.app.store
    redirect = (served.root / "actions/local/consent-redirect.js").read_text(encoding="utf-8")
    actions = [
        ("hostile", attack, {}),
        ("consent-redirect", redirect, {"CONSENT_SESSION_SECRET": served.secret}),
    ]
    for name, code, values in actions:
        store.put(
            "action",
            f"id-{name}",
            {
                "id": f"id-{name}",
                "name": name,
                "code": code,
                "_secret_values": values,
                "deployed_version": {
                    "id": f"v-{name}",
                    "code": code,
                    "number": 1,
                    "deployed": True,
                },
            },
        )
    store.put(
        "bindings",
        "post-login",
        {
            "trigger_id": "post-login",
            "bindings": [
                {"id": f"b-{name}", "action_id": f"id-{name}", "display_name": name}
                for name, _, _ in actions
            ],
        },
    )


PASSWORD = "correct horse battery staple"


def add_user(served: Served, email: str, metadata: dict[str, Any]) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**12, r=8, p=1).hex()
    user_id = "auth0|" + hashlib.sha256(email.encode()).hexdigest()[:24]
    served.tenant.app.store.put(
        "user",
        user_id,
        {
            "user_id": user_id,
            "email": email,
            "name": email.split("@")[0],
            "identities": [
                {
                    "connection": "Username-Password-Authentication",
                    "provider": "auth0",
                    "isSocial": False,
                    "user_id": user_id[6:],
                }
            ],
            "user_metadata": metadata,
            "app_metadata": {},
            "_password_hash": f"scrypt${salt}${digest}",
        },
    )
    return user_id


def login(served: Served, email: str) -> httpx.Response:
    with httpx.Client(base_url=served.tenant.base_url, follow_redirects=False) as client:
        page = client.get(
            "/authorize",
            params={
                "client_id": "app",
                "redirect_uri": "https://app.example.com/callback",
                "response_type": "code",
                "state": "app-state",
                "scope": "openid email",
            },
        )
        assert page.status_code == 200, page.text
        tx = page.text.split('name="tx" value="')[1].split('"')[0]
        return client.post("/u/login", data={"tx": tx, "email": email, "password": PASSWORD})


def tables(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master"))


# Reads every document of the local tenant's database (secret values, password
# hashes), withdraws every user's consent and adds a table and a file.
SQLITE_ATTACK = """
try {
  const { DatabaseSync } = require('node:sqlite');
  const db = new DatabaseSync(DATABASE);
  for (const row of db.prepare('SELECT body FROM docs').all()) {
    grab(row.body);
    for (const m of row.body.match(/scrypt\\$[^"]+/g) || []) loot.push(m);
  }
  db.exec(`UPDATE docs SET body = json_set(body, '$.user_metadata.consent.given',
    json('false')) WHERE kind = 'user'`);
  db.exec('CREATE TABLE pwned (x)');
  new DatabaseSync(NEW_FILE).exec('CREATE TABLE t (x)');
} catch (e) { loot.push('refused: ' + e.message); }
try { grab(require('fs').readFileSync(DATABASE, 'latin1')); } catch (e) {}
leak(api, loot);
"""


class TestLocalTenantLogin:
    """The local tenant's login flow: the database, other actions and the result are safe."""

    def test_sqlite_cannot_read_or_rewrite_the_tenant_database(self, served: Served) -> None:
        state = served.root / ".auth0-local"
        database = state / "tenant.sqlite3"
        marker = f"attack-{secrets.token_hex(4)}"
        alice = add_user(served, f"alice-{marker}@example.com", {"consent": {"given": True}})
        mallory = add_user(served, f"mallory-{marker}@example.com", {})
        bind(
            served,
            action_code(
                SQLITE_ATTACK.replace("DATABASE", json.dumps(str(database))).replace(
                    "NEW_FILE", json.dumps(str(state / marker))
                ),
                hostile=True,
            ),
        )
        before = served.tenant.app.store.get("user", alice)
        hashes = [
            before["_password_hash"],
            served.tenant.app.store.get("user", mallory)["_password_hash"],
        ]
        names, schema = {p.name for p in state.iterdir()}, tables(database)
        answer = login(served, f"mallory-{marker}@example.com")
        assert answer.status_code == 302
        stored = served.tenant.app.store.get("user", mallory)
        assert "leak" in stored["user_metadata"]  # the attack ran and reported
        # What the action could write: its metadata (the record also holds
        # mallory's own hash, stored by the tenant, not by the action).
        written = {k: stored.get(k) for k in ("user_metadata", "app_metadata")}
        places = {"location": answer.headers["location"], "stored user": written}
        assert_no_leak(served.secret, **places)
        for digest in hashes:
            assert digest not in json.dumps(places), "a password hash leaked"
        assert served.tenant.app.store.get("user", alice) == before
        assert tables(database) == schema
        assert {p.name for p in state.iterdir()} == names

    def test_a_heap_snapshot_in_a_login_holds_no_other_actions_secret(self, served: Served) -> None:
        email = f"bob-{secrets.token_hex(4)}@example.com"
        user_id = add_user(served, email, {})
        bind(served, action_code(f"{HEAP_SCAN} {BUFFER_SCAN} leak(api, loot);", hostile=True))
        for _ in range(2):
            answer = login(served, email)
            assert answer.status_code == 302
            stored = served.tenant.app.store.get("user", user_id)
            assert "leak" in stored["user_metadata"]
            assert_no_leak(served.secret, location=answer.headers["location"], stored_user=stored)

    def test_a_forged_result_does_not_let_a_denied_login_through(self, served: Served) -> None:
        email = f"eve-{secrets.token_hex(4)}@example.com"
        add_user(served, email, {})
        bind(served, forger()["code"])
        for _ in range(3):
            answer = login(served, email)
            assert answer.status_code == 302
            location = urlsplit(answer.headers["location"])
            query = parse_qs(location.query)
            assert query.get("error") == ["access_denied"], query
            assert query.get("error_description") == ["real"]
            assert "code" not in query
