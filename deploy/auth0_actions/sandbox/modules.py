"""Actions Modules as the sandbox runs them: the versions an action pins.

Auth0 (https://auth0.com/docs/customize/actions/modules/write-your-first-action-module):
an action lists the module versions it uses (``module_id`` and
``module_version_id``) and loads one with ``require('actions:<name>')``; the
module's code reads its own secrets as ``actions.secrets.NAME``, independent of
the action's secrets; it may depend on npm packages but not on another module,
and it runs in the runtime of the action that requires it
(https://auth0.com/docs/customize/actions/limitations#actions-modules).

So a pinned module is part of its action's isolation domain
(:mod:`auth0_actions.sandbox.domain`): its code and secret values go to that
action's worker only, and js/loader.js evaluates it there once, on the first
require. Its npm packages are installed into the action's dependency cache
entry together with the action's own (one read-only directory per worker, as
:mod:`auth0_actions.sandbox.isolation` binds it); a package that the action and
one of its modules declare at different versions is reported, since one entry
holds one version of a package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auth0_actions.sandbox.deps import Dependency, DependencyError

__all__ = ["Package", "PinnedModule", "merged_dependencies", "unit_modules"]


@dataclass(frozen=True)
class Package:
    """An npm package and version (satisfies :class:`auth0_actions.sandbox.deps.Dependency`)."""

    name: str
    version: str


@dataclass(frozen=True)
class PinnedModule:
    """One module version an action pins: what `require('actions:<name>')` loads."""

    name: str
    code: str
    secrets: Mapping[str, str] = field(default_factory=dict)
    dependencies: Sequence[Dependency] = ()

    def unit(self) -> dict[str, Any]:
        """The module as a sandbox unit carries it (``unit["modules"]``)."""
        return {"name": self.name, "code": self.code, "secrets": dict(self.secrets)}


def unit_modules(modules: Sequence[PinnedModule], action: str) -> list[dict[str, Any]]:
    """``unit["modules"]`` of ``action``; a module pinned twice is an error naming both."""
    seen: set[str] = set()
    for module in modules:
        if module.name in seen:
            raise DependencyError(f"action {action!r} pins module {module.name!r} twice")
        seen.add(module.name)
    return [m.unit() for m in modules]


def merged_dependencies(
    action: str, declared: Sequence[Dependency], modules: Sequence[PinnedModule]
) -> list[Package]:
    """The npm packages the action's worker needs: its own and its modules'.

    DependencyError names the package, the action and the module when two of
    them declare different versions of one package.
    """
    chosen: dict[str, tuple[str, str]] = {}  # package -> (version, who declared it)
    owners = [(f"action {action!r}", declared)] + [
        (f"module {m.name!r}", m.dependencies) for m in modules
    ]
    for owner, dependencies in owners:
        for dep in dependencies:
            version, first = chosen.setdefault(dep.name, (dep.version, owner))
            if version != dep.version:
                raise DependencyError(
                    f"npm package {dep.name} is {version} for {first} and {dep.version} for "
                    f"{owner}: the sandbox installs an action's and its modules' packages "
                    "together, so they must name the same version"
                )
    return [Package(name, chosen[name][0]) for name in sorted(chosen)]
