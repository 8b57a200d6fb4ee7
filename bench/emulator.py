"""Benchmark: requests per second the local tenant serves over HTTP.

Starts ``auth0-actions emulator serve`` (the SQLite-backed local tenant, as a
user runs it) in a throwaway project directory, in its own process, and
drives it from this process with threads, one keep-alive ``httpx.Client``
each, for ``--seconds`` per measurement:

- GET action: ``GET /api/v2/actions/actions/{id}`` of one action created over HTTP;
- PATCH user: ``PATCH /api/v2/users/{id}`` of one user created over HTTP,
  a different ``user_metadata`` value each time (a write: one SQLite
  transaction per request);
- floors for comparison: ``GET /api/v2/no-such-path`` (routing and the 404
  body, no token check, no store) and ``POST /oauth/token`` (an RS256
  signature per request).

An endpoint whose module is missing from this build is reported as such and
left out. On a 2-core machine the server process and the load generator get
one core each. The last line printed is one JSON object with the figures.

    .venv/bin/python bench/emulator.py [--seconds 3] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def start_server(project: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    credentials = project / ".auth0-local" / "credentials.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "auth0_actions", "emulator", "serve", "--output", "json"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not credentials.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            _, err = process.communicate(timeout=5)
            raise SystemExit(f"emulator serve did not start: {err}")
        time.sleep(0.05)
    return process, json.loads(credentials.read_text())


def measure(
    name: str,
    base_url: str,
    headers: dict[str, str],
    call: Callable[[httpx.Client, int], httpx.Response],
    expect: int,
    threads: int,
    seconds: float,
) -> Result:
    result = Result(name)
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        local: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as http:
            call(http, index)  # warm the connection
            start.wait()
            n = 0
            while time.perf_counter() < stop_at[0]:
                began = time.perf_counter()
                try:
                    response = call(http, index * 1_000_000 + n)
                    status = response.status_code
                except httpx.HTTPError:
                    status = -1
                local.append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1
                errors += status != expect
                n += 1
        with lock:
            result.latencies.extend(local)
            result.requests += len(local)
            result.errors += errors
            for status, count in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    stop_at[0] = time.perf_counter() + 3600  # set properly once everyone is ready
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in pool:
        thread.join()
    result.seconds = time.perf_counter() - began
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp:
        project = Path(tmp)
        process, creds = start_server(project)
        try:
            base = creds["base_url"]
            token = httpx.post(
                f"{base}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                    "audience": creds.get("audience", ""),
                },
            ).json()["access_token"]
            auth = {"authorization": f"Bearer {token}"}
            missing: list[str] = []
            plans: list[tuple[str, Callable[[httpx.Client, int], httpx.Response], int]] = []

            created = httpx.post(
                f"{base}/api/v2/actions/actions",
                headers=auth,
                json={
                    "name": "bench-action",
                    "supported_triggers": [{"id": "post-login", "version": "v3"}],
                    "code": "exports.onExecutePostLogin = async (event, api) => {};",
                },
            )
            if created.status_code == 201:
                action_id = created.json()["id"]
                plans.append(
                    (
                        "GET action",
                        lambda http, _: http.get(f"/api/v2/actions/actions/{action_id}"),
                        200,
                    )
                )
            else:
                missing.append(f"GET action (POST /api/v2/actions/actions: {created.status_code})")

            user = httpx.post(
                f"{base}/api/v2/users",
                headers=auth,
                json={
                    "connection": "Username-Password-Authentication",
                    "email": "bench@example.com",
                    "password": "Bench password 123!",
                    "user_metadata": {"consent": {"given": True}},
                },
            )
            if user.status_code == 201:
                user_path = "/api/v2/users/" + quote(user.json()["user_id"], safe="")
                plans.append(
                    (
                        "PATCH user",
                        lambda http, n: http.patch(
                            user_path, json={"user_metadata": {"counter": n, "lang": "en"}}
                        ),
                        200,
                    )
                )
            else:
                missing.append(f"PATCH user (POST /api/v2/users: {user.status_code})")

            plans.append(("GET 404 (floor)", lambda http, _: http.get("/api/v2/no-such-path"), 404))
            form = {
                "grant_type": "client_credentials",
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
            }
            plans.append(
                ("POST /oauth/token", lambda http, _: http.post("/oauth/token", data=form), 200)
            )

            results = [
                measure(name, base, auth, call, expect, args.threads, args.seconds)
                for name, call, expect in plans
            ]
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    cores = os.cpu_count()
    print(
        f"local tenant over HTTP: {cores} cores, server in its own process (SQLite store), "
        f"{args.threads} client threads, {args.seconds:g} s each"
    )
    print(
        f"{'request':<20} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}"
    )
    for r in results:
        print(
            f"{r.name:<20} {r.rate:>10.1f} {r.percentile(0.5):>8.2f} "
            f"{r.percentile(0.99):>8.2f} {r.requests:>9} {r.errors:>7}"
        )
    for note in missing:
        print(f"not measured: {note}: that endpoint module is not in this build")
    figures: dict[str, Any] = {
        "cores": cores,
        "threads": args.threads,
        "seconds": args.seconds,
        "not_measured": missing,
    }
    keys = {
        "GET action": "get_action",
        "PATCH user": "patch_user",
        "GET 404 (floor)": "not_found",
        "POST /oauth/token": "oauth_token",
    }
    for r in results:
        key = keys[r.name]
        figures[f"{key}_rps"] = round(r.rate, 1)
        figures[f"{key}_p50_ms"] = round(r.percentile(0.5), 2)
        figures[f"{key}_p99_ms"] = round(r.percentile(0.99), 2)
        figures[f"{key}_errors"] = r.errors
    if any(r.errors for r in results):
        print("unexpected statuses: " + "; ".join(f"{r.name} {r.statuses}" for r in results))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
