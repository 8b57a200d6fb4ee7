"""The reference consent page over real HTTP: every check a hosted page must make.

A session token as the consent-redirect Action makes it (HS256, iat/exp/iss/
sub/ip and the purposes asked) opens the page once; the page shows one
explicit choice per purpose asked, refuses forged, expired, foreign,
respelled and replayed tokens and cross-site posts, and answers the
tenant's /continue with a signed token carrying a decision for every purpose,
the versions and the sha256 of the texts shown, and the language
(docs/consent.md, "Consent page token contract"). Auth0's side of the
round trip: https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/redirect-with-actions
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from consent_page_support import (
    ISSUER,
    MARKETING,
    SECRET,
    SELF_SERVICE,
    STATE,
    TENANT,
    TERMS,
    USER,
    VERSION,
    assert_refused,
    b64,
    decode_answer,
    fieldsets,
    form_of,
    open_page,
    post,
    scaffold_catalog,
    scaffold_texts,
    serve,
    session_token,
    sha256,
    shown_text,
    sign_token,
)

from auth0_actions.config import load_tenant
from auth0_actions.consent_page.catalog import Catalog
from auth0_actions.consent_page.page import STYLE_HASH
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.consent_page.settings import (
    TenantUnreachable,
    settings_for_environment,
)
from auth0_actions.emulator.app import DEFAULT_DOMAIN
from auth0_actions.errors import SecretError
from auth0_actions.secrets import LocalSecretStore, local_state_dir


@pytest.fixture(scope="module")
def catalog(scaffolded: Path) -> Catalog:
    return scaffold_catalog(scaffolded)


@pytest.fixture(scope="module")
def texts(scaffolded: Path) -> dict[tuple[str, str], bytes]:
    return scaffold_texts(scaffolded)


@pytest.fixture(scope="module")
def page(catalog: Catalog) -> Iterator[ConsentPageThread]:
    yield from serve(catalog)


# --- the page ---------------------------------------------------------------------
def test_each_purpose_asked_gets_its_text_and_one_explicit_choice_none_preselected(
    page: ConsentPageThread, texts: dict[tuple[str, str], bytes]
) -> None:
    # GDPR Art. 7(2), Recital 32 and 43: distinguishable per purpose, no pre-ticked box.
    _, shown = open_page(page, session_token())
    assert shown.status_code == 200
    text = shown.text
    assert '<html lang="en">' in text
    assert text.count("<h1>") == 1
    assert "<script" not in text
    sets = fieldsets(text)
    assert list(sets) == ["terms", "marketing"]  # tenant.yaml's order
    for purpose, fieldset in sets.items():
        radios = re.findall(r"<input type=\"radio\"[^>]*>", fieldset)
        assert len(radios) == 2
        assert not any("checked" in radio for radio in radios)
        assert "<legend>" in fieldset
        for value, label in (("given", "I agree"), ("declined", "I do not agree")):
            assert f'id="{purpose}-{value}" name="purpose.{purpose}" value="{value}"' in fieldset
            assert f'<label for="{purpose}-{value}">{label}</label>' in fieldset
    # The exact words of the file, paragraph by paragraph.
    for purpose in ("terms", "marketing"):
        assert shown_text(text, purpose) == texts[purpose, "en"].decode().strip()
    assert '<h2 id="title-terms">Terms of service</h2>' in text
    assert '<span class="kind">Required</span>' in text
    assert '<span class="kind">Optional</span>' in text
    assert "Without accepting the terms you cannot use this application." in text
    assert "We will not send you news or offers." in text
    assert 'href="https://example.com/legal/terms/2026-11-01"' in text
    assert 'href="https://example.com/legal/privacy"' in text
    # How to withdraw later, as easily as giving (GDPR Art. 7(3)).
    assert f'<a href="{SELF_SERVICE}">your consent choices</a>' in text
    assert '<form method="post" action="/consent">' in text
    assert "mailto:privacy@example.com" in text


def test_only_the_purposes_asked_are_shown(page: ConsentPageThread) -> None:
    _, shown = open_page(page, session_token(purposes=[{**MARKETING, "reason": "outdated"}]))
    assert shown.status_code == 200
    assert list(fieldsets(shown.text)) == ["marketing"]
    assert "Terms of service" not in shown.text


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("missing", "We have not asked you about this yet."),
        ("outdated", "This text changed since you last decided."),
        ("withdrawn", "You withdrew your consent to this."),
        ("declined", "You declined this last time."),
    ],
)
def test_each_purpose_says_why_it_is_asked(
    page: ConsentPageThread, reason: str, words: str
) -> None:
    _, shown = open_page(page, session_token(purposes=[{**TERMS, "reason": reason}]))
    assert shown.status_code == 200
    assert f'<p class="reason">{words}</p>' in shown.text


def test_the_withdraw_link_falls_back_to_the_policy_and_only_web_links_show(
    page: ConsentPageThread, catalog: Catalog
) -> None:
    _, shown = open_page(
        page, session_token(self_service_url=None, privacy_url="javascript:alert(1)")
    )
    assert shown.status_code == 200
    assert f'<a href="{catalog.self_service_url}">your consent choices</a>' in shown.text
    # The local environment's consent_page_url, with `account` next to `consent`.
    assert catalog.self_service_url == "http://127.0.0.1:8766/account"
    assert "javascript:" not in shown.text


def test_every_answer_carries_the_security_and_language_headers(page: ConsentPageThread) -> None:
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
        assert headers["content-language"] == "en"
        assert headers["vary"] == "Accept-Language"
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
    forged = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + token[token.index(".") :]
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
        ({"exp": int(time.time()) + 86_400}, "lifetime"),
        ({"purposes": None}, "names no purposes"),
        ({"purposes": []}, "names no purposes"),
        ({"purposes": [{**TERMS, "reason": "because"}]}, "purposes are malformed"),
        ({"purposes": [{**TERMS, "required": "yes"}]}, "purposes are malformed"),
        ({"purposes": [{**TERMS, "version": "<b>9</b>"}]}, "purposes are malformed"),
        ({"purposes": [TERMS, TERMS]}, "names a purpose twice"),
    ],
)
def test_tokens_missing_or_foreign_claims_are_refused(
    page: ConsentPageThread, changes: dict[str, Any], words: str
) -> None:
    token = session_token(**changes)
    _, refused = open_page(page, token)
    assert_refused(refused, 400, token)
    assert words in refused.text


@pytest.mark.parametrize(
    "purposes",
    [
        [{**TERMS, "version": "2027-01-01"}],  # tenant.yaml moved on (or not yet)
        [{**MARKETING, "required": True}],  # the Action and the page disagree
        [{**TERMS, "id": "newsletter"}],  # a purpose this page does not know
    ],
    ids=["other-version", "other-required", "unknown-purpose"],
)
def test_a_purpose_the_page_holds_no_text_for_asks_to_sign_in_again(
    page: ConsentPageThread, purposes: list[dict[str, Any]]
) -> None:
    token = session_token(purposes=purposes)
    _, refused = open_page(page, token)
    assert_refused(refused, 409, token)
    assert "The consent texts changed" in refused.text
    assert "sign in again" in refused.text


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


def respellings(token: str) -> list[str]:
    """The same signature bytes written otherwise: padded, standard alphabet, stray bits."""
    head, body, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    padded = base64.urlsafe_b64encode(raw).decode()
    standard = base64.b64encode(raw).decode().rstrip("=")
    # 32 bytes -> 43 characters, the last carrying 2 unused bits: set one.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    stray = signature[:-1] + alphabet[alphabet.index(signature[-1]) | 1]
    assert base64.urlsafe_b64decode(stray + "=") == raw
    spelled = [padded, stray]
    if standard != signature:
        spelled.append(standard)
    return [f"{head}.{body}.{s}" for s in spelled]


def test_a_respelled_signature_is_the_same_ticket_and_never_a_second_decision(
    page: ConsentPageThread,
) -> None:
    # A token whose signature has '-' or '_', so the standard alphabet spells it otherwise.
    token = session_token()
    while not {"-", "_"} & set(token.split(".")[2]):
        token = session_token()
    browser, shown = open_page(page, token)
    decode_answer(post(browser, page, form_of(shown)))
    for other in respellings(token):
        for client in (browser, httpx.Client(base_url=page.base_url)):
            again = client.get("/consent", params={"session_token": other, "state": STATE})
            assert_refused(again, 400, other)
            assert "malformed" in again.text


def test_the_ticket_is_the_hash_of_the_decoded_signature() -> None:
    from auth0_actions.consent_page.tokens import verify_session_token

    token = session_token()
    signature = token.split(".")[2]
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    claims = verify_session_token(token, SECRET, ISSUER)
    assert claims.ticket == hashlib.sha256(raw).hexdigest()


# --- the decision -------------------------------------------------------------------
def test_the_answer_carries_every_decision_with_its_version_and_text_hash(
    page: ConsentPageThread, texts: dict[tuple[str, str], bytes]
) -> None:
    browser, shown = open_page(page, session_token())
    before = int(time.time())
    answered = post(browser, page, form_of(shown), {"terms": "given", "marketing": "declined"})
    claims = decode_answer(answered)
    assert claims["sub"] == USER
    assert claims["iss"] == ISSUER
    assert claims["state"] == STATE
    assert claims["decisions"] == {"terms": "given", "marketing": "declined"}
    assert claims["versions"] == {"terms": VERSION, "marketing": VERSION}
    # What the Actions check against: the sha256 of the exact file shown.
    assert claims["texts"] == {
        "terms": sha256(texts["terms", "en"]),
        "marketing": sha256(texts["marketing", "en"]),
    }
    assert claims["language"] == "en"
    assert before - 1 <= claims["iat"] <= claims["exp"] <= claims["iat"] + 300
    assert "Max-Age=0" in answered.headers["set-cookie"]  # the CSRF cookie is dropped


def test_the_answer_names_the_language_shown_and_its_texts(
    page: ConsentPageThread, texts: dict[tuple[str, str], bytes]
) -> None:
    browser, shown = open_page(page, session_token(), headers={"Accept-Language": "de-DE"})
    assert '<html lang="de">' in shown.text
    assert form_of(shown)["language"] == "de"
    answered = post(browser, page, form_of(shown), {"terms": "given", "marketing": "given"})
    claims = decode_answer(answered, "Weiter zur Anwendung")
    assert claims["language"] == "de"
    assert claims["texts"] == {
        "terms": sha256(texts["terms", "de"]),
        "marketing": sha256(texts["marketing", "de"]),
    }


def test_a_form_without_a_choice_for_every_purpose_comes_back_unspent(
    page: ConsentPageThread,
) -> None:
    browser, shown = open_page(page, session_token())
    form = form_of(shown)
    partial = post(browser, page, form, {"marketing": "declined"})
    assert partial.status_code == 400
    assert 'role="alert"' in partial.text
    assert "for each item" in partial.text
    sets = fieldsets(partial.text)
    # The choice made is kept; the one missing is pointed out, still unselected.
    assert 'value="declined" required checked' in sets["marketing"]
    assert "checked" not in sets["terms"]
    assert "No choice made yet." in sets["terms"]
    assert form_of(partial) == form
    claims = decode_answer(post(browser, page, form, {"terms": "given", "marketing": "declined"}))
    assert claims["decisions"] == {"terms": "given", "marketing": "declined"}


@pytest.mark.parametrize(
    ("changes", "choices"),
    [
        ({}, {"terms": "maybe", "marketing": "given"}),
        ({}, {"terms": "given", "marketing": "given", "analytics": "given"}),
        ({"language": "fr"}, {"terms": "given", "marketing": "given"}),
    ],
    ids=["not-a-choice", "unasked-purpose", "unknown-language"],
)
def test_a_form_the_page_did_not_make_is_refused_and_spends_nothing(
    page: ConsentPageThread, changes: dict[str, str], choices: dict[str, str]
) -> None:
    browser, shown = open_page(page, session_token())
    form = form_of(shown)
    assert_refused(post(browser, page, {**form, **changes}, choices), 400)
    decode_answer(post(browser, page, form))


def test_a_second_decision_for_the_same_token_is_refused(page: ConsentPageThread) -> None:
    token = session_token()
    browser, shown = open_page(page, token)
    form = form_of(shown)
    decode_answer(post(browser, page, form))
    again = post(browser, page, form, {"terms": "declined", "marketing": "declined"})
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
    missing = post(browser, page, {"ticket": form["ticket"], "language": "en"})
    assert_refused(missing, 403)
    wrong = post(browser, page, {**form, "csrf_token": "guess"})
    assert_refused(wrong, 403)
    non_ascii = post(browser, page, {**form, "csrf_token": "é"})
    assert_refused(non_ascii, 403)
    cookieless = httpx.Client(base_url=page.base_url, follow_redirects=False)
    assert_refused(post(cookieless, page, form), 403)
    decode_answer(post(browser, page, form))


def test_an_unknown_ticket_is_refused(page: ConsentPageThread) -> None:
    browser, shown = open_page(page, session_token())
    assert_refused(post(browser, page, {**form_of(shown), "ticket": "0" * 64}), 400)


def test_other_paths_and_methods_are_refused(page: ConsentPageThread) -> None:
    # One keep-alive client for all: each refusal says Connection: close (assert_refused),
    # so the client opens a new connection instead of writing into one being closed.
    client = httpx.Client(base_url=page.base_url)
    for _ in range(3):
        assert_refused(client.get("/admin"), 404)
        put = client.put("/consent", content=b"x" * 100)
        assert_refused(put, 405)
        assert put.headers["allow"] == "GET, POST"
        assert_refused(client.post("/consent", content=b"{}"), 415)


def test_a_refused_request_is_answered_before_the_connection_closes(
    page: ConsentPageThread,
) -> None:
    # Two requests down one socket: the first refused with a body the server
    # never parses. The answer arrives whole, says Connection: close, and the
    # server then closes instead of reading the second request.
    host, port = urlsplit(page.base_url).netloc.split(":")
    body = b"a" * 2048
    request = (
        b"POST /consent HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 2048\r\n\r\n" + body
    )
    request += b"GET /consent HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 415 ")
    head = received.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nconnection: close" in head
    assert received.count(b"HTTP/1.1 ") == 1


# --- settings from tenant.yaml ----------------------------------------------------------
def test_local_settings_use_the_generated_secret_the_local_issuer_and_the_texts(
    project: Path,
) -> None:
    tenant = load_tenant(project / "tenant.yaml")
    settings = settings_for_environment(tenant, "local", tenant_url="http://127.0.0.1:8123/x")
    stored = LocalSecretStore(local_state_dir(tenant)).load()
    assert settings.secret.reveal() == stored["CONSENT_SESSION_SECRET"]
    assert settings.issuer == DEFAULT_DOMAIN
    assert settings.tenant_url() == "http://127.0.0.1:8123"
    assert settings.support_email == "privacy@example.com"
    assert stored["CONSENT_SESSION_SECRET"] not in repr(settings)
    terms = settings.catalog.purposes["terms"]
    path = project / "consent_texts" / f"terms-{VERSION}.de.txt"
    assert terms.words["de"].sha256 == sha256(path.read_bytes())
    assert settings.catalog.languages == ("en", "de")


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
    environ = {
        "CONSENT_SESSION_SECRET_DEV": "from-the-environment-0123",
        "CONSENT_LEDGER_SECRET_DEV": "the-ledger-key-0123456789abcdefghijkl",
    }
    settings = settings_for_environment(tenant, "dev", environ=environ)
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


@pytest.mark.parametrize(
    "respell",
    [
        lambda part: part + "=" * (-len(part) % 4 or 4),  # padding
        lambda part: part.replace("-", "+").replace("_", "/") + "+",  # the standard alphabet
        lambda part: part + " ",  # whitespace a lenient decoder skips
    ],
    ids=["padded", "standard-alphabet", "whitespace"],
)
def test_header_and_claims_must_be_canonical_base64url(respell: Any) -> None:
    from auth0_actions.consent_page.tokens import TokenRejected, verify_session_token

    head, body, _ = session_token().split(".")
    for changed_head, changed_body in ((respell(head), body), (head, respell(body))):
        signed = hmac.new(
            SECRET.encode(), f"{changed_head}.{changed_body}".encode(), hashlib.sha256
        ).digest()
        token = f"{changed_head}.{changed_body}.{b64(signed)}"
        with pytest.raises(TokenRejected, match="malformed"):
            verify_session_token(token, SECRET, ISSUER)
