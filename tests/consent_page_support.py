"""The consent page under test: its fixtures, tokens as the redirect Action makes them, a
browser-like client, and readers of what the page answers (tests/test_consent_page*.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from auth0_actions.config import load_tenant
from auth0_actions.consent_page.catalog import Catalog, load_catalog
from auth0_actions.consent_page.server import ConsentPageThread
from auth0_actions.consent_page.settings import PageSettings, fixed_tenant
from auth0_actions.secrets import Secret

SECRET = "consent-page-test-secret-0123456789abcdef"
ISSUER = "tenant.example.test"
TENANT = "http://127.0.0.1:9"  # never contacted: the tests read the redirect
USER = "auth0|0123456789abcdef01234567"
STATE = "resume-state-abc"
VERSION = "2026-11-01"
SELF_SERVICE = "https://consent.example.com/account"
TERMS = {"id": "terms", "version": VERSION, "required": True, "reason": "missing"}
MARKETING = {"id": "marketing", "version": VERSION, "required": False, "reason": "missing"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_token(claims: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def scaffold_catalog(scaffolded: Path) -> Catalog:
    """What `init` writes: terms (required) and marketing (optional), in en and de."""
    tenant = load_tenant(scaffolded / "tenant.yaml")
    return load_catalog(tenant.environments["local"].consent, scaffolded)


def scaffold_texts(scaffolded: Path) -> dict[tuple[str, str], bytes]:
    """(purpose, language) -> the text file's bytes, read here, not through the page."""
    folder = scaffolded / "consent_texts"
    return {
        (purpose, language): (folder / f"{purpose}-{VERSION}.{language}.txt").read_bytes()
        for purpose in ("terms", "marketing")
        for language in ("en", "de")
    }


def serve(catalog: Catalog) -> Iterator[ConsentPageThread]:
    """The page on a free loopback port, its answers going to TENANT (never contacted)."""
    settings = PageSettings(
        secret=Secret(SECRET),
        issuer=ISSUER,
        tenant_url=fixed_tenant(TENANT),
        catalog=catalog,
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
        "purposes": [TERMS, MARKETING],
        "privacy_url": "https://example.com/legal/privacy",
        "self_service_url": SELF_SERVICE,
        # Tests in one second would otherwise make identical tokens, which replay.
        "nonce": secrets.token_hex(8),
    }
    claims.update(changes)
    for name in [k for k, v in claims.items() if v is None]:
        del claims[name]
    return sign_token(claims, secret, alg)


def open_page(
    page: ConsentPageThread,
    token: str | None,
    state: str | None = STATE,
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Client, httpx.Response]:
    """A fresh browser-like client GETs the page; its cookie jar keeps the CSRF cookie."""
    client = httpx.Client(
        base_url=page.base_url, follow_redirects=False, timeout=10, headers=headers
    )
    params = {k: v for k, v in (("session_token", token), ("state", state)) if v is not None}
    return client, client.get("/consent", params=params)


def form_of(response: httpx.Response) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', response.text)
    return dict(fields)


def post(
    client: httpx.Client,
    page: ConsentPageThread,
    form: dict[str, str],
    choices: dict[str, str] | None = None,
    headers: dict[str, str | None] | None = None,
) -> httpx.Response:
    """POST as the page's own form would (every purpose agreed unless ``choices`` says)."""
    if choices is None:
        choices = {"terms": "given", "marketing": "given"}
    own: dict[str, str | None] = {"Origin": page.base_url, "Sec-Fetch-Site": "same-origin"}
    sent = {k: v for k, v in {**own, **(headers or {})}.items() if v is not None}
    data = {**form, **{f"purpose.{k}": v for k, v in choices.items()}}
    return client.post("/consent", data=data, headers=sent)


def assert_refused(
    response: httpx.Response, status: int, token: str | None = None, lang: str = "en"
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in response.text
    assert "<h1>" in response.text
    assert 'role="alert"' in response.text
    assert SECRET not in response.text
    # A refused request never shares its connection with the next one, and says so.
    assert response.headers["connection"] == "close"
    if token is not None:
        assert token not in response.text
        for part in token.split("."):
            assert not part or part not in response.text


def fieldsets(text: str) -> dict[str, str]:
    """purpose id -> the HTML of its fieldset."""
    found = re.findall(r"<fieldset[^>]*>.*?</fieldset>", text, re.S)
    return {re.search(r'name="purpose\.([a-z_]+)"', f).group(1): f for f in found}  # type: ignore[union-attr]


def shown_text(page_html: str, purpose: str) -> str:
    """The purpose's text as the page shows it: its paragraphs, unescaped, blank-line joined."""
    section = page_html.split(f'<h2 id="title-{purpose}">', 1)[1].split("</section>", 1)[0]
    block = section.split('<div class="text">', 1)[1].split("</div>", 1)[0]
    return "\n\n".join(html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", block, re.S))


def decode_answer(
    response: httpx.Response, label: str = "Continue to the application"
) -> dict[str, Any]:
    """The /continue URL the answer page moves on to (meta refresh and link), decoded."""
    assert response.status_code == 200, response.text
    [refresh] = re.findall(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', response.text)
    [link] = re.findall(rf'<a href="([^"]+)">{label}</a>', response.text)
    assert refresh == link
    location = urlsplit(html.unescape(link))
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{TENANT}/continue"
    query = parse_qs(location.query)
    assert query["state"] == [STATE]
    return dict(
        jwt.decode(
            query["session_token"][0],
            SECRET,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
