"""The way to a tenant: one httpx client, the token exchange, the retry loop, errors.

Authentication: client credentials (from the variables tenant.yaml names,
resolved by :func:`auth0_actions.target.resolve_target`) are exchanged at
``/oauth/token`` (grant ``client_credentials``, the request auth0-python's
``GetToken.client_credentials`` sends) for a Management API token, which is
cached and reused until 60 s before it expires (half its lifetime for
short-lived tokens), then fetched again transparently; one lock makes the
cache safe for a client shared by several threads. A 401 from the API drops
the cached token and retries the call once with a fresh one. The exchange
goes through httpx rather than ``GetToken`` because GetToken calls
``requests`` with no way to pass a CA bundle and retries 429s on its own:
this way the token and the API share one TLS trust setting, one timeout and
one retry policy (:mod:`auth0_actions.tenant_client.retry`).

TLS: certificates are always verified. A tenant behind a private CA (the
served local tenant's ``.auth0-local/tls/ca.pem``, a corporate proxy) is
trusted through a CA bundle: ``AUTH0_CA_BUNDLE`` (a PEM file), or for the
local environment the ``ca_path`` that ``emulator serve --tls`` publishes in
``.auth0-local/credentials.json``. The bundle replaces the system store for
this client; verification is never switched off.

Every failure becomes a :class:`~auth0_actions.errors.TenantError` carrying
the HTTP status and Auth0's message and errorCode, worded by
:mod:`auth0_actions.tenant_client.failures`; messages are scrubbed of the
token, the client secret and any secret value sent.
"""

from __future__ import annotations

import json
import math
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pydantic
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError as SdkApiError
from auth0.management.core.pagination import SyncPager
from auth0.management.core.parse_error import ParsingError

from auth0_actions.errors import ConfigError, TenantError
from auth0_actions.secrets import Secret
from auth0_actions.tenant_client.failures import (
    UNKNOWN_PROVENANCE,
    Provenance,
    cannot_reach,
    classify,
    describe,
    forbidden,
    is_unreachable,
    scrub,
    server_error,
    unauthorized,
)
from auth0_actions.tenant_client.pacing import Pacer, pace, unanswered
from auth0_actions.tenant_client.retry import DEFAULT_POLICY, RetryBudget, RetryPolicy, backoff

T = TypeVar("T")

TOKEN_LEEWAY_S = 60.0
# Pages of one listing requested at once, once the first page gave the total
# (the pacer still spaces them to the tenant's rate limit).
PAGES_AT_ONCE = 8


def timeouts(retry: RetryPolicy, timeout: float | None = None) -> httpx.Timeout:
    """Per attempt: the policy's connect and read timeouts (``timeout`` overrides both)."""
    if timeout is not None:
        return httpx.Timeout(timeout)
    return httpx.Timeout(retry.read_timeout_s, connect=retry.connect_timeout_s)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def trust(ca_bundle: Path) -> ssl.SSLContext:
    """A verifying TLS context trusting exactly the CAs in ``ca_bundle`` (PEM)."""
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"{ca_bundle}: not a usable CA bundle (PEM certificates expected): {reason}"
        ) from None


# -- tokens ----------------------------------------------------------------------
class ClientCredentials:
    """A Management API token for client credentials, cached until shortly before expiry."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: Secret,
        audience: str,
        *,
        retry: RetryPolicy = DEFAULT_POLICY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float | None = None,
        verify: ssl.SSLContext | bool = True,
        provenance: Provenance = UNKNOWN_PROVENANCE,
    ) -> None:
        self.origin = origin_of(base_url)
        self._client_id = client_id
        self._secret = client_secret
        self.audience = audience
        self.retry = retry
        self.clock = clock
        self.sleep = sleep
        self.provenance = provenance
        self._http = httpx.Client(
            timeout=timeouts(retry, timeout), follow_redirects=False, verify=verify
        )
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        # The scopes the last token granted, when the answer said (Auth0's does).
        self.granted: frozenset[str] | None = None
        # The API client's pacer (set by Transport): see _post.
        self.pacer: Pacer | None = None

    def __repr__(self) -> str:
        return f"ClientCredentials({self.origin!r}, audience={self.audience!r})"

    def sensitive(self) -> list[str]:
        """Values no message may show."""
        return [v for v in (self._secret.reveal(), self._token) if v]

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def close(self) -> None:
        self._http.close()

    def __call__(self) -> str:
        """The current token; fetched when there is none or it is about to expire."""
        with self._lock:  # several threads share one token: fetch it once
            return self._current()

    def _current(self) -> str:
        if self._token is None or self.clock() >= self._refresh_at:
            self._token = None
            issued = self._fetch()
            token = issued.get("access_token")
            if not isinstance(token, str) or not token:
                raise TenantError(f"token request to {self.origin}: no access_token in the answer")
            lifetime = float(issued.get("expires_in") or 86_400)
            scope = issued.get("scope")
            self.granted = frozenset(scope.split()) if isinstance(scope, str) else None
            self._token = token
            self._refresh_at = self.clock() + lifetime - min(TOKEN_LEEWAY_S, lifetime / 2)
        return self._token

    def _fetch(self) -> dict[str, Any]:
        """POST /oauth/token; safe to repeat (it only issues a token), so every failure
        the policy retries is retried."""
        what = f"token request to {self.origin}"
        body = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.reveal(),
            "audience": self.audience,
        }
        budget = RetryBudget(self.retry)
        while True:
            try:
                answer = self._post(body)
            except httpx.TransportError as exc:
                cause = classify(exc, self.retry, urlsplit(self.origin).hostname or "")
                go_on = cause.kind not in ("dns", "tls") and (
                    budget.unreachable() if is_unreachable(cause) else budget.failed()
                )
                if not go_on:
                    raise TenantError(
                        cannot_reach(
                            what, self.origin, cause, self.provenance, budget.failures or 1
                        )
                    ) from None
                self.sleep(backoff(budget.failures, self.retry))
                continue
            try:
                data = answer.json()
            except ValueError:
                data = None
            if answer.is_success:
                return data if isinstance(data, dict) else {}
            headers = {k.lower(): v for k, v in answer.headers.items()}
            wait = budget.wait(answer.status_code, headers, safe=True)
            if wait is None:
                raise self._refused(what, answer.status_code, data, budget)
            self.sleep(wait)

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """The exchange takes a token of the tenant's budget (a tenant may count it with
        the Management API: the local tenant does; it is one request a token lifetime),
        but its rate-limit headers teach the pacer nothing: on Auth0 they are the
        Authentication API's, whose limits are separate."""
        if self.pacer is not None:
            self.pacer.acquire()
        try:
            return self._http.post(f"{self.origin}/oauth/token", json=body)
        finally:
            if self.pacer is not None:
                self.pacer.release(None, {})

    def _refused(self, what: str, status: int, data: object, budget: RetryBudget) -> TenantError:
        fields = data if isinstance(data, dict) else {}
        raw = fields.get("error_description") or fields.get("message") or ""
        message = scrub(str(raw), self.sensitive())
        code = str(fields["error"]) if fields.get("error") else None
        text = describe(what, status, message, code)
        if status == 401:
            text += unauthorized(self.provenance)
        elif status == 403:  # the application is not authorized for the Management API
            text += forbidden(self.provenance, None)
        elif status >= 500:
            text += server_error(self.origin, status, max(budget.failures, 1))
        return TenantError(text, status=status, error_code=code, auth0_message=message)


# -- the retry loop ------------------------------------------------------------------
class Transport:
    """One tenant's Management API through the SDK: the retry loop, pagination, errors."""

    def __init__(
        self,
        base_url: str,
        credentials: ClientCredentials,
        *,
        retry: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float | None = None,
        verify: ssl.SSLContext | bool = True,
        pacer: Pacer | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.retry = retry
        self.sleep = sleep
        # One pacer for every request of this client, from every thread.
        self.pacer = pacer if pacer is not None else Pacer()
        credentials.pacer = self.pacer
        # httpx.Client is safe to share between threads: apply calls from a small pool.
        self._http = httpx.Client(
            timeout=timeouts(retry, timeout), follow_redirects=False, verify=verify
        )
        pace(self._http, self.pacer)
        self._sdk = Auth0(
            base_url=f"{self.base_url}/api/v2",
            token=credentials,
            max_retries=0,
            httpx_client=self._http,
        )

    def close(self) -> None:
        self._http.close()
        self.credentials.close()

    def _call(
        self,
        what: str,
        call: Callable[[], T],
        *,
        idempotent: bool,
        not_found: str | None = None,
        gone_ok: bool = False,
        sensitive: Sequence[Secret] = (),
    ) -> T:
        hidden = [s.reveal() for s in sensitive]
        refreshed = unclear = False
        budget = RetryBudget(self.retry)
        while True:
            try:
                return call()
            except SdkApiError as exc:
                status = exc.status_code
                if status == 401 and not refreshed:
                    refreshed = True
                    self.credentials.invalidate()
                    continue
                if status == 404 and gone_ok and unclear:
                    # An earlier attempt went through but its answer was lost.
                    return None  # type: ignore[return-value]  # only for calls returning None
                headers = {str(k).lower(): str(v) for k, v in dict(exc.headers or {}).items()}
                wait = budget.wait(status, headers, safe=idempotent)
                if wait is None:
                    raise self._error(what, exc, not_found, hidden, budget) from None
                unclear = unclear or status != 429
            except httpx.TransportError as exc:
                unanswered(exc)
                wait = self._transport_retry(what, exc, budget, idempotent=idempotent)
                unclear = unclear or not isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            except (ParsingError, pydantic.ValidationError, json.JSONDecodeError) as exc:
                raise TenantError(
                    f"{what}: unexpected answer from {self.base_url} ({exc.__class__.__name__})"
                ) from None
            self.sleep(wait)

    def _transport_retry(
        self, what: str, exc: httpx.TransportError, budget: RetryBudget, *, idempotent: bool
    ) -> float:
        """The wait before trying again after no answer; raises when that is not safe or
        the budget is spent."""
        origin = origin_of(self.base_url)
        cause = classify(exc, self.retry, urlsplit(self.base_url).hostname or "")
        unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
        retryable = (idempotent or unsent) and cause.kind not in ("dns", "tls")
        if retryable and (budget.unreachable() if is_unreachable(cause) else budget.failed()):
            return backoff(budget.failures, self.retry)
        attempts = max(budget.failures, 1)
        text = cannot_reach(what, origin, cause, self.credentials.provenance, attempts)
        if not (idempotent or unsent):
            text += (
                "; it may or may not have been carried out: re-read the tenant "
                "(apply does, when run again) before repeating it"
            )
        raise TenantError(text) from None

    def _error(
        self,
        what: str,
        exc: SdkApiError,
        not_found: str | None,
        hidden: list[str],
        budget: RetryBudget,
    ) -> TenantError:
        body = exc.body
        message: str | None = None
        code: str | None = None
        if isinstance(body, dict):
            raw_message = body.get("message") or body.get("error_description") or body.get("error")
            message = str(raw_message) if raw_message is not None else None
            raw_code = body.get("errorCode")
            code = str(raw_code) if raw_code is not None else None
        elif isinstance(body, str) and body.strip():
            message = body.strip()[:200]
        if message is not None:
            message = scrub(message, [*hidden, *self.credentials.sensitive()])
        status = exc.status_code
        head = not_found if status == 404 and not_found else what
        text = describe(head, status, message, code)
        provenance = self.credentials.provenance
        if status == 401:
            text += unauthorized(provenance)
        elif status == 403:
            text += forbidden(provenance, self.credentials.granted)
        elif status is not None and status >= 500:
            text += server_error(origin_of(self.base_url), status, max(budget.failures, 1))
        return TenantError(text, status=status, error_code=code, auth0_message=message)

    def _all_pages(
        self,
        what: str,
        fetch: Callable[[int], SyncPager[T, Any]],
        *,
        not_found: str | None = None,
    ) -> list[T]:
        """Every item of a paged listing, in the tenant's order (``fetch(n)``: page n, from 0).

        The first page says the total; the pages after it are then requested at
        once (at most :data:`PAGES_AT_ONCE` in flight, paced). Without a total,
        the pages are followed one by one, stopping at a short page.
        """
        first = self._call(what, lambda: fetch(0), idempotent=True, not_found=not_found)
        found: list[T] = list(first.items or [])
        total = getattr(first.response, "total", None)
        per_page = getattr(first.response, "per_page", None) or len(found)
        if not found or not first.has_next or len(found) < per_page:
            return found
        if total is None:
            return found + self._following(what, first, not_found)
        pages = math.ceil(total / per_page)
        if pages > 1:
            with ThreadPoolExecutor(min(PAGES_AT_ONCE, pages - 1), "pages") as pool:
                later = pool.map(
                    lambda n: self._call(
                        what, lambda: fetch(n), idempotent=True, not_found=not_found
                    ),
                    range(1, pages),
                )
                rest = list(later)
            for page in rest:
                found.extend(page.items or [])
            last = rest[-1]
            if len(found) < total and len(last.items or []) >= per_page and last.has_next:
                # Items moved between pages while they were read: follow to the end.
                found.extend(self._following(what, last, not_found))
        return found

    def _following(self, what: str, page: SyncPager[T, Any], not_found: str | None) -> list[T]:
        """The pages after ``page``, one by one, up to a short or empty page."""
        found: list[T] = []
        current: SyncPager[T, Any] | None = page
        while current is not None and current.has_next:
            current = self._call(what, current.next_page, idempotent=True, not_found=not_found)
            items = (current.items or []) if current is not None else []
            found.extend(items)
            per_page = getattr(current.response, "per_page", None) if current else None
            if not items or (per_page is not None and len(items) < per_page):
                break
        return found
