"""The self-service page over HTTP: sign-in through the tenant, one-click decisions, receipts.

A served local tenant (the scaffold's project, no Actions applied: these tests
are about the page, not the login Actions) and the consent page server with
the self-service page under /account. An httpx client plays the browser: it
keeps cookies and follows the tenant's login form by hand.

GDPR Art. 7(3) (withdrawing as easy as giving):
https://eur-lex.europa.eu/eli/reg/2016/679/oj (Article 7).
Auth0's authorization code flow for a regular web application:
https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth0_actions.config import load_tenant
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.receipt_key import ReceiptKey
from auth0_actions.consent.receipts import (
    KANTARA_VERSION,
    ReceiptRejected,
    issue_receipt,
    verify_receipt,
)
from auth0_actions.consent_page.self_service import SelfService
from auth0_actions.consent_page.self_service_auth import (
    SESSION_COOKIE,
    CookieSigner,
    SignInFailed,
    verify_id_token,
)
from auth0_actions.consent_page.self_service_settings import (
    SelfServiceSettings,
    self_service_for_environment,
)
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.consent_page.settings import settings_for_environment
from auth0_actions.emulator.tenant import LocalTenant

PASSWORD = "correct horse battery staple"
CONNECTION = "Username-Password-Authentication"
VERSION = "2026-11-01"


@dataclass
class Site:
    root: Path
    local: LocalTenant
    page: ConsentPageThread
    service: SelfService

    @property
    def settings(self) -> SelfServiceSettings:
        return self.service.settings

    @property
    def key(self) -> bytes:
        return self.settings.ledger_key.reveal().encode()

    @property
    def account(self) -> str:
        return self.page.base_url + "/account"

    def text_sha(self, purpose: str, language: str = "en") -> str:
        path = self.root / "consent_texts" / f"{purpose}-{VERSION}.{language}.txt"
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def seed(self, *, marketing: bool = True) -> dict[str, Any]:
        """A user who gave terms (and marketing, or declined it) at sign-up."""
        at = "2026-12-01T10:00:00.000Z"
        ledger = ledgers.append(
            None,
            [
                ledgers.NewEvent(
                    "terms", "given", VERSION, at, "signup", self.text_sha("terms"), "en"
                ),
                ledgers.NewEvent(
                    "marketing",
                    "given" if marketing else "declined",
                    VERSION,
                    at,
                    "signup",
                    self.text_sha("marketing"),
                    "en",
                ),
            ],
            self.key,
            max_events=40,
        )
        email = f"user-{secrets.token_hex(4)}@example.com"
        [user] = self.local.seed(
            [
                {
                    "email": email,
                    "connection": CONNECTION,
                    "password": PASSWORD,
                    "app_metadata": {"consent_ledger": ledger},
                }
            ]
        )
        return user

    def user(self, user_id: str) -> dict[str, Any]:
        with self.settings.management() as client:
            return client.get_user(user_id)

    def ledger(self, user_id: str) -> dict[str, Any]:
        found = ledgers.read(self.user(user_id).get("app_metadata"), "consent_ledger")
        assert found is not None
        return found

    def sign_in(self, email: str, *, language: str | None = None) -> httpx.Client:
        """A browser that opened /account and signed in on the tenant's form."""
        headers = {"Accept-Language": language} if language else {}
        browser = httpx.Client(follow_redirects=False, headers=headers, timeout=30)
        start = browser.get(self.account)
        assert start.status_code == 302, start.text
        form = browser.get(start.headers["location"])
        assert form.status_code == 200, form.text
        tx = form.text.split('name="tx" value="')[1].split('"')[0]
        answer = browser.post(
            f"{self.local.base_url}/u/login",
            data={"tx": tx, "email": email, "password": PASSWORD},
        )
        # Follow the tenant's redirects until it sends the browser back to the page.
        for _ in range(10):
            assert answer.status_code in (302, 303), answer.text
            location = urljoin(str(answer.url), answer.headers["location"])
            answer = browser.get(location)
            if location.startswith(self.account):
                break
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/account"
        return browser

    def page_html(self, browser: httpx.Client) -> str:
        shown = browser.get(self.account)
        assert shown.status_code == 200, shown.text
        return shown.text

    def post(self, browser: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
        return browser.post(
            self.page.base_url + path,
            data=data,
            headers={"Origin": self.page.base_url, "Sec-Fetch-Site": "same-origin"},
        )


def _field(html: str, purpose: str, name: str) -> str:
    section = html.split(f'id="purpose-{purpose}"')[1]
    return section.split(f'name="{name}" value="')[1].split('"')[0]


def _decision(site: Site, html: str, purpose: str, decision: str) -> dict[str, str]:
    return {
        "csrf": _field(html, purpose, "csrf"),
        "purpose": purpose,
        "version": _field(html, purpose, "version"),
        "language": _field(html, purpose, "language"),
        "text_sha256": _field(html, purpose, "text_sha256"),
        "decision": decision,
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, scaffolded: Path) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("self-service") / "project"
    shutil.copytree(scaffolded, root, symlinks=True)
    with LocalTenant.open(root, port=0) as local:
        local.write_credentials()
        tenant = load_tenant(root / "tenant.yaml")
        account = self_service_for_environment(tenant, "local")
        assert account is not None
        service = SelfService(account)
        page = ConsentPageThread(settings_for_environment(tenant, "local"), account=service)
        page.start()
        # Published where this test serves it; the seeded application allows the callback.
        service.settings = dataclasses.replace(account, page_url=page.base_url + "/account")
        local.app.backends.clients.update(
            local.self_service_client.client_id,
            {"callbacks": [page.base_url + "/account/callback"]},
        )
        try:
            yield Site(root, local, page, service)
        finally:
            page.stop()


# --- signing in ----------------------------------------------------------------------------
def test_the_page_sends_a_stranger_to_sign_in_at_the_tenant(site: Site) -> None:
    answer = httpx.get(site.account, follow_redirects=False)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == site.local.base_url
    assert target.path == "/authorize"
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["client_id"] == site.local.self_service_client.client_id
    assert query["redirect_uri"] == site.account + "/callback"
    assert query["response_type"] == "code"
    assert len(query["state"]) >= 20
    assert len(query["nonce"]) >= 20
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/account" in cookie
    # Nothing about the user is shown before signing in.
    assert answer.text == ""


def test_signing_in_shows_every_purpose_with_its_state_and_history(site: Site) -> None:
    user = site.seed(marketing=False)
    html = site.page_html(site.sign_in(user["email"]))
    assert user["email"] in html
    for purpose, state in (("terms", "given"), ("marketing", "declined")):
        section = html.split(f'id="purpose-{purpose}"')[1].split("</section>")[0]
        assert f'data-state="{state}"' in section
        assert "At sign-up" in section  # the history's method
    terms = html.split('id="purpose-terms"')[1].split("</section>")[0]
    assert 'value="withdraw"' in terms
    assert 'value="give"' not in terms
    marketing = html.split('id="purpose-marketing"')[1].split("</section>")[0]
    assert 'value="give"' in marketing
    assert 'value="withdraw"' not in marketing
    # Recital 42: the user sees what they agree to (the text whose hash is recorded).
    text = (site.root / "consent_texts" / f"marketing-{VERSION}.en.txt").read_text()
    assert text.strip().splitlines()[0] in marketing


def test_the_session_cookie_is_httponly_lax_and_signed(site: Site) -> None:
    user = site.seed()
    browser = site.sign_in(user["email"])
    [session] = [c for c in browser.cookies.jar if c.name == SESSION_COOKIE]
    assert session.path == "/account"
    assert session.has_nonstandard_attr("HttpOnly")
    assert not session.secure  # http on loopback; https pages set Secure


def test_a_callback_whose_state_is_not_this_browsers_is_refused(site: Site) -> None:
    browser = httpx.Client(follow_redirects=False)
    assert browser.get(site.account).status_code == 302  # a sign-in started here
    forged = browser.get(site.account + "/callback", params={"code": "x", "state": "not-mine"})
    assert forged.status_code == 400
    assert "does not belong to this browser" in forged.text
    assert forged.headers["connection"] == "close"
    # A callback in a browser that started no sign-in (a link sent to a victim).
    stranger = httpx.get(site.account + "/callback", params={"code": "x", "state": "s"})
    assert stranger.status_code == 400
    assert "started in another browser" in stranger.text


def test_id_tokens_are_checked_for_audience_nonce_and_algorithm(site: Site) -> None:
    endpoint = site.settings.endpoint()
    authority = site.local.app.authority
    now = int(time.time())
    good = {
        "iss": endpoint.issuer,
        "aud": endpoint.client_id,
        "sub": "auth0|x",
        "iat": now,
        "exp": now + 60,
        "nonce": "n-1",
    }
    assert verify_id_token(authority.sign(good), endpoint, "n-1")["sub"] == "auth0|x"
    cases = {
        "another application": {**good, "aud": "someone-else"},
        "another sign-in": {**good, "nonce": "n-2"},
        "another issuer": {**good, "iss": "https://evil.example.com/"},
        "expired": {**good, "exp": now - 120, "iat": now - 200},
    }
    for name, claims in cases.items():
        with pytest.raises(SignInFailed):
            verify_id_token(authority.sign(claims), endpoint, "n-1")
        assert name
    # An HS256 token keyed with the (public) client id is not an id_token of the tenant.
    forged = jwt.encode(good, endpoint.client_id, algorithm="HS256")
    with pytest.raises(SignInFailed, match="RS256"):
        verify_id_token(forged, endpoint, "n-1")


def test_forged_and_expired_session_cookies_are_refused(site: Site) -> None:
    user = site.seed()
    claims = {"sub": user["user_id"], "email": None, "csrf": "c", "exp": int(time.time()) + 600}
    forged = CookieSigner(b"k" * 32).sign("session", claims)
    expired = site.service.signer.sign("session", {**claims, "exp": int(time.time()) - 1})
    # A login cookie (signed by the page, but for another purpose) is not a session.
    other_purpose = site.service.signer.sign("login", claims)
    for value in (forged, expired, other_purpose, "garbage"):
        browser = httpx.Client(follow_redirects=False, cookies={SESSION_COOKIE: value})
        assert browser.get(site.account).status_code == 302  # back to sign-in
        refused = site.post(
            browser,
            "/account/decide",
            {"csrf": "c", "purpose": "terms", "decision": "withdraw", "language": "en"},
        )
        assert refused.status_code == 401
        assert browser.get(site.account + "/receipts/1.jwt").status_code == 401
    assert len(site.ledger(user["user_id"])["events"]) == 2


# --- deciding ------------------------------------------------------------------------------
def test_withdrawing_and_giving_again_are_recorded_as_self_service(site: Site) -> None:
    user = site.seed()
    browser = site.sign_in(user["email"])
    html = site.page_html(browser)
    done = site.post(browser, "/account/decide", _decision(site, html, "marketing", "withdraw"))
    assert done.status_code == 303
    assert done.headers["location"].startswith("/account?recorded=marketing")

    ledger = site.ledger(user["user_id"])
    last = ledger["events"][-1]
    assert (last["purpose"], last["event"], last["method"]) == (
        "marketing",
        "withdrawn",
        "self-service",
    )
    assert last["version"] == VERSION
    assert last["language"] == "en"
    assert last["text_sha256"] == site.text_sha("marketing")
    assert ledgers.verify(ledger, site.key) == []
    # The readable mirror follows the ledger.
    mirror = site.user(user["user_id"])["user_metadata"]["consent"]["purposes"]["marketing"]
    assert mirror["given"] is False
    assert mirror["method"] == "self-service"

    html = browser.get(site.page.base_url + done.headers["location"]).text
    assert "Your decision was recorded." in html
    section = html.split('id="purpose-marketing"')[1].split("</section>")[0]
    assert 'data-state="withdrawn"' in section
    assert "This page" in section
    again = site.post(browser, "/account/decide", _decision(site, html, "marketing", "give"))
    assert again.status_code == 303
    ledger = site.ledger(user["user_id"])
    assert ledger["events"][-1]["event"] == "re-given"
    assert ledger["state"]["marketing"]["given"] is True
    assert ledgers.verify(ledger, site.key) == []


def test_the_language_shown_is_the_language_recorded(site: Site) -> None:
    user = site.seed()
    browser = site.sign_in(user["email"], language="de-CH, de;q=0.9, en;q=0.5")
    html = site.page_html(browser)
    assert '<html lang="de">' in html
    assert "Einwilligung widerrufen" in html
    site.post(browser, "/account/decide", _decision(site, html, "marketing", "withdraw"))
    last = site.ledger(user["user_id"])["events"][-1]
    # A withdrawal names the text it withdraws (given in English at sign-up) ...
    assert last["language"] == "de"
    assert last["text_sha256"] == site.text_sha("marketing", "en")
    # ... and giving again records the German text this page showed.
    html = site.page_html(browser)
    site.post(browser, "/account/decide", _decision(site, html, "marketing", "give"))
    last = site.ledger(user["user_id"])["events"][-1]
    assert (last["event"], last["language"]) == ("re-given", "de")
    assert last["text_sha256"] == site.text_sha("marketing", "de")


def test_decisions_need_this_pages_csrf_token_and_origin(site: Site) -> None:
    user = site.seed()
    browser = site.sign_in(user["email"])
    form = _decision(site, site.page_html(browser), "marketing", "withdraw")
    attempts = [
        ({**form, "csrf": "wrong"}, {"Sec-Fetch-Site": "same-origin"}),
        ({k: v for k, v in form.items() if k != "csrf"}, {"Sec-Fetch-Site": "same-origin"}),
        (form, {"Sec-Fetch-Site": "cross-site"}),
        (form, {"Origin": "https://evil.example.com"}),
        (form, {"Origin": "null"}),  # null passes only when Sec-Fetch-Site vouches for it
    ]
    for data, headers in attempts:
        refused = browser.post(site.account + "/decide", data=data, headers=headers)
        assert refused.status_code == 403, (data, headers)
        assert refused.headers["connection"] == "close"
    assert len(site.ledger(user["user_id"])["events"]) == 2


def test_a_decision_on_a_text_not_shown_is_refused(site: Site) -> None:
    user = site.seed(marketing=False)
    browser = site.sign_in(user["email"])
    form = _decision(site, site.page_html(browser), "marketing", "give")
    for changed in ({"text_sha256": "0" * 64}, {"version": "2020-01-01"}, {"language": "fr"}):
        refused = site.post(browser, "/account/decide", {**form, **changed})
        assert refused.status_code in (400, 409), changed
    assert len(site.ledger(user["user_id"])["events"]) == 2


# --- receipts ------------------------------------------------------------------------------
def test_each_event_has_a_receipt_that_verifies_against_the_ledger(site: Site) -> None:
    user = site.seed()
    browser = site.sign_in(user["email"])
    html = site.page_html(browser)
    site.post(browser, "/account/decide", _decision(site, html, "marketing", "withdraw"))
    ledger = site.ledger(user["user_id"])
    seq = ledger["events"][-1]["seq"]

    download = browser.get(f"{site.account}/receipts/{seq}.jwt")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/jwt"
    assert "attachment" in download.headers["content-disposition"]
    token = download.text
    assert token in site.page_html(browser)  # also shown on the page

    verified = verify_receipt(token, site.settings.receipt_key, ledger)
    assert (verified.purpose, verified.seq) == ("marketing", seq)
    # Anyone can verify it with the public key the page publishes (EdDSA, RFC 8037).
    published = browser.get(f"{site.account}/receipt-keys.json")
    assert published.status_code == 200
    [jwk] = published.json()["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert "d" not in jwk  # never the private part
    public = jwt.PyJWK(jwk).key
    assert (
        jwt.decode(token, public, algorithms=["EdDSA"], options={"verify_iat": False})["jti"]
        == ledger["events"][-1]["hash"]
    )
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
    claims = verified.claims
    # Kantara Consent Receipt v1.1 fields.
    assert claims["version"] == KANTARA_VERSION
    assert claims["piiPrincipalId"] == user["user_id"]
    assert claims["piiControllers"][0]["piiController"] == "Example Ltd"
    assert claims["policyUrl"] == "https://example.com/legal/privacy"
    assert claims["services"][0]["purposes"][0]["termination"] == "P2Y"
    assert claims["consentReceiptID"] == ledger["events"][-1]["hash"]
    # The ISO/IEC TS 27560 record parts.
    record = claims["iso27560"]
    assert set(record) == {"header", "processing", "parties", "event"}
    assert record["event"]["type"] == "withdrawn"
    assert record["event"]["method"] == "self-service"
    assert record["processing"]["lawful_basis"] == "consent"
    # Deterministic: the same event always gives the same receipt.
    again = issue_receipt(
        ledger["events"][-1],
        site.settings.policy,
        user["user_id"],
        site.settings.service,
        site.settings.receipt_key,
    )
    # The service is the tenant's hostname as its Actions see it, for every issuer.
    assert site.settings.service == "local.auth0-actions.test"
    assert again == token

    # Another user's event number is not this user's receipt.
    assert browser.get(f"{site.account}/receipts/99.jwt").status_code == 404


def test_a_receipt_does_not_verify_once_its_event_is_rewritten_or_resigned(site: Site) -> None:
    user = site.seed()
    ledger = site.ledger(user["user_id"])
    event = ledger["events"][0]
    key = site.settings.receipt_key
    token = issue_receipt(event, site.settings.policy, user["user_id"], "tenant", key)
    rewritten = {**ledger, "events": [{**event, "hash": "f" * 64}, *ledger["events"][1:]]}
    with pytest.raises(ReceiptRejected, match="differs"):
        verify_receipt(token, key, rewritten)
    another = ReceiptKey(Ed25519PrivateKey.generate())
    with pytest.raises(ReceiptRejected, match="signature"):
        verify_receipt(token, another, ledger)
    # Signed by another key that claims this key's id: the signature still decides.
    forged = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}),
        another.private,
        algorithm="EdDSA",
        headers={"kid": key.kid},
    )
    with pytest.raises(ReceiptRejected, match="signature"):
        verify_receipt(forged, key, ledger)
    with pytest.raises(ReceiptRejected, match="no event"):
        verify_receipt(token, key, {**ledger, "events": []})


def test_signing_out_ends_the_session(site: Site) -> None:
    user = site.seed()
    browser = site.sign_in(user["email"])
    csrf = _field(site.page_html(browser), "terms", "csrf")
    out = site.post(browser, "/account/logout", {"csrf": csrf})
    assert out.status_code == 200
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert browser.get(site.account).status_code == 302
