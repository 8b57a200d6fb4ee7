"""What every command shares: the config path and the output format."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from auth0_actions.errors import ConfigError
from auth0_actions.layout import DEFAULT_CONFIG, find_config

if TYPE_CHECKING:
    from auth0_actions.config import Project
    from auth0_actions.sandbox.isolation import Isolation

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
        found = find_config(here)
        if found is None:
            raise ConfigError(
                f"no {DEFAULT_CONFIG} in {here} or its parents; pass --config PATH "
                "(or create one with `auth0-actions init`)"
            )
        return found

    def tenant(self) -> Project:
        if self._tenant is None:
            # Imported here: pydantic and the checks cost a tenth of a second
            # that --help, doctor and `config schema` need not pay.
            from auth0_actions.config import load_tenant

            self._tenant = load_tenant(self.config_path())
        return self._tenant

    def project_root(self) -> Path | None:
        """The directory of the tenant.yaml in use, or None outside a project."""
        try:
            return self.config_path().parent.resolve()
        except ConfigError:
            # doctor and `config schema` also run outside a project; they then
            # simply have no project Node.
            return None

    def emit(self, data: Any, text: str) -> None:
        """Print a result in the chosen format: data for json, text for people."""
        if self.output == "json":
            click.echo(json.dumps(data, indent=2, sort_keys=True))
        elif text:
            click.echo(text)


def select_node(ctx: click.Context, app: AppState) -> None:
    """Make --node and the project's Node the choice of this command.

    Called by the root group, so every command (render's `node --check`
    included) resolves Node the same way; undone when the command ends.
    """
    from auth0_actions.node import use_node

    use_node(app.node, app.project_root())
    ctx.call_on_close(use_node)


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


def require_isolation_option(func: F) -> F:
    """--require-isolation: refuse to run action code without the OS sandbox."""
    return click.option(
        "--require-isolation",
        is_flag=True,
        help="Refuse to run (exit 1) unless the OS sandbox (bubblewrap) is in force. "
        "Also $AUTH0_ACTIONS_REQUIRE_ISOLATION=1.",
    )(func)


def sandbox_isolation(require: bool) -> Isolation:
    """The isolation the sandbox will run with; IsolationError when required and weaker."""
    from auth0_actions.sandbox.isolation import detect_isolation, ensure_required_level

    isolation = detect_isolation()
    ensure_required_level(isolation, require=require)
    return isolation


def adopt_option(func: F) -> F:
    """--adopt NAME, repeatable: take over the live action NAME this tool did not deploy."""
    return click.option(
        "--adopt",
        "adopt",
        multiple=True,
        metavar="NAME",
        help="Take over the live action NAME, which tenant.yaml declares but auth0-actions "
        "did not deploy: its code and secrets are replaced (the plan shows an adopt change "
        "with the code and secret-name diff). Repeatable. Without it such a plan exits 1.",
    )(func)
