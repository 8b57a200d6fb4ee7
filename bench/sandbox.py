"""Benchmark: the sandbox at the isolation level that runs, one action per worker.

Runs the project's real consent scenarios (the Action form of every case in
rules_templates/*.scenarios.yaml, for every environment). One *execution* is
one action run on a worker (one request to the harness); a login segment of
two actions is two executions. Reported:

- warm: ``SandboxPool(size=CPUs)`` with every domain's worker warm, driven
  by the ``ScenarioRunner`` from one thread per worker for ``--seconds``
  (the scenario logic in Python is included, as in `auth0-actions test`;
  more threads only contend for the GIL);
- cold start: a new domain's worker started and its first execution
  answered (median of ``--cold`` starts, one at a time);
- two-action logins: segments whose pipeline runs two different actions,
  each in its own domain's worker, per second;
- fresh process: every recorded execution in a new worker, started exactly
  as the pool starts one, with the same parallelism;
- HTTP stub in the path: executions/s of one action that makes one
  ``fetch`` per execution, answered by a stub through the host
  (deploy/auth0_actions/sandbox/outbound.py), every worker warm;
- per trigger: executions/s of a minimal action of each registered trigger
  (its own event, api and JS half), ``--trigger-seconds`` each;
- in-process floor: the same executions by the same harness code
  (each trigger's JS half with ``action.js``, loaded with ``node:vm``'s
  compileFunction) in plain Node processes, one per core: no IPC, no
  isolation.

Targets on 2 cores: at least 1,500 executions/s warm at the full isolation
level, cold start under 150 ms. The last line printed is one JSON object.

    .venv/bin/python bench/sandbox.py [--seconds 5] [--config tenant.yaml]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auth0_actions.config import load_tenant  # noqa: E402
from auth0_actions.node import selected_node  # noqa: E402
from auth0_actions.sandbox.domain import Domain  # noqa: E402
from auth0_actions.sandbox.event import build_event  # noqa: E402
from auth0_actions.sandbox.isolation import TRIGGERS_DIR  # noqa: E402
from auth0_actions.sandbox.outbound import Exchange  # noqa: E402
from auth0_actions.sandbox.pipeline import Check  # noqa: E402
from auth0_actions.sandbox.pool import HARNESS_DIR, Reply, SandboxPool, Worker  # noqa: E402
from auth0_actions.scenarios.runner import Case, ScenarioRunner  # noqa: E402
from auth0_actions.scenarios.suite import collect, sandbox_read_paths  # noqa: E402
from auth0_actions.triggers import registry  # noqa: E402

TARGET_EXEC_PER_S = 1500
TARGET_COLD_MS = 150

# The floor: each recorded execution run by the harness's own actionRunner,
# in this one plain Node process (no permission model, no OS sandbox, no IPC).
FLOOR_JS = r"""
'use strict';
const fs = require('fs');
const path = require('path');
const harness = Object.freeze({
  action: require(path.join(process.env.BENCH_HARNESS, 'action.js')),
  tokens: require(path.join(process.env.BENCH_HARNESS, 'tokens.js')),
});
const actionRunner = (unit) => require(unit.runner).makeRunner(unit, harness);
const recorded = JSON.parse(fs.readFileSync(process.env.BENCH_REQUESTS, 'utf8'));
const seconds = Number(process.env.BENCH_SECONDS);
const runners = new Map();
const work = recorded.map(({ domain, payload }) => {
  if (!runners.has(domain.key)) runners.set(domain.key, actionRunner(domain.unit));
  return [runners.get(domain.key), payload];
});
(async () => {
  for (const [run, payload] of work) await run(payload); // warm up: compile, JIT
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (const [run, payload] of work) {
      await run(payload);
      count += 1;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ executions: count, seconds: elapsed }) + '\n');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
"""


class Recorder:
    """Counts the pool's executions (one action on one worker) and keeps a sample."""

    def __init__(self, pool: SandboxPool) -> None:
        self.executions = 0
        self.failures = 0
        self.segments = 0
        self.sample: list[tuple[Domain, dict[str, Any]]] | None = []
        self._lock = threading.Lock()
        real_execute = pool.execute
        real_call = pool.call

        def execute(
            domain: Domain,
            payload: dict[str, Any],
            timeout_ms: int,
            check: Check,
            exchange: Exchange | None = None,
        ) -> Reply:
            reply = real_execute(domain, payload, timeout_ms, check, exchange)
            with self._lock:
                self.executions += 1
                self.failures += 0 if reply.ok else 1
                if self.sample is not None:
                    self.sample.append((domain, payload))
            return reply

        def call(request: dict[str, Any]) -> Reply:
            reply = real_call(request)
            with self._lock:
                self.segments += 1
            return reply

        pool.execute = execute  # type: ignore[method-assign]
        pool.call = call  # type: ignore[method-assign]


# One outbound request per execution, answered by a stub (no delay).
HTTP_ACTION = """
exports.onExecutePostLogin = async (event, api) => {
  const res = await fetch('https://risk.example.com/v1/score', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: event.user.user_id }),
  });
  const { score } = await res.json();
  if (score > 0.9) api.access.deny('risky login');
};
"""
HTTP_STUBS = [{"method": "POST", "url": "https://risk.example.com/v1/*", "body": {"score": 0.1}}]


def http_stubbed(pool: SandboxPool, seconds: float, threads: int) -> tuple[float, int]:
    """Executions/s (and count) of HTTP_ACTION, one fetch each, answered by a stub."""
    unit: dict[str, Any] = {
        "name": "bench-risk",
        "code": HTTP_ACTION,
        "filename": "/actions/bench-risk.js",
        "secrets": {},
        "deps_dir": None,
    }
    request = {"op": "post-login", "units": [unit], "event": build_event(), "resume": None}
    counted = [0]
    lock = threading.Lock()

    def one() -> None:
        reply = pool.call({**request, "http": Exchange.of(HTTP_STUBS)})
        result = reply.result or {}
        if result.get("status") != "completed" or len(result.get("requests") or []) != 1:
            raise SystemExit(f"an execution with an HTTP stub failed: {reply.failure or result}")
        with lock:
            counted[0] += 1

    for _ in range(threads * 2):
        one()  # warm: each worker's first stubbed execution loads http and https
    counted[0] = 0
    elapsed = run_for(seconds, threads, one)
    return counted[0] / elapsed, counted[0]


def per_trigger(pool: SandboxPool, seconds: float, threads: int) -> dict[str, float]:
    """Warm executions/s of a minimal action of each registered trigger (its own event and api)."""
    rates: dict[str, float] = {}
    lock = threading.Lock()
    for trigger in registry.all_triggers():
        code = (
            f"exports.{trigger.handlers[0]} = async (event, api) => {{\n"
            "  api.cache.set('seen', String(Object.keys(event).length));\n"
            "};\n"
        )
        unit: dict[str, Any] = {
            "name": f"bench-{trigger.id}",
            "code": code,
            "filename": f"/actions/bench-{trigger.id}.js",
            "secrets": {},
            "deps_dir": None,
        }
        request = {"op": trigger.id, "units": [unit], "event": trigger.build_event()}
        counted = [0]

        def one(request: dict[str, Any] = request, counted: list[int] = counted) -> None:
            reply = pool.call({**request, "event": json.loads(json.dumps(request["event"]))})
            if (reply.result or {}).get("status") != "completed":
                raise SystemExit(f"a {request['op']} execution failed: {reply.failure}")
            with lock:
                counted[0] += 1

        for _ in range(threads * 2):
            one()  # warm: one worker per thread
        counted[0] = 0
        elapsed = run_for(seconds, threads, one)
        rates[trigger.id] = round(counted[0] / elapsed, 1)
    return rates


def run_for(seconds: float, threads: int, job: Any) -> float:
    """Call ``job()`` from ``threads`` threads until ``seconds`` pass; the elapsed time."""
    deadline = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < deadline:
            job()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as executor:
        for future in [executor.submit(loop) for _ in range(threads)]:
            future.result()
    return time.perf_counter() - started


def cold_starts(pool: SandboxPool, domain: Domain, payload: dict[str, Any], n: int) -> list[float]:
    """Milliseconds from starting a worker to its first answer, one at a time."""
    times = []
    for _ in range(n):
        started = time.perf_counter()
        worker = Worker(pool.node, pool.isolation, domain, pool.limits)
        try:
            reply = worker.call(payload)
        finally:
            worker.kill()
        if not reply.ok:
            raise SystemExit(f"a cold worker failed: {reply.failure}")
        times.append((time.perf_counter() - started) * 1000)
    return times


def fresh_processes(
    pool: SandboxPool, sample: list[tuple[Domain, dict[str, Any]]], seconds: float, parallel: int
) -> tuple[float, int, int]:
    """Each execution in a new worker; (executions/s, executions, failed)."""
    order = itertools.count()
    done = [0, 0]
    lock = threading.Lock()

    def job() -> None:
        domain, payload = sample[next(order) % len(sample)]
        worker = Worker(pool.node, pool.isolation, domain, pool.limits)
        try:
            reply = worker.call(payload)
        finally:
            worker.kill()
        with lock:
            done[0] += 1
            done[1] += 0 if reply.ok else 1

    elapsed = run_for(seconds, parallel, job)
    return done[0] / elapsed, done[0], done[1]


def in_process_floor(
    node: Path, sample: list[tuple[Domain, dict[str, Any]]], seconds: float, processes: int
) -> tuple[float, int]:
    """The harness in ``processes`` plain Node processes at once; (executions/s, executions)."""
    recorded = [
        {
            "domain": {"key": d.key, "unit": json.loads(d.message(None, 256, str(TRIGGERS_DIR)))},
            "payload": payload,
        }
        for d, payload in sample
    ]
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        data = Path(tmp) / "requests.json"
        data.write_text(json.dumps(recorded), encoding="utf-8")
        env = {
            "TZ": "UTC",
            "BENCH_HARNESS": str(HARNESS_DIR),
            "BENCH_REQUESTS": str(data),
            "BENCH_SECONDS": str(seconds),
        }
        runs = [
            subprocess.Popen(
                [str(node), "-e", FLOOR_JS],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(processes)
        ]
        rate, count = 0.0, 0
        for run in runs:
            out, err = run.communicate(timeout=seconds * 10 + 60)
            if run.returncode != 0:
                raise SystemExit(f"the in-process floor failed:\n{err}")
            figures = json.loads(out.strip().splitlines()[-1])
            rate += figures["executions"] / figures["seconds"]
            count += int(figures["executions"])
    return rate, count


def two_action_request(cases_requests: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A recorded login segment whose pipeline has two different actions, if any."""
    for request in cases_requests:
        names = {unit["name"] for unit in request.get("units") or []}
        if len(names) >= 2 and not request.get("resume"):
            return request
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sandbox executions/s, cold start, pipelines.")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement (default 5)")
    parser.add_argument(
        "--trigger-seconds",
        type=float,
        default=2.0,
        help="per trigger, for the per-trigger figures (default 2)",
    )
    parser.add_argument("--cold", type=int, default=20, help="cold starts to time (default 20)")
    parser.add_argument("--config", type=Path, default=ROOT / "tenant.yaml", help="tenant.yaml")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="pool size (default: CPUs)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="scenario threads (default: one per worker)"
    )
    args = parser.parse_args(argv)

    tenant = load_tenant(args.config.resolve())
    cases: list[Case] = [case for case in collect(tenant, None, None) if case.form == "action"]
    if not cases:
        raise SystemExit("no Action scenarios found")
    node = selected_node().path
    cpus = os.cpu_count() or 1
    # Every domain of the scenarios stays warm: this measures warm executions.
    with SandboxPool(
        args.workers, read_paths=sandbox_read_paths(tenant), capacity=len(cases) * 2
    ) as pool:
        level = str(getattr(pool.isolation, "level", pool.isolation.network))
        recorder = Recorder(pool)
        segments: list[dict[str, Any]] = []
        real_call = pool.call

        def keep(request: dict[str, Any]) -> Reply:
            segments.append(request)
            return real_call(request)

        pool.call = keep  # type: ignore[method-assign]
        runner = ScenarioRunner(tenant, pool)
        threads = args.threads or pool.size
        with ThreadPoolExecutor(max_workers=threads) as executor:
            results = list(executor.map(runner.run, cases))
        pool.call = real_call  # type: ignore[method-assign]
        failed = [r for r in results if not r.passed]
        sample = recorder.sample or []
        recorder.sample = None
        domains = len({d.key for d, _ in sample})

        order = itertools.count()
        before = recorder.executions
        elapsed = run_for(
            args.seconds, threads, lambda: runner.run(cases[next(order) % len(cases)])
        )
        warm = (recorder.executions - before) / elapsed
        warm_n = recorder.executions - before

        pipeline = two_action_request(segments)
        pipelines, pipelines_n = 0.0, 0
        if pipeline is not None:
            counted = [0]
            lock = threading.Lock()

            def login() -> None:
                reply = pool.call(pipeline)
                if not reply.ok:
                    raise SystemExit(f"a two-action login failed: {reply.failure}")
                with lock:
                    counted[0] += 1

            pipelines_elapsed = run_for(args.seconds, threads, login)
            pipelines_n = counted[0]
            pipelines = pipelines_n / pipelines_elapsed

        http_rate, http_n = http_stubbed(pool, args.seconds, threads)
        trigger_rates = per_trigger(pool, args.trigger_seconds, threads)

        first_domain, first_payload = sample[0]
        cold = cold_starts(pool, first_domain, first_payload, args.cold)
        fresh, fresh_n, fresh_failed = fresh_processes(pool, sample, args.seconds, pool.size)
        workers = pool.size
    floor, floor_n = in_process_floor(node, sample, args.seconds, min(cpus, workers))
    cold_ms = statistics.median(cold)

    print(f"sandbox benchmark: {len(cases)} Action cases, {len(sample)} executions per round,")
    print(f"{domains} isolation domains (one worker each), isolation level: {level},")
    print(f"{cpus} CPUs, node {node}, {args.seconds:g} s per measurement")
    if failed:
        print(f"WARNING: {len(failed)} of {len(cases)} cases failed in the warm-up")
    print()
    rows = [
        ("warm, every domain warm", f"{warm:.1f}/s", f"{workers} at once, {threads} threads"),
        ("cold start of a worker", f"{cold_ms:.1f} ms", f"median of {len(cold)}, one at a time"),
        (
            "two-action logins",
            f"{pipelines:.1f}/s" if pipeline else "n/a",
            "each action in its own worker" if pipeline else "no two-action segment recorded",
        ),
        (
            "with an HTTP stub in the path",
            f"{http_rate:.1f}/s",
            f"one fetch per execution, {http_n} run",
        ),
        ("fresh process per execution", f"{fresh:.1f}/s", f"{workers} in parallel, {fresh_n} run"),
        ("in-process node:vm floor", f"{floor:.1f}/s", f"{min(cpus, workers)} plain node, no IPC"),
    ]
    rows += [
        (f"trigger {trigger_id}", f"{rate:.1f}/s", "a minimal action, warm")
        for trigger_id, rate in trigger_rates.items()
    ]
    print(f"{'measure':<30} {'figure':>12}  notes")
    print(f"{'-' * 30} {'-' * 12}  {'-' * 40}")
    for name, figure, notes in rows:
        print(f"{name:<30} {figure:>12}  {notes}")
    print()
    print(
        f"targets on 2 cores: warm >= {TARGET_EXEC_PER_S}/s (got {warm:.0f}), cold start < "
        f"{TARGET_COLD_MS} ms (got {cold_ms:.0f}); the floor is {floor / warm:.1f}x warm"
    )
    if recorder.failures or fresh_failed:
        print(f"failed executions: pool {recorder.failures}, fresh process {fresh_failed}")
    figures = {
        "isolation_level": level,
        "warm_exec_per_s": round(warm, 1),
        "warm_executions": warm_n,
        "cold_start_median_ms": round(cold_ms, 1),
        "two_action_logins_per_s": round(pipelines, 1),
        "two_action_logins": pipelines_n,
        "http_stub_exec_per_s": round(http_rate, 1),
        "http_stub_executions": http_n,
        "per_trigger_exec_per_s": trigger_rates,
        "fresh_process_exec_per_s": round(fresh, 1),
        "in_process_floor_exec_per_s": round(floor, 1),
        "floor_executions": floor_n,
        "domains": domains,
        "cpu_count": cpus,
        "workers": workers,
        "cases": len(cases),
        "seconds": args.seconds,
        "warmup_failed_cases": len(failed),
        "meets_targets": warm >= TARGET_EXEC_PER_S and cold_ms < TARGET_COLD_MS,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
