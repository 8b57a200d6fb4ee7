"""auth0-actions config: validate tenant.yaml, publish its JSON Schema."""

from __future__ import annotations

from pathlib import Path

import click

from deploy.cli.state import output_option, state
from deploy.config.schema import tenant_schema_json


@click.group("config")
def config_group() -> None:
    """Validate tenant.yaml and publish its JSON Schema."""


@config_group.command("validate")
@output_option
def validate_command() -> None:
    """Validate tenant.yaml; list every problem as file:line:column: key: message."""
    app = state()
    tenant = app.tenant()
    config = tenant.config
    data = {
        "ok": True,
        "file": str(tenant.path),
        "environments": sorted(tenant.environments),
        "actions": [a.name for a in sorted(config.actions, key=lambda a: a.order)],
        "legacy_rules": [r.name for r in sorted(config.legacy_rules, key=lambda r: r.order)],
    }
    app.emit(
        data,
        f"{tenant.path}: valid ({len(tenant.environments)} environments, "
        f"{len(config.actions)} actions, {len(config.legacy_rules)} legacy rules)",
    )


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
