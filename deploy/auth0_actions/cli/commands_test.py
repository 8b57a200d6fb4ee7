"""auth0-actions test: run the behaviour scenarios in the sandbox."""

from __future__ import annotations

from pathlib import Path

import click

from auth0_actions.cli.state import (
    environments_option,
    output_option,
    require_isolation_option,
    sandbox_isolation,
    selected_environments,
    state,
)
from auth0_actions.errors import EXIT_ERROR, EXIT_OK
from auth0_actions.sandbox.pool import Limits
from auth0_actions.scenarios.suite import (
    SuiteResult,
    collect,
    json_report,
    require_fresh_render,
    run_cases,
    text_report,
    write_junit,
)


@click.command("test")
@environments_option("Environment whose rendered code to test (repeatable). Default: all.")
@click.option(
    "-k",
    "pattern",
    metavar="PATTERN",
    help="Only cases whose id contains PATTERN (case-insensitive).",
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a JUnit XML report here, for CI.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Sandbox executions at once (default: two per CPU).",
)
@click.option(
    "--timeout-ms",
    type=click.IntRange(100, 20_000),
    default=20_000,
    show_default=True,
    help="Trigger time limit per login step (Auth0's is 20 s).",
)
@require_isolation_option
@output_option
def test_command(
    envs: tuple[str, ...],
    pattern: str | None,
    junit_xml: Path | None,
    workers: int | None,
    timeout_ms: int,
    require_isolation: bool,
) -> int:
    """Run every scenario in rules_templates/*.scenarios.yaml in the sandbox.

    Each scenario runs for every environment, policy variant and form (an
    Action, or a legacy Rule) it names. The code under test is the rendered
    code; a stale actions/ is refused. A failure shows expected against actual.
    Every report names the sandbox's isolation level.
    """
    app = state()
    isolation = sandbox_isolation(require_isolation)
    tenant = app.tenant()
    names = selected_environments(tenant, envs)
    require_fresh_render(tenant, names)
    cases = collect(tenant, names, pattern)
    if not cases and pattern:
        raise click.UsageError("no scenario matched")
    if not cases:
        # A new project (`init --bare`) has nothing to test yet: that passes.
        report = {**json_report(SuiteResult([], 0.0)), "isolation": isolation.as_dict()}
        app.emit(report, f"0 scenarios in rules_templates/\n{isolation.summary}")
        return EXIT_OK
    suite = run_cases(tenant, cases, workers=workers, limits=Limits(timeout_ms=timeout_ms))
    if junit_xml is not None:
        properties = {"isolation": isolation.level, "isolation.description": isolation.description}
        if isolation.reason:
            properties["isolation.reason"] = isolation.reason
        write_junit(suite, junit_xml, properties=properties)
    app.emit(
        {**json_report(suite), "isolation": isolation.as_dict()},
        f"{text_report(suite)}\n{isolation.summary}",
    )
    return EXIT_ERROR if suite.failed else EXIT_OK
