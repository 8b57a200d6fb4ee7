"""auth0-actions init: a new project that passes its own checks right away."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

import auth0_actions
from auth0_actions import __version__
from auth0_actions.config import load_tenant
from auth0_actions.scaffold import WORKFLOW, ScaffoldError, init_project, scaffold

# The consent texts tenant.yaml's purposes name: every project has them, bare ones too.
TEXTS = {
    f"consent_texts/{purpose}-2026-11-01.{language}.txt"
    for purpose in ("terms", "marketing")
    for language in ("en", "de")
}
EXPECTED_TOP = {"tenant.yaml", ".gitignore", WORKFLOW, *TEXTS}
TEMPLATES = {
    "rules_templates/consent-on-first-login.js.j2",
    "rules_templates/consent-redirect.js.j2",
    "rules_templates/_consent_common.js.j2",
    "rules_templates/consent-redirect.scenarios.yaml",
}


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def the_project_works(cli: Any, root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the printed next steps promise, run in root; the test report."""
    monkeypatch.chdir(root)
    check = cli("render", "--check")
    assert check.code == 0, check.out + check.err
    tested = cli("test", "--output", "json")
    assert tested.code == 0, tested.out[-2000:] + tested.err
    applied = cli("apply", "--env", "local", "--yes")
    assert applied.code == 0, applied.out + applied.err
    planned = cli("plan", "--env", "local", "--detailed-exitcode")
    assert planned.code == 0, planned.out + planned.err
    report: dict[str, Any] = tested.json()
    return report


def test_init_writes_a_project_that_renders_tests_and_deploys(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("init", "new-repo")
    assert run.code == 0, run.err
    root = tmp_path / "new-repo"
    written = files_under(root)
    assert set(written) >= EXPECTED_TOP | TEMPLATES
    assert "actions/local/consent-on-first-login.js" in written
    assert "actions/local/consent-redirect.js" in written
    for path in [*EXPECTED_TOP, "actions/local/consent-redirect.js"]:
        assert f"+ {path}" in run.out
    assert "cd new-repo" in run.out
    assert "auth0-actions apply --env local --yes" in run.out

    report = the_project_works(cli, root, monkeypatch)
    assert report["summary"]["failed"] == 0
    assert report["summary"]["total"] > 100  # the consent scenarios came along


def test_the_new_project_has_local_only_and_ignores_local_state(tmp_path: Path) -> None:
    init_project(tmp_path / "p")
    project = load_tenant(tmp_path / "p" / "tenant.yaml")
    assert list(project.environments) == ["local"]
    assert [(a.name, a.trigger) for a in project.config.actions] == [
        ("consent-on-first-login", "post-login"),
        ("consent-redirect", "post-login"),
        ("consent-at-signup", "pre-user-registration"),
    ]
    tenant_text = (tmp_path / "p" / "tenant.yaml").read_text(encoding="utf-8")
    assert "  # dev:\n" in tenant_text  # how a real tenant is added, commented out
    for key in ("domain", "client_id_env", "client_secret_env", "secrets"):
        assert f"  #   {key}:" in tenant_text
    ignored = (tmp_path / "p" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {".auth0-local/", ".venv/"} <= set(ignored)


def test_the_ci_workflow_installs_this_version_of_the_tool(tmp_path: Path) -> None:
    init_project(tmp_path, bare=True)
    workflow = yaml.safe_load((tmp_path / WORKFLOW).read_text(encoding="utf-8"))
    runs = [step["run"] for step in workflow["jobs"]["check"]["steps"] if "run" in step]
    assert f"python -m pip install auth0-actions=={__version__}" in runs
    assert "auth0-actions render --check" in runs
    assert "auth0-actions test" in runs
    assert "auth0-actions plan --env local --detailed-exitcode" in runs


def test_bare_writes_no_templates_and_still_passes_every_check(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = cli("init", "--bare", "bare")
    assert run.code == 0, run.err
    root = tmp_path / "bare"
    assert set(files_under(root)) == EXPECTED_TOP
    assert (root / "rules_templates").is_dir()
    assert load_tenant(root / "tenant.yaml").config.actions == []

    report = the_project_works(cli, root, monkeypatch)
    assert report["summary"]["total"] == 0
    assert report["ok"] is True


def test_refuses_to_overwrite_naming_every_existing_file_and_writes_nothing(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tenant.yaml").write_text("mine\n", encoding="utf-8")
    (tmp_path / "rules_templates").mkdir()
    (tmp_path / "rules_templates" / "consent-redirect.js.j2").write_text("mine\n")
    (tmp_path / "actions" / "prod").mkdir(parents=True)
    (tmp_path / "actions" / "prod" / "shipped.js").write_text("mine\n")
    before = files_under(tmp_path)

    run = cli("init")
    assert run.code == 1
    assert "refusing to overwrite 3 existing file(s); nothing was written" in run.err
    for path in (
        "tenant.yaml",
        "rules_templates/consent-redirect.js.j2",
        "actions/prod/shipped.js",
    ):
        assert f"{path}: already exists" in run.err
    assert files_under(tmp_path) == before


def test_a_second_init_refuses(tmp_path: Path) -> None:
    init_project(tmp_path, bare=True)
    with pytest.raises(ScaffoldError) as raised:
        init_project(tmp_path, bare=True)
    names = [".gitignore", "auth0-actions.yml", "tenant.yaml", *(t.split("/")[1] for t in TEXTS)]
    refused = [p.location.file.name for p in raised.value.problems if p.location.file]
    assert sorted(refused) == sorted(names)


def test_init_beside_unrelated_files_keeps_them(
    cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "README.md").write_text("# our tenant\n", encoding="utf-8")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "lint.yml").write_text("name: lint\n")
    monkeypatch.chdir(tmp_path)
    run = cli("init")
    assert run.code == 0, run.err
    assert "cd " not in run.out  # already there
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "# our tenant\n"
    assert (tmp_path / ".github" / "workflows" / "lint.yml").read_text() == "name: lint\n"
    assert (tmp_path / WORKFLOW).is_file()
    assert cli("render", "--check").code == 0


def test_a_file_in_the_way_of_the_directory_is_an_error(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    run = cli("init", str(tmp_path / "taken"))
    assert run.code == 1
    assert f"{tmp_path / 'taken'}" in run.err


def test_json_output_lists_the_files(cli: Any, tmp_path: Path) -> None:
    run = cli("init", "--bare", str(tmp_path / "p"), "--output", "json")
    assert run.code == 0, run.err
    data = run.json()
    assert sorted(data["files"]) == sorted(EXPECTED_TOP)
    assert data["rendered"] == []
    assert data["next"][-1] == "auth0-actions apply --env local --yes"


def test_the_scaffold_ships_every_template_of_its_tenant_yaml() -> None:
    files = scaffold().files
    config = yaml.safe_load(files["tenant.yaml"])
    for unit in config["actions"]:
        assert f"rules_templates/{unit['template']}" in files
    # Rules reached end of life on 2026-11-18: the scaffold ships no legacy Rule.
    assert "legacy_rules" not in config
    assert not any(name.startswith("rules_templates/legacy-rules/") for name in files)


def test_every_scaffold_file_is_shipped_as_package_data() -> None:
    """An installed package (not only this checkout) has all of init's files."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    globs = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["auth0_actions"]
    package = Path(auth0_actions.__file__).parent
    shipped = {path for pattern in globs for path in package.glob(pattern)}
    data = {
        path
        for path in (package / "scaffold").rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }
    assert len(data) >= len(TEMPLATES) + 3
    assert data <= shipped, sorted(str(p) for p in data - shipped)
