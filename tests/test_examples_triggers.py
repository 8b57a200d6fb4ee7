"""Every example under examples/triggers/ is a working project: its scenarios pass.

Each example is a small project (tenant.yaml, a template and its scenarios) for one
trigger; a user copies one to start. The test copies each to a temporary directory and
runs `auth0-actions render --all` and `auth0-actions test` there, as a user would.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.triggers import registry

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "triggers"
FOUND = sorted(p for p in EXAMPLES.iterdir() if (p / "tenant.yaml").is_file())


def test_every_trigger_has_an_example() -> None:
    assert {p.name for p in FOUND} >= set(registry.ids())


@pytest.mark.parametrize("example", FOUND, ids=[p.name for p in FOUND])
def test_example_renders_and_its_scenarios_pass(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    project = tmp_path / example.name
    shutil.copytree(example, project, ignore=shutil.ignore_patterns("actions"))
    monkeypatch.chdir(project)
    rendered = cli("render", "--all")
    assert rendered.code == 0, rendered.err
    tested = cli("test")
    assert tested.code == 0, tested.out + tested.err
