"""Rotating a secret: a raised secret_versions (or --push-secrets) sends its value again.

Auth0 never returns secret values
(https://auth0.com/docs/customize/actions/write-your-first-action), and
PATCH /api/v2/actions/actions/{id} replaces an action's whole secrets list
(https://auth0.com/docs/api/management/v2/actions/patch-action), whose values a new
version carries once deployed
(https://auth0.com/docs/customize/actions/manage-versions). So a plan cannot see that a
value changed: the version recorded in the rendered header is what tells it, and apply
sends every value of the action, then deploys it. No value is ever printed.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from emulator_support import login_client
from playwright.sync_api import Page, sync_playwright
from test_consent_e2e import CHROMIUM, CHROMIUM_ARGS, CONNECTION, PASSWORD, RelyingParty

from auth0_actions.cli.main import main
from auth0_actions.config import load_tenant
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.consent_page.settings import settings_for_environment
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.render.engine import header_secret_versions
from auth0_actions.secrets import LocalSecretStore

SECRET = "CONSENT_SESSION_SECRET"
FIRST, REDIRECT = "consent-on-first-login", "consent-redirect"
ACTIONS = r"^/api/v2/actions/actions/[^/]+$"


def set_version(root: Path, version: int) -> None:
    """environments.local.secret_versions.CONSENT_SESSION_SECRET: VERSION in tenant.yaml."""
    path = root / "tenant.yaml"
    text = re.sub(r"(?m)^    secret_versions:\n      \w+: \d+\n", "", path.read_text("utf-8"))
    text, found = re.subn(
        r"(?m)^(  local:\n    domain: .*\n)",
        rf"\g<1>    secret_versions:\n      {SECRET}: {version}\n",
        text,
        count=1,
    )
    assert found == 1
    path.write_text(text, encoding="utf-8")


def local_values(root: Path) -> dict[str, str]:
    return LocalSecretStore(root / ".auth0-local").load()


def secret_patches(app: Emulator) -> list[dict[str, Any]]:
    """Bodies of the action updates that sent secrets (values included: the test reads them)."""
    return [e.body for e in app.injector.requests("PATCH", ACTIONS) if "secrets" in e.body]


def assert_no_value(text: str, *values: str) -> None:
    for value in values:
        assert value not in text


# --- render: the version is in the header -------------------------------------------------
def test_a_version_is_recorded_in_the_header_and_render_check_asks_for_a_render(
    project: Path, cli: Any
) -> None:
    set_version(project, 2)
    stale = cli("render", "--check", "--env", "local")
    assert stale.code == 1
    assert f"actions/local/{REDIRECT}.js" in stale.out + stale.err
    assert cli("render", "--env", "local").code == 0
    code = (project / "actions" / "local" / f"{REDIRECT}.js").read_text("utf-8")
    assert (
        f"// secrets (names only; values live in Auth0): CONSENT_LEDGER_SECRET, {SECRET} "
        "(version 2)\n" in code
    )
    assert header_secret_versions(code) == {SECRET: 2}
    # An action that does not use the secret is not changed by its version.
    first = (project / "actions" / "local" / f"{FIRST}.js").read_text("utf-8")
    assert header_secret_versions(first) == {}
    assert cli("render", "--check", "--env", "local").code == 0


def test_a_version_for_a_secret_no_action_uses_is_refused(project: Path, cli: Any) -> None:
    path = project / "tenant.yaml"
    path.write_text(
        path.read_text("utf-8").replace(
            "  local:\n    domain: local\n",
            "  local:\n    domain: local\n    secret_versions:\n      CONSENT_SESION_SECRET: 2\n",
        ),
        encoding="utf-8",
    )
    result = cli("config", "validate")
    assert result.code == 1
    assert "secret_versions.CONSENT_SESION_SECRET" in result.out + result.err
    assert "no action or module declares this secret" in result.out + result.err


def test_a_version_for_a_secret_of_a_headerless_action_is_refused(project: Path, cli: Any) -> None:
    """An imported action (header: false, adopted from this tenant) has no header to record
    a version in: a raised version would leave it on the old value, the mismatch this
    feature exists to prevent."""
    set_version(project, 2)
    path = project / "tenant.yaml"
    text = path.read_text("utf-8")
    text, found = re.subn(
        rf"(?m)^(  - name: {REDIRECT}\n)", r"\g<1>    header: false\n", text, count=1
    )
    assert found == 1
    # header: false matters only where the action was adopted from the tenant (import):
    # elsewhere this tool creates it with its header, and the version is recorded.
    path.write_text(text, encoding="utf-8")
    assert cli("config", "validate").code == 0
    text = text.replace(
        "    secret_versions:\n",
        f"    adopted:\n      actions:\n        {REDIRECT}: act_1\n    secret_versions:\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    result = cli("config", "validate")
    assert result.code == 1
    assert f"secret_versions.{SECRET}" in result.out + result.err
    assert f"apply --push-secrets {SECRET}" in result.out + result.err


# --- plan and apply: a raised version pushes the value ------------------------------------
def test_a_raised_version_plans_a_push_and_apply_sends_the_rotated_value(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    assert cli("apply", "--yes").code == 0
    old = local_values(project)[SECRET]
    assert cli("secrets", "rotate", SECRET).code == 0
    new = local_values(project)[SECRET]
    assert new != old
    # Rotated but not raised: nothing in the tenant tells the plan (Auth0 hides values).
    assert cli("plan", "--detailed-exitcode").code == 0

    set_version(project, 2)
    assert cli("render", "--env", "local").code == 0
    text = cli("plan", "--detailed-exitcode")
    assert text.code == 2
    assert (
        f"update post-login/{REDIRECT}: code, secret_values (pushes the values of {SECRET})"
        in text.out
    )
    assert f'secret_values: {{"{SECRET}": null}} -> {{"{SECRET}": 2}}' in text.out
    assert f"deploy post-login/{REDIRECT} (replacing version 1)" in text.out
    assert "0 to create, 1 to update, 1 to deploy" in text.out
    data = cli("plan", "-o", "json").json()
    [update] = [c for c in data["changes"] if c["kind"] == "update"]
    assert update["action"] == REDIRECT
    assert update["fields"] == ["code", "secret_values"]
    assert update["pushed"] == [SECRET]
    assert update["values"]["secret_values"] == {"live": {SECRET: None}, "desired": {SECRET: 2}}
    markdown = cli("plan", "-o", "markdown")
    for run in (text, markdown):
        assert_no_value(run.out + run.err, old, new)
    assert_no_value(json.dumps(data), old, new)

    applied = cli("apply", "--yes", "-o", "json")
    assert applied.code == 0, applied.err
    assert_no_value(applied.out + applied.err, old, new)
    assert applied.json()["verified"] is True
    # One PATCH of the redirect action, with every secret it uses and the new value
    # (Auth0's PATCH replaces the list, so the ledger's key is sent along, unchanged).
    [body] = secret_patches(apps[-1])
    ledger_key = local_values(project)["CONSENT_LEDGER_SECRET"]
    assert body["secrets"] == [
        {"name": "CONSENT_LEDGER_SECRET", "value": ledger_key},
        {"name": SECRET, "value": new},
    ]
    assert [s["step"] for s in applied.json()["steps"]] == ["update", "build", "deploy"]
    assert cli("plan", "--detailed-exitcode").code == 0


def test_lowering_or_dropping_a_version_pushes_too(project: Path, cli: Any) -> None:
    set_version(project, 3)
    assert cli("render", "--env", "local").code == 0
    assert cli("apply", "--yes").code == 0
    set_version(project, 2)
    assert cli("render", "--env", "local").code == 0
    data = cli("plan", "-o", "json").json()
    [update] = [c for c in data["changes"] if c["kind"] == "update"]
    assert update["pushed"] == [SECRET]
    assert update["values"]["secret_values"] == {"live": {SECRET: 3}, "desired": {SECRET: 2}}


def test_apply_text_output_never_shows_a_value(project: Path, cli: Any) -> None:
    assert cli("apply", "--yes").code == 0
    assert cli("secrets", "rotate", SECRET).code == 0
    set_version(project, 2)
    assert cli("render", "--env", "local").code == 0
    applied = cli("apply", "--yes")
    assert applied.code == 0, applied.err
    assert f"updated post-login/{REDIRECT}: code, secret_values" in applied.out
    assert_no_value(applied.out + applied.err, *local_values(project).values())


# --- --push-secrets: once, with no version -------------------------------------------------
def test_push_secrets_sends_the_value_without_a_version(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    assert cli("apply", "--yes").code == 0
    assert cli("secrets", "rotate", SECRET).code == 0
    new = local_values(project)[SECRET]

    preview = cli("plan", "--push-secrets", SECRET, "--detailed-exitcode")
    assert preview.code == 2
    assert f"update post-login/{REDIRECT}: secret_values (pushes the values of {SECRET})" in (
        preview.out
    )
    assert f"deploy post-login/{REDIRECT} (replacing version 1)" in preview.out
    data = cli("plan", "--push-secrets", SECRET, "-o", "json").json()
    [deploy] = [c for c in data["changes"] if c["kind"] == "deploy"]
    assert deploy["reason"] == "secret-values"
    [update] = [c for c in data["changes"] if c["kind"] == "update"]
    assert (update["fields"], update["pushed"], update["values"]) == (
        ["secret_values"],
        [SECRET],
        {},
    )

    applied = cli("apply", "--yes", "--push-secrets", SECRET)
    assert applied.code == 0, applied.err
    assert_no_value(applied.out + applied.err, new)
    # The code is unchanged: only the secrets are sent, then a new version is deployed.
    [body] = secret_patches(apps[-1])
    ledger_key = local_values(project)["CONSENT_LEDGER_SECRET"]
    assert body == {
        "secrets": [
            {"name": "CONSENT_LEDGER_SECRET", "value": ledger_key},
            {"name": SECRET, "value": new},
        ]
    }
    assert "Verified: a fresh plan is empty." in applied.out
    assert cli("plan", "--detailed-exitcode").code == 0


def test_push_secrets_of_an_unknown_name_is_refused_naming_it(project: Path, cli: Any) -> None:
    for command in ("plan", "apply"):
        args = [command, "--push-secrets", "NO_SUCH_SECRET"]
        result = cli(*args, "--yes") if command == "apply" else cli(*args)
        assert result.code == 1
        assert "NO_SUCH_SECRET" in result.err
        assert SECRET in result.err  # the names it could have meant


def test_a_saved_plan_carries_its_pushes(project: Path, cli: Any, apps: list[Emulator]) -> None:
    assert cli("apply", "--yes").code == 0
    saved = project / "push.plan.json"
    assert cli("plan", "--push-secrets", SECRET, "--out", str(saved)).code == 0
    assert json.loads(saved.read_text("utf-8"))["push_secrets"] == [SECRET]
    assert_no_value(saved.read_text("utf-8"), *local_values(project).values())

    other = cli("apply", str(saved), "--yes", "--push-secrets", "OTHER")
    assert other.code == 1
    assert f"the saved plan pushes {SECRET}" in other.err

    applied = cli("apply", str(saved), "--yes")
    assert applied.code == 0, applied.err
    assert len(secret_patches(apps[-1])) == 1
    assert cli("plan", "--detailed-exitcode").code == 0


# --- secrets rotate ---------------------------------------------------------------------
def test_secrets_rotate_replaces_the_local_value_and_never_prints_it(
    project: Path, cli: Any
) -> None:
    assert cli("apply", "--yes").code == 0  # creates the local secrets
    before = local_values(project)
    result = cli("secrets", "rotate", SECRET, "-o", "json")
    assert result.code == 0
    assert result.json() == {
        "ok": True,
        "environment": "local",
        "secret": SECRET,
        "next_version": 1,
    }
    after = local_values(project)
    assert after[SECRET] != before[SECRET]
    assert (project / ".auth0-local" / "secrets.json").stat().st_mode & 0o777 == 0o600
    text = cli("secrets", "rotate", SECRET)
    assert f"secret_versions.{SECRET}: 1" in text.out
    assert_no_value(result.out + text.out, before[SECRET], after[SECRET])
    assert_no_value(text.out, local_values(project)[SECRET])

    unknown = cli("secrets", "rotate", "NOPE")
    assert unknown.code == 1
    assert "NOPE" in unknown.err


def test_rotating_the_ledger_key_keeps_the_old_keys_for_stored_macs(
    project: Path, cli: Any
) -> None:
    """CONSENT_LEDGER_SECRET is a keyring: rotation puts a new key first, keeps the old."""
    assert cli("apply", "--yes").code == 0  # creates the local secrets
    old = local_values(project)["CONSENT_LEDGER_SECRET"]
    assert len(old.split()) == 1
    assert cli("secrets", "rotate", "CONSENT_LEDGER_SECRET").code == 0
    once = local_values(project)["CONSENT_LEDGER_SECRET"].split()
    assert len(once) == 2
    assert once[1] == old
    assert once[0] != old
    assert cli("secrets", "rotate", "CONSENT_LEDGER_SECRET").code == 0
    assert local_values(project)["CONSENT_LEDGER_SECRET"].split()[1:] == once


@pytest.mark.remote_envs
def test_secrets_rotate_of_a_real_environment_points_at_its_variable(
    project: Path, cli: Any
) -> None:
    result = cli("secrets", "rotate", SECRET, "--env", "dev")
    assert result.code == 1
    assert "rotate it in your secret store" in result.err
    assert f"environments.dev.secret_versions.{SECRET}" in result.err


# --- the consent page and the Action read the same rotated value, in a browser -------------
def _run(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    capsys.readouterr()
    code = main(["--config", str(root / "tenant.yaml"), *args])
    captured = capsys.readouterr()
    assert code == 0, f"auth0-actions {' '.join(args)} exited {code}: {captured.err}"
    return captured.out + captured.err


def _sign_in(browser: Any, app: RelyingParty, email: str) -> Page:
    page: Page = browser.new_context().new_page()
    page.goto(f"{app.base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    return page


def _accept(page: Page, app: RelyingParty) -> dict[str, str]:
    """Agree to every purpose the consent page asks about, and send."""
    for choice in page.get_by_label("I agree", exact=True).all():
        choice.check()
    page.get_by_role("button", name="Send my decisions").click()
    page.wait_for_url(f"{app.base_url}/callback?**")
    return app.arrivals[-1].query


@pytest.fixture
def served(scaffolded: Path, tmp_path: Path) -> Iterator[tuple[Path, LocalTenant]]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: ./dev test installs Debian's chromium"
    root = tmp_path / "project"
    shutil.copytree(scaffolded, root, symlinks=True)
    with LocalTenant.open(root, port=0) as local:
        local.write_credentials()
        path = root / "tenant.yaml"
        path.write_text(
            path.read_text("utf-8").replace(
                "    domain: local\n", f"    domain: {local.base_url}\n", 1
            ),
            encoding="utf-8",
        )
        yield root, local


def test_a_rotated_consent_secret_reaches_the_page_and_the_action(
    served: tuple[Path, LocalTenant], capsys: pytest.CaptureFixture[str]
) -> None:
    root, local = served
    settings = settings_for_environment(load_tenant(root / "tenant.yaml"), "local")
    page_server = ConsentPageThread(settings).start()
    port = urlsplit(page_server.base_url).port
    assert port is not None
    path = root / "tenant.yaml"
    path.write_text(
        path.read_text("utf-8").replace("http://127.0.0.1:8766/consent", page_server.page_url),
        encoding="utf-8",
    )
    app = RelyingParty(local.base_url).start()
    login_client(local.app, [f"{app.base_url}/callback"], client_id=app.client_id)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            _run(capsys, root, "render", "--env", "local")
            _run(capsys, root, "apply", "--env", "local", "--yes")
            [user] = local.seed(
                [{"email": "rotate@example.com", "connection": CONNECTION, "password": PASSWORD}]
            )
            old = local_values(root)[SECRET]

            # The platform engineer rotates the secret and raises its version ...
            _run(capsys, root, "secrets", "rotate", SECRET, "--env", "local")
            new = local_values(root)[SECRET]
            set_version(root, 2)
            _run(capsys, root, "render", "--env", "local")
            # ... and the consent page restarts with the new value, on the same address.
            page_server.stop()
            page_server = ConsentPageThread(
                settings_for_environment(load_tenant(path), "local"), port=port
            ).start()

            # Before apply the Action still signs with the old value: the page refuses it.
            refused = _sign_in(browser, app, user["email"])
            assert urlsplit(refused.url).port == port
            assert refused.get_by_role("heading", level=1).inner_text() == (
                "This consent link is not valid"
            )
            assert "The session token's signature is not valid." in refused.inner_text("body")

            planned = _run(capsys, root, "plan", "--env", "local")
            assert f"pushes the values of {SECRET}" in planned
            applied = _run(capsys, root, "apply", "--env", "local", "--yes")
            assert f"updated post-login/{REDIRECT}: code, secret_values" in applied
            assert_no_value(planned + applied, old, new)

            # After apply the Action signs with the new value: the consent login succeeds.
            page = _sign_in(browser, app, user["email"])
            assert page.get_by_role("heading", level=1).inner_text() == ("Please review and decide")
            query = _accept(page, app)
            assert "code" in query, query
            assert app.arrivals[-1].tokens is not None
            assert_no_value(json.dumps([a.query for a in app.arrivals]), old, new)
        finally:
            browser.close()
            app.stop()
            page_server.stop()
