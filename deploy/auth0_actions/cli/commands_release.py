"""auth0-actions history / rollback: an action's versions, and deploying an earlier one again."""

from __future__ import annotations

import json
import sys

import click

from auth0_actions.cli.state import confirm_shown, environment_option, report_option, state
from auth0_actions.errors import EXIT_ERROR, EXIT_OK, Auth0ActionsError
from auth0_actions.plan.apply import BUILD_TIMEOUT_S
from auth0_actions.plan.rollback import (
    History,
    RollbackPlan,
    RollbackResult,
    action_history,
    rollback_action,
)

env_option = environment_option("The environment whose tenant to use (exactly one).")
output_option = report_option("Report format: text for people, json for CI and scripts.")


def history_text(history: History) -> str:
    lines = [f"{history.action} ({history.action_id}) in the {history.environment} tenant:"]
    for v in history.versions:
        mark = "  <- live" if v.live else ""
        lines.append(f"  v{v.number:<4} {v.id}  {v.created_at or '-':<24}  {v.status}{mark}")
    if not history.versions:
        lines.append("  (no versions: never deployed)")
    if history.draft_differs is None:
        lines.append("No version is live.")
    elif history.draft_differs:
        lines.append("The draft differs from the live version (not deployed).")
    else:
        lines.append("The draft is the live version.")
    return "\n".join(lines)


def _plan_text(plan: RollbackPlan) -> str:
    return (
        f"Rollback of {plan.action} in the {plan.environment} tenant: deploy version "
        f"{plan.source.number} ({plan.source.id}) again, as a new version, in place of the "
        f"live version {plan.live.number}. The draft is not changed."
    )


def _after_text(result: RollbackResult) -> str:
    p = result.plan
    number = result.deployed.number if result.deployed else "?"
    lines = [
        click.style(
            f"Rolled back {p.action}: version {number} (a copy of version "
            f"{p.source.number}) is built and live.",
            bold=True,
        )
    ]
    if p.managed:
        path = f"actions/{p.environment}/{p.action}.js"
        if result.matches_committed:
            lines.append(f"The live code matches the committed {path}.")
        else:
            lines.append(
                f"The committed {path} now differs from the tenant: `plan --env "
                f"{p.environment}` shows a deploy change for {p.action}, and the next `apply` "
                "ships the committed code again. Fix or revert the change in git, render and "
                "apply to make the repository and the tenant agree."
            )
    return "\n".join(lines)


@click.command("history")
@click.argument("action")
@env_option
@output_option
def history_command(action: str, env: str, output: str) -> int:
    """The versions of ACTION in ENV's tenant, newest first, and which one is live.

    Shows each version's number, id, creation time and build status, and
    whether the draft differs from the live version. Read-only; exit 1 when
    the action does not exist.
    """
    history = action_history(state().tenant(), env, action)
    if output == "json":
        click.echo(json.dumps(history.data, indent=2, sort_keys=True))
    else:
        click.echo(history_text(history))
    return EXIT_OK


@click.command("rollback")
@click.argument("action")
@env_option
@click.option(
    "--to-version",
    type=click.IntRange(min=1),
    metavar="N",
    help="The version to deploy again (default: the last built one before the live one).",
)
@click.option("--yes", "-y", is_flag=True, help="Roll back without asking for confirmation.")
@output_option
@click.option(
    "--build-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=BUILD_TIMEOUT_S,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the new version to be built and live.",
)
def rollback_command(
    action: str, env: str, to_version: int | None, yes: bool, output: str, build_timeout: float
) -> int:
    """Deploy an earlier version of ACTION again: an emergency lever.

    Auth0 makes a new version from version N (default: the one before the
    live one) and deploys it; the command waits until it is built and live.
    The draft is left as it is. Asks for confirmation unless --yes. Exit 1
    when the action or version does not exist, or N is already live.

    Afterwards the committed actions/<env>/ differs from the tenant: `plan`
    shows a deploy change and the next `apply` ships the committed code again.
    """
    as_json = output == "json"
    if as_json and not yes:
        raise Auth0ActionsError("rollback --output json needs --yes (there is no one to ask)")

    def confirm(plan: RollbackPlan) -> bool:
        return confirm_shown(
            _plan_text(plan),
            f"Roll back {plan.action} in the {env} tenant?",
            yes=yes,
            quiet=as_json,
        )

    shown = False

    def progress(line: str) -> None:
        nonlocal shown
        click.echo(f"\r\x1b[K{line}", nl=False, err=True)
        shown = True

    try:
        result = rollback_action(
            state().tenant(),
            env,
            action,
            to_version=to_version,
            confirm=confirm,
            build_timeout=build_timeout,
            progress=progress if sys.stderr.isatty() else None,
        )
    finally:
        if shown:
            click.echo("\r\x1b[K", nl=False, err=True)
    if as_json:
        click.echo(json.dumps(result.data, indent=2, sort_keys=True))
        return EXIT_OK
    if not result.rolled_back:
        click.echo("Rollback cancelled: nothing was changed.", err=True)
        return EXIT_ERROR
    click.echo(_after_text(result))
    return EXIT_OK
