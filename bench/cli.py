"""Start-up cost of the CLI: how long a user waits for the commands they run most.

Measures, on a project scaffolded by ``auth0-actions init`` in a temporary
directory, the wall time of:

- ``auth0-actions --help``
- ``auth0-actions config validate``
- ``auth0-actions render --check``
- a no-op ``auth0-actions apply --env local --yes`` (the local tenant
  already matches, so it reads, plans nothing and writes nothing)

against a bare ``python -c pass`` with the same interpreter. Each is run
``--runs`` times (default 7) after one warm-up run; the median is reported
with the spread (max - min), since a shared 2-core machine is noisy.

Targets (issue 10): ``--help`` under 0.15 s, ``config validate`` under 0.3 s.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS_S = {"help": 0.15, "config_validate": 0.3}


def _cli() -> list[str]:
    return [sys.executable, "-m", "auth0_actions"]


def _time(command: list[str], cwd: Path, runs: int) -> dict[str, float]:
    def once() -> float:
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
        return elapsed

    once()  # warm the page cache and .pyc files
    samples = [once() for _ in range(runs)]
    return {
        "median_s": round(statistics.median(samples), 3),
        "spread_s": round(max(samples) - min(samples), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        project = Path(tmp) / "project"
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
        setup = [
            [*_cli(), "init", str(project)],
            [*_cli(), "apply", "--env", "local", "--yes"],
        ]
        for command in setup:
            done = subprocess.run(
                command, cwd=project if project.exists() else tmp, env=env,
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"setup failed: {' '.join(command)}\n{done.stderr}")

        measured = {
            "python_pass": _time([sys.executable, "-c", "pass"], project, args.runs),
            "help": _time([*_cli(), "--help"], project, args.runs),
            "config_validate": _time([*_cli(), "config", "validate"], project, args.runs),
            "render_check": _time([*_cli(), "render", "--check"], project, args.runs),
            "apply_noop_local": _time(
                [*_cli(), "apply", "--env", "local", "--yes"], project, args.runs
            ),
        }

    base = measured["python_pass"]["median_s"]
    print(f"{'command':<20} {'median':>8} {'spread':>8} {'x bare python':>14}")
    for name, figures in measured.items():
        ratio = figures["median_s"] / base if base else float("nan")
        print(
            f"{name:<20} {figures['median_s']:>7.3f}s {figures['spread_s']:>7.3f}s {ratio:>13.1f}x"
        )
    under = {name: measured[name]["median_s"] < limit for name, limit in TARGETS_S.items()}
    for name, limit in TARGETS_S.items():
        verdict = "under" if under[name] else "OVER"
        print(f"target {name}: {verdict} {limit} s")
    print(
        json.dumps(
            {
                "runs": args.runs,
                "median_s": {name: f["median_s"] for name, f in measured.items()},
                "spread_s": {name: f["spread_s"] for name, f in measured.items()},
                "targets_s": TARGETS_S,
                "under_target": under,
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
