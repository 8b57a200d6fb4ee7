"""What every command shares: the config path and the output format."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import click

from auth0_actions.config import DEFAULT_CONFIG, Project, load_tenant
from auth0_actions.errors import ConfigError

OutputFormat = Literal["text", "json"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppState:
    config: Path | None = None
    output: OutputFormat = "text"
    node: Path | None = None  # --node: the explicit Node binary, if any
    _tenant: Project | None = field(default=None, repr=False)

    def config_path(self) -> Path:
        """The explicit --config, else tenant.yaml here or in a parent directory."""
        if self.config is not None:
            return self.config
        here = Path.cwd()
        for directory in (here, *here.parents):
            candidate = directory / DEFAULT_CONFIG
            if candidate.is_file():
                return candidate.relative_to(here) if directory == here else candidate
        raise ConfigError(f"no {DEFAULT_CONFIG} in {here} or its parents; pass --config PATH")

    def tenant(self) -> Project:
        if self._tenant is None:
            self._tenant = load_tenant(self.config_path())
        return self._tenant

    def emit(self, data: Any, text: str) -> None:
        """Print a result in the chosen format: data for json, text for people."""
        if self.output == "json":
            click.echo(json.dumps(data, indent=2, sort_keys=True))
        elif text:
            click.echo(text)


def state() -> AppState:
    return click.get_current_context().ensure_object(AppState)


def _set_output(ctx: click.Context, _: click.Parameter, value: OutputFormat) -> OutputFormat:
    ctx.ensure_object(AppState).output = value
    return value


def report_option(help_text: str, *, expose: bool = True) -> Callable[[F], F]:
    """--output text|json; ``expose`` passes it to the command (when its flow depends on it)."""
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        expose_value=expose,
        is_eager=True,
        callback=_set_output,
        help=help_text,
    )


# For every command that reports something and only needs state().emit.
output_option = report_option(
    "Report format: text for people, json for CI and scripts.", expose=False
)


def environments_option(help_text: str) -> Callable[[F], F]:
    """--env/-e ENV, repeatable; shared by the commands that work per environment."""

    def decorate(func: F) -> F:
        return click.option("--env", "-e", "envs", multiple=True, metavar="ENV", help=help_text)(
            func
        )

    return decorate


def selected_environments(tenant: Project, envs: tuple[str, ...]) -> list[str]:
    """The named environments in order without repeats, else all; unknown names fail."""
    names = list(dict.fromkeys(envs)) or list(tenant.environments)
    for name in names:
        tenant.environment(name)
    return names


def environment_option(help_text: str) -> Callable[[F], F]:
    """--env/-e ENV naming exactly one environment (default: local)."""
    return click.option(
        "--env", "-e", "env", default="local", show_default=True, metavar="ENV", help=help_text
    )


def confirm_shown(text: str, question: str, *, yes: bool, quiet: bool) -> bool:
    """Show what is about to happen and ask, unless --yes (or JSON output, which needs it)."""
    if quiet:
        return True
    click.echo(text)
    if yes:
        return True
    try:
        return click.confirm(question, default=False)
    except click.exceptions.Abort:
        return False
