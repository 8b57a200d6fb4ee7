"""The built wheel, installed into a fresh virtual environment beside a user's own repository.

A platform engineer installs auth0-actions into their config repository's
environment; that repository may well have its own ``deploy/`` package and
its own pytest suite. The wheel must add exactly one import name
(``auth0_actions``), declare every dependency it imports (a fresh install
resolves them from the package index, nothing borrowed from this checkout),
and leave the user's tests and imports alone while the CLI works there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from auth0_actions import __version__

SOURCE = Path(__file__).resolve().parent.parent  # the package's source tree, not its dogfood


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    environ.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the source (the checkout gets no build/ or egg-info)."""
    tree = tmp_path_factory.mktemp("source")
    shutil.copy(SOURCE / "pyproject.toml", tree)
    shutil.copy(SOURCE / "README.md", tree)
    shutil.copytree(
        SOURCE / "deploy", tree / "deploy", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    built = _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
        "-w", dist, tree, cwd=tree,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = dist.glob("auth0_actions-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel (and pytest, as a user would have)."""
    env = tmp_path_factory.mktemp("venv") / "venv"
    venv.create(env, with_pip=True)
    pip = _run(
        env / "bin" / "python", "-m", "pip", "install", "--disable-pip-version-check",
        wheel, "pytest", cwd=env, timeout=600,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return env


def test_the_wheel_has_one_top_level_name_and_ships_its_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"auth0_actions", f"auth0_actions-{__version__}.dist-info"}
    files = set(names)
    for shipped in (
        "auth0_actions/py.typed",
        "auth0_actions/sandbox/js/worker.js",
        "auth0_actions/consent_page/templates/consent.html.j2",
    ):
        assert shipped in files, f"{shipped} is missing from the wheel"
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"auth0_actions-{__version__}.dist-info/entry_points.txt")
    text = entry_points.decode()
    assert "auth0-actions = auth0_actions.cli.main:main" in text
    assert "auth0_actions.scenarios.pytest_plugin" in text


def test_a_user_repository_with_its_own_deploy_package_keeps_working(
    installed: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "user-repo"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "__init__.py").write_text("WHO = 'the user'\n", encoding="utf-8")
    (repo / "deploy" / "scenarios.py").write_text("STEPS = ['build', 'ship']\n", encoding="utf-8")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_deploy.py").write_text(
        "import deploy\n"
        "from deploy.scenarios import STEPS\n\n"
        "def test_it_is_the_users_own_deploy_package():\n"
        "    assert deploy.WHO == 'the user'\n"
        "    assert STEPS == ['build', 'ship']\n",
        encoding="utf-8",
    )
    (repo / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n', encoding="utf-8"
    )
    bin_dir = installed / "bin"

    # Both ways of running pytest, with auth0-actions' pytest plugin installed.
    for command in ((bin_dir / "python", "-m", "pytest", "-q"), (bin_dir / "pytest", "-q")):
        tests = _run(*command, cwd=repo)
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert "1 passed" in tests.stdout

    for command in (
        (bin_dir / "auth0-actions", "--version"),
        (bin_dir / "python", "-m", "auth0_actions", "--version"),
    ):
        version = _run(*command, cwd=repo)
        assert version.returncode == 0, version.stderr
        assert __version__ in version.stdout

    # The CLI works in that repository: scaffold, then the checks a user runs first.
    for command in (
        ("init", "."),
        ("config", "validate"),
        ("render", "--check"),
        ("test",),
    ):
        done = _run(bin_dir / "auth0-actions", *command, cwd=repo)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"

    # The user's suite is untouched by the scaffold beside it.
    tests = _run(bin_dir / "python", "-m", "pytest", "-q", cwd=repo)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
    imported = _run(bin_dir / "python", "-c", "import deploy; print(deploy.WHO)", cwd=repo)
    assert imported.stdout.strip() == "the user"
    # And outside that repository there is no `deploy` at all: the wheel installs none.
    elsewhere = _run(bin_dir / "python", "-c", "import deploy", cwd=tmp_path)
    assert "No module named 'deploy'" in elsewhere.stderr
