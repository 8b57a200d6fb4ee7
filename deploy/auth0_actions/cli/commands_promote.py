"""auth0-actions promote: apply to the next environment once the previous one is clean."""

from __future__ import annotations

import json

import click

from auth0_actions.cli.commands_apply import (
    build_timeout_option,
    force_option,
    report_apply,
    run_apply,
)
from auth0_actions.cli.state import report_option, state
from auth0_actions.errors import EXIT_ERROR, EXIT_OK, Auth0ActionsError
from auth0_actions.plan.promote import PromotionRefused, check_source
from auth0_actions.plan.report import text_report


@click.command("promote")
@click.option(
    "--from", "source", required=True, metavar="ENV", help="The environment proven first (dev)."
)
@click.option("--to", "target", required=True, metavar="ENV", help="The environment to apply to.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@force_option
@report_option("Report format: text for people, json for CI (needs --yes).")
@build_timeout_option
def promote_command(
    source: str, target: str, yes: bool, force: bool, output: str, build_timeout: float
) -> int:
    """Apply to --to what --from runs: refused unless --from's tenant matches its render.

    Plans the --from environment first: any change or drift there (its
    tenant differs from its rendered actions/<env>/) refuses the promotion
    and shows that plan. Otherwise plans the --to environment with its own
    values and applies it exactly as `apply --env TO` does (confirmation
    unless --yes, safety thresholds unless --force, verify afterwards).
    """
    as_json = output == "json"
    if as_json and not yes:
        raise Auth0ActionsError("promote --output json needs --yes (there is no one to ask)")
    tenant = state().tenant()
    try:
        source_plan = check_source(tenant, source, target)
    except PromotionRefused as refused:
        if as_json:
            payload = {
                "ok": False,
                "error": refused.message,
                "problems": [],
                "from": {"environment": source, "plan": refused.source_plan.data},
            }
            click.echo(json.dumps(payload, indent=2, sort_keys=True))
            return EXIT_ERROR
        click.echo(text_report(refused.source_plan))
        raise
    if not as_json:
        click.echo(
            click.style(
                f"{source} matches its rendered state (no changes, no drift): promoting to "
                f"{target}.",
                bold=True,
            )
        )
        click.echo("")
    result = run_apply(
        tenant,
        target,
        yes=yes,
        as_json=as_json,
        allow_delete=False,
        force=force,
        build_timeout=build_timeout,
    )
    if as_json:
        data = {
            "ok": True,
            "from": {"environment": source, "plan": source_plan.data},
            "to": result.data,
        }
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return EXIT_OK
    return report_apply(result, as_json=False)
