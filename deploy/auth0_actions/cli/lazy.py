"""A click group whose commands are imported when they run, not when the tool starts."""

from __future__ import annotations

from importlib import import_module

import click

from auth0_actions.cli.commands import COMMANDS


class LazyGroup(click.Group):
    """The root group: commands come from :data:`COMMANDS`, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = import_module(f"auth0_actions.cli.{entry.module}")
        command = getattr(module, entry.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.module}.{entry.attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing uses the table's summaries, so --help imports no command.
        rows = []
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        for name in self.list_commands(ctx):
            stub = click.Command(name, help=COMMANDS[name].summary)
            rows.append((name, stub.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
