"""auth0-actions render: templates -> actions/<env>/*.js."""

from __future__ import annotations

import click

from auth0_actions.cli.state import (
    environments_option,
    output_option,
    selected_environments,
    state,
)
from auth0_actions.errors import EXIT_ERROR, EXIT_OK
from auth0_actions.render import compare, render_environments, write

_MARKS = {"created": "+", "updated": "~", "removed": "-", "unchanged": "="}
_CHECK_WORDS = {"created": "missing", "updated": "stale", "removed": "unexpected"}


@click.command("render")
@environments_option("Environment to render (repeatable). Default: every environment.")
@click.option("--all", "all_envs", is_flag=True, help="Render every environment (the default).")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 and list files that are stale, missing or unexpected.",
)
@output_option
def render_command(envs: tuple[str, ...], all_envs: bool, check: bool) -> int:
    """Render the templates into actions/<env>/<name>.js.

    Output is byte-identical on every run, starts with a provenance header,
    and passes `node --check`. Nothing is written unless every file of the
    run rendered and checked. Legacy rules go to actions/<env>/legacy-rules/.
    """
    app = state()
    tenant = app.tenant()
    if envs and all_envs:
        raise click.UsageError("--env and --all cannot be combined")
    names = selected_environments(tenant, envs)
    files = render_environments(tenant, names)
    report = compare(tenant, names, files)
    if not check:
        write(tenant, files, report)
    changed = report.changed
    statuses = (
        {path: _CHECK_WORDS.get(s, "ok") for path, s in report.files.items()}
        if check
        else dict(report.files)
    )
    data = {
        "check": check,
        "environments": names,
        "files": statuses,
        "ok": not (check and changed),
    }
    if check:
        lines = [f"{_CHECK_WORDS[s]}: {path}" for path, s in changed.items()]
        summary = (
            f"{len(changed)} file(s) out of date; run `auth0-actions render`"
            if changed
            else f"actions/ is up to date ({len(report.files)} files)"
        )
    else:
        lines = [f"{_MARKS[s]} {path}" for path, s in changed.items()]
        count = len(files)
        summary = (
            f"rendered {count} files: {len(changed)} changed"
            if changed
            else f"rendered {count} files: all unchanged"
        )
    app.emit(data, "\n".join([*lines, summary]))
    return EXIT_ERROR if check and changed else EXIT_OK
