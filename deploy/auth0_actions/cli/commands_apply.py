"""auth0-actions apply: make one environment's tenant match the plan, then verify it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
from click.core import ParameterSource

from auth0_actions.cli.state import (
    adopt_option,
    confirm_shown,
    environment_option,
    report_option,
    state,
)
from auth0_actions.config import Project
from auth0_actions.errors import EXIT_ERROR, EXIT_OK, Auth0ActionsError
from auth0_actions.plan.apply import BUILD_TIMEOUT_S, ApplyResult, Step, apply_environment
from auth0_actions.plan.changes import Plan
from auth0_actions.plan.report import text_report
from auth0_actions.plan.safety import raise_if_unsafe, thresholds
from auth0_actions.plan.saved import SavedPlan, Snapshot, load_saved_plan, verify_saved_plan
from auth0_actions.plan.state import DesiredState, LiveState


def _summary(result: ApplyResult) -> str:
    counts: dict[str, int] = {}
    for step in result.steps:
        counts[step.kind] = counts.get(step.kind, 0) + 1
    parts = [
        f"{counts.get(kind, 0)} {word}"
        for kind, word in (
            ("create", "created"),
            ("update", "updated"),
            ("deploy", "deployed"),
            ("bindings", "binding lists set"),
            ("delete", "deleted"),
        )
    ]
    modules = [
        f"{counts[kind]} {word}"
        for kind, word in (
            ("module-create", "created"),
            ("module-update", "updated"),
            ("module-publish", "published"),
            ("module-delete", "deleted"),
        )
        if counts.get(kind)
    ]
    if modules:
        parts.append(f"modules: {', '.join(modules)}")
    return f"Apply complete: {', '.join(parts)}. Verified: a fresh plan is empty."


def force_option(func: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--force",
        is_flag=True,
        help="Apply a plan that deletes or unbinds more than tenant.yaml's safety "
        "thresholds allow (safety.max_deletes, safety.max_unbinds).",
    )(func)


def push_secrets_option(func: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--push-secrets",
        "push_secrets",
        multiple=True,
        metavar="NAME",
        help="Send this secret's current value again to every managed action using it, "
        "and deploy them, with no version raised (the way for `header: false` actions). "
        "Repeatable. The value is never shown.",
    )(func)


def build_timeout_option(func: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--build-timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=BUILD_TIMEOUT_S,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait, in all, for builds and deployed versions.",
    )(func)


def run_apply(
    tenant: Project,
    env: str,
    *,
    yes: bool,
    as_json: bool,
    allow_delete: bool,
    force: bool,
    build_timeout: float,
    saved: SavedPlan | None = None,
    push_secrets: frozenset[str] = frozenset(),
    adopt: tuple[str, ...] = (),
) -> ApplyResult:
    """Apply with apply's checks, confirmation and progress display (shared with promote).

    Before anything is asked or written: every adopt change must be named in
    ``adopt``, a saved plan must still hold, and the plan must be within the
    safety thresholds unless ``force``.
    """
    limits = thresholds(tenant, env)

    def check(desired: DesiredState, live: LiveState, plan: Plan) -> None:
        if saved is not None:
            verify_saved_plan(saved, Snapshot(desired, live, plan, push_secrets))
        raise_if_unsafe(plan, limits, force=force)

    def confirm(plan: Plan) -> bool:
        return confirm_shown(
            text_report(plan),
            f"Apply these changes to the {env} tenant?",
            yes=yes,
            quiet=as_json,
        )

    shown = False  # a progress line is on stderr (a terminal) and must be cleared

    def clear() -> None:
        nonlocal shown
        if shown:
            click.echo("\r\x1b[K", nl=False, err=True)
            shown = False

    def on_step(step: Step) -> None:
        clear()
        if not as_json:
            click.echo(step.describe())

    def progress(line: str) -> None:
        nonlocal shown
        click.echo(f"\r\x1b[K{line}", nl=False, err=True)
        shown = True

    try:
        return apply_environment(
            tenant,
            env,
            allow_delete=allow_delete,
            push_secrets=push_secrets,
            adopt=adopt,
            confirm=confirm,
            check=check,
            build_timeout=build_timeout,
            on_step=on_step,
            progress=progress if sys.stderr.isatty() else None,
        )
    finally:
        clear()


def report_apply(result: ApplyResult, *, as_json: bool) -> int:
    """Print the outcome as apply does; the exit code."""
    if as_json:
        click.echo(json.dumps(result.data, indent=2, sort_keys=True))
        return EXIT_OK
    if not result.plan.changes:
        click.echo(text_report(result.plan))
        return EXIT_OK
    if not result.applied:
        click.echo("Apply cancelled: nothing was changed.", err=True)
        return EXIT_ERROR
    click.echo(click.style(_summary(result), bold=True))
    return EXIT_OK


@click.command("apply")
@click.argument(
    "plan_file",
    metavar="[FILE]",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
)
@environment_option("The environment whose tenant to change (exactly one; with FILE, the plan's).")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@report_option("Report format: text for people, json for CI (needs --yes).")
@click.option(
    "--allow-delete",
    is_flag=True,
    help="Also unbind and delete orphans (actions carrying the auth0-actions header that "
    "tenant.yaml no longer lists), as `plan --allow-delete` shows. With FILE, the plan's.",
)
@push_secrets_option
@adopt_option
@force_option
@build_timeout_option
@click.pass_context
def apply_command(
    ctx: click.Context,
    plan_file: Path | None,
    env: str,
    yes: bool,
    output: str,
    allow_delete: bool,
    push_secrets: tuple[str, ...],
    adopt: tuple[str, ...],
    force: bool,
    build_timeout: float,
) -> int:
    """Apply the plan to ENV's tenant: create/update, build, deploy, bind, verify.

    Shows the plan (as `plan` does) and asks for confirmation unless --yes.
    With FILE (from `plan --out FILE`) applies exactly that plan, and refuses
    it when the tenant, the render or the plan changed since it was saved.
    A plan over a safety threshold needs --force, and one that takes over a
    live action this tool did not deploy needs --adopt NAME. --push-secrets NAME
    sends NAME's value again to the actions using it (with FILE, the plan's).
    With no changes it writes nothing. Exit 0 when the tenant matches
    tenant.yaml afterwards (a fresh plan is empty), 1 on any error (a failed
    build stops before any deploy or binding).
    """
    as_json = output == "json"
    if as_json and not yes:
        raise Auth0ActionsError("apply --output json needs --yes (there is no one to ask)")
    saved = None
    if plan_file is not None:
        saved = load_saved_plan(plan_file)
        if ctx.get_parameter_source("env") == ParameterSource.DEFAULT:
            env = saved.environment
        elif env != saved.environment:
            raise Auth0ActionsError(
                f"{plan_file}: the saved plan is for environment {saved.environment}, "
                f"not {env}; drop --env or pass --env {saved.environment}"
            )
        if allow_delete and not saved.allow_delete:
            raise Auth0ActionsError(
                f"{plan_file}: the saved plan was made without --allow-delete; make it "
                "again with `plan --allow-delete --out FILE` to delete orphans"
            )
        allow_delete = saved.allow_delete
        if push_secrets and frozenset(push_secrets) != saved.push_secrets:
            raise Auth0ActionsError(
                f"{plan_file}: the saved plan pushes "
                f"{', '.join(sorted(saved.push_secrets)) or 'no secret'}; drop --push-secrets "
                "or make the plan again with `plan --push-secrets NAME --out FILE`"
            )
        push_secrets = tuple(saved.push_secrets)
        extra = sorted(set(adopt) - set(saved.adopt))
        if extra:
            raise Auth0ActionsError(
                f"{plan_file}: the saved plan was made without --adopt {' --adopt '.join(extra)}; "
                "make it again with `plan --adopt NAME --out FILE` to take it over"
            )
        adopt = saved.adopt
    result = run_apply(
        state().tenant(),
        env,
        yes=yes,
        as_json=as_json,
        allow_delete=allow_delete,
        force=force,
        build_timeout=build_timeout,
        saved=saved,
        push_secrets=frozenset(push_secrets),
        adopt=adopt,
    )
    return report_apply(result, as_json=as_json)
