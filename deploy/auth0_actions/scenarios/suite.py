"""Collect every scenario case of a project, run them in parallel, report."""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_actions.config import Project
from auth0_actions.errors import StaleRenderError
from auth0_actions.render import compare, render_environments
from auth0_actions.sandbox.deps import cache_root
from auth0_actions.sandbox.pool import Limits, SandboxPool
from auth0_actions.scenarios.compare import plain
from auth0_actions.scenarios.model import discover, load_scenarios
from auth0_actions.scenarios.runner import Case, CaseResult, ScenarioRunner, expand


def collect(tenant: Project, environments: list[str] | None, pattern: str | None) -> list[Case]:
    cases: list[Case] = []
    for path in discover(tenant.templates_dir):
        cases.extend(expand(load_scenarios(path), tenant, environments))
    if pattern:
        lowered = pattern.lower()
        cases = [case for case in cases if lowered in case.id.lower()]
    return cases


def require_fresh_render(tenant: Project, environments: list[str]) -> None:
    """Scenarios judge what ships: refuse to run against a stale actions/."""
    report = compare(tenant, environments, render_environments(tenant, environments))
    if report.changed:
        listing = ", ".join(sorted(report.changed))
        raise StaleRenderError(
            f"actions/ does not match the templates ({listing}); run `auth0-actions render`"
        )


@dataclass
class SuiteResult:
    results: list[CaseResult]
    seconds: float

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


def run_cases(
    tenant: Project, cases: list[Case], *, workers: int | None = None, limits: Limits | None = None
) -> SuiteResult:
    started = time.perf_counter()
    # Cases that render the same code run one after another, so they find
    # their actions' workers warm (a worker serves one action: see
    # auth0_actions.sandbox.domain); results keep the cases' own order.
    order = sorted(range(len(cases)), key=lambda i: _same_code(cases[i]))
    # Two executions per CPU: most of a suite's time is workers starting for
    # new actions (one per isolation domain), and a start overlaps well with
    # another execution. Measured on 2 cores: 7.3 s -> 7.0 s for 984 cases.
    size = workers or 2 * (os.cpu_count() or 1)
    with SandboxPool(size, limits=limits, read_paths=sandbox_read_paths(tenant)) as pool:
        runner = ScenarioRunner(tenant, pool)
        # Twice as many threads as workers: a case's Python work overlaps
        # another's cold start (a new domain's worker starting).
        with ThreadPoolExecutor(max_workers=pool.size * 2) as executor:
            ran = list(executor.map(runner.run, [cases[i] for i in order]))
    results: list[CaseResult] = [ran[0]] * len(ran) if ran else []
    for position, index in enumerate(order):
        results[index] = ran[position]
    return SuiteResult(results, time.perf_counter() - started)


def _same_code(case: Case) -> tuple[str, str, str, str]:
    return (str(case.form), case.environment, case.variant, str(case.loaded.path))


def sandbox_read_paths(tenant: Project) -> list[Path]:
    """Directories workers may read besides the harness: the dependency cache.

    Node grants read access only to paths that exist when a worker starts, so
    the cache root is created up front whenever an action has dependencies.
    """
    if not any(action.dependencies for action in tenant.config.actions):
        return []
    root = cache_root(tenant.root)
    root.mkdir(parents=True, exist_ok=True)
    return [root]


def describe_failure(result: CaseResult) -> str:
    case = result.case
    lines = [f"FAILED {case.id}", f"  {case.loaded.path}:{case.line}: {case.scenario.name}"]
    if result.problem:
        lines.append(f"  cannot run: {result.problem}")
    if result.outcome and result.outcome.error:
        lines.append(f"  error: {result.outcome.error}")
    for mismatch in result.mismatches:
        lines.append(f"  {mismatch.path}:")
        lines.extend(f"    {line}" for line in mismatch.diff().splitlines())
    if result.outcome and result.outcome.logs:
        lines.append("  logs:")
        lines.extend(f"    {line}" for line in result.outcome.logs[-10:])
    return "\n".join(lines)


def text_report(suite: SuiteResult) -> str:
    parts = [describe_failure(r) for r in suite.failed]
    passed = len(suite.results) - len(suite.failed)
    parts.append(
        f"{passed} passed, {len(suite.failed)} failed "
        f"({len(suite.results)} cases in {suite.seconds:.2f}s)"
    )
    return "\n\n".join(parts)


def json_report(suite: SuiteResult) -> dict[str, Any]:
    cases = []
    for result in suite.results:
        case = result.case
        cases.append(
            {
                "id": case.id,
                "file": str(case.loaded.path),
                "line": case.line,
                "scenario": case.scenario.name,
                "environment": case.environment,
                "variant": case.variant,
                "form": case.form,
                "passed": result.passed,
                "problem": result.problem,
                "seconds": round(result.seconds, 4),
                "mismatches": [
                    {
                        "path": m.path,
                        "expected": plain(m.expected),
                        "actual": plain(m.actual) if m.present else None,
                        "present": m.present,
                        "diff": m.diff(),
                    }
                    for m in result.mismatches
                ],
            }
        )
    return {
        "ok": not suite.failed,
        "summary": {
            "total": len(suite.results),
            "passed": len(suite.results) - len(suite.failed),
            "failed": len(suite.failed),
            "seconds": round(suite.seconds, 3),
        },
        "cases": cases,
    }


def write_junit(
    suite: SuiteResult, path: Path, *, properties: Mapping[str, str] | None = None
) -> None:
    """The JUnit XML report; ``properties`` (e.g. the isolation level) on the testsuite."""
    root = ET.Element(
        "testsuite",
        name="auth0-actions scenarios",
        tests=str(len(suite.results)),
        failures=str(len(suite.failed)),
        time=f"{suite.seconds:.3f}",
    )
    if properties:
        listed = ET.SubElement(root, "properties")
        for name, value in properties.items():
            ET.SubElement(listed, "property", name=name, value=value)
    for result in suite.results:
        case = result.case
        element = ET.SubElement(
            root,
            "testcase",
            classname=f"{case.loaded.stem}.{case.environment}.{case.variant}.{case.form}",
            name=case.scenario.name,
            file=str(case.loaded.path),
            line=str(case.line),
            time=f"{result.seconds:.4f}",
        )
        if not result.passed:
            failure = ET.SubElement(
                element,
                "failure",
                message=result.problem or f"{len(result.mismatches)} mismatch(es)",
            )
            failure.text = describe_failure(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
