"""Shared fixtures: a throwaway copy of the project, and the CLI run in-process."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.cli.main import main
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.tenant import LocalTenant

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real $HOME, or inherits tenant overrides."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    for name in ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_ACTIONS_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of this repository's tenant.yaml, templates and rendered actions; cwd set to it."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "tenant.yaml", root / "tenant.yaml")
    shutil.copytree(REPO / "rules_templates", root / "rules_templates")
    if (REPO / "actions").is_dir():
        shutil.copytree(REPO / "actions", root / "actions")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def apps(project: Path, monkeypatch: pytest.MonkeyPatch) -> list[Emulator]:
    """Every emulator the embedded local tenant starts (one per command), in order."""
    started: list[Emulator] = []
    original = LocalTenant.__init__

    def init(self: LocalTenant, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        started.append(self.app)

    monkeypatch.setattr(LocalTenant, "__init__", init)
    return started


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """cli("render", "--check") -> Run(code, out, err), in this process."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
