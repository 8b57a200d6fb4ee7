"""auth0-actions sandbox run: execute one action file ad hoc."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from auth0_actions.cli.state import require_isolation_option, sandbox_isolation, state
from auth0_actions.errors import EXIT_ERROR, EXIT_OK, ConfigError
from auth0_actions.sandbox.event import rules_inputs
from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.triggers import registry


def _read_mapping(path: Path, what: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {what} is not valid JSON or YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {what} must be a JSON object")
    return data


@click.group("sandbox")
def sandbox_group() -> None:
    """Run action code in the isolated Node 22 sandbox."""


@sandbox_group.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trigger",
    "trigger_id",
    type=click.Choice(registry.ids()),
    default=registry.default().id,
    show_default=True,
    help="The trigger FILE is an action of: its event, api and handlers.",
)
@click.option(
    "--event",
    "event_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON (or YAML) merged over the trigger's default event.",
)
@click.option(
    "--secrets",
    "secrets_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON (or YAML) object of secret name -> value (event.secrets; "
    "configuration for a Rule). A file keeps values out of shell history.",
)
@click.option(
    "--handler",
    type=click.Choice(sorted({h for t in registry.all_triggers() for h in t.handlers})),
    default=None,
    help="Which handler of the action to run (default: the trigger's first, e.g. "
    "onExecutePostLogin; onContinuePostLogin runs it as resumed after a redirect).",
)
@click.option(
    "--rule", is_flag=True, help="FILE is a legacy Rule: function (user, context, callback)."
)
@click.option(
    "--timeout-ms",
    type=click.IntRange(100, 20_000),
    default=20_000,
    show_default=True,
    help="Trigger time limit (Auth0's is 20 s).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="json: the full record of api calls; text: a summary.",
)
@require_isolation_option
def run_command(
    file: Path,
    trigger_id: str,
    event_file: Path | None,
    secrets_file: Path | None,
    handler: str | None,
    rule: bool,
    timeout_ms: int,
    output: str,
    require_isolation: bool,
) -> int:
    """Execute FILE once in the sandbox and print what it did.

    The result lists every api call in order (metadata writes, deny, redirect,
    claims, ...), the resulting metadata and the console output. Exit 1 when
    the code failed, timed out or broke out of the sandbox's rules. The
    report names the sandbox's isolation level.
    """
    state().output = "json" if output == "json" else "text"
    trigger = registry.get(trigger_id)
    if handler is not None and handler not in trigger.handlers:
        raise ConfigError(
            f"--handler {handler} is not a handler of the {trigger.id} trigger "
            f"(its handlers: {', '.join(trigger.handlers)})"
        )
    isolation = sandbox_isolation(require_isolation)
    overrides = _read_mapping(event_file, "the event") if event_file else {}
    # A Rule's user and context are those of a login.
    event = (registry.default() if rule else trigger).build_event(overrides)
    secrets = {
        k: str(v)
        for k, v in (_read_mapping(secrets_file, "secrets") if secrets_file else {}).items()
    }
    unit = {
        "name": file.stem,
        "code": file.read_text(encoding="utf-8"),
        "filename": str(file),
        "secrets": secrets,
        "deps_dir": None,
    }
    if rule:
        user, context = rules_inputs(event)
        request: dict[str, Any] = {
            "op": "rules",
            "units": [unit],
            "user": user,
            "context": context,
            "configuration": secrets,
            "state": "sandbox-state",
        }
    else:
        resuming = handler is not None and handler == trigger.resume_handler
        resume = {"index": 0} if resuming else None
        request = {"op": trigger.id, "units": [unit], "event": event, "resume": resume}
    with SandboxPool(1, limits=Limits(timeout_ms=timeout_ms), isolation=isolation) as pool:
        reply = pool.call(request)
    result = reply.result or {"status": "error", "error": {"message": reply.failure}}
    if reply.stray_output:
        result["stray_output"] = reply.stray_output
    result["isolation"] = isolation.as_dict()
    if output == "json":
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo(f"status: {result.get('status')}")
        for command in result.get("commands") or []:
            details = {k: v for k, v in command.items() if k not in ("action", "type")}
            click.echo(f"  {command['type']} {json.dumps(details, sort_keys=True)}")
        for line in result.get("logs") or []:
            click.echo(f"  log: {line['message']}")
        if result.get("status") in ("denied", "failed") and result.get("deny"):
            click.echo(f"{result['status']}: {result['deny'].get('reason')}")
        for dropped in result.get("dropped_claims") or []:
            click.echo(
                f"  dropped {dropped['token']} claim {dropped['claim']!r}: {dropped['reason']}"
            )
        if result.get("error"):
            click.echo(f"error: {result['error'].get('message')}")
        click.echo(isolation.summary)
    return EXIT_ERROR if result.get("status") == "error" else EXIT_OK
