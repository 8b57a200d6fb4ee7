"""Helpers for the tests of one trigger: an action unit for the pool, and a small project.

The project is what `auth0-actions init --bare` writes, in a temporary
directory, with the actions and templates a test names; never this
repository's own tenant.yaml or templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auth0_actions.scaffold import init_project


def unit(
    name: str, handler: str, body: str = "", secrets: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One action for SandboxPool.call: `body` is the handler's body."""
    code = f"exports.{handler} = async (event, api) => {{\n{body}\n}};\n"
    return {
        "name": name,
        "code": code,
        "filename": f"{name}.js",
        "secrets": dict(secrets or {}),
        "deps_dir": None,
    }


def request(trigger: str, units: list[dict[str, Any]], event: dict[str, Any]) -> dict[str, Any]:
    return {"op": trigger, "units": units, "event": event, "resume": None}


def project(
    root: Path,
    trigger: str,
    templates: Mapping[str, str],
    *,
    secrets: Mapping[str, str] | None = None,
    scenarios: Mapping[str, str] | None = None,
) -> Path:
    """A bare project whose actions (one per template, in order) are bound to `trigger`.

    templates: action name -> template source (rules_templates/<name>.js.j2);
    scenarios: file stem -> .scenarios.yaml text.
    """
    init_project(root, bare=True)
    tenant = root / "tenant.yaml"
    lines = ["actions:"]
    for order, name in enumerate(templates, start=1):
        lines += [
            f"  - name: {name}",
            f"    template: {name}.js.j2",
            f"    trigger: {trigger}",
            f"    order: {order}",
        ]
        if secrets:
            lines.append("    secrets:")
            lines += [f"      {k}: {v}" for k, v in secrets.items()]
    text = tenant.read_text(encoding="utf-8")
    assert "\nactions: []\n" in text
    tenant.write_text(text.replace("\nactions: []\n", "\n" + "\n".join(lines) + "\n"))
    templates_dir = root / "rules_templates"
    templates_dir.mkdir(exist_ok=True)
    for name, source in templates.items():
        (templates_dir / f"{name}.js.j2").write_text(source, encoding="utf-8")
    for stem, text in (scenarios or {}).items():
        (templates_dir / f"{stem}.scenarios.yaml").write_text(text, encoding="utf-8")
    return root
