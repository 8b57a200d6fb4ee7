"""How sandbox workers are walled off from the host, and how well.

Every worker runs under Node's permission model (reads only the harness and
the dependency cache; no writes, child processes, workers or addons), with an
empty environment and a heap cap. The network is cut by a network namespace
where the OS allows one (``unshare --net``, as root or through a user
namespace); where it does not, the harness blocks every network API inside
the worker instead, which is weaker, and `auth0-actions doctor` says so.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NETNS = "network-namespace"
API_BLOCK = "api-block"


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    harness_dir: str
    deps_dir: str | None


@dataclass(frozen=True)
class Isolation:
    network: str  # NETNS or API_BLOCK
    prefix: tuple[str, ...]  # command prefix that enters the namespace, if any

    def launch(
        self, node: Path, *, harness: Path, deps: Path | None, memory_mb: int, cpu_seconds: int
    ) -> Launch:
        allow = [f"--allow-fs-read={harness}"] + ([f"--allow-fs-read={deps}"] if deps else [])
        space = (memory_mb + 1024) * 1024 * 1024
        argv = [
            "prlimit",
            f"--as={space}",
            "--core=0",
            f"--cpu={cpu_seconds}",
            "--",
            *self.prefix,
            str(node),
            "--permission",
            *allow,
            "--disable-wasm-trap-handler",
            "--zero-fill-buffers",
            str(harness / "worker.js"),
        ]
        return Launch(argv, {"TZ": "UTC"}, str(harness), str(harness), str(deps) if deps else None)

    @property
    def description(self) -> str:
        base = "Node permission model (read-only harness and dependencies; no writes, "
        base += "child processes, workers or addons), empty environment, heap cap"
        if self.network == NETNS:
            return base + ", no network (own network namespace, network APIs also blocked)"
        return base + ", network APIs blocked in the worker (no network namespace available)"


def _works(prefix: list[str]) -> bool:
    try:
        done = subprocess.run([*prefix, "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@cache
def detect_isolation() -> Isolation:
    """The strongest isolation this machine allows, probed once per process."""
    unshare = shutil.which("unshare")
    if unshare:
        for prefix in ([unshare, "--net"], [unshare, "--net", "--map-root-user"]):
            if _works(prefix):
                return Isolation(NETNS, tuple(prefix))
    return Isolation(API_BLOCK, ())


def ensure_required_level(isolation: Isolation) -> None:
    """Placeholder until the OS sandbox lands (same branch of work)."""
