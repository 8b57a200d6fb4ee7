"""One sandbox worker: a Node process serving one isolation domain.

Starting Node costs tens of milliseconds; a warm worker runs an execution in
a fraction of one. A worker is started inside the OS sandbox
(:mod:`auth0_actions.sandbox.isolation`) for one domain (one action's code,
secret values and dependency set: :mod:`auth0_actions.sandbox.domain`) and
never runs anything else. It handles one request at a time and is retired
whenever it times out, crashes, runs out of memory or reports that action
code tampered with its built-ins; a worker whose action left timers,
handles, process listeners or memory behind answers normally but is retired
too (``Reply.retired`` says why).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth0_actions.sandbox.domain import Domain
from auth0_actions.sandbox.isolation import HARNESS_DIR, Isolation

TIMEOUT_MESSAGE = "Request to Webtask exceeded allowed execution time"
# A worker's lifetime CPU allowance (RLIMIT_CPU). The parent's wall-clock
# deadline stops a runaway execution long before; this bounds what a worker
# can take from the host if that ever failed. Workers are retired after
# MAX_EXECUTIONS, so honest executions never reach it.
CPU_SECONDS = 3600
MAX_EXECUTIONS = 1000

# bubblewrap's --die-with-parent (PR_SET_PDEATHSIG) fires when the *thread*
# that started it ends, not the process: a worker started from a request
# thread of the local tenant died with that thread. Every worker is started
# from this one long-lived thread instead; it ends with the interpreter,
# and the workers with it.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawner")
_STDERR_KEEP = 64 * 1024
# Fix: stray stdout was kept without bound (host memory); these cap it. A
# worker that writes more than _STDOUT_MAX without a newline is killed.
_STRAY_LINES = 200
_STRAY_CHARS = 2000
_STDOUT_MAX = 64 * 1024 * 1024

# Answers one outbound HTTP request of action code (the "http" message of
# js/outbound.js) with the channel's reply: {"http_reply": ...} or
# {"http_error": ...}. Runs in the host, within the execution's deadline.
OnHttp = Callable[[dict[str, Any]], dict[str, Any]]


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

    def __init__(self, node: Path, isolation: Isolation, domain: Domain, limits: Limits) -> None:
        self.limits = limits
        self.domain = domain
        self.executions = 0
        self.nonce = secrets.token_hex(16).encode()
        launch = isolation.launch(
            node,
            harness=HARNESS_DIR,
            deps=domain.deps_dir,
            memory_mb=limits.memory_mb,
            cpu_seconds=CPU_SECONDS,
        )
        self.process = _SPAWNER.submit(
            subprocess.Popen,
            launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # No host variable is visible to action code; Auth0 runs in UTC.
            env=launch.env,
            cwd=launch.cwd,
            start_new_session=True,
        ).result()
        if not (self.process.stdin and self.process.stdout and self.process.stderr):
            raise RuntimeError("the sandbox worker started without its pipes")
        self._stdin = self.process.stdin
        self._stdout = self.process.stdout
        self._stderr = _Stderr(self.process.stderr)
        self._buffer = bytearray()
        self._next_id = 0
        # One selector for the worker's life: a new one per read cost an
        # epoll instance and two more system calls per execution.
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        # The domain (with its secret values) is the second line; the worker
        # keeps it for its whole life and is never given another.
        first = (
            self.nonce
            + b"\n"
            + domain.message(launch.deps_dir, limits.memory_mb, launch.triggers_dir)
            + b"\n"
        )
        try:
            self._stdin.write(first)
            self._stdin.flush()
        except OSError:
            pass  # the worker died at start; the first call reports why

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with contextlib.suppress(OSError, KeyError, ValueError):
            self._selector.close()
        for stream in (self._stdin, self._stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def _read_line(self, deadline: float) -> bytes | None:
        """The next stdout line, or None on EOF; raises TimeoutError past deadline."""
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
            if not self._selector.select(remaining):
                continue
            chunk = os.read(self._stdout.fileno(), 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def call(
        self, request: dict[str, Any], timeout_ms: int | None = None, on_http: OnHttp | None = None
    ) -> Reply:
        """Run one execution; ``timeout_ms`` is what is left of the trigger's limit.

        With ``on_http``, action code's outbound HTTP requests are answered by
        it (stubs); without, every network API in the worker throws.
        """
        timeout_ms = self.limits.timeout_ms if timeout_ms is None else timeout_ms
        self._next_id += 1
        self.executions += 1
        request = {
            **request,
            "id": self._next_id,
            "timeout_ms": timeout_ms,
            "http": on_http is not None,
        }
        try:
            self._stdin.write(json.dumps(request).encode() + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, OSError):
            return Reply(None, self._crash_reason())
        # The harness enforces the limit itself for async code; this catches
        # synchronous loops, which only killing the process can stop.
        deadline = time.monotonic() + timeout_ms / 1000 + 1.0
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
            if "http" in reply:
                # A request of action code, sent by the harness mid-execution;
                # the worker blocks until this one line answers it.
                if not self._answer_http(reply["http"], on_http):
                    return Reply(None, self._crash_reason(), stray)
                continue
            if not reply.get("ok"):
                tampered = "; ".join(reply.get("tampered") or [str(reply.get("error"))])
                self.kill()
                return Reply(None, f"the action tampered with the sandbox: {tampered}", stray)
            retired = reply.get("retire")
            if retired:
                self.kill()
            return Reply(reply["result"], None, stray, retired)

    def _answer_http(self, message: Any, on_http: OnHttp | None) -> bool:
        """Write the answer to one outbound request; False when the worker is gone."""
        if on_http is None or not isinstance(message, dict):
            answer: dict[str, Any] = {"http_error": "outbound HTTP is not stubbed in this run"}
        else:
            answer = on_http(message)
        try:
            self._stdin.write(json.dumps({"id": self._next_id, **answer}).encode() + b"\n")
            self._stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def _crash_reason(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        stderr = self._stderr.text()
        code = self.process.returncode
        if "heap limit" in stderr or "out of memory" in stderr.lower():
            return f"the action ran out of memory (limit {self.limits.memory_mb} MB)"
        last = next((ln for ln in reversed(stderr.splitlines()) if ln.strip()), "")
        return f"the sandbox worker crashed (exit code {code}){': ' + last if last else ''}"
