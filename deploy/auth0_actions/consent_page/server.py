"""The reference consent page server (``auth0-actions consent-page serve``).

GET /consent?session_token=...&state=... checks the session token (HS256
with the environment's secret, exp, iss, sub, the purposes asked) and the
state, opens a one-use ticket for it (tickets.py) and shows one choice per
purpose asked, in the language the browser prefers (language.py), with a CSRF
token that is also set as a SameSite=Strict cookie. POST /consent checks that
the request comes from this page (Origin, Sec-Fetch-Site, the CSRF token in
form and cookie, bound to this ticket) and that every purpose has a choice,
then sends the browser on to the tenant's /continue with a signed result
token (a page that moves on by meta refresh: see page.render_continue).

Routes are a table (``ROUTES``: path -> method -> handler), so another page
served here adds its paths in one place. Nothing here logs a query string,
a token or the secret: the access log has the method, the path and the
status only.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from auth0_actions.clock import now_s
from auth0_actions.consent_page.catalog import Catalog, PurposeEntry
from auth0_actions.consent_page.language import negotiate
from auth0_actions.consent_page.page import (
    ConsentView,
    LanguageLink,
    PurposeView,
    language_headers,
    render_consent,
    render_continue,
    render_error,
    security_headers,
)
from auth0_actions.consent_page.self_service import SelfService, is_account_path
from auth0_actions.consent_page.settings import PageSettings, TenantUnreachable
from auth0_actions.consent_page.tickets import PageError, Ticket, TicketBook, unverified
from auth0_actions.consent_page.tokens import (
    DECISIONS,
    Answer,
    AskedPurpose,
    SessionClaims,
    TokenRejected,
    result_token,
    verify_session_token,
)

PAGE_PATH = "/consent"
CSRF_COOKIE = "consent_csrf"
MAX_FORM_BYTES = 16 * 1024
# ticket, csrf_token, language and one choice per purpose (at most 16).
MAX_FORM_FIELDS = 24
MAX_STATE_LENGTH = 512
CHOICE_PREFIX = "purpose."
# Browsers send these for a form posted by this page; anything else is cross-site.
ALLOWED_FETCH_SITES = ("same-origin", "none")


def _invalid_link(detail: str) -> PageError:
    return PageError(400, "invalid_link", "sign_in_again", detail[0].upper() + detail[1:] + ".")


def _texts_changed() -> PageError:
    return PageError(409, "texts_changed", "texts_changed_text")


class ConsentPageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        settings: PageSettings,
        host: str,
        port: int,
        *,
        quiet: bool,
        account: SelfService | None = None,
    ) -> None:
        self.settings = settings
        self.account = account  # the self-service page under /account, when configured
        self.tickets = TicketBook()
        self.quiet = quiet
        super().__init__((host, port), PageHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


Route = Callable[["PageHandler"], None]


class PageHandler(BaseHTTPRequestHandler):
    """One connection's requests; ``ROUTES`` says which method of it answers which."""

    _body_read = False
    language = ""
    server: ConsentPageServer
    server_version = "consent-page"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    # --- routing
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    @property
    def catalog(self) -> Catalog:
        return self.server.settings.catalog

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.catalog.labels[self.language])

    def _answer(self) -> None:
        settings = self.server.settings
        self._body_read = False  # one handler serves every request of a connection
        if self.server.account is not None and is_account_path(urlsplit(self.path).path):
            self.server.account.handle(self)
            return
        self.language = negotiate(
            self.catalog.languages,
            self.headers.get("Accept-Language"),
            _single(self.query(), "lang"),
        )
        try:
            methods = ROUTES.get(urlsplit(self.path).path)
            if methods is None:
                raise PageError(404, "not_found", "not_found_text")
            route = methods.get(self.command)
            if route is None:
                raise PageError(405, "not_allowed", "not_allowed_text")
            route(self)
        except PageError as error:
            self._refuse(error.status, error.heading, error.message, error.detail)
        except TenantUnreachable as error:
            self.log_error("%s", str(error))
            self._refuse(503, "unavailable", "unavailable_text", None, settings.support_email)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the browser left: nobody to answer
        except Exception:  # a bug answers 500, never a dropped connection
            self.log_error("%s", traceback.format_exc())
            self._refuse(500, "unavailable", "unavailable_text", None, settings.support_email)

    def _refuse(
        self,
        status: int,
        heading: str,
        message: str,
        detail: str | None,
        support_email: str | None = None,
    ) -> None:
        # A refused request's body may be unread: never reuse this connection,
        # and read what is left of a form-sized body first. Closing a socket
        # with unread bytes makes the kernel send a reset, which can destroy
        # the answer before the browser reads it. _send says Connection: close.
        self.close_connection = True
        self._drain_body()
        labels = self.labels
        body = render_error(
            self.language, labels, labels[heading], labels[message], detail, support_email
        )
        extra = {"Allow": "GET, POST"} if status == 405 else None
        self.html(status, body, extra=extra)

    def _drain_body(self) -> None:
        if self._body_read:
            return
        self._body_read = True
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            return
        if 0 < length <= MAX_FORM_BYTES:
            self.rfile.read(length)

    # --- GET /consent: check the session token, show the page
    def show_consent(self) -> None:
        query = self.query()
        token = _single(query, "session_token")
        ticket_id = _single(query, "ticket")
        if token:
            state = _single(query, "state")
            if not state or len(state) > MAX_STATE_LENGTH:
                raise _invalid_link("the link carries no valid state parameter")
            session = self._verify(token)
            self._asked(session)  # before the ticket opens: a stale link spends nothing
            ticket = self.server.tickets.open(session, state, self.cookie(CSRF_COOKIE))
        elif ticket_id:
            # A language link of this page: the ticket, never the token, in the URL.
            ticket = self.server.tickets.reopen(ticket_id, self.cookie(CSRF_COOKIE))
        else:
            raise _invalid_link("the link carries no session token")
        self._show(ticket, 200, {})

    def _show(self, ticket: Ticket, status: int, chosen: dict[str, str]) -> None:
        settings = self.server.settings
        session = ticket.session
        words = self.labels
        purposes = [
            PurposeView(
                id=asked.id,
                title=entry.words[self.language].title,
                version=asked.version,
                required=asked.required,
                reason=asked.reason,
                paragraphs=entry.words[self.language].paragraphs,
                url=entry.url,
                if_declined=entry.words[self.language].if_declined,
                chosen=chosen.get(asked.id),
            )
            for asked, entry in self._asked(session)
        ]
        others = [
            LanguageLink(
                language=other,
                name=self.catalog.labels[other]["language_name"],
                href=f"{PAGE_PATH}?" + urlencode({"ticket": session.ticket, "lang": other}),
            )
            for other in self.catalog.languages
            if other != self.language
        ]
        body = render_consent(
            ConsentView(
                language=self.language,
                labels=words,
                purposes=purposes,
                privacy_url=session.privacy_url or self.catalog.privacy_url,
                self_service_url=session.self_service_url or self.catalog.self_service_url,
                ticket=session.ticket,
                csrf_token=ticket.csrf,
                action=PAGE_PATH,
                support_email=settings.support_email,
                other_languages=others,
                incomplete=status == 400,
            )
        )
        max_age = max(0, int(session.exp - now_s()))
        cookie = _cookie_header(ticket.csrf, max_age)
        self.html(status, body, form_targets=(settings.tenant_url(),), extra={"Set-Cookie": cookie})

    def _asked(self, session: SessionClaims) -> list[tuple[AskedPurpose, PurposeEntry]]:
        """The purposes asked, each with the texts this page holds for its version."""
        pairs = []
        for asked in session.purposes:
            entry = self.catalog.current(asked.id, asked.version)
            # Another version or another required-ness: tenant.yaml changed since.
            if entry is None or entry.required != asked.required:
                raise _texts_changed()
            pairs.append((asked, entry))
        return pairs

    def _verify(self, token: str) -> SessionClaims:
        settings = self.server.settings
        try:
            return verify_session_token(token, settings.secret.reveal(), settings.issuer)
        except TokenRejected as rejected:
            if rejected.expired:
                raise PageError(400, "expired_link", "expired_link_text") from None
            raise _invalid_link(rejected.reason) from None

    # --- POST /consent: check it comes from our page, answer the tenant
    def decide_consent(self) -> None:
        settings = self.server.settings
        self.refuse_cross_site()
        form = self.form()
        csrf = _single(form, "csrf_token")
        if not csrf:
            raise unverified()
        ticket_id = _single(form, "ticket") or ""
        cookie = self.cookie(CSRF_COOKIE)
        ticket = self.server.tickets.check(ticket_id, csrf, cookie)
        shown = _single(form, "language")
        if shown not in self.catalog.languages:
            raise PageError(400, "bad_form", "bad_form_text", "the form names no page language")
        self.language = shown
        asked = self._asked(ticket.session)
        choices = self._choices(form, [a.id for a, _ in asked])
        if len(choices) < len(asked):
            # Not a refusal: the same page again, the choices made kept, the ticket unspent.
            self._show(ticket, 400, choices)
            return
        ticket = self.server.tickets.decide(ticket_id, csrf, cookie)
        answer = Answer(
            decisions=choices,
            versions={a.id: a.version for a, _ in asked},
            texts={a.id: entry.words[shown].sha256 for a, entry in asked},
            language=shown,
        )
        tenant = settings.tenant_url()
        token = result_token(ticket.session, ticket.state, answer, settings.secret.reveal())
        location = f"{tenant}/continue?" + urlencode(
            {"state": ticket.state, "session_token": token}
        )
        self.html(
            200,
            render_continue(location, self.language, self.labels),
            form_targets=(tenant,),
            extra={"Set-Cookie": _cookie_header("", 0)},
        )

    @staticmethod
    def _choices(form: dict[str, list[str]], asked: list[str]) -> dict[str, str]:
        """purpose id -> given | declined, for the purposes the form has a choice for."""
        named = {k[len(CHOICE_PREFIX) :] for k in form if k.startswith(CHOICE_PREFIX)}
        if named - set(asked):
            raise PageError(400, "bad_form", "bad_form_text", "the form answers another purpose")
        choices: dict[str, str] = {}
        for purpose in asked:
            if CHOICE_PREFIX + purpose not in form:
                continue
            value = _single(form, CHOICE_PREFIX + purpose)
            if value not in DECISIONS:
                raise PageError(400, "bad_form", "bad_form_text", "a choice is not valid")
            choices[purpose] = value
        return choices

    # --- request helpers (for every route)
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def refuse_cross_site(self) -> None:
        """Browsers say where a request comes from; anything but this page is refused.

        Sec-Fetch-Site, when sent, decides. With ``Referrer-Policy: no-referrer``
        Chromium sends ``Origin: null`` on the page's own form post, so a null
        origin passes only when Sec-Fetch-Site vouches for it.
        """
        site = self.headers.get("Sec-Fetch-Site")
        origin = self.headers.get("Origin")
        if site is not None and site not in ALLOWED_FETCH_SITES:
            cross = True
        elif origin is None:
            cross = False
        elif origin == "null":
            cross = site != "same-origin"
        else:
            # Behind a TLS-terminating proxy the scheme differs; host and port must not.
            cross = urlsplit(origin).netloc != (self.headers.get("Host") or "")
        if cross:
            raise PageError(403, "refused", "refused_text")

    def form(self) -> dict[str, list[str]]:
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise PageError(415, "bad_form", "bad_form_text", "the form must be a web form")
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_FORM_BYTES:
            raise PageError(413, "bad_form", "bad_form_text", "the form is too large")
        raw = self.rfile.read(length)
        self._body_read = True
        try:
            return parse_qs(raw.decode("ascii"), max_num_fields=MAX_FORM_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise PageError(400, "bad_form", "bad_form_text", "the form is unreadable") from None

    def cookie(self, name: str) -> str | None:
        header = self.headers.get("Cookie")
        if not header:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None and morsel.value else None

    # --- responses
    def html(
        self,
        status: int,
        body: str,
        *,
        form_targets: tuple[str, ...] = (),
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = {
            **security_headers(form_targets),
            **language_headers(self.language),
            **(extra or {}),
        }
        self._send(status, body.encode("utf-8"), "text/html; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            # Say so: a client that is not told reuses the connection for its next
            # request and loses it when the close arrives mid-send.
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query string holds tokens: log the path only.
        if not self.server.quiet:
            path = urlsplit(self.path).path
            sys.stderr.write(f"{self.command} {path} {code}\n")

    def log_error(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write("consent-page: " + (format % args) + "\n")


# path -> method -> the handler's method that answers it; anything else is 404/405.
ROUTES: dict[str, dict[str, Route]] = {
    PAGE_PATH: {"GET": PageHandler.show_consent, "POST": PageHandler.decide_consent},
}


def _cookie_header(value: str, max_age: int) -> str:
    # Strict: a browser never sends it with a request another site started.
    return f"{CSRF_COOKIE}={value}; Path={PAGE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict"


def _single(params: dict[str, list[str]], name: str) -> str | None:
    """A parameter given exactly once; repeated parameters are ambiguous, so refused."""
    values = params.get(name)
    if not values or len(values) != 1:
        return None
    return values[0]


class ConsentPageThread:
    """The server in a background thread: for tests and for embedding."""

    def __init__(
        self,
        settings: PageSettings,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
        account: SelfService | None = None,
    ) -> None:
        self.server = ConsentPageServer(settings, host, port, quiet=quiet, account=account)
        # A short poll interval: stop() returns at once instead of within 0.5 s.
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="consent-page",
            daemon=True,
        )

    def start(self) -> ConsentPageThread:
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def page_url(self) -> str:
        return self.server.base_url + PAGE_PATH

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
