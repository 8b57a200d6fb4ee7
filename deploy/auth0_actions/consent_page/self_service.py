"""The self-service page: users see their consent and withdraw or give it in one click.

Served by ``auth0-actions consent-page serve`` under ``/account`` (the
consent page's server hands every ``/account`` request here):

* ``GET /account``: the page, once signed in; otherwise the browser is sent
  to the tenant's ``/authorize`` (see :mod:`.self_service_auth`);
* ``GET /account/callback``: the tenant's answer; a verified id_token
  starts a session;
* ``POST /account/decide``: one decision (``withdraw`` or ``give``) on one
  purpose, recorded through :func:`auth0_actions.consent.writer.record_decisions`
  with method ``self-service``, the language shown and the hash of the
  text shown; refused unless it comes from this page (Origin,
  Sec-Fetch-Site, the session's CSRF token);
* ``GET /account/receipts/<seq>.jwt``: the receipt of one of the user's events;
* ``POST /account/logout``: ends the session.

GDPR Art. 7(3): withdrawing must be as easy as giving; both are one button.
Nothing here logs a token, a cookie or the secret.
"""

from __future__ import annotations

import hmac
import json
import re
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from auth0_actions.clock import iso_utc
from auth0_actions.consent import ledger as ledgers
from auth0_actions.consent.receipts import issue_receipt
from auth0_actions.consent.texts import load_text
from auth0_actions.consent.writer import USER_FIELDS, record_decisions
from auth0_actions.consent_page.language import negotiate
from auth0_actions.consent_page.self_service_auth import (
    LOGIN_COOKIE,
    LOGIN_TTL_S,
    SESSION_COOKIE,
    SESSION_TTL_S,
    CookieSigner,
    Session,
    SignInFailed,
    cookie_header,
    finish_login,
    new_session,
    read_session,
    start_login,
)
from auth0_actions.consent_page.self_service_settings import SelfServiceSettings
from auth0_actions.consent_page.self_service_view import (
    folded_count,
    purpose_views,
    render,
    security_headers,
)
from auth0_actions.consent_page.self_service_words import words
from auth0_actions.consent_page.settings import TenantUnreachable
from auth0_actions.errors import Auth0ActionsError

ACCOUNT_PATH = "/account"
MAX_FORM_BYTES = 16 * 1024
_RECEIPT = re.compile(r"^/account/receipts/([1-9][0-9]{0,9})\.jwt$")
# Browsers send these for a form posted by this page; anything else is cross-site.
_SAME_SITE = ("same-origin", "none")


# The public key that verifies the receipts (a JWK Set, RFC 7517 s. 5).
RECEIPT_KEYS_PATH = ACCOUNT_PATH + "/receipt-keys.json"


def is_account_path(path: str) -> bool:
    return path == ACCOUNT_PATH or path.startswith(ACCOUNT_PATH + "/")


class Refused(Exception):
    """An answer for the browser: a status and a word key (or words) a person can act on."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status, self.heading, self.message = status, heading, message


class SelfService:
    """The self-service routes, shared by every request the server hands over."""

    def __init__(self, settings: SelfServiceSettings, signer: CookieSigner | None = None) -> None:
        self.settings = settings
        self.signer = signer or CookieSigner()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one request whose path :func:`is_account_path` accepted."""
        exchange = _Exchange(self, request)
        try:
            exchange.route()
        except Refused as refused:
            exchange.close()
            exchange.message(refused.status, refused.heading, refused.message)
        except (TenantUnreachable, SignInFailed, Auth0ActionsError) as error:
            exchange.close()
            w = exchange.words
            detail = error.reason if isinstance(error, SignInFailed) else w["error_unavailable"]
            status = 400 if isinstance(error, SignInFailed) else 503
            heading = w["error_sign_in"] if isinstance(error, SignInFailed) else w["error_heading"]
            exchange.message(status, heading, detail, link=(ACCOUNT_PATH, w["sign_in_again"]))


class _Exchange:
    """One request and its answer."""

    def __init__(self, service: SelfService, request: BaseHTTPRequestHandler) -> None:
        self.service = service
        self.settings = service.settings
        self.request = request
        parts = urlsplit(request.path)
        self.path, self.query = parts.path, parse_qs(parts.query)
        self.language = negotiate(
            self.settings.policy.languages, request.headers.get("Accept-Language"), None
        )
        self.words = words(self.language, self.settings.policy.labels)
        self.body_read = False

    # --- routing
    def route(self) -> None:
        method, path = self.request.command, self.path
        if method == "GET" and path == ACCOUNT_PATH:
            self.show()
        elif method == "GET" and path == ACCOUNT_PATH + "/callback":
            self.callback()
        elif method == "POST" and path == ACCOUNT_PATH + "/decide":
            self.decide()
        elif method == "POST" and path == ACCOUNT_PATH + "/logout":
            self.logout()
        elif method == "GET" and path == RECEIPT_KEYS_PATH:
            self.receipt_keys()
        elif method == "GET" and _RECEIPT.match(path):
            self.receipt(int(_RECEIPT.match(path).group(1)))  # type: ignore[union-attr]
        else:
            raise Refused(404, self.words["error_heading"], self.words["error_not_found"])

    # --- GET /account/receipt-keys.json: public, so anyone can verify a receipt
    def receipt_keys(self) -> None:
        body = json.dumps(self.settings.receipt_key.jwks(), indent=2).encode()
        self.send(200, body, "application/jwk-set+json")

    # --- GET /account
    def show(self) -> None:
        session = self.session()
        if session is None:
            self.sign_in()
            return
        user, ledger = self.user_and_ledger(session.user_id)
        views = purpose_views(
            self.settings.policy,
            self.settings.root,
            ledger,
            self.language,
            self.words,
            (session.user_id, self.settings.service, self.settings.receipt_key),
        )
        body = render(
            "account.html.j2",
            **self.common(),
            user_id=session.user_id,
            email=user.get("email") or session.email,
            csrf=session.csrf,
            recorded="recorded" in self.query,
            purposes=views,
            folded=folded_count(ledger),
        )
        self.send(200, body.encode(), "text/html; charset=utf-8")

    def sign_in(self) -> None:
        endpoint = self.settings.endpoint()
        url, cookie = start_login(
            self.service.signer, endpoint, self.settings.callback_url, self.language
        )
        self.send(
            302,
            b"",
            "text/plain",
            [("Location", url), ("Set-Cookie", self.cookie(LOGIN_COOKIE, cookie, LOGIN_TTL_S))],
        )

    # --- GET /account/callback
    def callback(self) -> None:
        query = {k: v[0] for k, v in self.query.items() if len(v) == 1}
        claims = finish_login(
            self.service.signer,
            self.settings.endpoint(),
            self.settings.callback_url,
            self.cookie_value(LOGIN_COOKIE),
            query,
        )
        email = claims.get("email")
        _, value = new_session(
            self.service.signer, claims["sub"], email if isinstance(email, str) else None
        )
        self.send(
            303,
            b"",
            "text/plain",
            [
                ("Location", ACCOUNT_PATH),
                ("Set-Cookie", self.cookie(SESSION_COOKIE, value, SESSION_TTL_S)),
                ("Set-Cookie", self.cookie(LOGIN_COOKIE, "", 0)),
            ],
        )

    # --- POST /account/decide
    def decide(self) -> None:
        session, form = self.checked_form()
        policy = self.settings.policy
        purpose = policy.purpose(form.get("purpose", ""))
        decision = form.get("decision")
        language = form.get("language", "")
        if (
            purpose is None
            or decision not in ("give", "withdraw")
            or language not in policy.languages
        ):
            raise Refused(400, self.words["error_heading"], self.words["error_form"])
        text = load_text(self.settings.root, purpose, language)
        # The text and version shown must still be the current ones: never record
        # a decision on words the user did not see.
        shown = form.get("text_sha256", "")
        if form.get("version") != purpose.version or not hmac.compare_digest(
            shown.encode(), text.sha256.encode()
        ):
            raise Refused(409, self.words["error_heading"], self.words["error_form"])
        event = ledgers.NewEvent(
            purpose=purpose.id,
            decision="given" if decision == "give" else "withdrawn",
            version=purpose.version,
            at=iso_utc(),
            method="self-service",
            text_sha256=text.sha256,
            language=language,
        )
        with self.settings.management() as client:
            try:
                record_decisions(
                    client,
                    policy,
                    session.user_id,
                    [event],
                    self.settings.ledger_key.reveal().encode(),
                    now=event.at,
                )
            except ValueError:  # a withdrawal of nothing given: a stale page
                raise Refused(409, self.words["error_heading"], self.words["error_form"]) from None
        location = f"{ACCOUNT_PATH}?recorded={purpose.id}#purpose-{purpose.id}"
        self.send(303, b"", "text/plain", [("Location", location)])

    # --- POST /account/logout
    def logout(self) -> None:
        self.checked_form()
        body = render(
            "account_message.html.j2",
            **self.common(),
            heading=self.words["signed_out"],
            message=self.words["signed_out_text"],
            link=ACCOUNT_PATH,
            link_label=self.words["sign_in_again"],
        )
        cleared = ("Set-Cookie", self.cookie(SESSION_COOKIE, "", 0))
        self.send(200, body.encode(), "text/html; charset=utf-8", [cleared])

    # --- GET /account/receipts/<seq>.jwt
    def receipt(self, seq: int) -> None:
        session = self.session()
        if session is None:
            raise Refused(401, self.words["error_heading"], self.words["error_session"])
        _, ledger = self.user_and_ledger(session.user_id)
        event = next(
            (e for e in (ledger or {}).get("events") or [] if e.get("seq") == seq),
            None,
        )
        if event is None:
            raise Refused(404, self.words["error_heading"], self.words["error_receipt"])
        token = issue_receipt(
            event,
            self.settings.policy,
            session.user_id,
            self.settings.service,
            self.settings.receipt_key,
        )
        disposition = f'attachment; filename="consent-receipt-{seq}.jwt"'
        self.send(200, token.encode(), "application/jwt", [("Content-Disposition", disposition)])

    # --- the user, the session, the form
    def user_and_ledger(self, user_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        with self.settings.management() as client:
            user = client.get_user(user_id, fields=USER_FIELDS)
        return user, ledgers.read(user.get("app_metadata"), self.settings.policy.ledger.key)

    def session(self) -> Session | None:
        return read_session(self.service.signer, self.cookie_value(SESSION_COOKIE))

    def checked_form(self) -> tuple[Session, dict[str, str]]:
        """The posted form, once it is shown to come from this page in this session."""
        self.refuse_cross_site()
        form = self.form()
        session = self.session()
        if session is None:
            raise Refused(401, self.words["error_heading"], self.words["error_session"])
        if not hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode()):
            raise Refused(403, self.words["error_heading"], self.words["error_form"])
        return session, form

    def refuse_cross_site(self) -> None:
        """As the consent page: Sec-Fetch-Site decides; ``Origin: null`` needs it to vouch."""
        headers = self.request.headers
        site = headers.get("Sec-Fetch-Site")
        refused = Refused(403, self.words["error_heading"], self.words["error_form"])
        if site is not None and site not in _SAME_SITE:
            raise refused
        origin = headers.get("Origin")
        if origin is None:
            return
        if origin == "null":
            if site != "same-origin":
                raise refused
            return
        if urlsplit(origin).netloc != (headers.get("Host") or ""):
            raise refused

    def form(self) -> dict[str, str]:
        headers = self.request.headers
        kind = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            length = int(headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if kind != "application/x-www-form-urlencoded" or not 0 <= length <= MAX_FORM_BYTES:
            raise Refused(400, self.words["error_heading"], self.words["error_form"])
        raw = self.request.rfile.read(length)
        self.body_read = True
        try:
            fields = parse_qs(raw.decode("ascii"), max_num_fields=10)
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, self.words["error_heading"], self.words["error_form"]) from None
        # A field given twice is ambiguous: it counts as missing.
        return {k: v[0] for k, v in fields.items() if len(v) == 1}

    def cookie_value(self, name: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.request.headers.get("Cookie") or "")
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None and morsel.value else None

    def cookie(self, name: str, value: str, max_age: int) -> str:
        return cookie_header(name, value, max_age, secure=self.settings.secure_cookies)

    # --- answers
    def common(self) -> dict[str, Any]:
        policy = self.settings.policy
        return {
            "w": self.words,
            "language": self.language,
            "privacy_url": policy.privacy_url,
            "controller": policy.controller,
            "support_email": self.settings.support_email,
        }

    def close(self) -> None:
        """A refused request's connection is not reused (and says so): drain a small body."""
        self.request.close_connection = True
        if self.body_read:
            return
        try:
            length = int(self.request.headers.get("Content-Length") or "0")
        except ValueError:
            return
        if 0 < length <= MAX_FORM_BYTES:
            self.request.rfile.read(length)
        self.body_read = True

    def message(
        self, status: int, heading: str, message: str, *, link: tuple[str, str] | None = None
    ) -> None:
        body = render(
            "account_message.html.j2",
            **self.common(),
            heading=heading,
            message=message,
            link=link[0] if link else None,
            link_label=link[1] if link else None,
        )
        self.send(status, body.encode(), "text/html; charset=utf-8")

    def send(
        self,
        status: int,
        body: bytes,
        kind: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        request = self.request
        request.send_response(status)
        headers = [("Content-Type", kind), ("Content-Length", str(len(body)))]
        headers += list(security_headers().items()) + (extra or [])
        headers += [("Content-Language", self.language), ("Vary", "Accept-Language, Cookie")]
        if request.close_connection:
            headers.append(("Connection", "close"))
        for name, value in headers:
            request.send_header(name, value)
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)
