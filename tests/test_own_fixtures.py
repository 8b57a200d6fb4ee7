"""The suite owns its fixtures: a repository that changes its own project keeps passing it.

Adopting the tool by forking this repository means replacing tenant.yaml,
rules_templates/ and actions/ with the tenant's own. Here a copy of the
repository layout gets a new action and a `staging` environment, and the
test files that once read the repository's project run inside that copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import add_environments

from auth0_actions.config import load_tenant
from auth0_actions.scaffold import render_all

REPO = Path(__file__).resolve().parent.parent
SUITE = [
    "tests/test_config_validation.py",
    "tests/test_cli.py",
    "tests/test_init.py",
    "tests/test_examples_ci.py",
    "tests/test_emulator_login.py",
]
STAGING = """\
  staging:
    domain: acme-staging.eu.auth0.com
    client_id_env: AUTH0_STAGING_CLIENT_ID
    client_secret_env: AUTH0_STAGING_CLIENT_SECRET
    values:
      support_email: staging-privacy@example.com
"""
AUDIT_ACTION = """\
  - name: audit-login
    template: audit-login.js.j2
    trigger: post-login
    order: 3
"""
AUDIT_TEMPLATE = """\
exports.onExecutePostLogin = async (event, api) => {
  api.user.setAppMetadata("last_login_audit", {{ env.values.support_email | js }});
};
"""


def copy_repository_layout(target: Path) -> None:
    """What a fork holds: the project (templates as real files), the tests, the config."""
    keep_out = shutil.ignore_patterns("__pycache__", "*.pyc", ".auth0-local")
    shutil.copy(REPO / "tenant.yaml", target / "tenant.yaml")
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    shutil.copytree(REPO / "rules_templates", target / "rules_templates", ignore=keep_out)
    shutil.copytree(REPO / "consent_texts", target / "consent_texts", ignore=keep_out)
    shutil.copytree(REPO / "actions", target / "actions", ignore=keep_out)
    shutil.copytree(REPO / "tests", target / "tests", ignore=keep_out)
    shutil.copytree(REPO / "examples", target / "examples", ignore=keep_out)
    shutil.copytree(REPO / "schema", target / "schema", ignore=keep_out)


def make_it_the_tenants_own(root: Path) -> None:
    (root / "rules_templates" / "audit-login.js.j2").write_text(AUDIT_TEMPLATE, encoding="utf-8")
    path = root / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    head, actions, tail = text.partition("\nactions:\n")
    assert actions, "tenant.yaml has no top-level actions section"
    path.write_text(head + actions + AUDIT_ACTION + tail, encoding="utf-8")
    add_environments(root, STAGING)
    render_all(root)


def test_the_suite_passes_in_a_repository_with_its_own_action_and_environment(
    tmp_path: Path,
) -> None:
    fork = tmp_path / "fork"
    fork.mkdir()
    copy_repository_layout(fork)
    make_it_the_tenants_own(fork)
    changed = load_tenant(fork / "tenant.yaml")
    assert "staging" in changed.environments
    assert "audit-login" in [a.name for a in changed.config.actions]
    assert (fork / "actions" / "staging" / "audit-login.js").is_file()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "PYTEST_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUITE],
        cwd=fork,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in summary
    assert "skipped" not in summary
    assert "failed" not in summary
