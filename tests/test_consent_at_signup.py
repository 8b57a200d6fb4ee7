"""Consent at signup, the Universal Login way, then the first login.

Universal Login's signup prompt sends its custom fields (``ulp-`` names) to the
pre-user-registration trigger in ``event.request.body``
(https://auth0.com/docs/customize/login-pages/universal-login/customize-signup-and-login-prompts);
the scaffold's ``consent-at-signup`` Action turns the consent checkboxes into the consent
ledger the new user is created with (app_metadata, with its readable mirror in
user_metadata). The ledger must be one the post-login Actions accept: the user signs
up, logs in, and is neither asked again nor rewritten. The user is created with the
metadata the pre-user-registration actions set
(https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger/pre-user-registration-api-object),
and the login sees it in ``event.user``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from auth0_actions.cli.main import main
from auth0_actions.config import load_tenant
from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.scaffold import init_project
from auth0_actions.triggers import registry

SECRET = "test-session-secret-0123456789abcdef"
LEDGER = "test-ledger-secret-0123456789abcdef"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new project exactly as `auth0-actions init` writes it (consent-at-signup included)."""
    root = tmp_path / "project"
    init_project(root)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2) as opened:
        yield opened


def _unit(project: Path, name: str, secrets: dict[str, str] | None = None) -> dict[str, Any]:
    path = project / "actions" / "local" / f"{name}.js"
    return {
        "name": name,
        "code": path.read_text(),
        "filename": str(path),
        "secrets": {"CONSENT_LEDGER_SECRET": LEDGER, **(secrets or {})},
        "deps_dir": None,
    }


def _with_layout(project: Path, layout: str) -> None:
    path = project / "tenant.yaml"
    config = yaml.safe_load(path.read_text())
    config["consent"]["metadata"] = {"layout": layout}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    assert main(["render", "--env", "local"]) == 0


@pytest.mark.parametrize("layout", ["nested", "root"])
def test_a_universal_login_signup_with_consent_logs_in_without_being_asked_again(
    project: Path, pool: SandboxPool, layout: str
) -> None:
    _with_layout(project, layout)
    signup = registry.get("pre-user-registration")
    created = pool.call(
        {
            "op": signup.id,
            "units": [_unit(project, "consent-at-signup")],
            "event": signup.build_event(
                {"request": {"body": {"ulp-terms_accepted": "on", "ulp-marketing_opt_in": "on"}}}
            ),
            "resume": None,
        }
    )
    assert created.result is not None, created.failure
    assert created.result["status"] == "completed"
    stored = created.result["user_metadata"]
    app_metadata = created.result["app_metadata"]
    assert stored, "the signup wrote the consent mirror"
    assert app_metadata["consent_ledger"]["state"]["terms"]["given"] is True

    login = registry.get("post-login")
    units = [
        _unit(project, "consent-on-first-login"),
        _unit(project, "consent-redirect", {"CONSENT_SESSION_SECRET": SECRET}),
    ]
    event = login.build_event(
        {
            "user": {"user_metadata": stored, "app_metadata": app_metadata},
            "stats": {"logins_count": 1},
        }
    )
    first = pool.call({"op": login.id, "units": units, "event": event, "resume": None})
    assert first.result is not None, first.failure
    assert first.result["status"] == "completed"
    assert first.result["redirect"] is None  # not sent to the consent page
    # Nothing rewritten: the only command is the marketing claim.
    assert [c["type"] for c in first.result["commands"]] == ["idToken.setCustomClaim"]
    assert first.result["user_metadata"] == stored
    assert first.result["app_metadata"] == app_metadata
    assert first.result["id_token_claims"] == {"https://example.com/consent/marketing": True}


def test_a_signup_without_consent_creates_no_user_and_says_why(
    project: Path, pool: SandboxPool
) -> None:
    signup = registry.get("pre-user-registration")
    reason = load_tenant(project / "tenant.yaml").config.consent.on_decline.reason
    refused = pool.call(
        {
            "op": signup.id,
            "units": [_unit(project, "consent-at-signup")],
            "event": signup.build_event(),
            "resume": None,
        }
    )
    assert refused.result is not None, refused.failure
    assert refused.result["status"] == "denied"
    # api.access.deny(reason, userMessage): the log gets the reason, the user the message.
    assert refused.result["deny"]["user_message"] == reason
    assert "signup without consent" in refused.result["deny"]["reason"]
    assert refused.result["user_metadata"] == {}
    assert refused.result["app_metadata"] == {}
