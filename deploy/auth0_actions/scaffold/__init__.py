"""A new config repository: tenant.yaml, the consent templates, CI, rendered actions.

The files beside this module are the project ``auth0-actions init`` writes.
Its ``rules_templates/`` is also this repository's own (the root's
``rules_templates`` links here), so the templates a new project starts from
are the ones the tool's own project renders, tests and deploys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from auth0_actions import __version__
from auth0_actions.config import DEFAULT_CONFIG, load_tenant
from auth0_actions.config.model import CONSENT_TEXTS_DIR
from auth0_actions.errors import Auth0ActionsError, Location, Problem
from auth0_actions.files import write_atomic
from auth0_actions.render import compare, render_environments, write

TEMPLATES = "rules_templates"
# The consent texts tenant.yaml's purposes name; a bare project's policy needs them too.
TEXTS = CONSENT_TEXTS_DIR
WORKFLOW = ".github/workflows/auth0-actions.yml"
_VERSION_MARK = "@VERSION@"
# Where the bare tenant.yaml ends: everything from here on names templates.
_ACTIONS_SECTION = "\nactions:\n"
_BARE_ACTIONS = """
# Each action renders rules_templates/<template> into actions/<env>/<name>.js.
# Example:
#   - name: consent-on-first-login
#     template: consent-on-first-login.js.j2
#     trigger: post-login
#     order: 1
actions: []
"""


class ScaffoldError(Auth0ActionsError):
    """The project cannot be written where asked (nothing was written)."""


@dataclass(frozen=True)
class Scaffold:
    """What init writes: project-relative POSIX path -> file content."""

    files: dict[str, str]
    render: bool

    def targets(self, root: Path) -> list[Path]:
        return [root / path for path in self.files]


@dataclass
class Created:
    """The outcome of :func:`init_project`: files written, relative to ``root``."""

    root: Path
    files: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)


def _package() -> Traversable:
    return resources.files(__package__)


def _walk(folder: Traversable, prefix: PurePosixPath) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith((".", "__")):
            continue
        path = prefix / entry.name
        if entry.is_dir():
            found.update(_walk(entry, path))
        else:
            found[path.as_posix()] = entry.read_text(encoding="utf-8")
    return found


def _bare_tenant(full: str) -> str:
    head, found, _ = full.partition(_ACTIONS_SECTION)
    if not found:  # the package data itself is wrong: a bug, not bad input
        raise RuntimeError("scaffold tenant.yaml has no top-level 'actions:' section")
    return head + _BARE_ACTIONS


def scaffold(*, bare: bool = False) -> Scaffold:
    """The files of a new project; ``bare`` leaves out templates, scenarios and actions."""
    package = _package()
    tenant = package.joinpath("tenant.yaml").read_text(encoding="utf-8")
    workflow = package.joinpath("workflow.yml").read_text(encoding="utf-8")
    files = {
        DEFAULT_CONFIG.as_posix(): _bare_tenant(tenant) if bare else tenant,
        ".gitignore": package.joinpath("gitignore").read_text(encoding="utf-8"),
        WORKFLOW: workflow.replace(_VERSION_MARK, __version__),
    }
    files.update(_walk(package.joinpath(TEXTS), PurePosixPath(TEXTS)))
    if not bare:
        files.update(_walk(package.joinpath(TEMPLATES), PurePosixPath(TEMPLATES)))
    return Scaffold(files=files, render=not bare)


def _existing(root: Path, plan: Scaffold) -> list[Path]:
    """Files init would overwrite, or that a render into actions/ could replace or remove."""
    taken = [path for path in plan.targets(root) if path.exists() or path.is_symlink()]
    actions = root / "actions"
    if actions.is_dir():
        taken += sorted(p for p in actions.rglob("*") if not p.is_dir())
    return taken


def _refuse_if_taken(root: Path, plan: Scaffold) -> None:
    if root.exists() and not root.is_dir():
        raise ScaffoldError(f"{root}: exists and is not a directory")
    taken = _existing(root, plan) if root.is_dir() else []
    if taken:
        raise ScaffoldError(
            f"{root}: refusing to overwrite {len(taken)} existing file(s); nothing was written",
            [Problem(Location(file=path), "already exists") for path in taken],
        )


def init_project(root: Path, *, bare: bool = False) -> Created:
    """Write a new project into ``root`` (created if needed) and render its actions.

    Every target is checked before anything is written: if one exists, a
    :class:`ScaffoldError` names each of them and the directory is left as it was.
    """
    plan = scaffold(bare=bare)
    _refuse_if_taken(root, plan)
    created = Created(root=root)
    for relative, text in plan.files.items():
        target = root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, text)
        except OSError as exc:
            raise ScaffoldError(f"{target}: cannot write: {exc.strerror or exc}") from None
        created.files.append(relative)
    if bare:
        (root / TEMPLATES).mkdir(exist_ok=True)
    if plan.render:
        created.rendered = render_all(root)
    return created


def render_all(root: Path) -> list[str]:
    """``render --all`` for the project in ``root``: the paths written."""
    project = load_tenant(root / DEFAULT_CONFIG)
    names = list(project.environments)
    files = render_environments(project, names)
    report = compare(project, names, files)
    write(project, files, report)
    return sorted(report.changed)
