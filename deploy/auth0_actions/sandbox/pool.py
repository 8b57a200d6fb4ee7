"""A pool of long-lived, isolated Node workers that run action code.

Starting Node costs tens of milliseconds; a warm worker runs a scenario in a
fraction of one. Each worker is isolated (see :mod:`auth0_actions.sandbox.isolation`),
handles one request at a time, and is replaced whenever it times out, crashes,
runs out of memory or reports that action code tampered with its built-ins:
the scenario fails with that reason and the next one gets a clean worker.
A worker whose action left timers, handles, process listeners or memory
behind answers normally but is retired too (``Reply.retired`` says why).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import secrets
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth0_actions.node import selected_node
from auth0_actions.sandbox.isolation import Isolation, detect_isolation

HARNESS_DIR = Path(__file__).resolve().parent / "js"
TIMEOUT_MESSAGE = "Request to Webtask exceeded allowed execution time"
# Address space beyond the heap: V8 reserves a large virtual range at start.
_ADDRESS_SPACE_OVERHEAD_MB = 1536
_STDERR_KEEP = 64 * 1024
# Fix: stray stdout was kept without bound (host memory); these cap it. A
# worker that writes more than _STDOUT_MAX without a newline is killed.
_STRAY_LINES = 200
_STRAY_CHARS = 2000
_STDOUT_MAX = 64 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-execution limits: Auth0's 20 s trigger limit, and a memory cap."""

    timeout_ms: int = 20_000
    memory_mb: int = 256


@dataclass
class Reply:
    """What one request produced: the harness result, or why there is none."""

    result: dict[str, Any] | None
    failure: str | None = None  # timeout, crash, out of memory, tampering
    stray_output: list[str] = field(default_factory=list)
    # Why the worker was not reused after an otherwise normal reply (action
    # code left timers, handles or held memory behind), or None.
    retired: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class _Stderr:
    """Drains a worker's stderr so it can never block, keeping the tail."""

    def __init__(self, stream: Any) -> None:
        self._tail = b""
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: Any) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            self._tail = (self._tail + chunk)[-_STDERR_KEEP:]

    def text(self) -> str:
        self._thread.join(timeout=1)
        return self._tail.decode("utf-8", "replace")


class Worker:
    """One Node process running the harness (deploy/auth0_actions/sandbox/js/worker.js)."""

    def __init__(
        self, node: Path, isolation: Isolation, read_paths: Sequence[Path], limits: Limits
    ) -> None:
        self.limits = limits
        self.nonce = secrets.token_hex(16).encode()
        allow = [f"--allow-fs-read={HARNESS_DIR}"]
        allow += [f"--allow-fs-read={p}" for p in read_paths]
        command = [
            *isolation.prefix,
            str(node),
            "--permission",
            *allow,
            f"--max-old-space-size={limits.memory_mb}",
            # Wasm's trap handler reserves ~10 GB of address space, which the
            # address-space cap below would refuse; inline bounds checks do not.
            "--disable-wasm-trap-handler",
            str(HARNESS_DIR / "worker.js"),
        ]
        address_space = (limits.memory_mb + _ADDRESS_SPACE_OVERHEAD_MB) * 1024 * 1024
        # The heap cap does not bound Buffers; an address-space limit does.
        # prlimit sets it without a preexec_fn, which is unsafe once the pool
        # starts workers from several threads.
        prlimit = shutil.which("prlimit")
        preexec = None
        if prlimit:
            command = [prlimit, f"--as={address_space}", "--core=0", "--", *command]
        else:

            def preexec() -> None:
                resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # No host variable is visible to action code; Auth0 runs in UTC.
            env={"TZ": "UTC"},
            cwd=str(HARNESS_DIR),
            preexec_fn=preexec,
            start_new_session=True,
        )
        if not (self.process.stdin and self.process.stdout and self.process.stderr):
            raise RuntimeError("the sandbox worker started without its pipes")
        self._stdin = self.process.stdin
        self._stdout = self.process.stdout
        self._stderr = _Stderr(self.process.stderr)
        self._buffer = bytearray()
        self._next_id = 0
        self._stdin.write(self.nonce + b"\n")
        self._stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for stream in (self._stdin, self._stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def _read_line(self, deadline: float) -> bytes | None:
        """The next stdout line, or None on EOF; raises TimeoutError past deadline."""
        selector = selectors.DefaultSelector()
        selector.register(self._stdout, selectors.EVENT_READ)
        try:
            # Only new bytes are searched for the newline, so a long line costs
            # linear time; past _STDOUT_MAX raises OverflowError.
            scanned = 0
            while (end := self._buffer.find(b"\n", scanned)) < 0:
                scanned = len(self._buffer)
                if scanned > _STDOUT_MAX:
                    raise OverflowError
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                if not selector.select(remaining):
                    continue
                chunk = os.read(self._stdout.fileno(), 1 << 16)
                if not chunk:
                    return None
                self._buffer += chunk
        finally:
            selector.close()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def call(self, request: dict[str, Any]) -> Reply:
        self._next_id += 1
        request = {**request, "id": self._next_id, "timeout_ms": self.limits.timeout_ms}
        try:
            self._stdin.write(json.dumps(request).encode() + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, OSError):
            return Reply(None, self._crash_reason())
        # The harness enforces the limit itself for async code; this catches
        # synchronous loops, which only killing the process can stop.
        deadline = time.monotonic() + self.limits.timeout_ms / 1000 + 1.0
        stray: list[str] = []

        def keep(line: bytes) -> None:
            if len(stray) < _STRAY_LINES:
                stray.append(line[:_STRAY_CHARS].decode("utf-8", "replace"))

        while True:
            try:
                line = self._read_line(deadline)
            except TimeoutError:
                self.kill()
                return Reply(None, TIMEOUT_MESSAGE, stray)
            except OverflowError:
                self.kill()
                return Reply(None, "the action wrote too much to stdout", stray)
            if line is None:
                return Reply(None, self._crash_reason(), stray)
            if not line:
                continue  # each response starts on a new line: see respond() in worker.js
            prefix, _, body = line.partition(b" ")
            if prefix != self.nonce:
                # Written by action code straight to stdout: never a result.
                keep(line)
                continue
            reply = json.loads(body)
            if reply.get("id") != self._next_id:
                keep(line)
                continue
            if not reply.get("ok"):
                tampered = "; ".join(reply.get("tampered") or [str(reply.get("error"))])
                self.kill()
                return Reply(None, f"the action tampered with the sandbox: {tampered}", stray)
            retired = reply.get("retire")
            if retired:
                self.kill()
            return Reply(reply["result"], None, stray, retired)

    def _crash_reason(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        stderr = self._stderr.text()
        code = self.process.returncode
        if "heap limit" in stderr or "out of memory" in stderr.lower():
            return f"the action ran out of memory (limit {self.limits.memory_mb} MB)"
        last = next((ln for ln in reversed(stderr.splitlines()) if ln.strip()), "")
        return f"the sandbox worker crashed (exit code {code}){': ' + last if last else ''}"


class SandboxPool:
    """Warm workers shared by the scenarios of a run; thread-safe."""

    def __init__(
        self,
        size: int | None = None,
        *,
        limits: Limits | None = None,
        read_paths: Sequence[Path] = (),
        node: Path | None = None,
        isolation: Isolation | None = None,
    ) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self.limits = limits or Limits()
        self.read_paths = [p.resolve() for p in read_paths]
        self.node = node or selected_node().path
        self.isolation = isolation or detect_isolation()
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._all: list[Worker] = []
        self._starting = 0
        self._lock = threading.Lock()
        self._closed = False

    def _spawn(self) -> Worker:
        worker = Worker(self.node, self.isolation, self.read_paths, self.limits)
        with self._lock:
            self._all.append(worker)
        return worker

    @contextlib.contextmanager
    def _worker(self) -> Iterator[Worker]:
        with self._lock:
            # Reserve a slot under the lock so concurrent callers never
            # start more workers than the pool's size.
            spawn = self._idle.empty() and self._starting + len(self._all) < self.size
            if spawn:
                self._starting += 1
        if spawn:
            try:
                worker = self._spawn()
            finally:
                with self._lock:
                    self._starting -= 1
        else:
            worker = self._idle.get()
        try:
            yield worker
        finally:
            if worker.alive():
                self._idle.put(worker)
            else:
                with self._lock:
                    self._all.remove(worker)
                # A retired worker is replaced at once: callers may be
                # waiting for an idle one.
                if not self._closed:
                    self._idle.put(self._spawn())

    def call(self, request: dict[str, Any]) -> Reply:
        """Run one request on a warm worker; a failed worker is replaced."""
        if self._closed:
            raise RuntimeError("the sandbox pool is closed")
        with self._worker() as worker:
            return worker.call(request)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
