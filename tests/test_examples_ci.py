"""The CI workflows parse, and every auth0-actions command in them is valid.

Two workflows: examples/ci/github-actions.yml (a deployed repository's
pipeline) and the one `auth0-actions init` writes into a new project.

Each command line is parsed by the real click command tree (options,
arguments, required options, choices), without running it, so a renamed
option or command breaks this test rather than a user's pipeline.
"""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from auth0_actions.cli.main import cli
from auth0_actions.cli.state import AppState
from auth0_actions.config import load_tenant
from auth0_actions.scaffold import WORKFLOW as INIT_WORKFLOW
from auth0_actions.scaffold import scaffold

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ci" / "github-actions.yml"
SHELL_OPERATORS = {">", ">>", "<", "|", "||", "&&", ";", "&", "2>", "2>&1"}
PROGRAM = re.compile(r"^(?:\.venv/bin/)?auth0-actions$")


def workflow_text(source: str) -> str:
    if source == "init":
        return scaffold().files[INIT_WORKFLOW]
    return EXAMPLE.read_text(encoding="utf-8")


def workflow(source: str = "example") -> dict[str, Any]:
    return dict(yaml.safe_load(workflow_text(source)))


def run_scripts(source: str = "example") -> list[tuple[str, str]]:
    """(job, script) for every `run:` step."""
    return [
        (name, str(step["run"]))
        for name, job in workflow(source)["jobs"].items()
        for step in job.get("steps", [])
        if "run" in step
    ]


def commands(source: str = "example") -> list[tuple[str, list[str]]]:
    """(job, argv after the program) for every auth0-actions invocation, up to a shell operator."""
    found = []
    for job, script in run_scripts(source):
        for line in script.replace("\\\n", " ").splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
            for index, token in enumerate(tokens):
                if PROGRAM.match(token) and (index == 0 or tokens[index - 1] in SHELL_OPERATORS):
                    args = []
                    for arg in tokens[index + 1 :]:
                        if arg in SHELL_OPERATORS:
                            break
                        args.append(arg)
                    found.append((job, args))
    return found


def parse(args: list[str]) -> list[str]:
    """Parse args with the CLI's own parser down to the leaf command; its command path."""
    ctx = cli.make_context("auth0-actions", list(args), obj=AppState())
    path = []
    command: click.Command = cli
    while isinstance(command, click.Group):
        with warnings.catch_warnings():
            # Click 8.2 deprecates protected_args (9.0 moves the subcommand into args).
            warnings.simplefilter("ignore", DeprecationWarning)
            remaining = [*ctx.protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, remaining)
        assert sub is not None
        assert name is not None
        path.append(name)
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return path


def test_the_workflow_parses_and_has_the_documented_jobs() -> None:
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "push"}
    jobs = data["jobs"]
    assert jobs["plan"]["permissions"]["pull-requests"] == "write"
    assert jobs["promote-prod"]["environment"] == "production"
    assert jobs["promote-prod"]["needs"] == "apply-dev"
    scripts = {job: "\n".join(s for j, s in run_scripts() if j == job) for job in jobs}
    assert "./dev test" in scripts["test"]
    assert any(
        step.get("uses", "").startswith("actions/github-script@") for step in jobs["plan"]["steps"]
    )


def test_there_are_commands_to_check() -> None:
    found = [(job, args[0]) for job, args in commands()]
    assert ("test", "render") in found
    assert ("plan", "plan") in found
    assert ("apply-dev", "apply") in found
    assert ("promote-prod", "promote") in found


def test_the_init_workflow_checks_tests_and_plans_with_the_installed_package() -> None:
    data = workflow("init")
    triggers = data.get("on", data.get(True))
    assert set(triggers) == {"pull_request", "push"}
    scripts = [s for _, s in run_scripts("init")]
    assert any(s.startswith("python -m pip install auth0-actions==") for s in scripts)
    assert not any("./dev" in s or "pip install ." in s for s in scripts)
    found = [args for _, args in commands("init")]
    assert ["render", "--check"] in found
    assert ["test"] in found
    assert ["plan", "--env", "local", "--detailed-exitcode"] in found


@pytest.mark.parametrize(
    ("source", "job", "args"),
    [(source, job, args) for source in ("example", "init") for job, args in commands(source)],
    ids=lambda v: " ".join(v) if isinstance(v, list) else v,
)
def test_every_command_is_accepted_by_the_cli(source: str, job: str, args: list[str]) -> None:
    try:
        path = parse(args)
    except click.UsageError as error:  # pragma: no cover - the failure message
        pytest.fail(f"{source} job {job}: `auth0-actions {' '.join(args)}` is rejected: {error}")
    assert path, args


def test_a_bad_command_would_be_caught() -> None:
    """The parser used above really rejects unknown options and missing required ones."""
    with pytest.raises(click.UsageError):
        parse(["plan", "--env", "dev", "--output", "html"])
    with pytest.raises(click.UsageError):
        parse(["promote", "--from", "dev", "--yes"])
    with pytest.raises(click.UsageError):
        parse(["aply", "--yes"])


def test_plans_treat_exit_2_as_changes_not_failure() -> None:
    plans = [s for job, s in run_scripts() if "--detailed-exitcode" in s]
    assert len(plans) == 2
    for script in plans:
        assert "|| code=$?" in script
        assert 'test "$code" -ne 1' in script


def test_apply_to_dev_applies_the_plan_saved_in_the_same_job() -> None:
    [(_, script_plan), (_, script_apply)] = [(j, s) for j, s in run_scripts() if j == "apply-dev"][
        -2:
    ]
    saved = shlex.split(script_plan)
    out = saved[saved.index("--out") + 1]
    assert shlex.split(script_apply)[:3] == ["auth0-actions", "apply", out]


def test_secrets_are_the_variables_tenant_yaml_names(scaffolded_with_remote_envs: Path) -> None:
    """The example's variables are those of a project with the usual dev and prod blocks."""
    tenant = load_tenant(scaffolded_with_remote_envs / "tenant.yaml")
    jobs = workflow()["jobs"]
    needed = {
        "plan": {"dev": False, "prod": False},  # planning reads no secret values
        "apply-dev": {"dev": True},
        "promote-prod": {"dev": False, "prod": True},
    }
    for job, environments in needed.items():
        env = jobs[job]["env"]
        for name, with_secrets in environments.items():
            settings = tenant.environment(name).settings
            names = {settings.client_id_env, settings.client_secret_env}
            if with_secrets:
                names |= set(settings.secrets.values())
            for var in names:
                assert env.get(var) == f"${{{{ secrets.{var} }}}}", (job, var)
        for var, value in env.items():  # and nothing is written inline
            assert value == f"${{{{ secrets.{var} }}}}", (job, var)
