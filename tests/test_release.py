"""history and rollback: against the embedded local tenant over real HTTP."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import Project, load_tenant
from auth0_actions.plan.rollback import History, VersionInfo, choose_source
from auth0_actions.tenant_client import LiveAction, open_tenant_client

FIRST = "consent-on-first-login"
OLD_TERMS, NEW_TERMS = '"2026-11-01"', '"2026-12-01"'


def _tenant() -> Project:
    return load_tenant(Path("tenant.yaml"))


def live_action(name: str) -> LiveAction:
    tenant = _tenant()
    with open_tenant_client(tenant, tenant.environment("local"), {}) as client:
        found = client.find_action_by_name(name)
    assert found is not None
    return found


def two_versions(project: Path, cli: Any) -> tuple[str, str]:
    """Apply, bump the terms' version and apply again: the code of v1 and of v2.

    What apply deploys is the rendered file, byte for byte (apply verifies it).
    """
    committed = project / "actions" / "local" / f"{FIRST}.js"
    assert cli("apply", "--yes").code == 0
    first = committed.read_text(encoding="utf-8")
    path = project / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    old = f"      required: true\n      version: {OLD_TERMS}\n"
    assert old in text
    path.write_text(text.replace(old, old.replace(OLD_TERMS, NEW_TERMS)), encoding="utf-8")
    for language in ("en", "de"):  # a new version is a new text (consent_texts/)
        new_text = project / "consent_texts" / f"terms-{NEW_TERMS.strip(chr(34))}.{language}.txt"
        new_text.write_text(f"Terms {NEW_TERMS} ({language})\n", encoding="utf-8")
    assert cli("render").code == 0
    second = cli("apply", "--yes")
    assert second.code == 0, second.err
    now = committed.read_text(encoding="utf-8")
    assert NEW_TERMS.strip('"') in now
    assert now != first
    return first, now


def test_history_lists_versions_newest_first_with_the_live_one(project: Path, cli: Any) -> None:
    two_versions(project, cli)
    text = cli("history", FIRST)
    assert text.code == 0, text.err
    assert text.out.index("v2 ") < text.out.index("v1 ")
    live_line = next(line for line in text.out.splitlines() if "<- live" in line)
    assert live_line.strip().startswith("v2 ")
    assert "The draft is the live version." in text.out

    data = cli("history", FIRST, "--output", "json").json()
    assert data["ok"] is True
    assert (data["environment"], data["action"]) == ("local", FIRST)
    assert data["action_id"] == live_action(FIRST).id
    assert data["live_version"] == 2
    assert data["draft_differs_from_live"] is False
    assert [v["number"] for v in data["versions"]] == [2, 1]
    assert [v["live"] for v in data["versions"]] == [True, False]
    for version in data["versions"]:
        assert set(version) == {"number", "id", "created_at", "status", "live"}
        assert version["status"] == "built"
        assert version["created_at"]


def test_rollback_deploys_a_copy_of_the_previous_version(project: Path, cli: Any) -> None:
    first_code, second_code = two_versions(project, cli)
    done = cli("rollback", FIRST, "--yes")
    assert done.code == 0, done.err
    assert "deploy version 1" in done.out
    assert "version 3 (a copy of version 1) is built and live" in done.out
    assert f"actions/local/{FIRST}.js now differs from the tenant" in done.out

    action = live_action(FIRST)
    assert action.deployed_version is not None
    assert action.deployed_version.number == 3
    assert action.deployed_version.code == first_code
    assert action.code == second_code  # the draft is left as it is

    data = cli("history", FIRST, "-o", "json").json()
    assert [v["number"] for v in data["versions"]] == [3, 2, 1]
    assert data["live_version"] == 3
    assert data["draft_differs_from_live"] is True
    assert "The draft differs from the live version" in cli("history", FIRST).out

    # The tenant no longer runs the committed code: plan shows it, apply restores it.
    planned = cli("plan", "--detailed-exitcode")
    assert planned.code == 2
    assert "deploy" in planned.out
    assert cli("apply", "--yes").code == 0
    restored = live_action(FIRST).deployed_version
    assert restored is not None
    assert (restored.number, restored.code) == (4, second_code)


def test_rollback_to_a_version_and_json_output(project: Path, cli: Any) -> None:
    _, second_code = two_versions(project, cli)
    assert cli("rollback", FIRST, "--yes").code == 0  # v3 = v1 is live
    data = cli("rollback", FIRST, "--to-version", "2", "--yes", "-o", "json").json()
    assert data["ok"] is True
    assert data["rolled_back"] is True
    assert (data["environment"], data["action"]) == ("local", FIRST)
    assert data["previous_live"]["number"] == 3
    assert data["source"]["number"] == 2
    assert data["deployed"]["number"] == 4
    assert data["deployed"]["live"] is True
    assert data["deployed"]["status"] == "built"
    assert data["managed"] is True
    assert data["matches_committed"] is True  # v2 is the committed code
    action = live_action(FIRST)
    assert action.deployed_version is not None
    assert action.deployed_version.code == second_code
    assert cli("plan", "--detailed-exitcode").code == 0

    refused = cli("rollback", FIRST, "-o", "json")
    assert refused.code == 1
    assert "--yes" in refused.json()["error"]


def test_rollback_refuses_unknown_and_live_versions_and_asks(
    project: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_versions(project, cli)
    missing = cli("rollback", FIRST, "--to-version", "99", "--yes")
    assert missing.code == 1
    assert "has no version 99" in missing.err
    live = cli("rollback", FIRST, "--to-version", "2", "--yes", "-o", "json")
    assert live.code == 1
    assert live.json()["ok"] is False
    assert "already live" in live.json()["error"]

    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    declined = cli("rollback", FIRST)
    assert declined.code == 1
    assert f"Roll back {FIRST} in the local tenant?" in declined.out
    assert "Rollback cancelled: nothing was changed." in declined.err
    data = cli("history", FIRST, "-o", "json").json()
    assert ([v["number"] for v in data["versions"]], data["live_version"]) == ([2, 1], 2)


def test_unknown_action_and_nothing_to_roll_back(project: Path, cli: Any) -> None:
    unknown = cli("history", "no-such-action")
    assert unknown.code == 1
    assert "no action named 'no-such-action' in the local tenant" in unknown.err
    assert cli("history", "no-such-action", "-o", "json").json()["ok"] is False
    assert cli("rollback", "no-such-action", "--yes").code == 1

    assert cli("apply", "--yes").code == 0
    only = cli("rollback", FIRST, "--yes")
    assert only.code == 1
    assert "no built version before the live version 1" in only.err


def test_default_source_skips_failed_versions() -> None:
    def v(number: int, status: str = "built", live: bool = False) -> VersionInfo:
        return VersionInfo(number, f"ver_{number}", None, status, live)

    history = History("local", "a", "act_1", (v(4, live=True), v(3, "failed"), v(2), v(1)), False)
    live, source = choose_source(history, None)
    assert (live.number, source.number) == (4, 2)
    assert choose_source(history, 1)[1].number == 1
    with pytest.raises(Exception, match="did not build"):
        choose_source(history, 3)
