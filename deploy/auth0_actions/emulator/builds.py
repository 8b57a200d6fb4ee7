"""npm dependencies of the local tenant's actions: building a version installs them.

Auth0 builds an action by installing the npm packages it declares
(https://auth0.com/docs/customize/actions/manage-dependencies); a package that
cannot be installed fails the build. The local tenant installs them into the
content-addressed cache `auth0-actions test` uses
(deploy/auth0_actions/sandbox/deps.py): the project's when the tenant belongs
to a project, else one under the tenant's state directory. An install runs in
the background, so a create or update answers at once and the build stays
``building`` until npm is done; each distinct set is installed once.

An emulator without a cache (in memory, as the API conformance tests run it)
records dependencies and builds without installing them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_actions.sandbox.deps import DependencyError, ensure_dependencies, redact_paths

# What a finished build of a dependency set says: None (installed) or the reason.
Outcome = str | None
# A draft's or version's ``_deps`` while npm installs its set; then
# ``installed`` or ``failed`` (with ``_build_fails`` and ``_build_error``).
INSTALLING = "installing"


@dataclass(frozen=True)
class _Declared:
    name: str
    version: str


def _declared(dependencies: Sequence[Mapping[str, Any]]) -> list[_Declared]:
    return [_Declared(str(d["name"]), str(d["version"])) for d in dependencies]


def _key(dependencies: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(sorted([d.name, d.version] for d in _declared(dependencies)))


class DependencyBuilds:
    """Installs of the tenant's dependency sets, one per set, in the background."""

    def __init__(self, cache: Path | None) -> None:
        self.cache = cache
        self._futures: dict[str, Future[Path | None]] = {}
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return self.cache is not None

    def begin(self, item: dict[str, Any]) -> None:
        """A draft starts building: its dependency set starts installing, if it has one."""
        item.pop("_build_error", None)
        if self.enabled and item.get("dependencies"):
            self.start(item["dependencies"])
            item["_deps"] = INSTALLING
        else:
            item["_deps"] = "installed"

    def resolve(self, item: dict[str, Any]) -> bool:
        """Record in a draft or version how its install ended, once npm is done."""
        if item.get("_deps") != INSTALLING:
            return False
        done, failure = self.outcome(item.get("dependencies") or [])
        if not done:
            return False
        item["_deps"] = "installed" if failure is None else "failed"
        if failure is not None:
            item["_build_fails"] = True
            item["_build_error"] = failure
        return True

    def start(self, dependencies: Sequence[Mapping[str, Any]]) -> None:
        """Begin installing the set; a set whose install failed is tried again."""
        if not self.enabled or not dependencies:
            return
        with self._lock:
            known = self._futures.get(_key(dependencies))
            if known is not None and known.done() and known.exception() is not None:
                del self._futures[_key(dependencies)]
        self._future(dependencies)

    def outcome(self, dependencies: Sequence[Mapping[str, Any]]) -> tuple[bool, Outcome]:
        """(done, reason): not done while npm runs (started now if it was not)."""
        if not self.enabled or not dependencies:
            return True, None
        future = self._future(dependencies)
        if not future.done():
            return False, None
        error = future.exception()
        return True, None if error is None else self.describe(error)

    def directory(self, dependencies: Sequence[Mapping[str, Any]]) -> Path | None:
        """The set's cache directory, waiting for its install; DependencyError on failure."""
        if not self.enabled or not dependencies:
            return None
        return self._future(dependencies).result()

    def known_paths(self) -> list[tuple[Path, str]]:
        """This machine's paths an action's error may show, and what to show instead."""
        return [(self.cache, "<deps>")] if self.cache is not None else []

    def describe(self, error: BaseException) -> str:
        """What a failed install says, without this machine's paths."""
        return redact_paths(str(error), self.known_paths())

    def _future(self, dependencies: Sequence[Mapping[str, Any]]) -> Future[Path | None]:
        key = _key(dependencies)
        with self._lock:
            future = self._futures.get(key)
            if future is None:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(2, thread_name_prefix="npm-build")
                future = self._executor.submit(_install, self.cache, _declared(dependencies))
                self._futures[key] = future
            return future

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _install(cache: Path | None, declared: list[_Declared]) -> Path | None:
    if cache is None:
        return None
    try:
        return ensure_dependencies(cache, declared, cache=cache)
    except DependencyError:
        raise
    except Exception as exc:  # npm missing, the cache unwritable: still a failed build
        raise DependencyError(f"cannot install npm dependencies: {exc}") from None
