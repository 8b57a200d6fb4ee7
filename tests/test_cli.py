"""The CLI contract: help everywhere, version, exit codes, JSON errors, a quick start."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from auth0_actions import __version__
from auth0_actions.cli.commands import COMMANDS
from auth0_actions.cli.main import cli as root_group

# What a command may import only when it runs: --help must not pay for them.
HEAVY_MODULES = ("pydantic", "auth0", "httpx", "jwt", "jinja2", "yaml", "cryptography")


def _subcommand(group: click.Group, name: str) -> click.Command:
    with click.Context(group) as ctx:
        command = group.get_command(ctx, name)
    assert command is not None, name
    return command


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    with click.Context(group) as ctx:
        names = group.list_commands(ctx)
    for name in names:
        command = _subcommand(group, name)
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


ALL_COMMANDS = _commands(root_group)


def test_every_command_is_listed() -> None:
    assert ("render",) in ALL_COMMANDS
    assert ("config", "validate") in ALL_COMMANDS
    assert ("config", "schema") in ALL_COMMANDS


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help_text(path: tuple[str, ...], cli) -> None:
    run = cli(*path, "--help")
    assert run.code == 0
    assert "Usage: auth0-actions " + " ".join(path) in run.out
    command: click.Command = root_group
    for name in path:
        assert isinstance(command, click.Group)
        command = _subcommand(command, name)
    assert command.help, f"{path} needs a docstring"
    assert len(command.help.strip()) > 20, f"{path} needs a real docstring"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"option {param.opts} of {' '.join(path)} has no help"


def test_version(cli) -> None:
    run = cli("--version")
    assert run.code == 0
    assert __version__ in run.out


def test_python_dash_m_auth0_actions_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "auth0_actions", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert __version__ in done.stdout


def test_usage_errors_exit_1_never_2(cli, project) -> None:
    # 2 means "changes present" in CI; a typo must not read as drift.
    assert cli("no-such-command").code == 1
    assert cli("render", "--no-such-option").code == 1
    assert cli("render", "--output", "yaml").code == 1


def test_errors_as_json_on_stdout(cli, project) -> None:
    (project / "tenant.yaml").write_text("version: 1\nenvironments: {}\n", encoding="utf-8")
    run = cli("config", "validate", "--output", "json")
    assert run.code == 1
    report = run.json()
    assert report["ok"] is False
    assert report["problems"], report
    assert {"file", "line", "column", "key", "message"} <= set(report["problems"][0])


def test_config_is_found_from_a_subdirectory(cli, project, monkeypatch) -> None:
    sub = project / "rules_templates"
    monkeypatch.chdir(sub)
    run = cli("config", "validate")
    assert run.code == 0, run.err
    assert str(project / "tenant.yaml") in run.out


def test_no_config_anywhere_is_a_clear_error(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("render")
    assert run.code == 1
    assert "no tenant.yaml" in run.err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_command_table_summary_is_the_docstring_summary(name: str) -> None:
    """--help lists commands from the table without importing them: it must not drift."""
    command = _subcommand(root_group, name)
    assert command.name == name
    assert command.help is not None
    assert command.help.strip().splitlines()[0] == COMMANDS[name].summary


def test_help_imports_no_command_and_no_heavy_library() -> None:
    """Start-up stays cheap: commands and their libraries load when a command runs."""
    probe = (
        "import sys, json\n"
        "from auth0_actions.cli.main import main\n"
        "code = main(['--help'])\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0
    assert "render" in done.stdout
    assert "consent" in done.stdout
    loaded = set(report["modules"])
    assert not {m for m in loaded if m.startswith("auth0_actions.cli.commands_")}
    assert not {m for m in loaded if m.split(".")[0] in HEAVY_MODULES}


def test_internal_errors_exit_3_with_a_one_line_hint(cli, project, monkeypatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("auth0_actions.cli.commands_render.render_environments", explode)
    run = cli("render")
    assert run.code == 3
    assert "internal error: RuntimeError: boom" in run.err
    assert "AUTH0_ACTIONS_DEBUG=1" in run.err
    assert "Traceback" not in run.err

    monkeypatch.setenv("AUTH0_ACTIONS_DEBUG", "1")
    run = cli("render")
    assert run.code == 3
    assert "Traceback (most recent call last)" in run.err
    assert "RuntimeError: boom" in run.err


def test_interrupted_exits_130(cli, project, monkeypatch) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("auth0_actions.cli.commands_render.render_environments", interrupted)
    run = cli("render")
    assert run.code == 130
    assert "Interrupted." in run.err


def test_an_expected_failure_exits_1_not_3(cli, project) -> None:
    (project / "tenant.yaml").write_text("version: 1\nenvironments: {}\n", encoding="utf-8")
    run = cli("render")
    assert run.code == 1
    assert "internal error" not in run.err
