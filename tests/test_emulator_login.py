"""The local tenant's login flow runs the bound consent actions in the sandbox.

docs/reference/actions-runtime.md §1: bindings run in order; sendUserTo suspends with state;
/continue resumes in onContinuePostLogin; metadata is persisted when the
trigger ends; deny reaches the application as error=access_denied.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from emulator_support import login_client, management_token

from auth0_actions.clock import iso_utc
from auth0_actions.config import load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.texts import text_hashes
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.server import ServerThread
from auth0_actions.scenarios.runner import sign_token

SECRET = "login-flow-secret-0123456789abcdef"
LEDGER_SECRET = "login-flow-ledger-secret-0123456789"
MARKETING_CLAIM = "https://example.com/consent/marketing"
APP = "https://app.example.com/callback"
PASSWORD = "correct horse battery staple"


def _rendered(project: Path, name: str) -> str:
    """The action as `init` renders it for the local environment."""
    return (project / "actions" / "local" / f"{name}.js").read_text(encoding="utf-8")


def _action(project: Path, name: str, secrets_: dict[str, str]) -> dict[str, Any]:
    code = _rendered(project, name)
    return {
        "id": f"id-{name}",
        "name": name,
        "code": code,
        "deployed_version": {"id": f"v-{name}", "code": code, "number": 1, "deployed": True},
        "_secret_values": secrets_,
    }


def _user(email: str, metadata: dict[str, Any]) -> dict[str, Any]:
    salt = secrets.token_hex(8)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**12, r=8, p=1).hex()
    return {
        "user_id": "auth0|" + hashlib.sha256(email.encode()).hexdigest()[:24],
        "email": email,
        "name": email.split("@")[0],
        "created_at": iso_utc(),
        "identities": [
            {
                "connection": "Username-Password-Authentication",
                "provider": "auth0",
                "isSocial": False,
                "user_id": "x",
            }
        ],
        "user_metadata": metadata,
        "app_metadata": {},
        "_password_hash": f"scrypt${salt}${digest}",
    }


@pytest.fixture
def tenant(scaffolded: Path) -> Iterator[tuple[Emulator, str]]:
    app = Emulator()
    store = app.store
    first = _action(scaffolded, "consent-on-first-login", {"CONSENT_LEDGER_SECRET": LEDGER_SECRET})
    redirect = _action(
        scaffolded,
        "consent-redirect",
        {"CONSENT_SESSION_SECRET": SECRET, "CONSENT_LEDGER_SECRET": LEDGER_SECRET},
    )
    for action in (first, redirect):
        store.put("action", action["id"], action)
    store.put(
        "bindings",
        "post-login",
        {
            "trigger_id": "post-login",
            "bindings": [
                {"id": "b1", "action_id": first["id"], "display_name": first["name"]},
                {"id": "b2", "action_id": redirect["id"], "display_name": redirect["name"]},
            ],
        },
    )
    login_client(app, [APP])
    server = ServerThread(app).start()
    try:
        yield app, server.base_url
    finally:
        server.stop()
        if getattr(app, "login_flow", None) and app.login_flow._pool:
            app.login_flow._pool.close()


def _login(base: str, email: str, client: httpx.Client | None = None) -> httpx.Response:
    """Sign in from ``client`` (a browser: it keeps the transaction's cookie for /continue)."""
    client = client or httpx.Client(base_url=base, follow_redirects=False)
    page = client.get(
        "/authorize",
        params={
            "client_id": "app",
            "redirect_uri": APP,
            "response_type": "code",
            "state": "app-state",
            "scope": "openid email",
        },
    )
    assert page.status_code == 200
    tx = page.text.split('name="tx" value="')[1].split('"')[0]
    return client.post("/u/login", data={"tx": tx, "email": email, "password": PASSWORD})


def exchange(code: str) -> dict[str, str]:
    """The code grant of the public test application (RFC 6749 s. 4.1.3)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "app",
        "redirect_uri": APP,
    }


def _answer(
    scaffolded: Path, query: dict[str, str], decisions: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    """The consent page's result token for the purposes the session token asks (English)."""
    incoming = jwt.decode(query["session_token"], SECRET, algorithms=["HS256"])
    policy = load_tenant(scaffolded / "tenant.yaml").environment("local").consent
    hashes = text_hashes(scaffolded, policy)
    asked = incoming["purposes"]
    now = int(time.time())
    token = sign_token(
        {
            "iat": now,
            "exp": now + 60,
            "sub": incoming["sub"],
            "iss": incoming["iss"],
            "state": query["state"],
            "decisions": decisions,
            "versions": {p["id"]: p["version"] for p in asked},
            "texts": {p["id"]: hashes[p["id"]]["en"] for p in asked},
            "language": "en",
        },
        SECRET,
    )
    return token, incoming


def test_consent_round_trip_records_consent_and_issues_tokens(
    tenant: tuple[Emulator, str], scaffolded: Path
) -> None:
    app, base = tenant
    user = _user("new@example.com", {"theme": "dark"})
    app.store.put("user", user["user_id"], user)

    browser = httpx.Client(base_url=base, follow_redirects=False)
    to_page = _login(base, "new@example.com", browser)
    assert to_page.status_code == 302
    page_url = urlsplit(to_page.headers["location"])
    query = {k: v[-1] for k, v in parse_qs(page_url.query).items()}
    assert page_url.path == "/consent"
    answer, incoming = _answer(scaffolded, query, {"terms": "given", "marketing": "given"})
    assert incoming["sub"] == user["user_id"]
    assert [(p["id"], p["version"]) for p in incoming["purposes"]] == [
        ("terms", "2026-11-01"),
        ("marketing", "2026-11-01"),
    ]
    back = browser.post(
        "/continue", params={"state": query["state"]}, data={"session_token": answer}
    )
    assert back.status_code == 302
    app_query = parse_qs(urlsplit(back.headers["location"]).query)
    assert app_query["state"] == ["app-state"]
    code = app_query["code"][0]

    stored = app.store.get("user", user["user_id"])
    assert stored["user_metadata"]["theme"] == "dark"
    assert stored["user_metadata"]["consent"]["given"] is True
    assert stored["user_metadata"]["consent"]["method"] == "page"
    # The ledger, persisted from the trigger's setAppMetadata, verifies with the key.
    ledger = stored["app_metadata"]["consent_ledger"]
    assert ledgers.verify(ledger, LEDGER_SECRET.encode()) == []
    assert [(e["purpose"], e["method"]) for e in ledger["events"]] == [
        ("terms", "page"),
        ("marketing", "page"),
    ]

    tokens = httpx.post(
        f"{base}/oauth/token",
        data=exchange(code),
    ).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["sub"] == user["user_id"]
    assert claims["aud"] == "app"
    assert claims[MARKETING_CLAIM] is True
    # A code is good once.
    again = httpx.post(f"{base}/oauth/token", data=exchange(code))
    assert again.status_code == 403


def test_decline_ends_at_the_app_with_the_reason(
    tenant: tuple[Emulator, str], scaffolded: Path
) -> None:
    app, base = tenant
    user = _user("decliner@example.com", {})
    app.store.put("user", user["user_id"], user)
    browser = httpx.Client(base_url=base, follow_redirects=False)
    away = _login(base, "decliner@example.com", browser)
    query = {k: v[-1] for k, v in parse_qs(urlsplit(away.headers["location"]).query).items()}
    answer, _ = _answer(scaffolded, query, {"terms": "declined", "marketing": "declined"})
    back = browser.post(
        "/continue", params={"state": query["state"]}, data={"session_token": answer}
    )
    result = parse_qs(urlsplit(back.headers["location"]).query)
    assert result["error"] == ["access_denied"]
    assert "accept the terms" in result["error_description"][0]
    stored = app.store.get("user", user["user_id"])
    assert stored["user_metadata"]["consent"]["given"] is False
    # The decline is evidence too: recorded before the login was denied.
    assert stored["app_metadata"]["consent_ledger"]["state"]["terms"]["given"] is False


def test_signup_consent_needs_no_redirect(tenant: tuple[Emulator, str]) -> None:
    app, base = tenant
    user = _user("ticked@example.com", {"terms_accepted": "true", "marketing_opt_in": "true"})
    app.store.put("user", user["user_id"], user)
    done = _login(base, "ticked@example.com")
    assert done.status_code == 302
    assert done.headers["location"].startswith(APP + "?code=")
    metadata = app.store.get("user", user["user_id"])["user_metadata"]
    assert "terms_accepted" not in metadata
    assert metadata["consent"]["method"] == "signup"
    ledger = app.store.get("user", user["user_id"])["app_metadata"]["consent_ledger"]
    assert sorted(ledger["state"]) == ["marketing", "terms"]


def test_wrong_password_and_unknown_state(tenant: tuple[Emulator, str]) -> None:
    app, base = tenant
    user = _user("someone@example.com", {})
    app.store.put("user", user["user_id"], user)
    client = httpx.Client(base_url=base)
    page = client.get("/authorize", params={"client_id": "app", "redirect_uri": APP})
    tx = page.text.split('name="tx" value="')[1].split('"')[0]
    wrong = client.post(
        "/u/login", data={"tx": tx, "email": "someone@example.com", "password": "nope"}
    )
    # The error stays on the form (Universal Login answers the POST with the form again).
    assert wrong.status_code == 400
    assert 'role="alert"' in wrong.text
    assert f'value="{tx}"' in wrong.text
    stale = client.post("/continue", params={"state": "never-issued"})
    assert stale.status_code == 400
    assert stale.json()["errorCode"] == "invalid_request"


def test_login_runs_actions_deployed_and_bound_through_the_api(scaffolded: Path) -> None:
    """The whole chain over HTTP: create and deploy the consent actions, bind them in
    order, create a user, log in: the bound redirect action sends the user to the page."""
    app = Emulator()
    login_client(app, [APP])
    server = ServerThread(app).start()
    try:
        base = server.base_url
        token = management_token(app, base)
        api = httpx.Client(base_url=f"{base}/api/v2", headers={"authorization": f"Bearer {token}"})
        ids = []
        for name, secrets_ in (
            ("consent-on-first-login", [{"name": "CONSENT_LEDGER_SECRET", "value": SECRET}]),
            (
                "consent-redirect",
                [
                    {"name": "CONSENT_SESSION_SECRET", "value": SECRET},
                    {"name": "CONSENT_LEDGER_SECRET", "value": SECRET},
                ],
            ),
        ):
            created = api.post(
                "/actions/actions",
                json={
                    "name": name,
                    "supported_triggers": [{"id": "post-login", "version": "v3"}],
                    "code": _rendered(scaffolded, name),
                    "secrets": secrets_,
                },
            )
            assert created.status_code == 201, created.text
            action_id = created.json()["id"]
            assert "value" not in str(created.json()["secrets"])
            assert api.post(f"/actions/actions/{action_id}/deploy").status_code == 200
            ids.append(action_id)
        bound = api.patch(
            "/actions/triggers/post-login/bindings",
            json={
                "bindings": [
                    {"ref": {"type": "action_id", "value": i}, "display_name": f"b{n}"}
                    for n, i in enumerate(ids)
                ]
            },
        )
        assert bound.status_code == 200, bound.text
        user = api.post(
            "/users",
            json={
                "connection": "Username-Password-Authentication",
                "email": "api-made@example.com",
                "password": PASSWORD,
                "user_metadata": {"locale": "en"},
            },
        )
        assert user.status_code == 201, user.text

        to_page = _login(base, "api-made@example.com")
        assert to_page.status_code == 302
        location = urlsplit(to_page.headers["location"])
        assert location.path == "/consent"
        assert "session_token" in parse_qs(location.query)
        log = [(e.method, e.path) for e in app.injector.requests()]
        assert ("POST", "/u/login") in log
    finally:
        server.stop()
        if app.login_flow._pool:
            app.login_flow._pool.close()


def test_id_token_carries_custom_claims_and_deny_reaches_the_app() -> None:
    """§1: idToken.setCustomClaim ends up in the id_token; access.deny ends the login
    at the application with error=access_denied and the reason."""
    app = Emulator()
    login_client(app, [APP])
    claim = (
        "exports.onExecutePostLogin = async (event, api) => {\n"
        "  if (event.user.email.startsWith('blocked')) {\n"
        "    api.access.deny('Blocked by policy');\n"
        "    return;\n"
        "  }\n"
        "  api.idToken.setCustomClaim('https://example.com/roles', ['reader']);\n"
        "};\n"
    )
    app.store.put(
        "action",
        "a1",
        {"id": "a1", "name": "claims", "code": claim, "deployed_version": {"code": claim}},
    )
    app.store.put(
        "bindings",
        "post-login",
        {
            "trigger_id": "post-login",
            "bindings": [{"id": "b1", "action_id": "a1", "display_name": "claims"}],
        },
    )
    for email in ("reader@example.com", "blocked@example.com"):
        user = _user(email, {})
        app.store.put("user", user["user_id"], user)
    server = ServerThread(app).start()
    try:
        done = _login(server.base_url, "reader@example.com")
        code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
        tokens = httpx.post(
            f"{server.base_url}/oauth/token",
            data=exchange(code),
        ).json()
        claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        assert claims["https://example.com/roles"] == ["reader"]

        denied = _login(server.base_url, "blocked@example.com")
        result = parse_qs(urlsplit(denied.headers["location"]).query)
        assert result["error"] == ["access_denied"]
        assert result["error_description"] == ["Blocked by policy"]
        assert result["state"] == ["app-state"]
    finally:
        server.stop()
        app.close()
