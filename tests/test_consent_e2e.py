"""Consent per purpose in a real browser: headless Chromium (Debian's /usr/bin/chromium).

All on loopback: a fresh project's local tenant served (its rendered
actions/local/ applied, the signup Action included), the reference consent
page with the self-service page under /account, and a tiny relying-party
application that starts /authorize, receives the code and exchanges it at
/oauth/token. Consent is given at signup or on the consent page, withdrawn
on the self-service page, and the next login's ID token follows it; the
ledger in app_metadata is then read through the Management API and
verified with the ledger key.

Claims per optional purpose (api.idToken.setCustomClaim):
https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object

These tests fail, never skip, when Chromium is missing: `./dev test` installs it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import axe_support
import httpx
import jwt
import pytest
from emulator_support import login_client
from playwright.sync_api import Browser, Page, sync_playwright

from auth0_actions.cli.main import main
from auth0_actions.config import load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent_page.self_service import SelfService
from auth0_actions.consent_page.self_service_settings import self_service_for_environment
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.consent_page.settings import settings_for_environment
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.scaffold import init_project

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
MARKETING_CLAIM = "https://example.com/consent/marketing"
LEDGER_KEY = "consent_ledger"


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


# --- the stack: tenant, consent and self-service pages, application, browser ---------------
@dataclass
class Stack:
    root: Path
    local: LocalTenant
    page: ConsentPageThread
    account: SelfService
    app: RelyingParty
    browser: Browser

    def cli(self, *args: str) -> None:
        code = main(["--config", str(self.root / "tenant.yaml"), *args])
        assert code == 0, f"auth0-actions {' '.join(args)} exited {code}"

    @property
    def key(self) -> bytes:
        return self.account.settings.ledger_key.reveal().encode()

    def seed(self) -> dict[str, Any]:
        """A user from before consent was asked for: nothing decided yet."""
        email = f"user-{secrets.token_hex(4)}@example.com"
        [created] = self.local.seed(
            [{"email": email, "connection": CONNECTION, "password": PASSWORD}]
        )
        return created

    def user(self, email: str) -> dict[str, Any]:
        """Through the Management API, as any client of the tenant would read it."""
        with self.account.settings.management() as client:
            [found] = client.users_by_email(email)
            return client.get_user(str(found["user_id"]))

    def ledger(self, email: str) -> dict[str, Any]:
        found = ledgers.read(self.user(email).get("app_metadata"), LEDGER_KEY)
        assert found is not None, "no consent ledger in app_metadata"
        return found

    def login_form(self, page: Page, email: str) -> None:
        page.get_by_label("Email address", exact=True).fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()

    def sign_in(self, email: str) -> Page:
        """A fresh browser profile starts at the application and signs in on the tenant."""
        page = self.browser.new_context().new_page()
        page.goto(f"{self.app.base_url}/login")
        self.login_form(page, email)
        return page

    def sign_up(self, email: str, *, marketing: bool) -> Page:
        """Sign up on the tenant's signup prompt, ticking terms (and marketing or not)."""
        page = self.browser.new_context().new_page()
        page.goto(f"{self.app.base_url}/login")
        page.get_by_role("link", name="Sign up").click()
        page.get_by_label("Email address", exact=True).fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        boxes = page.get_by_role("checkbox")
        # Recital 32: nothing is ticked for the user.
        for index in range(boxes.count()):
            assert not boxes.nth(index).is_checked()
        page.get_by_role("checkbox", name=re.compile("terms", re.I)).check()
        if marketing:
            page.get_by_role("checkbox", name=re.compile("news|offers|marketing", re.I)).check()
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
        return page

    def self_service(self, page: Page, email: str) -> Page:
        """The same browser opens the self-service page and signs in there if asked."""
        page.goto(self.account.settings.page_url)
        page.wait_for_load_state()
        if urlsplit(page.url).path != "/account":
            self.login_form(page, email)
        page.wait_for_url(self.account.settings.page_url + "**")
        return page


def _claims(arrival: Arrival) -> dict[str, Any]:
    assert arrival.tokens is not None, arrival.query
    return dict(jwt.decode(arrival.tokens["id_token"], options={"verify_signature": False}))


def _edit_tenant_yaml(root: Path, old: str, new: str) -> None:
    path = root / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, f"tenant.yaml no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Fail, never skip: a missing browser is a broken setup, not an optional feature.
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: ./dev test installs Debian's chromium"
    root = tmp_path_factory.mktemp("consent-e2e") / "project"
    init_project(root)  # the whole scaffold: the signup Action too
    with LocalTenant.open(root, port=0) as local, sync_playwright() as playwright:
        local.write_credentials()
        # The local environment deploys to this served tenant ...
        _edit_tenant_yaml(root, "    domain: local\n", f"    domain: {local.base_url}\n")
        tenant = load_tenant(root / "tenant.yaml")
        account_settings = self_service_for_environment(tenant, "local")
        assert account_settings is not None
        account = SelfService(account_settings)
        page = ConsentPageThread(settings_for_environment(tenant, "local"), account=account)
        page.start()
        # ... its redirect Action sends users to this consent page (a free port), and the
        # self-service page beside it is published where it is served.
        _edit_tenant_yaml(root, "http://127.0.0.1:8766/consent", page.page_url)
        account.settings = dataclasses.replace(
            account_settings, page_url=page.base_url + "/account"
        )
        local.app.backends.clients.update(
            local.self_service_client.client_id,
            {"callbacks": [page.base_url + "/account/callback"]},
        )
        app = RelyingParty(local.base_url).start()
        # The relying party is a registered application with its exact callback URL.
        login_client(local.app, [f"{app.base_url}/callback"], client_id=app.client_id)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        stack = Stack(root, local, page, account, app, browser)
        try:
            stack.cli("render", "--env", "local")
            stack.cli("apply", "--env", "local", "--yes")
            yield stack
        finally:
            browser.close()
            app.stop()
            page.stop()


def _arrival(stack: Stack, page: Page) -> Arrival:
    page.wait_for_url(f"{stack.app.base_url}/callback?**")
    return stack.app.arrivals[-1]


# --- the scenarios --------------------------------------------------------------------------
def test_withdrawing_marketing_on_the_self_service_page_removes_its_claim(stack: Stack) -> None:
    email = f"signup-{secrets.token_hex(4)}@example.com"
    page = stack.sign_up(email, marketing=True)
    assert _claims(_arrival(stack, page)).get(MARKETING_CLAIM) is True

    account = stack.self_service(page, email)
    section = account.locator("#purpose-marketing")
    assert section.locator("[data-state]").get_attribute("data-state") == "given"
    ARTIFACTS.mkdir(exist_ok=True)
    account.screenshot(path=str(ARTIFACTS / "self-service-page.png"), full_page=True)
    section.get_by_role("button", name="Withdraw consent").click()
    account.wait_for_load_state()
    assert account.get_by_role("status").inner_text() == "Your decision was recorded."
    marketing = account.locator("#purpose-marketing [data-state]")
    assert marketing.get_attribute("data-state") == "withdrawn"
    # The self-service page is as accessible as the consent page: axe finds nothing, with
    # the history and a receipt on it (checked in a copy of the session, CSP bypassed for
    # axe alone so the real page keeps its policy).
    checked = stack.browser.new_context(
        bypass_csp=True, storage_state=account.context.storage_state()
    ).new_page()
    checked.goto(stack.account.settings.page_url)
    assert axe_support.violations(checked) == []

    # The next login follows the withdrawal: no marketing claim, and no question asked
    # (a withdrawn optional purpose is respected, not asked again).
    again = stack.sign_in(email)
    claims = _claims(_arrival(stack, again))
    assert MARKETING_CLAIM not in claims

    ledger = stack.ledger(email)
    assert ledgers.verify(ledger, stack.key) == []
    methods = {(e["purpose"], e["event"], e["method"]) for e in ledger["events"]}
    assert ("terms", "given", "signup") in methods
    assert ("marketing", "given", "signup") in methods
    assert ("marketing", "withdrawn", "self-service") in methods


def test_a_user_without_consent_decides_per_purpose_on_the_consent_page(stack: Stack) -> None:
    user = stack.seed()
    page = stack.sign_in(user["email"])
    assert urlsplit(page.url).netloc == urlsplit(stack.page.base_url).netloc
    # One explicit choice per purpose, none pre-selected (Recital 32).
    radios = page.get_by_role("radio")
    assert radios.count() >= 4
    for index in range(radios.count()):
        assert not radios.nth(index).is_checked()
    terms = page.get_by_role("group", name=re.compile("Terms of service"))
    terms.get_by_role("radio", name="I agree", exact=True).check()
    marketing = page.get_by_role("group", name=re.compile("News and offers"))
    marketing.get_by_role("radio", name="I do not agree", exact=True).check()
    page.get_by_role("button", name="Send my decisions").click()

    claims = _claims(_arrival(stack, page))
    assert claims["sub"] == user["user_id"]
    assert MARKETING_CLAIM not in claims
    ledger = stack.ledger(user["email"])
    assert ledgers.verify(ledger, stack.key) == []
    assert ledger["state"]["terms"]["given"] is True
    assert ledger["state"]["marketing"]["given"] is False
    assert {e["method"] for e in ledger["events"]} == {"page"}

    # Declined optional consent is respected: the next login goes straight through.
    assert "code" in _arrival(stack, stack.sign_in(user["email"])).query


def test_no_secret_reaches_the_application(stack: Stack) -> None:
    secret = json.loads((stack.root / ".auth0-local" / "secrets.json").read_text())
    for arrival in stack.app.arrivals:
        for value in secret.values():
            assert value not in json.dumps(arrival.query)
