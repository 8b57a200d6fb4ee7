"""auth0-actions init: a new config repository in DIR."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from auth0_actions.cli.state import output_option, state
from auth0_actions.scaffold import init_project


@click.command("init")
@click.argument(
    "directory",
    metavar="[DIR]",
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--bare",
    is_flag=True,
    help="Only tenant.yaml (no actions), .gitignore and the CI workflow: "
    "no consent templates, scenarios or rendered actions.",
)
@output_option
def init_command(directory: Path, bare: bool) -> None:
    """Start a config repository in DIR (default: the current directory).

    Writes tenant.yaml (the built-in local environment, and a commented
    example of a real one), rules_templates/ with the GDPR consent templates
    and their scenarios, .gitignore, and a GitHub Actions workflow in
    .github/workflows/auth0-actions.yml; then renders actions/. DIR is
    created if needed. Nothing is overwritten: if any of these files exists,
    init lists them, writes nothing and exits 1.
    """
    created = init_project(directory, bare=bare)
    steps = [
        "auth0-actions render --check",
        "auth0-actions test",
        "auth0-actions apply --env local --yes",
    ]
    if directory != Path("."):
        steps.insert(0, f"cd {shlex.quote(str(directory))}")
    data = {
        "directory": str(directory),
        "files": created.files,
        "rendered": created.rendered,
        "next": steps,
    }
    lines = [f"+ {path}" for path in [*created.files, *created.rendered]]
    lines.append(f"created a project in {directory} ({len(lines)} files). Next:")
    lines += [f"  {step}" for step in steps]
    state().emit(data, "\n".join(lines))
