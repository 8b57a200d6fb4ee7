"""The local tenant's pages: a Universal-Login-like sign-in and signup, in a real browser.

Headless Chromium (Debian's /usr/bin/chromium) starts a login, follows the
form's "Sign up" link, signs up with the consent checkboxes (the terms, and
one unticked box per optional purpose with a signup_field), and lands at the
application with a code: the signup ran pre-user-registration, then the login
ran post-login for the new user, whose consent ledger (app_metadata) and its
mirror (user_metadata) the Management API then shows. Two ways the checkboxes
reach the actions, as Auth0 has them:

- Universal Login's signup prompt: a custom field named ``ulp-...``, given to
  pre-user-registration in ``event.request.body``
  (https://auth0.com/docs/customize/login-pages/universal-login/customize-signup-and-login-prompts);
  the scaffold's consent-at-signup Action writes the ledger before the user exists;
- a Lock signup (``mustAcceptTerms`` and ``additionalSignUpFields``,
  https://auth0.com/docs/libraries/lock/lock-configuration): the answer stored
  in ``user_metadata``, turned into the ledger by consent-on-first-login at
  the first login.

These tests fail, never skip, when Chromium is missing: `./dev test` installs it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flows_support import APP, FlowTenant
from playwright.sync_api import Browser, Page, Route, sync_playwright

from auth0_actions.consent import ledger as ledgers
from auth0_actions.emulator.flows.prompt import PurposeBox, SignupField, SignupPrompt
from auth0_actions.scaffold import init_project

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
PASSWORD = "correct horse battery staple"
TERMS = "2026-11-01"
LEDGER_SECRET = secrets.token_hex(24)
MARKETING = "News and offers by email"  # the scaffold's marketing title (en, the default)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`init`'s project (consent-at-signup included), rendered for the local environment."""
    root = tmp_path_factory.mktemp("signup-page") / "project"
    init_project(root)
    return root / "actions" / "local"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: ./dev test installs Debian's chromium"
    with sync_playwright() as playwright:
        opened = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield opened
        finally:
            opened.close()


@pytest.fixture
def tenant(rendered: Path) -> Iterator[FlowTenant]:
    served = FlowTenant()
    session = secrets.token_hex(24)
    served.bind(
        "post-login",
        ("consent-on-first-login", (rendered / "consent-on-first-login.js").read_text()),
        ("consent-redirect", (rendered / "consent-redirect.js").read_text()),
        secrets={
            "consent-on-first-login": {"CONSENT_LEDGER_SECRET": LEDGER_SECRET},
            "consent-redirect": {
                "CONSENT_SESSION_SECRET": session,
                "CONSENT_LEDGER_SECRET": LEDGER_SECRET,
            },
        },
    )
    try:
        yield served
    finally:
        served.close()


def _arrivals(page: Page) -> list[str]:
    """The application's callback, answered in the browser (it has no server here)."""
    seen: list[str] = []

    def answer(route: Route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Signed in</h1>")

    page.route(f"{APP}**", answer)
    return seen


def _sign_up(
    tenant: FlowTenant, page: Page, email: str, *, tick: bool, marketing: bool = False
) -> None:
    page.goto(
        f"{tenant.base}/authorize?client_id=app&redirect_uri={APP}&state=s1&scope=openid%20email"
    )
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome"
    page.get_by_role("link", name="Sign up").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Create your account"
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if tick:
        page.get_by_role("checkbox", name="I agree to the").check()
    if marketing:
        page.get_by_role("checkbox", name=MARKETING).check()


def _user(tenant: FlowTenant, email: str) -> dict[str, Any]:
    [user] = tenant.api.get("/users-by-email", params={"email": email}).json()
    found: dict[str, Any] = user
    return found


def _bind_signup(tenant: FlowTenant, rendered: Path) -> None:
    tenant.bind(
        "pre-user-registration",
        ("consent-at-signup", (rendered / "consent-at-signup.js").read_text()),
        secrets={"consent-at-signup": {"CONSENT_LEDGER_SECRET": LEDGER_SECRET}},
    )


def test_a_universal_login_signup_with_consent_reaches_the_app_with_a_ledger(
    tenant: FlowTenant, rendered: Path, browser: Browser
) -> None:
    _bind_signup(tenant, rendered)
    # The project's own prompt: tenant.yaml's terms link and its marketing purpose.
    tenant.app.flows.signup_prompt = SignupPrompt.for_project(rendered.parent.parent)
    page = browser.new_page()
    arrivals = _arrivals(page)
    _sign_up(tenant, page, "ana@example.com", tick=True)
    assert page.get_by_role("link", name="Terms of Service").get_attribute("href") == (
        f"https://example.com/legal/terms/{TERMS}"
    )
    # Recital 32: the optional purpose's box is there, and not ticked for the user.
    assert not page.get_by_role("checkbox", name=MARKETING).is_checked()
    page.get_by_role("checkbox", name=MARKETING).check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{APP}**")

    assert "code" in parse_qs(urlsplit(arrivals[-1]).query), arrivals
    user = _user(tenant, "ana@example.com")
    ledger = user["app_metadata"]["consent_ledger"]
    assert ledgers.verify(ledger, LEDGER_SECRET.encode()) == []
    # Written by pre-user-registration, one event per purpose ticked.
    assert [(e["purpose"], e["event"], e["method"]) for e in ledger["events"]] == [
        ("terms", "given", "signup"),
        ("marketing", "given", "signup"),
    ]
    record = user["user_metadata"]["consent"]  # the readable mirror
    assert record["given"] is True
    assert record["terms_version"] == TERMS
    [signup] = tenant.logs(q="type:ss")
    [login] = tenant.logs(q="type:s")
    assert login["user_id"] == signup["user_id"]
    page.close()


def test_the_signup_page_refuses_an_unticked_box_and_keeps_the_form(
    tenant: FlowTenant, rendered: Path, browser: Browser
) -> None:
    _bind_signup(tenant, rendered)
    # Without the browser's own check (the box is `required`), the server refuses too.
    tenant.app.flows.signup_prompt = SignupPrompt(must_accept_terms=False)
    page = browser.new_page()
    _sign_up(tenant, page, "bo@example.com", tick=False)
    page.get_by_role("button", name="Continue").click()
    # consent-at-signup denies; the page shows its message for the user, on the form.
    alert = page.get_by_role("alert")
    assert "accept the terms" in alert.inner_text()
    assert page.get_by_label("Email address").input_value() == "bo@example.com"
    assert tenant.api.get("/users-by-email", params={"email": "bo@example.com"}).json() == []
    page.close()


def test_a_lock_style_signup_stores_the_answers_and_the_first_login_writes_the_ledger(
    tenant: FlowTenant, browser: Browser
) -> None:
    tenant.app.flows.signup_prompt = SignupPrompt(
        terms_field="terms_accepted",
        terms_url="https://example.com/legal/terms",
        fields=(SignupField("company", "Company", required=True),),
        purposes=(PurposeBox("marketing_opt_in", MARKETING),),
    )
    page = browser.new_page()
    arrivals = _arrivals(page)
    _sign_up(tenant, page, "cy@example.com", tick=True, marketing=True)
    assert page.get_by_role("link", name="Terms of Service").get_attribute("href") == (
        "https://example.com/legal/terms"
    )
    page.get_by_label("Company").fill("Acme")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{APP}**")

    assert "code" in parse_qs(urlsplit(arrivals[-1]).query), arrivals
    user = _user(tenant, "cy@example.com")
    metadata = user["user_metadata"]
    assert metadata["company"] == "Acme"  # an additional signup field, in user_metadata
    ledger = user["app_metadata"]["consent_ledger"]
    assert ledgers.verify(ledger, LEDGER_SECRET.encode()) == []
    assert [(e["purpose"], e["method"]) for e in ledger["events"]] == [
        ("terms", "signup"),
        ("marketing", "signup"),
    ]
    assert metadata["consent"]["given"] is True
    # The raw answers replaced by the ledger.
    assert "terms_accepted" not in metadata
    assert "marketing_opt_in" not in metadata
    page.close()


def test_a_wrong_password_stays_on_the_form_with_an_alert(
    tenant: FlowTenant, browser: Browser
) -> None:
    # No post-login actions: this user has no consent record to be asked about.
    tenant.api.patch("/actions/triggers/post-login/bindings", json={"bindings": []})
    tenant.api.post(
        "/users",
        json={
            "connection": "Username-Password-Authentication",
            "email": "di@example.com",
            "password": PASSWORD,
        },
    )
    page = browser.new_page()
    arrivals = _arrivals(page)
    page.goto(f"{tenant.base}/authorize?client_id=app&redirect_uri={APP}&state=s1")
    page.get_by_label("Email address").fill("di@example.com")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    assert page.get_by_label("Email address").input_value() == "di@example.com"
    # The same transaction goes on: the right password now signs in.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{APP}**")
    assert "code" in parse_qs(urlsplit(arrivals[-1]).query)
    page.close()
