"""How sandbox workers are walled off from the host, and how well.

Three levels, strongest first; :func:`detect_isolation` picks the strongest
that really starts on this machine, by starting ``node -e`` inside exactly
the sandbox :meth:`Isolation.launch` builds:

- ``bubblewrap`` (the full level): an OS sandbox. The worker runs as an
  unprivileged uid/gid with no capabilities, in its own user (or, as root,
  its own uid), pid, ipc, uts, cgroup and network namespaces, on a read-only
  root holding only Node, the libraries it links, the harness and the
  domain's dependency directory; its own ``/proc``, a minimal ``/dev``, no
  ``/etc``, no home, no project, no ``.auth0-local/``, no ``/tmp``. It dies
  with its parent. ``prlimit`` inside caps address space, CPU time, file
  size, processes, open files and core dumps. Node's permission model stays
  on as a second layer.
- ``network-namespace``: Node's permission model and the limits, network cut
  by ``unshare --net``. The worker runs as the host user and sees the host's
  files wherever the permission model has gaps (it documents that it is no
  protection against malicious code).
- ``permission-model``: the permission model and the limits; the harness
  blocks the network APIs in the worker instead of a namespace.

A weaker level is always named (``doctor``, every ``test``/``sandbox run``
report); with ``--require-isolation`` or ``AUTH0_ACTIONS_REQUIRE_ISOLATION=1``
it is an error instead (:func:`ensure_required_level`).
``AUTH0_ACTIONS_SANDBOX`` picks a weaker level on purpose.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from auth0_actions.errors import Auth0ActionsError, ConfigError

BUBBLEWRAP = "bubblewrap"
NAMESPACE = "network-namespace"
PERMISSION_MODEL = "permission-model"
LEVELS = (BUBBLEWRAP, NAMESPACE, PERMISSION_MODEL)
# The `network` field, kept for callers that predate the levels.
NETNS = "network-namespace"
API_BLOCK = "api-block"

LEVEL_ENV = "AUTH0_ACTIONS_SANDBOX"
REQUIRE_ENV = "AUTH0_ACTIONS_REQUIRE_ISOLATION"
HARNESS_DIR = Path(__file__).resolve().parent / "js"
# The triggers' JS halves (deploy/auth0_actions/triggers/<trigger>.js): read-only
# harness code, bound next to the harness.
TRIGGERS_DIR = Path(__file__).resolve().parent.parent / "triggers"

# Where the sandbox sees what is bound into it. Fixed names, so nothing of the
# host's layout (user names, project paths) is visible to action code.
_NODE = "/sandbox/node"
_HARNESS = "/sandbox/harness"
_TRIGGERS = "/sandbox/triggers"
_DEPS = "/sandbox/deps"
_PRLIMIT = "/sandbox/bin/prlimit"  # helpers are bound as /sandbox/bin/<name>
_SETPRIV = "/sandbox/bin/setpriv"

# A worker's whole environment. Auth0 runs in UTC. glibc reserves a 64 MB
# malloc arena per thread that allocates, and Node's threads do: on a busy
# host that address space (not memory) ate the cap below, and an action
# holding well under memory_mb of Buffers failed with "Array buffer
# allocation failed" one run in two. Two arenas make the cap mean memory.
WORKER_ENV = {"TZ": "UTC", "MALLOC_ARENA_MAX": "2"}

# The memory cap is an address-space limit: a worker idles at about 1 GB of
# virtual memory (V8's reservations), and the cap allows memory_mb beyond it.
# It is set by the host, outside the worker, and bounds the JS heap and
# Buffers alike. No V8 heap flag: any V8 flag makes Node reject the code
# cache built into its binary, which doubled a worker's cold start.
ADDRESS_SPACE_OVERHEAD_MB = 1024
# Node runs ~10 threads (libuv pool, V8 platform workers), and every thread
# counts against RLIMIT_NPROC; 64 leaves room for them and nothing like a
# fork bomb.
_NPROC = 64
# Node holds a few dozen descriptors (stdio, epoll, eventfds, the harness
# files while loading); 256 is ample and still small.
_NOFILE = 256
# An unprivileged uid of its own per worker when the host user is root (see
# _identity): far above any uid a distribution hands out.
_UID_BASE = 2_000_000_000
_UID_SPAN = 100_000_000
_NOBODY = 65534
_PROBE_TIMEOUT_S = 20


class IsolationError(ConfigError):
    """Isolation was required, but the OS sandbox could not start."""


@dataclass(frozen=True)
class Launch:
    """How to start one worker: ``subprocess.Popen(argv, env=env, cwd=cwd)``.

    stdin/stdout/stderr must be pipes: the file-size limit is 0, so a worker
    whose stdout is a regular file is killed by SIGXFSZ on its first write.
    Under bubblewrap ``--die-with-parent`` kills the worker when the *thread*
    that started it ends (PR_SET_PDEATHSIG follows threads), so start workers
    from a thread that lives as long as they should.
    """

    argv: list[str]
    env: dict[str, str]
    cwd: str
    harness_dir: str  # the harness directory as Node sees it
    triggers_dir: str  # the triggers' JS halves as Node sees them
    deps_dir: str | None  # the dependency directory as Node sees it, or None


@dataclass(frozen=True)
class Tools:
    """The host programs a level needs, found once."""

    bwrap: str | None = None
    prlimit: str | None = None
    setpriv: str | None = None
    unshare: tuple[str, ...] = ()  # the prefix that enters a network namespace


def find_tools(which: Callable[[str], str | None] = shutil.which) -> Tools:
    return Tools(
        bwrap=which("bwrap"),
        prlimit=which("prlimit"),
        setpriv=which("setpriv"),
        unshare=(u, "--net") if (u := which("unshare")) else (),
    )


@dataclass(frozen=True)
class Isolation:
    level: str  # BUBBLEWRAP | NAMESPACE | PERMISSION_MODEL
    network: str  # NETNS or API_BLOCK
    reason: str | None = None  # why a weaker level ran; None at the full level
    tools: Tools | None = None  # None: looked up when a worker is launched

    @property
    def full(self) -> bool:
        return self.level == BUBBLEWRAP

    @property
    def description(self) -> str:
        """One sentence a reviewer reads: which walls are up."""
        if self.level == BUBBLEWRAP:
            who = "a uid of its own" if os.geteuid() == 0 else "uid 65534 in a user namespace"
            return (
                f"OS sandbox: {who}, no capabilities; own pid, ipc, uts and network "
                "namespaces (no network but loopback); a read-only root holding only Node, "
                "its libraries, the harness and the action's dependencies (no host files); "
                "dies with its parent; limits on memory, CPU time, file size and processes; "
                "Node's permission model as a second layer"
            )
        walls = (
            "no OS sandbox: the worker runs as the host user under Node's permission model "
            "(read-only harness and dependencies; no writes, child processes, workers or "
            "addons), with an empty environment and limits on memory, CPU time and file size"
        )
        if self.network == NETNS:
            return walls + "; no network (own network namespace, network APIs also blocked)"
        return walls + "; network APIs blocked in the worker (no network namespace)"

    @property
    def summary(self) -> str:
        """The line every report carries: ``isolation: LEVEL (what) [weaker: why]``."""
        line = f"isolation: {self.level} ({self.description})"
        return line if self.reason is None else f"{line}; weaker than {BUBBLEWRAP}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        """The same for JSON reports."""
        return {
            "level": self.level,
            "full": self.full,
            "network": self.network,
            "description": self.description,
            "reason": self.reason,
        }

    def launch(
        self,
        node: Path,
        *,
        harness: Path,
        deps: Path | None,
        memory_mb: int,
        cpu_seconds: int,
    ) -> Launch:
        """The command that starts the harness (``worker.js``) at this level."""
        return self._launch(node, harness, deps, memory_mb, cpu_seconds, script=None)

    def _launch(
        self,
        node: Path,
        harness: Path,
        deps: Path | None,
        memory_mb: int,
        cpu_seconds: int,
        script: str | None,
    ) -> Launch:
        tools = self.tools or _tools()
        limits = _limits(memory_mb, cpu_seconds)
        if self.level == BUBBLEWRAP:
            inside_harness, inside_deps = _HARNESS, _DEPS if deps else None
            inside_triggers = _TRIGGERS
        else:
            inside_harness = str(harness.resolve())
            inside_triggers = str(TRIGGERS_DIR)
            inside_deps = str(deps.resolve()) if deps else None
        node_argv = [
            _NODE if self.level == BUBBLEWRAP else str(node),
            *_node_flags(inside_harness, inside_triggers, inside_deps),
            *(["-e", script] if script is not None else [f"{inside_harness}/worker.js"]),
        ]
        if self.level == BUBBLEWRAP:
            if not (tools.bwrap and tools.prlimit):
                raise IsolationError("the bubblewrap level needs bwrap and prlimit on PATH")
            sandbox = _bubblewrap_options(tools, node, harness, deps)
            identity, drop = _identity(tools)
            # prlimit runs inside, before the uid change: RLIMIT_NPROC counts
            # per uid, and set outside it would count the host user's processes.
            inside = [_PRLIMIT, *limits, "--", *drop, *node_argv]
            argv = [tools.bwrap, *identity, *sandbox, "--", *inside]
        else:
            # No nproc here: outside a sandbox of its own the count would be
            # every process of the host user.
            host_limits = [lim for lim in limits if not lim.startswith("--nproc")]
            prefix = list(tools.unshare) if self.level == NAMESPACE else []
            argv = [*_rlimit_prefix(tools.prlimit, host_limits), *prefix, *node_argv]
        # No host variable is visible to action code; Auth0 runs in UTC.
        return Launch(argv, dict(WORKER_ENV), "/", inside_harness, inside_triggers, inside_deps)


def _tools() -> Tools:
    return find_tools()


def _node_flags(harness: str, triggers: str, deps: str | None) -> list[str]:
    return [
        "--permission",
        f"--allow-fs-read={harness}",
        f"--allow-fs-read={triggers}",
        *([f"--allow-fs-read={deps}"] if deps else []),
        # Wasm's trap handler reserves ~10 GB of address space, which the
        # address-space cap would refuse; inline bounds checks do not.
        "--disable-wasm-trap-handler",
        # Buffer.allocUnsafe would otherwise hand out memory that held
        # another execution's data.
        "--zero-fill-buffers",
    ]


def _limits(memory_mb: int, cpu_seconds: int) -> list[str]:
    """prlimit options; soft = hard, so a process cannot raise them again."""
    address_space = (memory_mb + ADDRESS_SPACE_OVERHEAD_MB) * 1024 * 1024
    return [
        f"--as={address_space}",
        # RLIMIT_CPU counts the worker's whole life, not one execution.
        f"--cpu={cpu_seconds}",
        # Node writes no file; the worker's stdio are pipes, which this does
        # not limit. Any file write (through a permission-model gap) is killed.
        "--fsize=0",
        f"--nproc={_NPROC}",
        "--core=0",
        f"--nofile={_NOFILE}",
    ]


def _rlimit_prefix(prlimit: str | None, limits: list[str]) -> list[str]:
    """A command prefix that sets ``limits`` and execs the rest, without preexec_fn.

    preexec_fn is unsafe once workers are started from several threads; where
    util-linux' prlimit is missing, this Python applies them and execs.
    """
    if prlimit:
        return [prlimit, *limits, "--"]
    names = {"as": "RLIMIT_AS", "cpu": "RLIMIT_CPU", "fsize": "RLIMIT_FSIZE"}
    names |= {"nproc": "RLIMIT_NPROC", "core": "RLIMIT_CORE", "nofile": "RLIMIT_NOFILE"}
    pairs = [(names[k.lstrip("-")], int(v)) for k, v in (lim.split("=") for lim in limits)]
    code = (
        "import os,resource,sys\n"
        f"for n,v in {pairs!r}: resource.setrlimit(getattr(resource,n),(v,v))\n"
        "os.execv(sys.argv[1],sys.argv[1:])"
    )
    return [sys.executable, "-I", "-c", code]


_used_uids: set[int] = set()
_uid_lock = threading.Lock()


def _own_uid() -> int:
    """A uid no other worker of this process has (collisions across processes: ~1e-8)."""
    with _uid_lock:
        while (uid := _UID_BASE + secrets.randbelow(_UID_SPAN)) in _used_uids:
            pass
        _used_uids.add(uid)
        return uid


def _identity(tools: Tools) -> tuple[list[str], list[str]]:
    """bwrap options and the in-sandbox prefix that make the worker an unprivileged user.

    As root, a user namespace would map the sandbox uid to host root, for which
    the kernel does not enforce RLIMIT_NPROC. So root skips the user namespace
    and drops to a uid of its own per worker with setpriv, keeping only the
    capabilities setpriv needs (CAP_SETPCAP: to empty the bounding set), which
    the uid change then clears. Any other user gets a user namespace in which
    it is uid/gid 65534 and which may not nest another.
    """
    if os.geteuid() != 0:
        bwrap = ["--unshare-user", "--uid", str(_NOBODY), "--gid", str(_NOBODY)]
        return [*bwrap, "--disable-userns", "--cap-drop", "ALL"], []
    if not tools.setpriv:
        raise IsolationError("bubblewrap as root needs util-linux' setpriv on PATH")
    uid = str(_own_uid())
    caps = ["--cap-drop", "ALL"]
    caps += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    drop = [_SETPRIV, "--reuid", uid, "--regid", uid, "--clear-groups", "--no-new-privs"]
    return caps, [*drop, "--inh-caps=-all", "--bounding-set=-all", "--"]


def _bubblewrap_options(tools: Tools, node: Path, harness: Path, deps: Path | None) -> list[str]:
    """Namespaces and the read-only root: Node, its libraries, the helpers, harness, deps."""
    helpers = [p for p in (tools.prlimit, tools.setpriv if os.geteuid() == 0 else None) if p]
    binds: dict[str, str] = {}  # inside path -> host file
    for program in (str(node), *helpers):
        binds.update(_libraries(program))
    binds[_NODE] = str(node.resolve())
    for program in helpers:
        binds[f"/sandbox/bin/{Path(program).name}"] = str(Path(program).resolve())
    mounts = [*_directories(binds), *_ro_binds(binds)]
    mounts += ["--ro-bind", str(harness.resolve()), _HARNESS]
    mounts += ["--ro-bind", str(TRIGGERS_DIR), _TRIGGERS]
    if deps is not None:
        mounts += ["--ro-bind", str(deps.resolve()), _DEPS]
    return [
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        # Without a terminal of its own, TIOCSTI could type into the caller's.
        "--new-session",
        "--clearenv",
        *(arg for name, value in WORKER_ENV.items() for arg in ("--setenv", name, value)),
        *mounts,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # bwrap's root is a tmpfs; once everything is mounted nothing on it
        # may change, nor on /dev (its device nodes stay usable).
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        "/",
    ]


def _directories(binds: Mapping[str, str]) -> list[str]:
    """Every directory above a bind target, created 0555 (bwrap's own would be 0700)."""
    needed = {str(parent) for inside in binds for parent in Path(inside).parents}
    needed |= {str(p) for inside in (_HARNESS, _TRIGGERS, _DEPS) for p in Path(inside).parents}
    needed.discard("/")
    options: list[str] = []
    for directory in sorted(needed, key=lambda d: (d.count("/"), d)):
        options += ["--perms", "0555", "--dir", directory]
    return options


def _ro_binds(binds: Mapping[str, str]) -> list[str]:
    options: list[str] = []
    for inside, host in sorted(binds.items()):
        options += ["--ro-bind", host, inside]
    return options


@cache
def _libraries(program: str) -> dict[str, str]:
    """The dynamic loader and shared libraries ``program`` links: inside path -> host file.

    Each is bound at the path the loader asks for (ldd's), from the file that
    path resolves to, so no symlinked directory of the host is needed inside.
    Raises OSError when ldd is missing or fails.
    """
    ldd = shutil.which("ldd")
    if ldd is None:
        raise OSError("ldd not found (Debian package libc-bin)")
    done = subprocess.run(
        [ldd, program], capture_output=True, text=True, timeout=30, check=False, env={}
    )
    if done.returncode != 0:
        raise OSError(f"ldd {program} failed: {_first_line(done.stderr or done.stdout)}")
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if "not found" in line:
            raise OSError(f"ldd {program}: {line.strip()}")
        # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        # "/lib64/ld-linux-x86-64.so.2 (0x...)"; the vDSO has no path.
        path = line.split("=>")[-1].strip().split(" (")[0].strip()
        if path.startswith("/"):
            found[path] = os.path.realpath(path)
    return found


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "no output")


def _error_line(stderr: str) -> str:
    """The line of a failed start that says why: bwrap's own, or Node's error."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for line in lines:
        if line.split(":")[0] in ("bwrap", "prlimit", "setpriv") or "Error" in line.split(":")[0]:
            return line
    return _first_line(stderr)


# What the probe checks, using only what the permission model allows: Node
# ran as an unprivileged user, in its own pid namespace (bwrap's init is pid
# 1), seeing no network interface but loopback, and can read the harness.
_PROBE = (
    "const os=require('os'),fs=require('fs');"
    "fs.accessSync(process.argv[1],fs.constants.R_OK);"
    "const nets=Object.keys(os.networkInterfaces()).filter(n=>n!=='lo');"
    "console.log(JSON.stringify({uid:process.getuid(),pid:process.pid,nets}))"
)


def _probe_bubblewrap(node: Path, tools: Tools) -> str | None:
    """None when a real worker sandbox starts and holds; else why not (one line)."""
    if not tools.bwrap:
        return "bwrap not found on PATH (install Debian's bubblewrap)"
    if not tools.prlimit:
        return "prlimit not found on PATH (util-linux)"
    try:
        launch = Isolation(BUBBLEWRAP, NETNS, tools=tools)._launch(
            node, HARNESS_DIR, None, 64, 30, script=_PROBE
        )
    except (OSError, subprocess.SubprocessError, IsolationError) as exc:
        return f"cannot build the sandbox: {exc}"
    # The probe's script reads the harness: the sandbox user must be able to.
    argv = [*launch.argv, f"{_HARNESS}/worker.js"]
    try:
        done = subprocess.run(
            argv,
            env=launch.env,
            cwd=launch.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap could not run: {exc}"
    if done.returncode != 0:
        return f"bwrap exited with {done.returncode}: {_error_line(done.stderr)}"
    return _check_probe_output(done.stdout)


def _check_probe_output(stdout: str) -> str | None:
    try:
        seen = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return f"the sandboxed node printed no result: {_first_line(stdout)}"
    if seen.get("uid") == 0:
        return "the sandboxed node ran as root"
    if seen.get("nets"):
        return f"the sandboxed node sees network interfaces: {seen['nets']}"
    if not isinstance(seen.get("pid"), int) or seen["pid"] > 3:
        return f"the sandboxed node is pid {seen.get('pid')} (no pid namespace of its own)"
    return None


def _namespace_prefix(tools: Tools) -> tuple[str, ...] | None:
    """The ``unshare`` prefix that gives a network namespace here, or None."""
    if not tools.unshare:
        return None
    for prefix in (tools.unshare, (*tools.unshare, "--map-root-user")):
        try:
            done = subprocess.run(
                [*prefix, "true"], capture_output=True, timeout=10, check=False, env={}
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return prefix
    return None


def probe_isolation(
    node: Path,
    *,
    environ: Mapping[str, str] = os.environ,
    which: Callable[[str], str | None] = shutil.which,
) -> Isolation:
    """The strongest level that starts here (or the one ``AUTH0_ACTIONS_SANDBOX`` picks)."""
    tools = find_tools(which)
    wanted = environ.get(LEVEL_ENV, "").strip().lower()
    aliases = {"": BUBBLEWRAP, "namespace": NAMESPACE}
    wanted = aliases.get(wanted, wanted)
    if wanted not in LEVELS:
        return Isolation(
            PERMISSION_MODEL,
            API_BLOCK,
            f"{LEVEL_ENV}={environ[LEVEL_ENV]!r} is not one of {', '.join(LEVELS)}",
            tools,
        )
    reason = f"{LEVEL_ENV}={wanted} picks a weaker level on purpose"
    if wanted == BUBBLEWRAP:
        failure = _probe_bubblewrap(node, tools)
        if failure is None:
            return Isolation(BUBBLEWRAP, NETNS, None, tools)
        reason = f"the OS sandbox could not start: {failure}"
    if wanted in (BUBBLEWRAP, NAMESPACE):
        prefix = _namespace_prefix(tools)
        if prefix is not None:
            found = Tools(tools.bwrap, tools.prlimit, tools.setpriv, prefix)
            return Isolation(NAMESPACE, NETNS, reason, found)
        if wanted == NAMESPACE:
            reason += "; no network namespace available (unshare --net failed)"
    return Isolation(PERMISSION_MODEL, API_BLOCK, reason, tools)


def detect_isolation() -> Isolation:
    """The strongest isolation this machine allows for the selected Node. Never raises.

    Probed once per process and Node binary: the probe starts that very Node.
    """
    from auth0_actions.node import selected_node

    try:
        node = selected_node().path
    except Auth0ActionsError as exc:
        # Nothing can run without Node anyway; the run itself will say so.
        return Isolation(PERMISSION_MODEL, API_BLOCK, f"no Node to probe with: {exc}")
    return _detect_for(node)


@cache
def _detect_for(node: Path) -> Isolation:
    return probe_isolation(node)


def required(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this run must refuse anything below the full level."""
    return environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")


def ensure_required_level(isolation: Isolation, *, require: bool = False) -> None:
    """Raise :class:`IsolationError` when isolation is required (``require`` or the
    environment) and ``isolation`` is not the full level."""
    if isolation.full or not (require or required()):
        return
    raise IsolationError(refusal(isolation))


def refusal(isolation: Isolation) -> str:
    """Why a required run is refused, and how to fix it."""
    reason = isolation.reason or "unknown"
    if LEVEL_ENV in reason:
        fix = f"unset {LEVEL_ENV}"
    elif "bwrap not found" in reason:
        fix = "install Debian's bubblewrap (apt-get install bubblewrap; ./dev does this)"
    else:
        fix = (
            "let bwrap create namespaces: a non-root user needs unprivileged user namespaces "
            "(sysctl user.max_user_namespaces > 0; kernel.unprivileged_userns_clone=1 on older "
            "Debian kernels; kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04), "
            "root in a container needs CAP_SYS_ADMIN or a seccomp/AppArmor profile that allows "
            "them; and Node, the harness and the dependency cache must be readable by the "
            "sandbox user, through directories the host user can enter"
        )
    return (
        f"isolation required ({REQUIRE_ENV} or --require-isolation), but this run would "
        f"use {isolation.level}, not {BUBBLEWRAP}: {reason}. Fix: {fix}. "
        "`auth0-actions doctor` shows the level in force"
    )
