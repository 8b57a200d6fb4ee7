"""Running actions of one trigger in the sandbox, and projects with one such action.

Shared by the tests of the signup and password-change triggers
(tests/test_trigger_pre_user_registration.py, ..._post_user_registration.py,
..._post_change_password.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.scaffold import init_project
from auth0_actions.triggers import registry


def unit(
    name: str, handler: str, body: str = "", secrets: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An action exporting `handler` with `body`, as the pipeline's units are shaped."""
    code = f"exports.{handler} = async (event, api) => {{\n{body}\n}};\n"
    return coded(name, code, secrets)


def coded(name: str, code: str, secrets: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "code": code,
        "filename": f"{name}.js",
        "secrets": dict(secrets or {}),
        "deps_dir": None,
    }


def run(
    pool: SandboxPool,
    trigger_id: str,
    *units: dict[str, Any],
    event: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One execution of the trigger's pipeline: the combined result."""
    trigger = registry.get(trigger_id)
    request = {
        "op": trigger.id,
        "units": list(units),
        "event": trigger.build_event(event or {}),
        "resume": None,
    }
    reply = pool.call(request)
    assert reply.ok, reply.failure
    assert reply.result is not None
    return reply.result


def logged(result: Mapping[str, Any]) -> list[str]:
    return [entry["message"] for entry in result["logs"]]


def seen_event(result: Mapping[str, Any]) -> Any:
    """What an action printed with console.log(JSON.stringify(event))."""
    return json.loads(logged(result)[0])


def project_with_action(
    root: Path,
    name: str,
    trigger_id: str,
    template: str,
    scenarios: str | None = None,
    values: str = "{}",
) -> Path:
    """A bare project (`init --bare`) with one action of the trigger and its scenarios.

    values: the action's template values, as YAML flow mapping.
    """
    init_project(root, bare=True)
    config = root / "tenant.yaml"
    text = config.read_text(encoding="utf-8")
    assert "actions: []" in text
    config.write_text(
        text.replace(
            "actions: []",
            "actions:\n"
            f"  - name: {name}\n"
            f"    template: {name}.js.j2\n"
            f"    trigger: {trigger_id}\n"
            "    order: 1\n"
            f"    values: {values}\n",
        ),
        encoding="utf-8",
    )
    templates = root / "rules_templates"
    templates.mkdir(exist_ok=True)
    (templates / f"{name}.js.j2").write_text(template, encoding="utf-8")
    if scenarios is not None:
        (templates / f"{name}.scenarios.yaml").write_text(scenarios, encoding="utf-8")
    return root
