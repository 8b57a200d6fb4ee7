"""Warm sandbox workers, one isolation domain each, shared by a run; thread-safe.

A request names a trigger's pipeline (``{"op": <trigger id>, "units": [...],
...}``, any trigger of :mod:`auth0_actions.triggers.registry`, or ``{"op":
"rules", ...}``); :mod:`auth0_actions.sandbox.pipeline`
runs it one action at a time, each on a worker of that action's domain
(:mod:`auth0_actions.sandbox.domain`). The pool keeps at most ``capacity``
workers warm, evicting the least recently used domain's when a new domain
needs one, and runs at most ``size`` executions at once.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from auth0_actions.node import selected_node
from auth0_actions.sandbox.domain import Domain
from auth0_actions.sandbox.isolation import (
    HARNESS_DIR,
    Isolation,
    detect_isolation,
    ensure_required_level,
)
from auth0_actions.sandbox.outbound import Exchange
from auth0_actions.sandbox.pipeline import Check, ProtocolViolation, run_rules, run_trigger
from auth0_actions.sandbox.worker import (
    MAX_EXECUTIONS,
    TIMEOUT_MESSAGE,
    Limits,
    Reply,
    Worker,
)
from auth0_actions.triggers import registry

__all__ = ["HARNESS_DIR", "TIMEOUT_MESSAGE", "Limits", "Reply", "SandboxPool", "Worker"]

# Warm workers kept per execution slot: enough for the actions of a few
# environments and scenario variants without restarting Node between them.
_WARM_PER_SLOT = 3
# A cold start costs as much as dozens of warm executions, so a domain gets
# a second worker only once its first has proved busy; until then a request
# waits for the domain's worker rather than starting another Node.
_HOT_EXECUTIONS = 64


class SandboxPool:
    """Warm workers shared by the scenarios (or logins) of a run."""

    def __init__(
        self,
        size: int | None = None,
        *,
        limits: Limits | None = None,
        read_paths: Sequence[Path] = (),
        node: Path | None = None,
        isolation: Isolation | None = None,
        capacity: int | None = None,
    ) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self.capacity = max(self.size, capacity or max(8, self.size * _WARM_PER_SLOT))
        self.limits = limits or Limits()
        # Where dependency caches live (callers resolve units' deps_dir under
        # them); a worker is given its own domain's directory only.
        self.read_paths = [p.resolve() for p in read_paths]
        self.node = node or selected_node().path
        self.isolation = isolation or detect_isolation()
        # Fail closed before any action code runs when full isolation is required.
        ensure_required_level(self.isolation)
        self._idle: OrderedDict[str, list[Worker]] = OrderedDict()  # least recently used first
        self._live: list[Worker] = []
        self._starting = 0
        self._starting_keys: list[str] = []
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False
        self._reaper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-reaper")
        self.started = 0  # workers started: a cold start each

    # --- workers
    def workers(self) -> list[Worker]:
        with self._cond:
            return list(self._live)

    def _take(self, domain: Domain) -> tuple[Worker | None, Worker | None]:
        """Under the lock: a warm worker of the domain (None: start one), and one to evict."""
        while True:
            if self._closed:
                raise RuntimeError("the sandbox pool is closed")
            if self._busy < self.size:
                idle = self._idle.get(domain.key)
                if idle:
                    worker = idle.pop()
                    if not idle:
                        del self._idle[domain.key]
                    self._busy += 1
                    return worker, None
                if self._waits_for_own(domain):
                    self._cond.wait()
                    continue
                evict = None
                if len(self._live) + self._starting >= self.capacity and self._idle:
                    key, workers = next(iter(self._idle.items()))
                    evict = workers.pop(0)
                    if not workers:
                        del self._idle[key]
                    self._live.remove(evict)
                if len(self._live) + self._starting < self.capacity:
                    self._busy += 1
                    self._starting += 1
                    self._starting_keys.append(domain.key)
                    return None, evict
            self._cond.wait()

    def _waits_for_own(self, domain: Domain) -> bool:
        """Whether the domain's one busy worker should serve this request too."""
        if domain.key in self._starting_keys:
            return True
        own = [w for w in self._live if w.domain.key == domain.key]
        return len(own) == 1 and own[0].executions < _HOT_EXECUTIONS

    @contextlib.contextmanager
    def _worker(self, domain: Domain) -> Iterator[Worker]:
        with self._cond:
            worker, evict = self._take(domain)
        if evict is not None:
            # Reaped in the background: a worker's exit (namespaces torn
            # down) need not delay the execution that needed its slot.
            self._reaper.submit(evict.kill)
        if worker is None:
            try:
                worker = Worker(self.node, self.isolation, domain, self.limits)
            except BaseException:
                with self._cond:
                    self._busy -= 1
                    self._starting -= 1
                    self._starting_keys.remove(domain.key)
                    self._cond.notify_all()
                raise
            with self._cond:
                self._starting -= 1
                self._starting_keys.remove(domain.key)
                self._live.append(worker)
                self.started += 1
        try:
            yield worker
        finally:
            keep = worker.alive() and worker.executions < MAX_EXECUTIONS
            with self._cond:
                self._busy -= 1
                if keep and not self._closed:
                    self._idle.setdefault(domain.key, []).append(worker)
                    self._idle.move_to_end(domain.key)
                elif worker in self._live:
                    self._live.remove(worker)
                    keep = False
                self._cond.notify_all()
            if not keep:
                worker.kill()

    def execute(
        self,
        domain: Domain,
        payload: dict[str, Any],
        timeout_ms: int,
        check: Check,
        exchange: Exchange | None = None,
    ) -> Reply:
        """One execution on a worker of the domain; a worker that failed is not reused.

        ``check`` judges the result while the worker is still held: a worker
        that broke the protocol is retired, and the execution fails.
        """
        with self._worker(domain) as worker:
            reply = worker.call(payload, timeout_ms, exchange.answer if exchange else None)
            if reply.result is not None:
                try:
                    check(reply.result)
                except ProtocolViolation as exc:
                    worker.kill()
                    failure = f"the sandbox worker of {domain.name!r} broke the protocol: {exc}"
                    return Reply(None, failure, reply.stray_output)
            return reply

    # --- requests
    def call(self, request: dict[str, Any]) -> Reply:
        """Run a trigger's pipeline: each action on its own domain's worker.

        ``request["http"]``, when present, stubs outbound HTTP: a list of stub
        mappings (:func:`auth0_actions.sandbox.outbound.parse_stubs`) or an
        :class:`Exchange` shared by several calls (a scenario's steps). The
        result then carries the ``requests`` the host saw during this call and
        the ones no stub matched (``unmatched``). Without it, every network
        API in the worker throws.
        """
        if self._closed:
            raise RuntimeError("the sandbox pool is closed")
        exchange = None if request.get("http") is None else Exchange.of(request["http"])
        seen = (len(exchange.requests), len(exchange.unmatched)) if exchange else (0, 0)
        op = request.get("op")
        if op in registry.registry():
            trigger = registry.get(str(op))
            reply = run_trigger(trigger, self.execute, request, self.limits, exchange)
        elif op == "rules":
            reply = run_rules(self.execute, request, self.limits, exchange)
        elif op == "ping":
            return Reply({"pong": True})
        else:
            raise ValueError(f"unknown sandbox request {op!r}")
        if exchange is not None and reply.result is not None:
            reply.result["requests"] = exchange.requests[seen[0] :]
            reply.result["unmatched"] = exchange.unmatched[seen[1] :]
        return reply

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._live)
            self._live.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()
        self._reaper.shutdown(wait=True)  # evicted workers are gone too

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
