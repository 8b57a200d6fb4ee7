"""auth0-actions test and sandbox run: the scenario engine as a user drives it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = "rules_templates/consent-redirect.scenarios.yaml"


def _only(project: Path, text: str, name: str = "probe") -> Path:
    """Replace all scenario files with one, so a run is small and deterministic."""
    for path in (project / "rules_templates").glob("*.scenarios.yaml"):
        path.unlink()
    target = project / "rules_templates" / f"{name}.scenarios.yaml"
    target.write_text(text, encoding="utf-8")
    return target


HEADER = """\
pipeline:
  action: [consent-redirect]
secrets:
  CONSENT_SESSION_SECRET: scenario-secret-0123456789abcdef
  CONSENT_LEDGER_SECRET: scenario-ledger-secret-0123456789abcdef
variants: {nested: {}}
environments: [local]
scenarios:
"""


def test_the_committed_scenarios_pass(cli: Any, project: Path) -> None:
    run = cli("test", "--env", "local", "--output", "json")
    assert run.code == 0, run.out[-2000:]
    report = run.json()
    assert report["ok"] is True
    assert report["summary"]["failed"] == 0
    assert report["summary"]["total"] > 100


def test_a_failure_shows_file_line_and_a_diff(cli: Any, project: Path) -> None:
    _only(
        project,
        HEADER
        + """\
  - name: wrong on purpose
    expect:
      status: completed
""",
    )
    run = cli("test")
    assert run.code == 1
    assert "FAILED probe::wrong on purpose [local/nested/action]" in run.out
    assert "rules_templates/probe.scenarios.yaml:9: wrong on purpose" in run.out
    assert "-completed" in run.out
    assert "+redirected" in run.out
    assert "0 passed, 1 failed" in run.out


def test_json_and_junit_reports(cli: Any, project: Path, tmp_path: Path) -> None:
    _only(
        project,
        HEADER
        + """\
  - name: passes
    expect: {status: redirected}
  - name: fails
    forms: [action]
    expect: {status: denied}
""",
    )
    junit = tmp_path / "reports" / "scenarios.xml"
    run = cli("test", "--output", "json", "--junit-xml", str(junit))
    assert run.code == 1
    report = run.json()
    assert report["summary"] == {**report["summary"], "total": 2, "passed": 1, "failed": 1}
    failed = [c for c in report["cases"] if not c["passed"]]
    assert failed[0]["mismatches"][0]["path"] == "status"
    assert failed[0]["mismatches"][0]["expected"] == "denied"
    assert failed[0]["mismatches"][0]["actual"] == "redirected"
    suite = ET.parse(junit).getroot()  # noqa: S314 (a report this run wrote)
    assert suite.get("tests") == "2"
    assert suite.get("failures") == "1"
    assert len(suite.findall("testcase/failure")) == 1


def test_k_selects_cases(cli: Any, project: Path) -> None:
    run = cli("test", "-k", "SIGNED WITH ANOTHER", "--env", "local", "--output", "json")
    assert run.code == 0
    ids = [c["id"] for c in run.json()["cases"]]
    assert ids
    assert all("signed with another" in i for i in ids)
    assert cli("test", "-k", "no-such-scenario-anywhere").code == 1


def test_a_stale_render_is_refused(cli: Any, project: Path) -> None:
    target = project / "actions" / "local" / "consent-redirect.js"
    target.write_text(target.read_text() + "// edited by hand\n")
    run = cli("test")
    assert run.code == 1
    assert "actions/local/consent-redirect.js" in run.err
    assert "auth0-actions render" in run.err


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        (
            "  - name: x\n    expect: {sttus: completed}\n",
            "scenarios[0].expect",
            "unknown expectation",
        ),
        ("  - name: x\n    steps: [jump]\n    expect: {}\n", "scenarios[0].steps[0]", ""),
        ("  - name: x\n    typo: 1\n    expect: {}\n", "scenarios[0].typo", "Extra inputs"),
    ],
    ids=["unknown-expectation", "unknown-step", "unknown-key"],
)
def test_bad_scenario_files_name_file_line_and_key(
    cli: Any, project: Path, body: str, where: str, says: str
) -> None:
    path = _only(project, HEADER + body)
    run = cli("test")
    assert run.code == 1
    assert f"{path.relative_to(project)}:" in run.err or str(path) in run.err
    assert where in run.err
    assert says in run.err


@pytest.mark.remote_envs
def test_policy_matchers_follow_each_environment(cli: Any, project: Path) -> None:
    """!policy reads the resolved policy: dev and local have different consent pages."""
    _only(
        project,
        HEADER.replace("environments: [local]\n", "")
        + """\
  - name: page per environment
    forms: [action]
    expect:
      redirect: {url: !policy consent_page_url}
""",
    )
    run = cli("test", "--output", "json")
    assert run.code == 0, run.out
    assert {c["environment"] for c in run.json()["cases"]} == {"local", "dev", "prod"}


def test_sandbox_run_prints_the_recorded_commands(cli: Any, project: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"connection": {"name": "google-oauth2", "strategy": "google"}}))
    secrets = tmp_path / "secrets.json"
    secrets.write_text(
        json.dumps(
            {
                "CONSENT_SESSION_SECRET": "adhoc-secret-0123456789",
                "CONSENT_LEDGER_SECRET": "adhoc-ledger-secret-0123456789",
            }
        )
    )
    run = cli(
        "sandbox",
        "run",
        "actions/local/consent-redirect.js",
        "--event",
        str(event),
        "--secrets",
        str(secrets),
    )
    assert run.code == 0, run.err
    result = run.json()
    assert result["status"] == "redirected"
    assert [c["type"] for c in result["commands"]] == ["redirect.sendUserTo"]
    assert "adhoc-secret-0123456789" not in run.out


def test_sandbox_run_fails_cleanly_on_broken_code(cli: Any, tmp_path: Path) -> None:
    action = tmp_path / "broken.js"
    action.write_text("exports.onExecutePostLogin = async () => { throw new Error('kaput'); };\n")
    run = cli("sandbox", "run", str(action))
    assert run.code == 1
    assert run.json()["error"]["message"] == "kaput"


def test_pytest_collects_scenario_files(project: Path, pytester_like: Any) -> None:
    _only(project, HEADER + "  - name: collected\n    expect: {status: redirected}\n")
    done = pytester_like(project, "rules_templates")
    assert "1 passed" in done.stdout, done.stdout
    # As `auth0-actions test` does, the run names the isolation level it had.
    from auth0_actions.sandbox.isolation import detect_isolation

    assert detect_isolation().summary in done.stdout


@pytest.fixture
def pytester_like() -> Any:
    import subprocess
    import sys

    def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run
