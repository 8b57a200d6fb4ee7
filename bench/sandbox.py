"""Benchmark: the warm sandbox pool against one fresh Node per execution.

Runs the project's real consent scenarios (the Action form of every case in
rules_templates/*.scenarios.yaml, for every environment) and reports
executions per second, one execution being one request to the harness (one
segment of a login: execute, or resume after the consent page):

- warm pool: ``SandboxPool(size=os.cpu_count())`` driven by the
  ``ScenarioRunner`` from a thread pool for ``--seconds``, counting the pool's
  calls (the scenario logic in Python is included, as in `auth0-actions test`);
- fresh process: the same requests, each in a new worker process started
  exactly as the pool starts one (``auth0_actions.sandbox.pool.Worker``: permission
  model, address-space cap, network namespace where available), with the
  same parallelism;
- in-process floor: the same requests run by the same harness
  (``postlogin.js`` ``runPostLogin``) in a loop inside one plain Node process:
  no IPC, no isolation, one core.

Targets: at least 500 executions/s on 2 cores, at least 20x the fresh-process
figure. The last line printed is one JSON object with the figures.

    .venv/bin/python bench/sandbox.py [--seconds 5] [--config tenant.yaml]
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from auth0_actions.config import load_tenant  # noqa: E402
from auth0_actions.node import selected_node  # noqa: E402
from auth0_actions.sandbox.pool import HARNESS_DIR, Limits, Reply, SandboxPool, Worker  # noqa: E402
from auth0_actions.scenarios.runner import Case, ScenarioRunner  # noqa: E402
from auth0_actions.scenarios.suite import collect, sandbox_read_paths  # noqa: E402

TARGET_EXEC_PER_S = 500
TARGET_SPEEDUP = 20

# The floor: the harness's runPostLogin in a loop, in this one process.
FLOOR_JS = r"""
'use strict';
const fs = require('fs');
const path = require('path');
const { runPostLogin } = require(path.join(process.env.BENCH_HARNESS, 'postlogin.js'));
const requests = JSON.parse(fs.readFileSync(process.env.BENCH_REQUESTS, 'utf8'));
const seconds = Number(process.env.BENCH_SECONDS);
(async () => {
  // Warm up: compile paths, JIT.
  for (const request of requests) await runPostLogin(request);
  let count = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < deadline) {
    for (const request of requests) {
      await runPostLogin(request);
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


class CountingPool:
    """Counts pool.call invocations (and keeps the first requests for replay)."""

    def __init__(self, pool: SandboxPool) -> None:
        self.pool = pool
        self.calls = 0
        self.failures = 0
        self.recorded: list[dict[str, Any]] | None = []
        self._lock = threading.Lock()
        self._real: Callable[[dict[str, Any]], Reply] = pool.call
        pool.call = self._call  # type: ignore[method-assign]

    def _call(self, request: dict[str, Any]) -> Reply:
        reply = self._real(request)
        with self._lock:
            self.calls += 1
            if not reply.ok:
                self.failures += 1
            if self.recorded is not None:
                self.recorded.append(copy.deepcopy(request))
        return reply


def warm_pool(
    runner: ScenarioRunner, counter: CountingPool, cases: list[Case], seconds: float, threads: int
) -> tuple[float, int, float]:
    """Run every case over and over from ``threads`` threads; (exec/s, calls, elapsed)."""
    deadline = time.monotonic() + seconds
    order = itertools.count()

    def loop() -> None:
        while time.monotonic() < deadline:
            runner.run(cases[next(order) % len(cases)])

    before = counter.calls
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as executor:
        for future in [executor.submit(loop) for _ in range(threads)]:
            future.result()
    elapsed = time.perf_counter() - started
    calls = counter.calls - before
    return calls / elapsed, calls, elapsed


def fresh_processes(
    pool: SandboxPool, requests: list[dict[str, Any]], seconds: float, parallel: int
) -> tuple[float, int, int, float]:
    """Each request in a new worker, started as the pool starts one; (exec/s, n, failed, s)."""
    deadline = time.monotonic() + seconds
    order = itertools.count()
    done = [0, 0]  # executions, failures
    lock = threading.Lock()

    def loop() -> None:
        while time.monotonic() < deadline:
            request = requests[next(order) % len(requests)]
            worker = Worker(pool.node, pool.isolation, pool.read_paths, pool.limits)
            try:
                reply = worker.call(request)
            finally:
                worker.kill()
            with lock:
                done[0] += 1
                done[1] += 0 if reply.ok else 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as executor:
        for future in [executor.submit(loop) for _ in range(parallel)]:
            future.result()
    elapsed = time.perf_counter() - started
    return done[0] / elapsed, done[0], done[1], elapsed


def in_process_floor(
    node: Path, requests: list[dict[str, Any]], seconds: float
) -> tuple[float, int]:
    """The harness in one plain Node process, no IPC and no isolation; (exec/s, n)."""
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        data = Path(tmp) / "requests.json"
        data.write_text(json.dumps(requests), encoding="utf-8")
        env = {
            "TZ": "UTC",
            "BENCH_HARNESS": str(HARNESS_DIR),
            "BENCH_REQUESTS": str(data),
            "BENCH_SECONDS": str(seconds),
        }
        done = subprocess.run(
            [str(node), "-e", FLOOR_JS],
            capture_output=True,
            text=True,
            env=env,
            timeout=seconds * 10 + 60,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"the in-process floor failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["executions"] / figures["seconds"], int(figures["executions"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Executions/s of the consent scenarios: warm pool, fresh process, floor."
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement (default 5)")
    parser.add_argument("--config", type=Path, default=ROOT / "tenant.yaml", help="tenant.yaml")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="pool size (default: CPUs)"
    )
    args = parser.parse_args(argv)

    tenant = load_tenant(args.config.resolve())
    cases = [case for case in collect(tenant, None, None) if case.form == "action"]
    if not cases:
        raise SystemExit("no Action scenarios found")
    node = selected_node().path
    cpus = os.cpu_count() or 1

    with SandboxPool(args.workers, limits=Limits(), read_paths=sandbox_read_paths(tenant)) as pool:
        counter = CountingPool(pool)
        runner = ScenarioRunner(tenant, pool)
        # Warm-up: every case once (starts the workers, renders the code), checked.
        with ThreadPoolExecutor(max_workers=pool.size * 2) as executor:
            results = list(executor.map(runner.run, cases))
        failed = [r for r in results if not r.passed]
        requests = counter.recorded or []
        counter.recorded = None
        threads = pool.size * 2
        warm, warm_calls, warm_elapsed = warm_pool(runner, counter, cases, args.seconds, threads)
        fresh, fresh_n, fresh_failed, fresh_elapsed = fresh_processes(
            pool, requests, args.seconds, pool.size
        )
        workers = pool.size
        isolation = pool.isolation.network
    floor, floor_n = in_process_floor(node, requests, args.seconds)
    speedup = warm / fresh if fresh else float("inf")

    rows = [
        ("warm pool", warm, warm_calls, f"{workers} workers, {threads} threads, scenario runner"),
        ("fresh process per execution", fresh, fresh_n, f"{workers} in parallel, {isolation}"),
        ("in-process floor", floor, floor_n, "1 plain node process, no IPC, no isolation"),
    ]
    print(f"sandbox benchmark: {len(cases)} Action cases ({len(requests)} requests per round),")
    print(f"{cpus} CPUs, node {node}, {args.seconds:g} s per measurement")
    if failed:
        print(f"WARNING: {len(failed)} of {len(cases)} cases failed in the warm-up")
    print()
    print(f"{'mode':<30} {'exec/s':>10} {'executions':>11}  notes")
    print(f"{'-' * 30} {'-' * 10} {'-' * 11}  {'-' * 40}")
    for mode, rate, count, notes in rows:
        print(f"{mode:<30} {rate:>10.1f} {count:>11}  {notes}")
    print()
    print(
        f"warm pool vs fresh process: {speedup:.1f}x (target >= {TARGET_SPEEDUP}x); "
        f"warm pool {warm:.0f}/s (target >= {TARGET_EXEC_PER_S}/s on 2 cores); "
        f"the unsandboxed single-process floor is {floor / warm:.0f}x the warm pool"
    )
    if counter.failures or fresh_failed:
        print(f"failed executions: warm pool {counter.failures}, fresh process {fresh_failed}")
    meets = warm >= TARGET_EXEC_PER_S and speedup >= TARGET_SPEEDUP
    figures = {
        "warm_pool_exec_per_s": round(warm, 1),
        "fresh_process_exec_per_s": round(fresh, 1),
        "in_process_floor_exec_per_s": round(floor, 1),
        "speedup_vs_fresh": round(speedup, 1),
        "cpu_count": cpus,
        "workers": workers,
        "cases": len(cases),
        "seconds": args.seconds,
        "requests_per_round": len(requests),
        "warmup_failed_cases": len(failed),
        "meets_targets": meets,
        "warm_pool_elapsed_s": round(warm_elapsed, 3),
        "fresh_process_elapsed_s": round(fresh_elapsed, 3),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
