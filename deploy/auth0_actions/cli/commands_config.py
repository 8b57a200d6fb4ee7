"""auth0-actions config: validate tenant.yaml, publish its JSON Schema."""

from __future__ import annotations

import os
from pathlib import Path

import click

from auth0_actions.cli.state import output_option, state
from auth0_actions.config import Project
from auth0_actions.config.schema import tenant_schema_json
from auth0_actions.environment import open_environment
from auth0_actions.errors import SecretError
from auth0_actions.secrets import LOCAL_STATE_DIR, declared_secrets
from auth0_actions.target import Target


@click.group("config")
def config_group() -> None:
    """Validate tenant.yaml and publish its JSON Schema."""


@config_group.command("validate")
@click.option(
    "--env",
    "-e",
    "env_name",
    metavar="ENV",
    help="Also resolve ENV as a deploy would: its domain, credentials and secrets must be "
    "available from the environment (a CI preflight). Values are never printed.",
)
@output_option
def validate_command(env_name: str | None) -> None:
    """Validate tenant.yaml; list every problem as file:line:column: key: message."""
    app = state()
    tenant = app.tenant()
    config = tenant.config
    data: dict[str, object] = {
        "ok": True,
        "file": str(tenant.path),
        "environments": sorted(tenant.environments),
        "actions": [a.name for a in sorted(config.actions, key=lambda a: a.order)],
        "legacy_rules": [r.name for r in sorted(config.legacy_rules, key=lambda r: r.order)],
    }
    lines = [
        f"{tenant.path}: valid ({len(tenant.environments)} environments, "
        f"{len(config.actions)} actions, {len(config.legacy_rules)} legacy rules)"
    ]
    if env_name is not None:
        target, secrets = preflight_environment(tenant, env_name)
        data["target"] = {**target.describe(), "secrets": secrets}
        lines.extend(_describe_preflight(target, secrets))
    app.emit(data, "\n".join(lines))


def preflight_environment(tenant: Project, env_name: str) -> tuple[Target, dict[str, str]]:
    """Resolve an environment's target and secrets; one error lists all that is missing."""
    missing: list[str] = []
    try:
        environment = open_environment(tenant, env_name)
    except SecretError as exc:
        missing.append(exc.message)
        environment = open_environment(tenant, env_name, require_credentials=False)
    target, view = environment.target, environment.view
    secrets: dict[str, str] = {}
    for name, variable in sorted(declared_secrets(tenant, view).items()):
        if view.is_local:
            secrets[name] = f"generated in {LOCAL_STATE_DIR}/"
        elif os.environ.get(variable):
            secrets[name] = f"${variable} (set)"
        else:
            secrets[name] = f"${variable} (not set)"
            missing.append(f"secret {name} needs ${variable}")
    if missing:
        raise SecretError(f"environment {env_name} is not ready to deploy: " + "; ".join(missing))
    return target, secrets


def _describe_preflight(target: Target, secrets: dict[str, str]) -> list[str]:
    origins = target.origins
    client_secret = target.describe()["client_secret"]
    lines = [
        f"environment {target.environment}: domain {target.domain} (from {origins['domain']})",
        f"  client id: {origins.get('client_id', '-')}",
        f"  client secret: {client_secret} ({origins.get('client_secret', '-')})",
    ]
    lines.extend(f"  secret {name}: {where}" for name, where in secrets.items())
    return lines


@config_group.command("schema")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file instead of standard output.",
)
def schema_command(out: Path | None) -> None:
    """Print the JSON Schema of tenant.yaml, for editor completion.

    Point an editor at it with a first line such as
    `# yaml-language-server: $schema=./schema/tenant.schema.json`.
    """
    text = tenant_schema_json()
    if out is None:
        click.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
