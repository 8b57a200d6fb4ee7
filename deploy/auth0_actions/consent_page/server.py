"""The reference consent page server (``auth0-actions consent-page serve``).

GET /consent?session_token=...&state=... checks the session token (HS256
with the environment's secret, exp, iss, sub) and the state, remembers the
token (by hash) until it expires so it serves one consent decision only,
and shows the page with a CSRF token that is also set as a SameSite=Strict
cookie. POST /consent checks that the request comes from this page (Origin,
Sec-Fetch-Site, the CSRF token in form and cookie, bound to this token),
then sends the browser on to the tenant's /continue with a signed result
token (a page that moves on by meta refresh: see page.render_continue).

Nothing here logs a query string, a token or the secret: the access log has
the method, the path and the status only.
"""

from __future__ import annotations

import hmac
import secrets
import sys
import threading
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from auth0_actions.clock import now_s
from auth0_actions.consent_page.page import (
    ConsentView,
    render_consent,
    render_continue,
    render_error,
    security_headers,
)
from auth0_actions.consent_page.self_service import SelfService, is_account_path
from auth0_actions.consent_page.settings import PageSettings, TenantUnreachable
from auth0_actions.consent_page.tokens import (
    SessionClaims,
    TokenRejected,
    result_token,
    token_digest,
    verify_session_token,
)

PAGE_PATH = "/consent"
CSRF_COOKIE = "consent_csrf"
MAX_FORM_BYTES = 16 * 1024
MAX_STATE_LENGTH = 512
# Browsers send these for a form posted by this page; anything else is cross-site.
ALLOWED_FETCH_SITES = ("same-origin", "none")


class PageError(Exception):
    """An answer for the browser: a status and words a person can act on."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.heading = heading
        self.message = message


def _invalid_link(reason: str) -> PageError:
    return PageError(400, "This consent link is not valid", reason[0].upper() + reason[1:] + ".")


@dataclass
class Ticket:
    """One session token seen by this server: the consent it may still decide."""

    session: SessionClaims
    state: str
    csrf: str
    decided: bool = False


class TicketBook:
    """Session tokens seen, by hash, until they expire: each serves one decision."""

    def __init__(self) -> None:
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def open(self, digest: str, session: SessionClaims, state: str, cookie: str | None) -> Ticket:
        """The ticket for a GET: new, or the same browser reloading the page."""
        with self._lock:
            self._forget_expired()
            ticket = self._tickets.get(digest)
            if ticket is None:
                ticket = Ticket(session, state, secrets.token_urlsafe(32))
                self._tickets[digest] = ticket
                return ticket
            # Only the browser holding this ticket's cookie may show it again.
            same_browser = cookie is not None and _same(cookie, ticket.csrf)
            if ticket.decided or not same_browser or ticket.state != state:
                raise PageError(
                    409,
                    "This consent link was already used",
                    "Each consent link works once. It was used already.",
                )
            return ticket

    def decide(self, digest: str, form_csrf: str, cookie: str | None) -> Ticket:
        """Mark the ticket decided, once, if the CSRF token is this ticket's."""
        with self._lock:
            ticket = self._tickets.get(digest)
            if ticket is None or ticket.session.exp <= now_s():
                raise PageError(
                    400,
                    "This consent request has expired",
                    "The consent request is unknown or has expired.",
                )
            if ticket.decided:
                raise PageError(
                    409,
                    "This consent link was already used",
                    "A decision was already sent for this consent request.",
                )
            matches = (
                cookie is not None and _same(form_csrf, ticket.csrf) and _same(cookie, ticket.csrf)
            )
            if not matches:
                raise PageError(
                    403,
                    "The form could not be verified",
                    "The form was not sent from this page in this browser.",
                )
            ticket.decided = True
            return ticket

    def _forget_expired(self) -> None:
        now = now_s()
        for digest in [d for d, t in self._tickets.items() if t.session.exp <= now]:
            del self._tickets[digest]


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
        super().__init__((host, port), _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    _body_read = False
    server: ConsentPageServer
    server_version = "consent-page"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    # --- routing
    def do_GET(self) -> None:
        self._answer(self._show)

    def do_POST(self) -> None:
        self._answer(self._decide)

    def do_HEAD(self) -> None:
        self._answer(self._not_allowed)

    def do_PUT(self) -> None:
        self._answer(self._not_allowed)

    def do_DELETE(self) -> None:
        self._answer(self._not_allowed)

    def _answer(self, handler: Any) -> None:
        settings = self.server.settings
        self._body_read = False  # one handler serves every request of a connection
        if self.server.account is not None and is_account_path(urlsplit(self.path).path):
            self.server.account.handle(self)
            return
        try:
            if urlsplit(self.path).path != PAGE_PATH:
                raise PageError(404, "Page not found", "There is no page at this address.")
            handler()
        except PageError as error:
            # A refused POST's body may be unread: never reuse this connection,
            # and read what is left of a form-sized body first. Closing a socket
            # with unread bytes makes the kernel send a reset, which can destroy
            # the answer before the browser reads it.
            self.close_connection = True
            self._drain_body()
            self._html(error.status, render_error(error.heading, error.message, None))
        except TenantUnreachable as error:
            self.log_error("%s", str(error))
            self._html(
                503,
                render_error(
                    "Consent is unavailable",
                    "The consent page cannot reach the sign-in service right now.",
                    settings.support_email,
                ),
            )

    def _drain_body(self) -> None:
        if self._body_read:
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            return
        if 0 < length <= MAX_FORM_BYTES:
            self.rfile.read(length)
        self._body_read = True

    def _not_allowed(self) -> None:
        raise PageError(405, "Method not allowed", "This page answers GET and POST only.")

    # --- GET: check the session token, show the page
    def _show(self) -> None:
        settings = self.server.settings
        query = parse_qs(urlsplit(self.path).query)
        token = _single(query, "session_token")
        state = _single(query, "state")
        if not token:
            raise _invalid_link("the link carries no session token")
        if not state or len(state) > MAX_STATE_LENGTH:
            raise _invalid_link("the link carries no valid state parameter")
        session = self._verify(token)
        digest = token_digest(token)
        ticket = self.server.tickets.open(digest, session, state, self._cookie())
        tenant = settings.tenant_url()
        body = render_consent(
            ConsentView(
                reason=session.reason,
                terms_version=session.terms_version,
                terms_url=session.terms_url,
                privacy_url=session.privacy_url,
                ticket=digest,
                csrf_token=ticket.csrf,
                action=PAGE_PATH,
                support_email=settings.support_email,
            )
        )
        max_age = max(0, int(session.exp - now_s()))
        cookie = _cookie_header(ticket.csrf, max_age)
        self._html(200, body, form_targets=(tenant,), extra={"Set-Cookie": cookie})

    def _verify(self, token: str) -> SessionClaims:
        settings = self.server.settings
        try:
            return verify_session_token(token, settings.secret.reveal(), settings.issuer)
        except TokenRejected as rejected:
            if rejected.expired:
                raise PageError(
                    400,
                    "This consent link has expired",
                    "The time to answer has run out.",
                ) from None
            raise _invalid_link(rejected.reason) from None

    # --- POST: check it comes from our page, answer the tenant
    def _decide(self) -> None:
        settings = self.server.settings
        self._refuse_cross_site()
        form = self._form()
        decision = _single(form, "decision")
        if decision not in ("accept", "decline"):
            raise PageError(400, "No decision was sent", "Choose Accept or Decline.")
        csrf = _single(form, "csrf_token")
        if not csrf:
            raise PageError(
                403, "The form could not be verified", "The form carried no CSRF token."
            )
        ticket = self.server.tickets.decide(_single(form, "ticket") or "", csrf, self._cookie())
        tenant = settings.tenant_url()
        answer = result_token(
            ticket.session, ticket.state, decision == "accept", settings.secret.reveal()
        )
        location = f"{tenant}/continue?" + urlencode(
            {"state": ticket.state, "session_token": answer}
        )
        expire = _cookie_header("", 0)
        self._html(
            200,
            render_continue(location, decision == "accept"),
            form_targets=(tenant,),
            extra={"Set-Cookie": expire},
        )

    def _refuse_cross_site(self) -> None:
        """Browsers say where a request comes from; anything but this page is refused.

        Sec-Fetch-Site, when sent, decides. With ``Referrer-Policy: no-referrer``
        Chromium sends ``Origin: null`` on the page's own form post, so a null
        origin passes only when Sec-Fetch-Site vouches for it.
        """
        site = self.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ALLOWED_FETCH_SITES:
            raise PageError(403, "Request refused", "The form was sent from another site.")
        origin = self.headers.get("Origin")
        if origin is None:
            return
        if origin == "null":
            if site != "same-origin":
                raise PageError(403, "Request refused", "The form was sent from another site.")
            return
        # Behind a TLS-terminating proxy the scheme differs; host and port must not.
        if urlsplit(origin).netloc != (self.headers.get("Host") or ""):
            raise PageError(403, "Request refused", "The form was sent from another site.")

    def _form(self) -> dict[str, list[str]]:
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise PageError(415, "Unsupported form", "The form must be sent as a web form.")
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_FORM_BYTES:
            raise PageError(413, "Form too large", "The form is larger than this page accepts.")
        raw = self.rfile.read(length)
        self._body_read = True
        try:
            return parse_qs(raw.decode("ascii"), max_num_fields=10)
        except (UnicodeDecodeError, ValueError):
            raise PageError(400, "Unreadable form", "The form could not be read.") from None

    def _cookie(self) -> str | None:
        header = self.headers.get("Cookie")
        if not header:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            return None
        morsel = jar.get(CSRF_COOKIE)
        return morsel.value if morsel is not None and morsel.value else None

    # --- responses
    def _html(
        self,
        status: int,
        body: str,
        *,
        form_targets: tuple[str, ...] = (),
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = {**security_headers(form_targets), **(extra or {})}
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


def _same(given: str, expected: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII str, and a form may carry any text.
    return hmac.compare_digest(given.encode(), expected.encode())


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
