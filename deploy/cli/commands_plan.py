"""auth0-actions plan: what apply would change in one environment's tenant (read-only)."""

from __future__ import annotations

import click

from deploy.cli.state import environment_option, state
from deploy.errors import EXIT_CHANGES, EXIT_OK
from deploy.plan import plan_environment
from deploy.plan.report import json_report, markdown_report, text_report


def _set_output(ctx: click.Context, _: click.Parameter, value: str) -> str:
    # Errors are reported as JSON only for json; markdown errors go to stderr as text.
    state().output = "json" if value == "json" else "text"
    return value


@click.command("plan")
@environment_option("The environment whose tenant to compare (exactly one).")
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    is_eager=True,
    callback=_set_output,
    help="Report format: text for people, json for CI, markdown for a pull-request comment.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes or drift (0: none, 1: error).",
)
@click.option(
    "--allow-delete",
    is_flag=True,
    help="Plan to unbind and delete orphans (actions carrying the auth0-actions header "
    "that tenant.yaml no longer lists). Without it they are only reported.",
)
def plan_command(env: str, output: str, detailed_exitcode: bool, allow_delete: bool) -> int:
    """Show what would change in ENV's tenant: creates, updates, deploys, bindings, deletes.

    Reads tenant.yaml, the rendered actions/<env>/ (a stale render is refused)
    and the tenant; writes nothing. Secret values are never read or shown.
    """
    tenant = state().tenant()
    plan = plan_environment(tenant, env, allow_delete=allow_delete)
    if output == "json":
        click.echo(json_report(plan))
    elif output == "markdown":
        click.echo(markdown_report(plan), nl=False)
    else:
        click.echo(text_report(plan))
    if detailed_exitcode and (plan.changes or plan.drift):
        return EXIT_CHANGES
    return EXIT_OK
