"""The reference consent page over real HTTP: every check a hosted page must make.

A session token as the consent-redirect Action makes it (HS256, iat/exp/iss/
sub/ip/terms_*/reason) opens the page once; the page refuses forged,
expired, foreign and replayed tokens and cross-site posts, and answers the
tenant's /continue with a signed token carrying the decision.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from auth0_actions.config import load_tenant
from auth0_actions.consent_page.page import STYLE_HASH
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.consent_page.settings import (
    PageSettings,
    TenantUnreachable,
    fixed_tenant,
    settings_for_environment,
)
from auth0_actions.emulator.app import DEFAULT_DOMAIN
from auth0_actions.errors import SecretError
from auth0_actions.scenarios.runner import sign_token
from auth0_actions.secrets import LocalSecretStore, Secret, local_state_dir

SECRET = "consent-page-test-secret-0123456789abcdef"
ISSUER = "tenant.example.test"
TENANT = "http://127.0.0.1:9"  # never contacted: the tests read the redirect
USER = "auth0|0123456789abcdef01234567"
STATE = "resume-state-abc"


@pytest.fixture(scope="module")
def page() -> Iterator[ConsentPageThread]:
    settings = PageSettings(
        secret=Secret(SECRET),
        issuer=ISSUER,
        tenant_url=fixed_tenant(TENANT),
        support_email="privacy@example.com",
    )
    server = ConsentPageThread(settings).start()
    yield server
    server.stop()


def session_token(secret: str = SECRET, alg: str = "HS256", **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "exp": now + 600,
        "iss": ISSUER,
        "sub": USER,
        "ip": "127.0.0.1",
        "terms_version": "2026-11-01",
        "terms_url": "https://example.com/legal/terms/2026-11-01",
        "privacy_url": "https://example.com/legal/privacy",
        "reason": "missing",
        # Tests in one second would otherwise make identical tokens, which replay.
        "nonce": secrets.token_hex(8),
    }
    claims.update(changes)
    for name in [k for k, v in claims.items() if v is None]:
        del claims[name]
    return sign_token(claims, secret, alg)


def open_page(
    page: ConsentPageThread, token: str | None, state: str | None = STATE
) -> tuple[httpx.Client, httpx.Response]:
    """A fresh browser-like client GETs the page; its cookie jar keeps the CSRF cookie."""
    client = httpx.Client(base_url=page.base_url, follow_redirects=False, timeout=10)
    params = {k: v for k, v in (("session_token", token), ("state", state)) if v is not None}
    return client, client.get("/consent", params=params)


def form_of(response: httpx.Response) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', response.text)
    return dict(fields)


def post(
    client: httpx.Client,
    page: ConsentPageThread,
    form: dict[str, str],
    decision: str = "accept",
    headers: dict[str, str | None] | None = None,
) -> httpx.Response:
    """POST as the page's own form would, unless headers change that (None drops one)."""
    own: dict[str, str | None] = {"Origin": page.base_url, "Sec-Fetch-Site": "same-origin"}
    sent = {k: v for k, v in {**own, **(headers or {})}.items() if v is not None}
    return client.post("/consent", data={**form, "decision": decision}, headers=sent)


def assert_refused(response: httpx.Response, status: int, token: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in response.text
    assert "<h1>" in response.text
    assert 'role="alert"' in response.text
    assert SECRET not in response.text
    if token is not None:
        assert token not in response.text
        for part in token.split("."):
            assert not part or part not in response.text


# --- the page ---------------------------------------------------------------------
def test_the_page_shows_the_terms_with_accept_and_decline(page: ConsentPageThread) -> None:
    _, shown = open_page(page, session_token())
    assert shown.status_code == 200
    text = shown.text
    assert '<html lang="en">' in text
    assert text.count("<h1>") == 1
    assert "Please accept our terms of service" in text
    assert "<strong>2026-11-01</strong>" in text
    assert 'href="https://example.com/legal/terms/2026-11-01"' in text
    assert 'href="https://example.com/legal/privacy"' in text
    assert '<form method="post" action="/consent">' in text
    assert '<button type="submit" name="decision" value="accept">Accept</button>' in text
    assert '<button type="submit" name="decision" value="decline">Decline</button>' in text
    assert "<legend>" in text
    assert "mailto:privacy@example.com" in text
    assert "<script" not in text


@pytest.mark.parametrize(
    ("reason", "heading"),
    [
        ("outdated", "Our terms of service have changed"),
        ("withdrawn", "You withdrew your consent"),
        ("declined", "Please accept our terms of service"),
    ],
)
def test_the_heading_says_why_the_user_is_asked(
    page: ConsentPageThread, reason: str, heading: str
) -> None:
    _, shown = open_page(page, session_token(reason=reason))
    assert shown.status_code == 200
    assert f"<h1>{heading}</h1>" in shown.text


def test_values_from_the_token_are_escaped_and_only_web_links_shown(
    page: ConsentPageThread,
) -> None:
    _, shown = open_page(
        page, session_token(terms_version="<b>9</b>", terms_url="javascript:alert(1)")
    )
    assert shown.status_code == 200
    assert "&lt;b&gt;9&lt;/b&gt;" in shown.text
    assert "<b>9</b>" not in shown.text
    assert "javascript:" not in shown.text


def test_every_answer_carries_the_security_headers(page: ConsentPageThread) -> None:
    _, shown = open_page(page, session_token())
    _, refused = open_page(page, None)
    for response in (shown, refused):
        headers = response.headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert f"style-src '{STYLE_HASH}'" in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
    # The form may post to itself and be redirected to the tenant's /continue.
    assert f"form-action 'self' {TENANT}" in shown.headers["content-security-policy"]
    cookie = shown.headers["set-cookie"]
    assert "SameSite=Strict" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/consent" in cookie


def test_the_inline_style_matches_its_hash_in_the_policy(page: ConsentPageThread) -> None:
    _, shown = open_page(page, session_token())
    style = shown.text.split("<style>", 1)[1].split("</style>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"sha256-{digest}" == STYLE_HASH


# --- incoming token checks ------------------------------------------------------------
def test_a_token_signed_with_another_secret_is_refused(page: ConsentPageThread) -> None:
    token = session_token(secret="another-secret-entirely-0123456789")
    _, refused = open_page(page, token)
    assert_refused(refused, 400, token)
    assert "signature is not valid" in refused.text


def test_alg_none_is_refused(page: ConsentPageThread) -> None:
    token = session_token(alg="none")
    _, refused = open_page(page, token)
    assert_refused(refused, 400, token)
    assert "not signed with HS256" in refused.text


def test_an_rs256_header_cannot_pass_an_hmac_off_as_a_signature(page: ConsentPageThread) -> None:
    # Algorithm confusion: an HMAC over the token, labelled RS256.
    token = session_token(alg="HS256")
    head = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    forged = head.decode().rstrip("=") + token[token.index(".") :]
    _, refused = open_page(page, forged)
    assert_refused(refused, 400, forged)


def test_an_expired_token_is_refused(page: ConsentPageThread) -> None:
    now = int(time.time())
    token = session_token(iat=now - 900, exp=now - 300)
    _, refused = open_page(page, token)
    assert_refused(refused, 400, token)
    assert "expired" in refused.text


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"iss": "other-tenant.example.test"}, "another tenant"),
        ({"sub": None}, "names no user"),
        ({"sub": ""}, "names no user"),
        ({"exp": None}, "lacks iat or exp"),
        ({"terms_version": None}, "no terms version"),
        ({"exp": int(time.time()) + 86_400}, "lifetime"),
    ],
)
def test_tokens_missing_or_foreign_claims_are_refused(
    page: ConsentPageThread, changes: dict[str, Any], words: str
) -> None:
    token = session_token(**changes)
    _, refused = open_page(page, token)
    assert_refused(refused, 400, token)
    assert words in refused.text


def test_a_link_without_state_or_token_is_refused(page: ConsentPageThread) -> None:
    token = session_token()
    _, no_state = open_page(page, token, state=None)
    assert_refused(no_state, 400, token)
    assert "state" in no_state.text
    _, no_token = open_page(page, None)
    assert_refused(no_token, 400)
    _, garbage = open_page(page, "not-a-jwt")
    assert_refused(garbage, 400)


def test_a_token_opens_the_page_once_except_a_reload_in_the_same_browser(
    page: ConsentPageThread,
) -> None:
    token = session_token()
    browser, first = open_page(page, token)
    assert first.status_code == 200
    reload = browser.get("/consent", params={"session_token": token, "state": STATE})
    assert reload.status_code == 200
    assert form_of(reload) == form_of(first)

    _, elsewhere = open_page(page, token)
    assert_refused(elsewhere, 409, token)
    assert "already used" in elsewhere.text


# --- the decision -------------------------------------------------------------------
def decode_answer(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """The /continue URL the answer page moves on to (meta refresh and link), decoded."""
    assert response.status_code == 200, response.text
    [refresh] = re.findall(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', response.text)
    [link] = re.findall(r'<a href="([^"]+)">Continue to the application</a>', response.text)
    assert refresh == link
    location = urlsplit(html.unescape(link))
    query = parse_qs(location.query)
    assert query["state"] == [STATE]
    claims = jwt.decode(
        query["session_token"][0],
        SECRET,
        algorithms=["HS256"],
        issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "iss"]},
    )
    return f"{location.scheme}://{location.netloc}{location.path}", claims


def test_accept_sends_the_browser_to_continue_with_a_signed_answer(page: ConsentPageThread) -> None:
    browser, shown = open_page(page, session_token(terms_version="2027-01-01"))
    before = int(time.time())
    answered = post(browser, page, form_of(shown), "accept")
    target, claims = decode_answer(answered)
    assert target == f"{TENANT}/continue"
    assert claims["sub"] == USER
    assert claims["iss"] == ISSUER
    assert claims["state"] == STATE
    assert claims["terms_version"] == "2027-01-01"
    assert claims["consent"] == "accepted"
    assert before - 1 <= claims["iat"] <= claims["exp"] <= claims["iat"] + 300
    assert "Max-Age=0" in answered.headers["set-cookie"]  # the CSRF cookie is dropped


def test_decline_is_answered_as_declined(page: ConsentPageThread) -> None:
    browser, shown = open_page(page, session_token())
    _, claims = decode_answer(post(browser, page, form_of(shown), "decline"))
    assert claims["consent"] == "declined"


def test_a_second_decision_for_the_same_token_is_refused(page: ConsentPageThread) -> None:
    token = session_token()
    browser, shown = open_page(page, token)
    form = form_of(shown)
    decode_answer(post(browser, page, form, "accept"))
    again = post(browser, page, form, "decline")
    assert_refused(again, 409)
    reopened = browser.get("/consent", params={"session_token": token, "state": STATE})
    assert_refused(reopened, 409, token)


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example.com"},
        {"Origin": "https://evil.example.com", "Sec-Fetch-Site": None},
        {"Origin": "null", "Sec-Fetch-Site": None},
    ],
    ids=["cross-site", "same-site", "foreign-origin", "foreign-origin-only", "null-origin-only"],
)
def test_cross_site_posts_are_refused(
    page: ConsentPageThread, headers: dict[str, str | None]
) -> None:
    browser, shown = open_page(page, session_token())
    form = form_of(shown)
    refused = post(browser, page, form, headers=headers)
    assert_refused(refused, 403)
    assert "another site" in refused.text
    # The refusal spent nothing: the real page can still answer.
    decode_answer(post(browser, page, form))


@pytest.mark.parametrize(
    "headers",
    [
        # Chromium's own form post under Referrer-Policy: no-referrer.
        {"Origin": "null"},
        # A client that is not a browser: the CSRF token and cookie still apply.
        {"Origin": None, "Sec-Fetch-Site": None},
    ],
    ids=["null-origin-same-origin", "no-browser-headers"],
)
def test_posts_the_page_itself_makes_are_accepted(
    page: ConsentPageThread, headers: dict[str, str | None]
) -> None:
    browser, shown = open_page(page, session_token())
    decode_answer(post(browser, page, form_of(shown), headers=headers))


def test_a_post_without_the_csrf_token_or_cookie_is_refused(page: ConsentPageThread) -> None:
    browser, shown = open_page(page, session_token())
    form = form_of(shown)
    missing = post(browser, page, {"ticket": form["ticket"]})
    assert_refused(missing, 403)
    wrong = post(browser, page, {**form, "csrf_token": "guess"})
    assert_refused(wrong, 403)
    cookieless = httpx.Client(base_url=page.base_url, follow_redirects=False)
    assert_refused(post(cookieless, page, form), 403)
    decode_answer(post(browser, page, form))


def test_a_post_needs_a_decision_and_a_known_ticket(page: ConsentPageThread) -> None:
    browser, shown = open_page(page, session_token())
    form = form_of(shown)
    assert_refused(post(browser, page, form, decision="maybe"), 400)
    assert_refused(post(browser, page, {**form, "ticket": "0" * 64}), 400)


def test_other_paths_and_methods_are_refused(page: ConsentPageThread) -> None:
    client = httpx.Client(base_url=page.base_url)
    assert_refused(client.get("/admin"), 404)
    assert_refused(client.put("/consent"), 405)


# --- settings from tenant.yaml ----------------------------------------------------------
def test_local_settings_use_the_generated_secret_and_the_local_issuer(project: Path) -> None:
    tenant = load_tenant(project / "tenant.yaml")
    settings = settings_for_environment(tenant, "local", tenant_url="http://127.0.0.1:8123/x")
    stored = LocalSecretStore(local_state_dir(tenant)).load()
    assert settings.secret.reveal() == stored["CONSENT_SESSION_SECRET"]
    assert settings.issuer == DEFAULT_DOMAIN
    assert settings.tenant_url() == "http://127.0.0.1:8123"
    assert settings.support_email == "privacy@example.com"
    assert stored["CONSENT_SESSION_SECRET"] not in repr(settings)


def test_local_finds_the_served_local_tenant_when_asked(project: Path) -> None:
    tenant = load_tenant(project / "tenant.yaml")
    settings = settings_for_environment(tenant, "local")
    with pytest.raises(TenantUnreachable, match="emulator serve"):
        settings.tenant_url()
    credentials = project / ".auth0-local" / "credentials.json"
    credentials.write_text(json.dumps({"base_url": "http://127.0.0.1:8124"}), encoding="utf-8")
    assert settings.tenant_url() == "http://127.0.0.1:8124"


@pytest.mark.remote_envs
def test_other_environments_read_the_named_variable(project: Path) -> None:
    tenant = load_tenant(project / "tenant.yaml")
    with pytest.raises(SecretError, match="CONSENT_SESSION_SECRET_DEV"):
        settings_for_environment(tenant, "dev", environ={})
    settings = settings_for_environment(
        tenant, "dev", environ={"CONSENT_SESSION_SECRET_DEV": "from-the-environment-0123"}
    )
    assert settings.secret.reveal() == "from-the-environment-0123"
    assert settings.issuer == "acme-dev.eu.auth0.com"
    assert settings.tenant_url() == "https://acme-dev.eu.auth0.com"


# --- the command ------------------------------------------------------------------------
def test_serve_refuses_a_non_loopback_host_without_the_flag(project: Path, cli: Any) -> None:
    run = cli("consent-page", "serve", "--host", "0.0.0.0")  # noqa: S104 (refused before binding)
    assert run.code == 1
    assert "not a loopback address" in run.err
    assert "--allow-non-loopback" in run.err


def test_serve_answers_and_logs_no_token(project: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "auth0_actions", "consent-page", "serve", "--port", "0"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/consent", banner)
        assert match, banner
        secret = LocalSecretStore(local_state_dir(load_tenant(project / "tenant.yaml"))).load()[
            "CONSENT_SESSION_SECRET"
        ]
        token = sign_token(
            {"iat": int(time.time()), "exp": int(time.time()) + 60, "iss": DEFAULT_DOMAIN},
            secret,
        )
        refused = httpx.get(
            f"{match.group(1)}/consent", params={"session_token": token, "state": "s"}
        )
        assert_refused(refused, 400, token)
        assert "names no user" in refused.text
    finally:
        process.terminate()
        out, err = process.communicate(timeout=60)
    assert "GET /consent 400" in err
    assert token not in out + err
    assert secret not in out + err
    assert "session_token" not in err


def test_a_non_ascii_csrf_token_is_refused_not_a_crash(page: ConsentPageThread) -> None:
    browser, shown = open_page(page, session_token())
    assert_refused(post(browser, page, {**form_of(shown), "csrf_token": "é"}), 403)
