"""Benchmark: auth0-actions against Auth0's deploy CLI, side by side on one local tenant.

Setup: ONE local tenant served over TLS on loopback in this process, with the
same knobs for both tools: 100 ms of latency per request, 1 s from a create or
deploy to ``built``, and an Auth0 rate-limit profile (``self-service``: 16
requests/s, burst 16; ``free``: 2/s, burst 2; both by default, with the
``x-ratelimit-*`` headers Auth0 sends). Both tools deploy the same ``--sizes``
(10 and 20) post-login actions, with the same code (the files auth0-actions
renders, provenance header included) bound in the same order:

* auth0-actions: a project with ``tenant.yaml`` and one template per action,
  rendered beforehand; ``auth0-actions apply --env local --yes`` runs as its
  own process (its ``local`` environment reaches the served tenant through
  ``AUTH0_DOMAIN`` and the published credentials and CA). Its
  ``environments.local.rate_limit`` names the profile, as a user would set it.
* the deploy CLI: ``a0deploy import`` of a YAML config with the same actions
  (``deployed: true``) and the post-login bindings, limited to actions and
  triggers with ``AUTH0_INCLUDED_ONLY``; npm ``auth0-deploy-cli``, pinned (see
  bench/deploy_cli.py), installed once into a cache directory.

Each round deploys with one tool, then a no-op (the same deploy again), then
the same with the other tool; the order alternates A/B between rounds
(``--rounds``, 3). The tenant's data is wiped before each tool's deploy, so
both start from an empty tenant, and the rate limiter's bucket is refilled
before every timed run (each starts as a job run minutes after the last).
Wall time is the whole process, from spawn to exit. Requests, writes
(POST/PATCH/PUT/DELETE requests under /api/v2 sent, those answered 429
included) and 429s come from the tenant's request log.

The lower bound of a deploy from an empty tenant, L the latency, n actions,
T = 1 trigger, every request costing exactly L:

* critical path: token -> live state (list actions and the trigger's bindings,
  independent: one L) -> the creates, each deploying in the same call
  (``deploy: true``, which Auth0's create accepts; independent: one L; the
  build clock starts then) -> the build (1 s) -> one read seeing every action
  deployed and built (one L) -> one bindings PATCH (one L) -> verify (list
  actions and bindings, one L): 5 L + build = 1.5 s.
* rate limit: the minimum request count N = 1 + (1 + T) + n + 1 + 1 + (1 + T)
  = n + 7 (17 for 10 actions, 27 for 20); the bucket admits ``burst`` at once
  and then ``rate`` per second, after the first request's latency:
  L + (N - burst) / rate (0.16 s at 16/s, 7.6 s at 2/s for 10 actions).

The bound is the larger of the two; it counts verify (auth0-actions reads the
tenant back after an apply; the deploy CLI does not) and leaves out process
start-up, which the whole-process wall time includes. A no-op's bound is
token and live state: 2 L, 3 requests.

Targets (printed as pass/fail, never asserted): at 16/s, auth0-actions'
whole-process apply at most 1.15x the lower bound; at 2/s, 429s under 5% of
its requests and its wall time at most the rate-limit minimum + 20%; ``plan``
of a tenant holding 500 actions (10 of them declared, applied) under 1.3 s at
16/s (``--plan-actions``; at 2/s the paging itself is rate-limited, so the
figure is reported without a target).

Also reported per auth0-actions run: where its time goes -- before its first
request (interpreter, imports, config, render check), on the wire (first
request received to last answer sent), after it (report, exit) -- and the
interpreter's bare start (``python -c pass``) and ``auth0-actions --help``.

    .venv/bin/python bench/vs_deploy_cli.py [--rounds 3] [--sizes 10,20]
        [--profiles self-service,free] [--plan-actions 500] [--cache DIR]

The last line printed is one JSON object with all the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deploy_cli  # bench/deploy_cli.py, beside this script

from auth0_actions import clock
from auth0_actions.cli.main import main as cli_main
from auth0_actions.emulator.faults import RATE_PROFILES
from auth0_actions.emulator.request_log import LoggedRequest
from auth0_actions.emulator.tenant import LocalTenant

LATENCY_MS = 100.0
BUILD_S = 1.0
TRIGGER = "post-login"
WRITE_METHODS = ("POST", "PATCH", "DELETE", "PUT")
OURS, THEIRS = "auth0-actions", "a0deploy"
TARGET_APPLY_RATIO = 1.15  # at 16/s
TARGET_429_SHARE = 0.05  # at 2/s
TARGET_RATE_SLACK = 1.2  # at 2/s: wall <= rate-limit minimum * 1.2
TARGET_PLAN_S = 1.3  # plan of a 500-action tenant, at 16/s

TENANT_YAML = """\
version: 1
environments:
  local:
    domain: local
    rate_limit: {profile}
consent:
  controller: {{name: Example Ltd, contact: privacy@example.com}}
  purposes:
    - id: terms
      required: true
      version: "2026-11-01"
      title: {{en: Terms of service}}
      if_declined: {{en: Without the terms you cannot use this application.}}
      retention: P3Y
  privacy_url: https://example.com/legal/privacy
  consent_page_url: https://consent.example.com/consent
actions:
{actions}
"""
TEMPLATE = """\
/** Benchmark action {n}. */
exports.onExecutePostLogin = async (event, api) => {{
  api.idToken.setCustomClaim("https://example.com/bench-{n}", event.user.user_id);
}};
"""


@dataclass
class Run:
    """One timed process against the tenant."""

    wall_s: float
    requests: int
    writes: int
    throttled: int  # answered 429
    before_s: float  # spawn to the first request received
    wire_s: float  # first request received to the last answer sent
    after_s: float  # last answer sent to exit

    def figures(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.__dict__.items()}


def names(count: int) -> list[str]:
    return [f"bench-{n:02d}" for n in range(1, count + 1)]


def write_project(root: Path, count: int, profile: str) -> dict[str, str]:
    """tenant.yaml + templates, rendered; returns each action's rendered code."""
    entries = "\n".join(
        f"  - name: {name}\n    template: {name}.js.j2\n    trigger: {TRIGGER}\n    order: {i}"
        for i, name in enumerate(names(count), start=1)
    )
    (root / "tenant.yaml").write_text(
        TENANT_YAML.format(profile=profile, actions=entries), encoding="utf-8"
    )
    texts = root / "consent_texts"  # the policy's one text, which tenant.yaml requires
    texts.mkdir(exist_ok=True)
    (texts / "terms-2026-11-01.en.txt").write_text("Terms of service.\n", encoding="utf-8")
    templates = root / "rules_templates"
    templates.mkdir(exist_ok=True)
    for old in templates.glob("*.j2"):
        old.unlink()
    for name in names(count):
        text = TEMPLATE.format(n=name.split("-")[1])
        (templates / f"{name}.js.j2").write_text(text, encoding="utf-8")
    rendered = root / "actions" / "local"
    if rendered.is_dir():
        for old in rendered.glob("*.js"):
            old.unlink()
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        code = cli_main(["--config", str(root / "tenant.yaml"), "render", "--env", "local"])
    if code != 0:
        raise SystemExit(f"render failed (exit {code})")
    return {name: (rendered / f"{name}.js").read_text(encoding="utf-8") for name in names(count)}


def bound(count: int, profile: str) -> tuple[int, float, float]:
    """Minimum requests, rate-limit minimum and lower bound of a deploy (see the docstring)."""
    rate, burst = _rate(profile)
    latency = LATENCY_MS / 1000
    needed = count + 7
    path = 5 * latency + BUILD_S
    limited = latency + max(0, needed - burst) / rate
    return needed, limited, max(path, limited)


def _rate(profile: str) -> tuple[float, int]:
    limit = RATE_PROFILES[profile]
    if limit is None:
        raise SystemExit(f"profile {profile} has no rate limit")
    return limit


class Bench:
    """The served tenant, the two tools and the measurements."""

    def __init__(self, local: LocalTenant, root: Path, a0deploy: Path, work: Path) -> None:
        self.local = local
        self.root = root
        self.a0deploy = a0deploy
        self.work = work
        ca = local.ca_path
        if ca is None:
            raise SystemExit("the tenant is not served over TLS")
        self.deploy_env = deploy_cli.environment(
            domain=local.domain,
            audience=local.audience,
            client_id=local.client_id,
            client_secret=local.client_secret.reveal(),
            ca_path=ca,
        )
        self.our_env = {**os.environ, "AUTH0_DOMAIN": local.base_url}
        script = Path(sys.executable).parent / "auth0-actions"
        self.ours = [str(script)] if script.is_file() else [sys.executable, "-m", "auth0_actions"]

    def wipe(self, profile: str) -> None:
        """An empty tenant (its clients, keys and CA kept) with a full rate-limit bucket."""
        self.local.reset()
        self.refill(profile)

    def refill(self, profile: str) -> None:
        self.local.app.injector.use_profile(profile)

    def timed(self, argv: list[str], env: dict[str, str], what: str) -> Run:
        injector = self.local.app.injector
        mark = len(injector.log)
        start_at = clock.now_s()
        start = time.perf_counter()
        done = subprocess.run(
            argv, env=env, cwd=self.work, capture_output=True, text=True, check=False, timeout=900
        )
        wall = time.perf_counter() - start
        end_at = clock.now_s()
        injector.wait_idle()
        if done.returncode != 0:
            raise SystemExit(
                f"{what} exited {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}"
            )
        entries: list[LoggedRequest] = injector.log[mark:]
        latency = LATENCY_MS / 1000
        first = entries[0].at if entries else end_at
        last = entries[-1].at + latency if entries else end_at
        return Run(
            wall_s=wall,
            requests=len(entries),
            writes=sum(
                1 for e in entries if e.method in WRITE_METHODS and e.path.startswith("/api/v2/")
            ),
            throttled=sum(1 for e in entries if e.status == 429),
            before_s=first - start_at,
            wire_s=max(0.0, last - first),
            after_s=max(0.0, end_at - last),
        )

    def ours_apply(self) -> Run:
        argv = [*self.ours, "--config", str(self.root / "tenant.yaml"), "apply"]
        return self.timed([*argv, "--env", "local", "--yes"], self.our_env, f"{OURS} apply")

    def ours_plan(self) -> Run:
        argv = [*self.ours, "--config", str(self.root / "tenant.yaml"), "plan", "--env", "local"]
        return self.timed([*argv, "--detailed-exitcode"], self.our_env, f"{OURS} plan")

    def theirs_import(self, config: Path) -> Run:
        argv = deploy_cli.command(self.a0deploy, config)
        return self.timed(argv, self.deploy_env, f"{THEIRS} import")

    def check_deployed(self, count: int) -> None:
        """Both tools must leave the same tenant: every action deployed, bound in order."""
        bound_names = [
            b["action"]["name"] for b in self.local.app.backends.bindings.bindings(TRIGGER)
        ]
        if bound_names != names(count):
            raise SystemExit(f"bindings after the deploy: {bound_names}, not {names(count)}")

    def seed_unmanaged(self, count: int) -> None:
        """Actions this project does not declare (deployed, unbound), straight into the store."""
        build = self.local.app.settings.build_seconds
        self.local.app.settings.build_seconds = 0.0
        try:
            for n in range(count):
                self.local.app.backends.actions.create(
                    {
                        "name": f"unmanaged-{n:04d}",
                        "supported_triggers": [{"id": TRIGGER, "version": "v3"}],
                        "code": "exports.onExecutePostLogin = async () => {};\n",
                        "runtime": "node22",
                        "deploy": True,
                    }
                )
        finally:
            self.local.app.settings.build_seconds = build


def measure_size(bench: Bench, profile: str, count: int, rounds: int) -> dict[str, Any]:
    code = write_project(bench.root, count, profile)
    config = deploy_cli.write_config(bench.work / f"a0deploy-{count}", code, TRIGGER)
    runs: dict[str, dict[str, list[Run]]] = {
        tool: {"apply": [], "noop": []} for tool in (OURS, THEIRS)
    }
    for number in range(rounds):
        order = (OURS, THEIRS) if number % 2 == 0 else (THEIRS, OURS)
        for tool in order:
            bench.wipe(profile)
            apply = bench.ours_apply if tool == OURS else lambda: bench.theirs_import(config)
            runs[tool]["apply"].append(apply())
            bench.check_deployed(count)
            bench.refill(profile)
            runs[tool]["noop"].append(apply())
            print(
                f"  {profile} {count} actions, round {number + 1}, {tool}: apply "
                f"{runs[tool]['apply'][-1].wall_s:.2f} s "
                f"({runs[tool]['apply'][-1].requests} requests, "
                f"{runs[tool]['apply'][-1].throttled} 429), no-op "
                f"{runs[tool]['noop'][-1].wall_s:.2f} s "
                f"({runs[tool]['noop'][-1].requests} requests, "
                f"{runs[tool]['noop'][-1].writes} writes)",
                flush=True,
            )
    needed, limited, lower = bound(count, profile)
    out: dict[str, Any] = {
        "min_requests": needed,
        "rate_limit_minimum_s": round(limited, 3),
        "lower_bound_s": round(lower, 3),
        "noop_lower_bound_s": round(2 * LATENCY_MS / 1000, 3),
    }
    for tool, kinds in runs.items():
        out[tool] = {kind: summary(kind_runs, lower) for kind, kind_runs in kinds.items()}
        out[tool]["noop"]["ratio"] = round(
            out[tool]["noop"]["wall_s"] / out["noop_lower_bound_s"], 3
        )
    out["speedup_apply"] = round(out[THEIRS]["apply"]["wall_s"] / out[OURS]["apply"]["wall_s"], 2)
    out["speedup_noop"] = round(out[THEIRS]["noop"]["wall_s"] / out[OURS]["noop"]["wall_s"], 2)
    return out


def summary(runs: list[Run], lower: float) -> dict[str, Any]:
    walls = [r.wall_s for r in runs]
    wall = statistics.median(walls)
    requests = sum(r.requests for r in runs)
    throttled = sum(r.throttled for r in runs)
    return {
        "wall_s": round(wall, 3),
        "wall_runs_s": [round(w, 3) for w in walls],
        "wall_spread_s": round(max(walls) - min(walls), 3),
        "ratio": round(wall / lower, 3),
        "requests": int(statistics.median(r.requests for r in runs)),
        "writes": int(statistics.median(r.writes for r in runs)),
        "429s": int(statistics.median(r.throttled for r in runs)),
        "429_share": round(throttled / requests, 3) if requests else 0.0,
        "before_first_request_s": round(statistics.median(r.before_s for r in runs), 3),
        "on_the_wire_s": round(statistics.median(r.wire_s for r in runs), 3),
        "after_last_answer_s": round(statistics.median(r.after_s for r in runs), 3),
    }


def measure_plan(
    bench: Bench, profile: str, declared: int, total: int, rounds: int
) -> dict[str, Any]:
    """``plan`` (a separate process) on a tenant holding ``total`` actions, ``declared`` ours."""
    write_project(bench.root, declared, profile)
    bench.wipe(profile)
    bench.ours_apply()
    bench.seed_unmanaged(total - declared)
    runs = []
    for _ in range(rounds):
        bench.refill(profile)
        runs.append(bench.ours_plan())
    walls = [r.wall_s for r in runs]
    return {
        "actions": total,
        "declared": declared,
        "wall_s": round(statistics.median(walls), 3),
        "wall_runs_s": [round(w, 3) for w in walls],
        "requests": int(statistics.median(r.requests for r in runs)),
        "429s": int(statistics.median(r.throttled for r in runs)),
        "before_first_request_s": round(statistics.median(r.before_s for r in runs), 3),
        "on_the_wire_s": round(statistics.median(r.wire_s for r in runs), 3),
    }


def startup(rounds: int, work: Path) -> dict[str, float]:
    """The interpreter's bare start and ``auth0-actions --help``, whole process."""
    script = Path(sys.executable).parent / "auth0-actions"
    out: dict[str, float] = {}
    for label, argv in (
        ("python_bare_s", [sys.executable, "-c", "pass"]),
        ("cli_help_s", [str(script), "--help"]),
    ):
        walls = []
        for _ in range(max(3, rounds)):
            start = time.perf_counter()
            subprocess.run(argv, cwd=work, capture_output=True, check=True)
            walls.append(time.perf_counter() - start)
        out[label] = round(statistics.median(walls), 3)
    return out


def targets(figures: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """Each target: its name, pass/fail (None: not measured), the figure."""
    out: list[tuple[str, bool | None, str]] = []
    profiles = figures["profiles"]
    for count in figures["sizes"]:
        key = str(count)
        fast = profiles.get("self-service", {}).get(key)
        if fast is not None:
            ratio = fast[OURS]["apply"]["ratio"]
            out.append(
                (
                    f"16/s, {count} actions: apply <= {TARGET_APPLY_RATIO}x lower bound",
                    ratio <= TARGET_APPLY_RATIO,
                    f"{ratio:.2f}x of {fast['lower_bound_s']:.2f} s",
                )
            )
        slow = profiles.get("free", {}).get(key)
        if slow is not None:
            share = slow[OURS]["apply"]["429_share"]
            out.append(
                (
                    f"2/s, {count} actions: 429s < {TARGET_429_SHARE:.0%} of requests",
                    share < TARGET_429_SHARE,
                    f"{share:.1%}",
                )
            )
            wall, minimum = slow[OURS]["apply"]["wall_s"], slow["rate_limit_minimum_s"]
            out.append(
                (
                    f"2/s, {count} actions: wall <= rate-limit minimum + 20%",
                    wall <= minimum * TARGET_RATE_SLACK,
                    f"{wall:.2f} s vs {minimum:.2f} s (x{wall / minimum:.2f})",
                )
            )
    plan = figures["plan"].get("self-service")
    if plan is not None:
        out.append(
            (
                f"plan of a {plan['actions']}-action tenant < {TARGET_PLAN_S} s (16/s)",
                plan["wall_s"] < TARGET_PLAN_S,
                f"{plan['wall_s']:.2f} s",
            )
        )
    return out


@contextlib.contextmanager
def served(root: Path) -> Iterator[LocalTenant]:
    with LocalTenant.open(
        root, tls=True, latency_ms=LATENCY_MS, build_seconds=BUILD_S, rate_profile="none"
    ) as local:
        local.write_credentials()  # the local environment's credentials and CA, published
        yield local


def run(args: argparse.Namespace) -> dict[str, Any]:
    a0deploy = deploy_cli.install(args.cache)
    figures: dict[str, Any] = {
        "latency_ms": LATENCY_MS,
        "build_s": BUILD_S,
        "rounds": args.rounds,
        "sizes": args.sizes,
        "deploy_cli_version": deploy_cli.VERSION,
        "profiles": {},
        "plan": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-vs-deploy-cli-") as tmp:
        root, work = Path(tmp) / "project", Path(tmp) / "work"
        root.mkdir()
        work.mkdir()
        figures["startup"] = startup(args.rounds, work)
        with served(root) as local:
            bench = Bench(local, root, a0deploy, work)
            for profile in args.profiles:
                rate, burst = _rate(profile)
                print(f"profile {profile}: {rate:g} requests/s, burst {burst}", flush=True)
                figures["profiles"][profile] = {
                    str(count): measure_size(bench, profile, count, args.rounds)
                    for count in args.sizes
                }
                if args.plan_actions:
                    figures["plan"][profile] = measure_plan(
                        bench, profile, 10, args.plan_actions, args.rounds
                    )
    return figures


def report(figures: dict[str, Any]) -> None:
    start = figures["startup"]
    print(
        f"\nstart-up: python -c pass {start['python_bare_s']:.2f} s, "
        f"auth0-actions --help {start['cli_help_s']:.2f} s"
    )
    for profile, sizes in figures["profiles"].items():
        for count, row in sizes.items():
            print(
                f"\n{profile}, {count} actions: lower bound {row['lower_bound_s']:.2f} s "
                f"({row['min_requests']} requests; rate-limit minimum "
                f"{row['rate_limit_minimum_s']:.2f} s)"
            )
            for tool in (OURS, THEIRS):
                for kind in ("apply", "noop"):
                    f = row[tool][kind]
                    print(
                        f"  {tool:13} {kind:5} {f['wall_s']:6.2f} s "
                        f"(spread {f['wall_spread_s']:.2f}) {f['ratio']:6.2f}x  "
                        f"{f['requests']:3} requests {f['writes']:3} writes {f['429s']:3} 429s  "
                        f"[before {f['before_first_request_s']:.2f} wire "
                        f"{f['on_the_wire_s']:.2f} after {f['after_last_answer_s']:.2f}]"
                    )
            print(
                f"  {THEIRS} / {OURS}: apply {row['speedup_apply']}x, no-op {row['speedup_noop']}x"
            )
    for profile, plan in figures["plan"].items():
        print(
            f"\nplan, {plan['actions']} actions ({plan['declared']} declared), {profile}: "
            f"{plan['wall_s']:.2f} s, {plan['requests']} requests, {plan['429s']} 429s "
            f"[before {plan['before_first_request_s']:.2f} wire {plan['on_the_wire_s']:.2f}]"
        )
    print()
    results = targets(figures)
    for name, passed, figure in results:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {figure}")
    figures["targets"] = {name: passed for name, passed, _ in results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds (default 3)")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(n) for n in s.split(",")],
        default=[10, 20],
        help="actions deployed, comma-separated (default 10,20)",
    )
    parser.add_argument(
        "--profiles",
        type=lambda s: s.split(","),
        default=["self-service", "free"],
        help="rate-limit profiles (default self-service,free)",
    )
    parser.add_argument(
        "--plan-actions",
        type=int,
        default=500,
        help="actions in the tenant plan is timed on (default 500; 0 skips it)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=deploy_cli.default_cache(),
        help="where the deploy CLI is installed (default: the user's cache)",
    )
    args = parser.parse_args()
    for profile in args.profiles:
        _rate(profile)
    figures = run(args)
    report(figures)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
