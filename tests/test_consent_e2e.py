"""The consent round trip in a real browser: headless Chromium (Debian's /usr/bin/chromium).

All on loopback: the project's local tenant served (the rendered
actions/local/ applied to it), the reference consent page, and a tiny
relying-party application that starts /authorize, receives the code and
exchanges it at /oauth/token. The browser signs in on the tenant's login
form, reaches the consent page, decides, and lands back at the application;
the consent record is then read through the tenant's Management API.

These tests fail, never skip, when Chromium is missing: `./dev test` installs it.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from emulator_support import login_client
from playwright.sync_api import Browser, Page, sync_playwright

from auth0_actions.cli.main import main
from auth0_actions.config import load_tenant
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.consent_page.settings import settings_for_environment
from auth0_actions.emulator.tenant import LocalTenant

# Screenshots for people to look at, beside the tests (git-ignored).
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
CONNECTION = "Username-Password-Authentication"
TERMS = "2026-11-01"
DECLINE_REASON = "You must accept the terms of service to use this application."


# --- the relying party: starts the login, takes the code, exchanges it -------------------
@dataclass
class Arrival:
    """What the application received at its callback."""

    query: dict[str, str]
    tokens: dict[str, Any] | None = None


@dataclass
class RelyingParty:
    tenant_url: str
    client_id: str = "e2e-app"
    arrivals: list[Arrival] = field(default_factory=list)
    states: set[str] = field(default_factory=set)
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> RelyingParty:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/login":
                    state = secrets.token_urlsafe(12)
                    app.states.add(state)
                    query = urlencode(
                        {
                            "client_id": app.client_id,
                            "redirect_uri": f"{app.base_url}/callback",
                            "response_type": "code",
                            "scope": "openid email",
                            "state": state,
                        }
                    )
                    self._reply(302, "", {"Location": f"{app.tenant_url}/authorize?{query}"})
                elif parts.path == "/callback":
                    self._reply(200, app.callback(parts.query), {})
                else:
                    self._reply(404, "not found", {})

            def _reply(self, status: int, text: str, headers: dict[str, str]) -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def callback(self, raw_query: str) -> str:
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        arrival = Arrival(query)
        self.arrivals.append(arrival)
        if query.get("state") not in self.states:
            return "<h1>Unknown state</h1>"
        if "error" in query:
            return f"<h1>Sign-in failed</h1><p id='error'>{query['error']}</p>"
        exchanged = httpx.post(
            f"{self.tenant_url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": self.client_id,
                "code": query["code"],
                "redirect_uri": f"{self.base_url}/callback",
            },
        )
        exchanged.raise_for_status()
        arrival.tokens = exchanged.json()
        return "<h1>Signed in</h1>"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# --- the stack: tenant, consent page, application, browser ---------------------------------
@dataclass
class Stack:
    root: Path
    local: LocalTenant
    page: ConsentPageThread
    app: RelyingParty
    browser: Browser

    def cli(self, *args: str) -> None:
        code = main(["--config", str(self.root / "tenant.yaml"), *args])
        assert code == 0, f"auth0-actions {' '.join(args)} exited {code}"

    def render_and_apply(self, terms_version: str) -> None:
        """Render actions/local/ for this terms version and apply them to the served tenant."""
        path = self.root / "tenant.yaml"
        text = re.sub(
            r"(?m)^(    consent:\n)(      terms_version: .*\n)?",
            lambda m: f'{m.group(1)}      terms_version: "{terms_version}"\n',
            path.read_text(encoding="utf-8"),
            count=1,
        )
        path.write_text(text, encoding="utf-8")
        self.cli("render", "--env", "local")
        self.cli("apply", "--env", "local", "--yes")

    def seed(self, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        email = f"user-{secrets.token_hex(4)}@example.com"
        user = {"email": email, "connection": CONNECTION, "password": PASSWORD}
        if metadata is not None:
            user["user_metadata"] = metadata
        [created] = self.local.seed([user])
        return created

    def user_metadata(self, user_id: str) -> dict[str, Any]:
        """Through the Management API, as any client of the tenant would read it."""
        token = httpx.post(
            f"{self.local.base_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.local.client_id,
                "client_secret": self.local.client_secret.reveal(),
                "audience": self.local.audience,
            },
        ).json()["access_token"]
        user = httpx.get(
            f"{self.local.base_url}/api/v2/users/{user_id}",
            headers={"authorization": f"Bearer {token}"},
        )
        user.raise_for_status()
        return dict(user.json().get("user_metadata") or {})

    def sign_in(self, email: str) -> Page:
        """A fresh browser profile starts at the application and signs in on the tenant."""
        context = self.browser.new_context()
        page = context.new_page()
        page.goto(f"{self.app.base_url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
        return page


def _copy_project(source: Path, root: Path) -> None:
    shutil.copytree(source, root, symlinks=True)


def _edit_tenant_yaml(root: Path, old: str, new: str) -> None:
    path = root / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"tenant.yaml no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, scaffolded: Path) -> Iterator[Stack]:
    # Fail, never skip: a missing browser is a broken setup, not an optional feature.
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: ./dev test installs Debian's chromium"
    root = tmp_path_factory.mktemp("consent-e2e") / "project"
    _copy_project(scaffolded, root)
    with LocalTenant.open(root, port=0) as local, sync_playwright() as playwright:
        local.write_credentials()
        # The local environment deploys to this served tenant ...
        _edit_tenant_yaml(root, "    domain: local\n", f"    domain: {local.base_url}\n")
        settings = settings_for_environment(load_tenant(root / "tenant.yaml"), "local")
        page = ConsentPageThread(settings).start()
        # ... and its redirect Action sends users to this consent page (a free port).
        _edit_tenant_yaml(root, "http://127.0.0.1:8766/consent", page.page_url)
        app = RelyingParty(local.base_url).start()
        # The relying party is a registered application with its exact callback URL.
        login_client(local.app, [f"{app.base_url}/callback"], client_id=app.client_id)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        stack = Stack(root, local, page, app, browser)
        try:
            stack.render_and_apply(TERMS)
            yield stack
        finally:
            browser.close()
            app.stop()
            page.stop()


def _arrival(stack: Stack, page: Page) -> Arrival:
    assert urlsplit(page.url).path == "/callback", page.url
    return stack.app.arrivals[-1]


def _decide(stack: Stack, page: Page, button: str) -> Arrival:
    """Click Accept or Decline; the browser ends at the application's callback."""
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{stack.app.base_url}/callback?**")
    return _arrival(stack, page)


def _accept(stack: Stack, page: Page) -> Arrival:
    return _decide(stack, page, "Accept")


# --- the scenarios --------------------------------------------------------------------------
def test_accepting_records_consent_and_the_application_gets_tokens(stack: Stack) -> None:
    user = stack.seed({"theme": "dark"})
    page = stack.sign_in(user["email"])

    assert urlsplit(page.url).netloc == urlsplit(stack.page.base_url).netloc
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Please accept our terms of service"
    )
    assert TERMS in page.locator(".version").inner_text()
    terms = page.get_by_role("link", name="Read the terms of service")
    assert terms.get_attribute("href") == f"https://example.com/legal/terms/{TERMS}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "consent-page.png"), full_page=True)
    # Keyboard users reach the buttons, and focus is visible on them.
    page.get_by_role("button", name="Accept").focus()
    outline = page.get_by_role("button", name="Accept").evaluate(
        "el => getComputedStyle(el).outlineStyle"
    )
    assert outline == "solid"

    arrival = _accept(stack, page)
    assert "code" in arrival.query, arrival.query
    assert arrival.tokens is not None
    claims = jwt.decode(arrival.tokens["id_token"], options={"verify_signature": False})
    assert claims["sub"] == user["user_id"]
    assert page.get_by_role("heading", level=1).inner_text() == "Signed in"

    metadata = stack.user_metadata(user["user_id"])
    assert metadata["theme"] == "dark"
    record = metadata["consent"]
    assert record["given"] is True
    assert record["terms_version"] == TERMS
    assert record["method"] == "redirect"
    assert "withdrawn_at" not in record

    # Consent is valid now: the next sign-in goes straight to the application.
    again = stack.sign_in(user["email"])
    assert "code" in _arrival(stack, again).query


def test_declining_ends_at_the_application_with_the_deny_reason(stack: Stack) -> None:
    user = stack.seed()
    page = stack.sign_in(user["email"])
    arrival = _decide(stack, page, "Decline")
    assert arrival.query["error"] == "access_denied"
    assert arrival.query["error_description"] == DECLINE_REASON
    assert arrival.tokens is None
    assert stack.user_metadata(user["user_id"])["consent"]["given"] is False


def test_a_consent_page_link_works_once(stack: Stack) -> None:
    user = stack.seed()
    page = stack.sign_in(user["email"])
    link = page.url
    other = stack.browser.new_context().new_page()
    response = other.goto(link)
    assert response is not None
    assert response.status == 409
    assert "already used" in other.get_by_role("heading", level=1).inner_text()


def test_bumping_the_terms_version_asks_again(stack: Stack) -> None:
    user = stack.seed(
        {"consent": {"given": True, "terms_version": TERMS, "date": "2026-11-02T00:00:00Z"}}
    )
    assert "code" in _arrival(stack, stack.sign_in(user["email"])).query

    stack.render_and_apply("2027-03-01")
    try:
        page = stack.sign_in(user["email"])
        assert page.get_by_role("heading", level=1).inner_text() == (
            "Our terms of service have changed"
        )
        assert "2027-03-01" in page.locator(".version").inner_text()
        assert "code" in _accept(stack, page).query
        assert stack.user_metadata(user["user_id"])["consent"]["terms_version"] == "2027-03-01"
    finally:
        stack.render_and_apply(TERMS)


def test_a_withdrawal_is_asked_about_again_at_the_next_login(stack: Stack) -> None:
    user = stack.seed({"consent": {"given": True, "terms_version": TERMS}, "theme": "light"})
    stack.cli("consent", "withdraw", "--env", "local", "--user-id", user["user_id"])
    withdrawn = stack.user_metadata(user["user_id"])["consent"]
    assert withdrawn.get("withdrawn_at")

    # tenant.yaml: on_withdrawn: ask.
    page = stack.sign_in(user["email"])
    assert page.get_by_role("heading", level=1).inner_text() == "You withdrew your consent"
    assert "code" in _accept(stack, page).query
    metadata = stack.user_metadata(user["user_id"])
    assert metadata["theme"] == "light"
    assert metadata["consent"]["given"] is True
    assert "withdrawn_at" not in metadata["consent"]


def test_no_secret_reaches_the_application(stack: Stack) -> None:
    secret = json.loads((stack.root / ".auth0-local" / "secrets.json").read_text())
    for arrival in stack.app.arrivals:
        for value in secret.values():
            assert value not in json.dumps(arrival.query)
