"""auth0-actions apply: make one environment's tenant match the plan, then verify it."""

from __future__ import annotations

import json
import sys

import click

from deploy.cli.state import confirm_shown, environment_option, state
from deploy.errors import EXIT_ERROR, EXIT_OK, Auth0ActionsError
from deploy.plan.apply import BUILD_TIMEOUT_S, ApplyResult, Step, apply_environment
from deploy.plan.changes import Plan
from deploy.plan.report import text_report


def _set_output(ctx: click.Context, _: click.Parameter, value: str) -> str:
    state().output = "json" if value == "json" else "text"
    return value


def _summary(result: ApplyResult) -> str:
    counts: dict[str, int] = {}
    for step in result.steps:
        counts[step.kind] = counts.get(step.kind, 0) + 1
    parts = [
        f"{counts.get(kind, 0)} {word}"
        for kind, word in (
            ("create", "created"),
            ("update", "updated"),
            ("deploy", "deployed"),
            ("bindings", "binding lists set"),
            ("delete", "deleted"),
        )
    ]
    return f"Apply complete: {', '.join(parts)}. Verified: a fresh plan is empty."


@click.command("apply")
@environment_option("The environment whose tenant to change (exactly one).")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    is_eager=True,
    callback=_set_output,
    help="Report format: text for people, json for CI (needs --yes).",
)
@click.option(
    "--allow-delete",
    is_flag=True,
    help="Also unbind and delete orphans (actions carrying the auth0-actions header that "
    "tenant.yaml no longer lists), as `plan --allow-delete` shows.",
)
@click.option(
    "--build-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=BUILD_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait, in all, for builds and deployed versions.",
)
def apply_command(
    env: str, yes: bool, output: str, allow_delete: bool, build_timeout: float
) -> int:
    """Apply the plan to ENV's tenant: create/update, build, deploy, bind, verify.

    Shows the plan (as `plan` does) and asks for confirmation unless --yes.
    With no changes it writes nothing. Exit 0 when the tenant matches
    tenant.yaml afterwards (a fresh plan is empty), 1 on any error (a failed
    build stops before any deploy or binding).
    """
    as_json = output == "json"
    if as_json and not yes:
        raise Auth0ActionsError("apply --output json needs --yes (there is no one to ask)")
    tenant = state().tenant()

    def confirm(plan: Plan) -> bool:
        return confirm_shown(
            text_report(plan),
            f"Apply these changes to the {env} tenant?",
            yes=yes,
            quiet=as_json,
        )

    shown = False  # a progress line is on stderr (a terminal) and must be cleared

    def clear() -> None:
        nonlocal shown
        if shown:
            click.echo("\r\x1b[K", nl=False, err=True)
            shown = False

    def on_step(step: Step) -> None:
        clear()
        if not as_json:
            click.echo(step.describe())

    def progress(line: str) -> None:
        nonlocal shown
        click.echo(f"\r\x1b[K{line}", nl=False, err=True)
        shown = True

    try:
        result = apply_environment(
            tenant,
            env,
            allow_delete=allow_delete,
            confirm=confirm,
            build_timeout=build_timeout,
            on_step=on_step,
            progress=progress if sys.stderr.isatty() else None,
        )
    finally:
        clear()
    if as_json:
        click.echo(json.dumps(result.data, indent=2, sort_keys=True))
        return EXIT_OK
    if not result.plan.changes:
        click.echo(text_report(result.plan))
        return EXIT_OK
    if not result.applied:
        click.echo("Apply cancelled: nothing was changed.", err=True)
        return EXIT_ERROR
    click.echo(click.style(_summary(result), bold=True))
    return EXIT_OK
