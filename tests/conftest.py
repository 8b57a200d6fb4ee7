"""Shared fixtures: a throwaway project made by `init`, and the CLI run in-process.

No test reads this repository's own tenant.yaml, rules_templates/ or
actions/ (the project `./dev local` runs): every project is written by the
scaffold into a temporary directory, so a repository that adds its own
actions and environments keeps a passing suite.
"""

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
from auth0_actions.scaffold import init_project, render_all

# The tool's own checkout: for examples/, schema/ and pyproject.toml, never for
# its tenant.yaml, rules_templates/ or actions/ (the dogfood project).
REPO = Path(__file__).resolve().parent.parent

# Real tenants, as a deployed repository has them: for tests of credentials,
# secrets per environment, safety thresholds and promotion.
REMOTE_ENVIRONMENTS = """\
  dev:
    domain: acme-dev.eu.auth0.com
    client_id_env: AUTH0_DEV_CLIENT_ID
    client_secret_env: AUTH0_DEV_CLIENT_SECRET
    secrets:
      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET_DEV
      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET_DEV
    values:
      support_email: privacy@example.com
    consent:
      consent_page_url: https://consent.dev.example.com/consent
  prod:
    domain: acme.eu.auth0.com
    client_id_env: AUTH0_PROD_CLIENT_ID
    client_secret_env: AUTH0_PROD_CLIENT_SECRET
    secrets:
      CONSENT_SESSION_SECRET: CONSENT_SESSION_SECRET_PROD
      CONSENT_LEDGER_SECRET: CONSENT_LEDGER_SECRET_PROD
    values:
      support_email: privacy@example.com
    # Every delete or unbind in prod needs --force (the defaults allow one of each).
    safety:
      max_deletes: 0
      max_unbinds: 0
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "remote_envs: the `project` fixture also has the dev and prod environments "
        "(real tenants), rendered",
    )


def add_environments(root: Path, block: str) -> None:
    """Append environments (YAML indented under `environments:`) to root/tenant.yaml.

    Does not render; call render_all(root) afterwards for actions/<env>/.
    """
    path = root / "tenant.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("environments:\n") + 1
    end = start
    for index in range(start, len(lines)):
        if lines[index].startswith((" ", "\n")):
            end = index + 1
        else:
            break
    while end > start and lines[end - 1] == "\n":
        end -= 1
    lines[end:end] = [block if block.endswith("\n") else block + "\n"]
    path.write_text("".join(lines), encoding="utf-8")


# init's signup Action (pre-user-registration). The plan, apply, promote and
# rollback tests are written for init's two post-login consent Actions (their
# order, bindings and request sequences); consent-at-signup has tests of its
# own (test_consent_at_signup.py, test_init.py) and is applied with every
# other trigger in test_triggers.py.
SIGNUP_ACTION = "consent-at-signup"


def _without_signup_action(root: Path) -> None:
    path = root / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - name: {SIGNUP_ACTION}\n")
    # The entry and the comment lines just above it.
    lines = text[:start].splitlines(keepends=True)
    while lines and lines[-1].lstrip().startswith("#"):
        lines.pop()
    # Up to the next blank line, or the end of the file (the last entry).
    end = text.find("\n\n", start) + 1 or len(text)
    path.write_text("".join(lines) + text[end:], encoding="utf-8")
    for leftover in (root / "rules_templates").glob(f"{SIGNUP_ACTION}.*"):
        leftover.unlink()
    for rendered in (root / "actions").glob(f"*/{SIGNUP_ACTION}.js"):
        rendered.unlink()


@pytest.fixture(scope="session")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`auth0-actions init` once per session, its post-login Actions only (see
    SIGNUP_ACTION); tests get copies (rendering runs Node)."""
    root = tmp_path_factory.mktemp("scaffold") / "project"
    init_project(root)
    _without_signup_action(root)
    return root


@pytest.fixture(scope="session")
def scaffolded_with_remote_envs(tmp_path_factory: pytest.TempPathFactory, scaffolded: Path) -> Path:
    """The scaffold plus REMOTE_ENVIRONMENTS, every environment rendered."""
    root = tmp_path_factory.mktemp("scaffold-remote") / "project"
    shutil.copytree(scaffolded, root, symlinks=True)
    add_environments(root, REMOTE_ENVIRONMENTS)
    render_all(root)
    return root


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real $HOME, or inherits tenant overrides."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    for name in ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_ACTIONS_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A new project as `init` writes it (tenant.yaml, rules_templates/, actions/ rendered
    for `local`); cwd set to it. With @pytest.mark.remote_envs it also has dev and prod."""
    remote = request.node.get_closest_marker("remote_envs") is not None
    source = request.getfixturevalue("scaffolded_with_remote_envs" if remote else "scaffolded")
    root = tmp_path / "project"
    shutil.copytree(source, root, symlinks=True)
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
