"""The consent page in headless Chromium (Debian's /usr/bin/chromium): accessible, and usable.

axe-core (npm, pinned; installed once from the npm registry into this
checkout's dependency cache, .auth0-actions/deps/, as actions' npm
dependencies are) checks each page for WCAG 2.x A/AA violations
(https://github.com/dequelabs/axe-core/blob/develop/doc/rule-descriptions.md):
the page in English and in German, and the page that comes back when a
choice is missing. A keyboard user sees where focus is; a real form post
from the browser (Origin: null under no-referrer) yields the answer.

Fails, never skips, when Chromium is missing: `./dev test` installs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import axe_support
import jwt
import pytest
from consent_page_support import (
    ISSUER,
    SECRET,
    STATE,
    TENANT,
    scaffold_catalog,
    serve,
    session_token,
)
from playwright.sync_api import Browser, Page, Route, sync_playwright

from auth0_actions.consent_page.server import ConsentPageThread

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def axe_script() -> str:
    return axe_support.axe_script()


@pytest.fixture(scope="module")
def page_server(scaffolded: Path) -> Iterator[ConsentPageThread]:
    yield from serve(scaffold_catalog(scaffolded))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: ./dev test installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def open_consent(browser: Browser, server: ConsentPageThread, language: str) -> Page:
    # axe is injected as a script: the page's CSP (no script at all) is bypassed for it only.
    context = browser.new_context(locale=language, bypass_csp=True)
    tab = context.new_page()
    query = urlencode({"session_token": session_token(), "state": STATE})
    tab.goto(f"{server.page_url}?{query}")
    return tab


def violations(tab: Page, axe_script: str) -> list[dict[str, Any]]:
    assert axe_script  # the fixture installs axe once per module
    return axe_support.violations(tab)


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "Please review and decide"), ("de", "Bitte prüfen und entscheiden Sie")],
)
def test_axe_finds_no_violations_on_the_consent_page(
    browser: Browser, page_server: ConsentPageThread, axe_script: str, language: str, heading: str
) -> None:
    tab = open_consent(browser, page_server, language)
    assert tab.get_by_role("heading", level=1).inner_text() == heading
    assert tab.locator("html").get_attribute("lang") == language
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"consent-page-{language}.png"), full_page=True)
    assert violations(tab, axe_script) == []


def test_axe_finds_no_violations_when_a_choice_is_missing(
    browser: Browser, page_server: ConsentPageThread, axe_script: str
) -> None:
    tab = open_consent(browser, page_server, "en")
    # The browser's own check (the radios are required) would stop the post: switch it off
    # to reach the page's answer, which does not rely on it.
    tab.evaluate("document.querySelector('form').noValidate = true")
    tab.get_by_role("group", name="Your decision: News and offers by email").get_by_label(
        "I do not agree"
    ).check()
    with tab.expect_response(lambda r: r.request.method == "POST") as posted:
        tab.get_by_role("button", name="Send my decisions").click()
    assert posted.value.status == 400
    assert tab.get_by_role("alert").inner_text() == (
        "Please choose “I agree” or “I do not agree” for each item."
    )
    assert (
        tab.get_by_role("group", name="Your decision: News and offers by email")
        .get_by_label("I do not agree")
        .is_checked()
    )
    tab.screenshot(path=str(ARTIFACTS / "consent-page-incomplete.png"), full_page=True)
    assert violations(tab, axe_script) == []


def test_a_keyboard_user_sees_focus_and_the_browser_posts_the_answer(
    browser: Browser, page_server: ConsentPageThread
) -> None:
    tab = open_consent(browser, page_server, "de")
    terms = tab.get_by_role("group", name="Ihre Entscheidung: Nutzungsbedingungen")
    terms.get_by_label("Ich stimme zu", exact=True).focus()
    tab.keyboard.press("Space")
    outline = terms.get_by_label("Ich stimme zu", exact=True).evaluate(
        "el => getComputedStyle(el).outlineStyle"
    )
    assert outline == "solid"
    marketing = tab.get_by_role("group", name="Ihre Entscheidung: Neuigkeiten und Angebote")
    marketing.get_by_label("Ich stimme nicht zu").check()
    # The answer page moves the browser on to the tenant's /continue: catch it there.
    arrived: list[str] = []

    def at_tenant(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>tenant</title>")

    tab.context.route(f"{TENANT}/**", at_tenant)
    tab.get_by_role("button", name="Entscheidungen senden").click()
    tab.wait_for_url(f"{TENANT}/continue?**")
    [url] = arrived
    assert url.startswith(f"{TENANT}/continue?")
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == [STATE]
    claims = jwt.decode(query["session_token"][0], SECRET, algorithms=["HS256"], issuer=ISSUER)
    assert claims["decisions"] == {"terms": "given", "marketing": "declined"}
    assert claims["language"] == "de"
