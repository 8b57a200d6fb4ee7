"""auth0-actions plan: what apply would change in one environment's tenant (read-only)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auth0_actions.cli.state import adopt_option, environment_option, state
from auth0_actions.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from auth0_actions.plan.ownership import AdoptionError, require_adoptions
from auth0_actions.plan.report import json_report, markdown_report, text_report
from auth0_actions.plan.safety import thresholds, warnings
from auth0_actions.plan.saved import snapshot, write_saved_plan


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
@click.option(
    "--push-secrets",
    "push_secrets",
    multiple=True,
    metavar="NAME",
    help="Plan to send this secret's current value again to every managed action using it "
    "(an update and a deploy each), as `apply --push-secrets` does. Repeatable.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Also save the plan to FILE (JSON) for `auth0-actions apply FILE`, which applies "
    "exactly this plan and refuses it if the tenant or the render changed since.",
)
@adopt_option
def plan_command(
    env: str,
    output: str,
    detailed_exitcode: bool,
    allow_delete: bool,
    push_secrets: tuple[str, ...],
    out: Path | None,
    adopt: tuple[str, ...],
) -> int:
    """Show what would change in ENV's tenant: creates, updates, deploys, bindings, deletes.

    Reads tenant.yaml, the rendered actions/<env>/ (a stale render is refused)
    and the tenant; writes nothing (but FILE with --out). Secret values are
    never read or shown. Warns when the plan exceeds a safety threshold, or
    when an action this tool does not manage runs between two managed ones.
    Exits 1 after the report when it holds an adopt change not asked for
    with --adopt NAME.
    """
    tenant = state().tenant()
    limits = thresholds(tenant, env)
    snap = snapshot(
        tenant, env, allow_delete=allow_delete, push_secrets=frozenset(push_secrets), adopt=adopt
    )
    plan = snap.plan
    warned = warnings(plan, limits)
    refused: AdoptionError | None = None
    try:
        require_adoptions(plan, adopt)
    except AdoptionError as error:
        refused = error
    if refused is not None and output == "json":
        # One JSON document: the error, with the plan it refers to.
        payload = {"ok": False, "error": refused.message, "problems": [], "plan": plan.data}
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return EXIT_ERROR
    if output == "json":
        # stdout stays the documented plan schema; the warnings go beside it.
        click.echo(json_report(plan, snap.consent))
        for line in warned:
            click.secho(line, fg="red", bold=True, err=True)
    elif output == "markdown":
        report = markdown_report(plan, snap.consent)
        if warned:
            report += "\n" + "".join(f"> **{line}**\n" for line in warned)
        click.echo(report, nl=False)
    else:
        click.echo(text_report(plan, snap.consent))
        for line in warned:
            click.secho(line, fg="red", bold=True)
    if refused is not None:
        raise refused  # after the report, so the adopt change is there to review
    if out is not None:
        write_saved_plan(out, snap)
        click.echo(f"Saved the plan to {out}; apply it with `auth0-actions apply {out}`.", err=True)
    if detailed_exitcode and (plan.changes or plan.drift):
        return EXIT_CHANGES
    return EXIT_OK
