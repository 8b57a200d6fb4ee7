"""A starter scenario per imported action: what it does today, on its trigger's sample event.

Each action runs once in the sandbox (as `auth0-actions test` runs it) on
its trigger's default event, with a placeholder value for each secret it
declares (and each secret of the modules it pins, which run with it as
`auth0-actions test` runs them: the rendered module code). Outbound HTTP is
answered by stubs (200, ``{}``) for the requests it sent, added round by
round until it sends none unanswered. The outcome becomes the expectation:
the status, the deny reason, the api calls by type and the requests by
method and URL. The file is a characterisation test:
green on import, it fails when a change alters that behaviour, and it is the
place to write the cases that matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from auth0_actions.config import Project
from auth0_actions.importer.live import LiveUnit
from auth0_actions.scenarios.model import LoadedScenarios, ScenarioFile
from auth0_actions.scenarios.runner import Outcome, expand
from auth0_actions.scenarios.suite import run_cases
from auth0_actions.yamlsource import YamlDocument

SCENARIO_NAME = "the sample event, as the action handled it when imported"
_STUB_ROUNDS = 5


def placeholder(secret: str) -> str:
    """A stand-in value for a secret in a scenario (never the real one: Auth0 keeps that)."""
    return f"placeholder-{secret.lower()}"


def _secret_names(tenant: Project, unit: LiveUnit) -> list[str]:
    """The action's secrets and those of the modules it pins (a module reads its own)."""
    modules = {m.name: m for m in tenant.config.modules}
    pinned = [name for m in unit.modules if m in modules for name in modules[m].secrets]
    return sorted({*unit.secret_names, *pinned})


def _spec(
    tenant: Project, unit: LiveUnit, environment: str, http: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "pipeline": {"action": [unit.name]},
        "environments": [environment],
        "secrets": {name: placeholder(name) for name in _secret_names(tenant, unit)},
        **({"http": http} if http else {}),
        "scenarios": [{"name": SCENARIO_NAME, "expect": {}}],
    }


def _run(tenant: Project, path: Path, data: dict[str, Any]) -> tuple[Outcome | None, str | None]:
    loaded = LoadedScenarios(path, ScenarioFile.model_validate(data), YamlDocument(path, data))
    result = run_cases(tenant, expand(loaded, tenant, None), workers=1).results[0]
    return result.outcome, result.problem


def _unanswered(problem: str | None) -> list[tuple[str, str]]:
    """(method, url) of each request no stub matched, from the runner's problem text."""
    found = []
    for part in (problem or "").split("; "):
        request = part.removeprefix("no http stub matches ")
        if request != part and " " in request:
            method, url = request.split(" ", 1)
            found.append((method, url))
    return found


def _expectation(outcome: Outcome) -> dict[str, Any]:
    expect: dict[str, Any] = {"status": outcome.status}
    if outcome.deny is not None:
        expect["deny"] = outcome.deny
    if outcome.error is not None:
        expect["error"] = outcome.error
    expect["commands"] = [{"type": command["type"]} for command in outcome.commands]
    if outcome.requests:
        expect["requests"] = [
            {"method": sent["method"], "url": sent["url"]} for sent in outcome.requests
        ]
    return expect


def characterise(tenant: Project, environment: str, units: Sequence[LiveUnit]) -> dict[str, str]:
    """Action name -> the text of its starter scenario file (tenant must declare them)."""
    files: dict[str, str] = {}
    for unit in units:
        path = tenant.templates_dir / unit.kind.scenario_file(unit.name)
        http: list[dict[str, Any]] = []
        outcome, problem = _run(tenant, path, _spec(tenant, unit, environment, http))
        for _ in range(_STUB_ROUNDS):
            missing = _unanswered(problem)
            if not missing:
                break
            http += [{"method": m, "url": u, "status": 200, "body": {}} for m, u in missing]
            outcome, problem = _run(tenant, path, _spec(tenant, unit, environment, http))
        data = _spec(tenant, unit, environment, http)
        if outcome is not None:
            data["scenarios"][0]["expect"] = _expectation(outcome)
        else:  # it could not run at all: the user sees why at the first `test`
            data["scenarios"][0]["expect"] = {"status": "completed"}
        files[unit.name] = _header(unit, problem) + yaml.safe_dump(
            data, sort_keys=False, allow_unicode=True, width=100
        )
    return files


def _header(unit: LiveUnit, problem: str | None) -> str:
    lines = [
        f"# Starter scenarios for {unit.name} ({unit.trigger}), written by `auth0-actions import`.",
        "# A characterisation test: the expectation is what the live code did with the",
        "# trigger's sample event when it was imported. Add the cases that matter; see",
        "# docs/scenarios.md. Secrets here are placeholders, never the live values.",
    ]
    if problem:
        lines.append(f"# It could not run as imported: {problem}")
    return "\n".join(lines) + "\n"
