"""Isolation of the sandbox: hostile action code is contained and the host untouched.

Each attack runs as action code through the pool. The reply must be a clean
failure (status "error" with a clear message, or Reply.failure for timeouts,
memory and tampering), the host must show no trace of it (no file, no
connection to a loopback server started here, no host variable, no child
process), and the pool must keep serving normal requests afterwards.

The isolation itself is docs/reference/actions-runtime.md §6 (Sandboxing on
Node 20/22); the limits are §3.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.sandbox.event import build_event
from auth0_actions.sandbox.isolation import API_BLOCK, NETNS, Isolation, detect_isolation
from auth0_actions.sandbox.pool import HARNESS_DIR, TIMEOUT_MESSAGE, Limits, Reply, SandboxPool

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX sandbox")

TIMEOUT_MS = 1000
MEMORY_MB = 128
NETWORK_DISABLED = "Network access is disabled in the auth0-actions sandbox."
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


def test_writing_the_harness_is_refused_but_reading_it_is_allowed(pool: SandboxPool) -> None:
    """§6 Permission model: --allow-fs-read=<bundle> only; the harness is read-only."""
    worker_js = HARNESS_DIR / "worker.js"
    before = worker_js.read_bytes()
    reply = call(pool, f"out(require('fs').readFileSync({json.dumps(str(worker_js))}, 'utf8'));")
    assert reply.ok
    assert reply.result is not None
    assert reply.result["status"] == "completed"
    assert outputs(reply) == [before.decode()]
    for body in (
        f"require('fs').writeFileSync({json.dumps(str(worker_js))}, 'pwned');",
        f"require('fs').writeFileSync({json.dumps(str(HARNESS_DIR / 'evil.js'))}, 'x');",
        f"require('fs').unlinkSync({json.dumps(str(worker_js))});",
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
    refused(reply, "allow-child-process")
    assert not marker.exists()
    assert children_of(pids | worker_pids(pool)) == []
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
    refused(call(pool, body), "allow-worker")
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
    refused(call(pool, body), re.compile("addons|restricted|allow-wasi|WASI", re.IGNORECASE))
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


def test_detect_isolation_uses_a_network_namespace() -> None:
    """§6 Recommendation: a network namespace where the OS allows one (root here)."""
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
    if not probe or probe.returncode != 0:
        pytest.skip("unshare --net is not permitted on this machine")
    isolation = detect_isolation()
    assert isolation.network == NETNS
    assert Path(isolation.prefix[0]).name == "unshare"
    assert "--net" in isolation.prefix
    assert "own network namespace" in isolation.description


def test_the_namespace_has_no_network(pool: SandboxPool) -> None:
    """§6: inside the namespace there is no interface but (down) loopback."""
    if pool.isolation.network != NETNS:
        pytest.skip("no network namespace on this machine")
    reply = call(pool, "out(require('os').networkInterfaces());")
    assert reply.ok
    [interfaces] = outputs(reply)
    assert set(interfaces) <= {"lo"}


def test_network_is_blocked_without_a_namespace(listener: Listener) -> None:
    """§6: without a namespace (API_BLOCK) the harness still blocks every network API."""
    isolation = Isolation(API_BLOCK, ())
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
    reply = call(
        pool,
        "out(['./tokens', './loader', './postlogin', './rules']"
        ".every((m) => Object.isFrozen(require(m))));",
    )
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
    for body in ("process.exit(0);", "process.abort();", "process.reallyExit(0);"):
        reply = call(pool, body)
        assert reply.result is None
        assert reply.failure is not None
        assert "crashed" in reply.failure
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
    reply = call(
        pool, "process.stdout.write('x'.repeat(80 * 1024 * 1024)); await new Promise(() => {});"
    )
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
