"""TenantClient: the one port to a tenant's Management API (Actions and bindings).

Everything that reads or writes a tenant goes through :class:`TenantClient`,
a thin layer over auth0-python 6.x: each method is one SDK call (plus
pagination) and returns the frozen value types below, so no SDK type,
pydantic model or httpx exception leaves this module. A real tenant and the
local tenant take the same path over real HTTP: :func:`open_tenant_client`
serves the embedded local tenant on loopback for the duration and connects
to it like to any other.

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
this way the token and the API share one TLS trust setting and one retry
policy.

TLS: certificates are always verified. A tenant behind a private CA (the
served local tenant's ``.auth0-local/tls/ca.pem``, a corporate proxy) is
trusted through a CA bundle: ``AUTH0_CA_BUNDLE`` (a PEM file), or for the
local environment the ``ca_path`` that ``emulator serve --tls`` publishes in
``.auth0-local/credentials.json``. The bundle replaces the system store for
this client; verification is never switched off.

Retry policy (the SDK's own retries are switched off, ``max_retries=0``, so
one policy applies everywhere and is visible here):

* **429** is always retried: the request was refused, not processed. The
  wait honours ``Retry-After`` when sent, else Auth0's ``x-ratelimit-reset``
  (a UNIX time in seconds), plus up to 20 % jitter, capped at 60 s. 429s do
  not use up the attempts below: a request gives up on the rate limit only
  after :attr:`RetryPolicy.rate_limit_s` (5 minutes) of such waits in all,
  so a long 429 storm is waited out rather than failing the apply.
* **5xx, 408 and dropped connections** are retried, with exponential
  backoff (0.5 s, 1 s, 2 s, ... ±10 %), only where repeating the call is
  safe: reads, the PATCH of an action or of a trigger's bindings (both set
  absolute state) and DELETE (a 404 on a delete retried after a 5xx or a
  dropped connection means the earlier attempt went through: success). Creates and deploys (POST)
  are retried only when the connection failed before the request was sent;
  otherwise the error surfaces and the caller re-reads the tenant, since a
  second create would make a second action.
* **409** is never retried (the SDK would retry it: deleting a bound action
  would cost ~3 s of backoff before the same answer). Other 4xx are final.
* At most :attr:`RetryPolicy.attempts` calls fail with a 5xx, 408 or a
  dropped connection per request before its error surfaces.

Every failure becomes a :class:`~auth0_actions.errors.TenantError` carrying the HTTP
status and Auth0's message and errorCode; messages are scrubbed of the
token, the client secret and any secret value sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
import pydantic
from auth0.management import (
    Action,
    ActionBinding,
    ActionBindingRef,
    ActionBindingWithRef,
    ActionDeployedVersion,
    ActionSecretRequest,
    ActionTrigger,
    ActionVersion,
    ActionVersionDependency,
    Auth0,
    CreateActionResponseContent,
    DeployActionResponseContent,
    DeployActionVersionRequestContent,
    DeployActionVersionResponseContent,
    GetActionResponseContent,
    UpdateActionResponseContent,
)
from auth0.management.core.api_error import ApiError as SdkApiError
from auth0.management.core.pagination import SyncPager
from auth0.management.core.parse_error import ParsingError

from auth0_actions.config import EnvironmentView, Project
from auth0_actions.errors import ConfigError, TenantError
from auth0_actions.network import is_loopback_host
from auth0_actions.secrets import LOCAL_STATE_DIR, Secret
from auth0_actions.target import LOCAL_CREDENTIALS_FILE, Target, resolve_target

T = TypeVar("T")

# The trigger versions a new action is created for (docs/reference/management-api.md §1).
TRIGGER_VERSIONS: dict[str, str] = {
    "post-login": "v3",
    "credentials-exchange": "v2",
    "pre-user-registration": "v2",
    "post-user-registration": "v2",
    "post-change-password": "v2",
    "send-phone-message": "v2",
}
DEFAULT_TRIGGER_VERSION = "v1"
CA_BUNDLE_VARIABLE = "AUTH0_CA_BUNDLE"
TOKEN_LEEWAY_S = 60.0
PER_PAGE = 50  # actions and versions: Auth0's default and maximum that it documents
BINDINGS_PER_PAGE = 50


# -- value types ---------------------------------------------------------------
Dependencies = tuple[tuple[str, str], ...]  # (name, version), in the tenant's order


@dataclass(frozen=True)
class LiveVersion:
    """One version of an action, as the tenant reports it."""

    id: str
    number: int
    code: str
    dependencies: Dependencies
    runtime: str
    secret_names: tuple[str, ...]
    status: str  # pending | building | built | failed | ...
    deployed: bool
    created_at: str | None


@dataclass(frozen=True)
class LiveAction:
    """An action: its draft (code, dependencies, ...) and its deployed version."""

    id: str
    name: str
    trigger_ids: tuple[str, ...]
    code: str  # the draft
    dependencies: Dependencies
    runtime: str
    secret_names: tuple[str, ...]
    status: str  # the draft's build status
    all_changes_deployed: bool
    deployed_version: LiveVersion | None


@dataclass(frozen=True)
class LiveBinding:
    """One entry of a trigger's ordered binding list."""

    id: str
    action_id: str
    action_name: str
    display_name: str


@dataclass(frozen=True)
class BindingRef:
    """An entry of a bindings PATCH: which action, found how, under which name."""

    kind: Literal["action_id", "action_name", "binding_id"]
    value: str
    display_name: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry (see the module docstring for which failures)."""

    attempts: int = 6  # failed calls (5xx, 408, dropped) per request before giving up
    backoff_s: float = 0.5  # first wait after a 5xx or a dropped connection; doubles
    max_wait_s: float = 60.0  # cap on any one wait
    rate_limit_s: float = 300.0  # seconds of 429 waits per request before giving up


class RetryBudget:
    """What one request may still spend on retries: failed calls, and time on 429s."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0  # 5xx, 408 and dropped connections so far
        self.limited_s = 0.0  # seconds waited on 429s so far

    def failed(self) -> bool:
        """Count one failed call; False when it was the last one allowed."""
        self.failures += 1
        return self.failures < self.policy.attempts

    def wait(self, status: int | None, headers: Mapping[str, str], *, safe: bool) -> float | None:
        """Seconds to wait before retrying after this answer, or None to give up."""
        if status == 429:
            wait = _rate_limit_wait(headers, self.policy)
            if self.limited_s + wait > self.policy.rate_limit_s:
                return None
            self.limited_s += wait
            return wait
        if status is not None and (status >= 500 or status == 408) and safe:
            return _backoff(self.failures, self.policy) if self.failed() else None
        return None


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
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._client_id = client_id
        self._secret = client_secret
        self.audience = audience
        self.retry = retry
        self.clock = clock
        self.sleep = sleep
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=verify)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

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
                answer = self._http.post(f"{self.origin}/oauth/token", json=body)
            except httpx.TransportError as exc:
                untrusted = _tls_failure(exc)
                if untrusted is not None:  # retrying cannot help
                    raise TenantError(f"{what}: {untrusted}") from None
                if not budget.failed():
                    raise TenantError(
                        f"{what}: cannot reach the tenant ({_transport_reason(exc)})"
                    ) from None
                self.sleep(_backoff(budget.failures, self.retry))
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
                fields = data if isinstance(data, dict) else {}
                raw = fields.get("error_description") or fields.get("message") or ""
                message = _scrub(str(raw), self.sensitive())
                code = str(fields["error"]) if fields.get("error") else None
                raise TenantError(
                    _describe(what, answer.status_code, message, code),
                    status=answer.status_code,
                    error_code=code,
                    auth0_message=message,
                )
            self.sleep(wait)


# -- the client ---------------------------------------------------------------------
class TenantClient:
    """Actions, versions and bindings of one tenant."""

    def __init__(
        self,
        base_url: str,
        credentials: ClientCredentials,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.retry = retry
        self.sleep = sleep
        # httpx.Client is safe to share between threads: apply calls from a small pool.
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=verify)
        self._sdk = Auth0(
            base_url=f"{self.base_url}/api/v2",
            token=credentials,
            max_retries=0,
            httpx_client=self._http,
        )

    def __repr__(self) -> str:
        return f"TenantClient({self.base_url!r})"

    @classmethod
    def for_target(
        cls,
        target: Target,
        *,
        audience: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        ca_bundle: Path | None = None,
    ) -> TenantClient:
        """A client for a real or served tenant (not the embedded one: see open_tenant_client).

        ``ca_bundle``: a PEM file of the CA(s) to trust instead of the system store.
        """
        if target.base_url is None:
            raise ConfigError(
                f"environment {target.environment}: the embedded local tenant is reached "
                "through open_tenant_client"
            )
        if not target.client_id or target.client_secret is None:
            raise ConfigError(f"environment {target.environment}: no client credentials")
        parts = urlsplit(target.base_url)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
            raise ConfigError(f"{target.base_url}: http only reaches a tenant on loopback")
        verify = trust(ca_bundle) if ca_bundle is not None else True
        credentials = ClientCredentials(
            target.base_url,
            target.client_id,
            target.client_secret,
            audience or f"https://{target.domain}/api/v2/",
            retry=retry,
            clock=clock,
            sleep=sleep,
            timeout=timeout,
            verify=verify,
        )
        return cls(
            target.base_url, credentials, retry=retry, sleep=sleep, timeout=timeout, verify=verify
        )

    def close(self) -> None:
        self._http.close()
        self.credentials.close()

    def __enter__(self) -> TenantClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- actions ----------------------------------------------------------------
    def list_actions(self, trigger_id: str | None = None) -> list[LiveAction]:
        """Every action (of one trigger, if given), all pages."""
        actions = self._sdk.actions
        kwargs: dict[str, Any] = {"per_page": PER_PAGE}
        if trigger_id is not None:
            kwargs["trigger_id"] = trigger_id
        found = self._all_pages("list actions", lambda: actions.list(**kwargs))
        return [_action(a) for a in found]

    def get_action(self, action_id: str) -> LiveAction:
        got = self._call(
            f"get action {action_id}",
            lambda: self._sdk.actions.get(action_id),
            idempotent=True,
            not_found=f"no such action: {action_id}",
        )
        return _action(got)

    def find_action_by_name(self, name: str) -> LiveAction | None:
        actions = self._sdk.actions
        found = self._all_pages(
            f"find action {name!r}",
            lambda: actions.list(action_name=name, per_page=PER_PAGE),
        )
        matches = [_action(a) for a in found if a.name == name]
        return matches[0] if matches else None

    def create_action(
        self,
        name: str,
        trigger_id: str,
        code: str,
        runtime: str | None = None,
        dependencies: Iterable[tuple[str, str]] = (),
        secrets: Mapping[str, Secret] | None = None,
    ) -> LiveAction:
        """A new (undeployed) action; secret values are revealed only inside the SDK call."""
        kwargs: dict[str, Any] = {
            "name": name,
            "supported_triggers": [_trigger(trigger_id)],
            "code": code,
            "dependencies": _dependencies(dependencies),
        }
        if runtime is not None:
            kwargs["runtime"] = runtime
        sent = list((secrets or {}).values())
        created = self._call(
            f"create action {name!r}",
            lambda: self._sdk.actions.create(
                **kwargs, **({"secrets": _secrets(secrets)} if secrets is not None else {})
            ),
            idempotent=False,
            sensitive=sent,
        )
        return _action(created)

    def update_action(
        self,
        action_id: str,
        *,
        code: str | None = None,
        runtime: str | None = None,
        dependencies: Iterable[tuple[str, str]] | None = None,
        secrets: Mapping[str, Secret] | None = None,
    ) -> LiveAction:
        """Change the draft; what is None is left as it is. ``secrets`` replaces the list."""
        kwargs: dict[str, Any] = {}
        if code is not None:
            kwargs["code"] = code
        if runtime is not None:
            kwargs["runtime"] = runtime
        if dependencies is not None:
            kwargs["dependencies"] = _dependencies(dependencies)
        sent = list((secrets or {}).values())
        updated = self._call(
            f"update action {action_id}",
            lambda: self._sdk.actions.update(
                action_id,
                **kwargs,
                **({"secrets": _secrets(secrets)} if secrets is not None else {}),
            ),
            idempotent=True,
            not_found=f"no such action: {action_id}",
            sensitive=sent,
        )
        return _action(updated)

    def deploy_action(self, action_id: str) -> LiveVersion:
        """Deploy the draft as a new version (building; not yet ``deployed``)."""
        version = self._call(
            f"deploy action {action_id}",
            lambda: self._sdk.actions.deploy(action_id),
            idempotent=False,
            not_found=f"no such action: {action_id}",
        )
        return _version(version)

    def delete_action(self, action_id: str, force: bool = False) -> None:
        """Delete; a bound action needs ``force`` (else TenantError with status 409)."""
        self._call(
            f"delete action {action_id}",
            lambda: self._sdk.actions.delete(action_id, **({"force": True} if force else {})),
            idempotent=True,
            not_found=f"no such action: {action_id}",
            gone_ok=True,
        )

    # -- versions -------------------------------------------------------------------
    def list_versions(self, action_id: str) -> list[LiveVersion]:
        """Every kept version of the action, newest first."""
        versions = self._sdk.actions.versions
        found = self._all_pages(
            f"list versions of action {action_id}",
            lambda: versions.list(action_id, per_page=PER_PAGE),
            not_found=f"no such action: {action_id}",
        )
        return [_version(v) for v in found]

    def deploy_version(
        self, action_id: str, version_id: str, update_draft: bool = False
    ) -> LiveVersion:
        """Roll back: deploy an older version again (as a new version N+1)."""
        request = DeployActionVersionRequestContent(update_draft=update_draft)
        version = self._call(
            f"deploy version {version_id} of action {action_id}",
            lambda: self._sdk.actions.versions.deploy(action_id, version_id, request=request),
            idempotent=False,
            not_found=f"no such action or version: {action_id} / {version_id}",
        )
        return _version(version)

    # -- bindings -------------------------------------------------------------------
    def get_bindings(self, trigger_id: str) -> list[LiveBinding]:
        """The trigger's bindings in execution order, all pages."""
        bindings = self._sdk.actions.triggers.bindings
        found = self._all_pages(
            f"get bindings of {trigger_id}",
            lambda: bindings.list(trigger_id, per_page=BINDINGS_PER_PAGE),
        )
        return [_binding(b) for b in found]

    def set_bindings(self, trigger_id: str, refs: Sequence[BindingRef]) -> list[LiveBinding]:
        """Replace the trigger's whole binding list (one PATCH); returns the new list."""
        body = [
            ActionBindingWithRef(
                ref=ActionBindingRef(type=ref.kind, value=ref.value),
                **({"display_name": ref.display_name} if ref.display_name is not None else {}),
            )
            for ref in refs
        ]
        updated = self._call(
            f"set bindings of {trigger_id}",
            lambda: self._sdk.actions.triggers.bindings.update_many(trigger_id, bindings=body),
            idempotent=True,
        )
        return [_binding(b) for b in updated.bindings or []]

    # -- users (consent operations) -----------------------------------------------------
    # Users come back as plain dicts holding only the fields the tenant sent
    # (``fields`` narrows them): user_metadata is free-form JSON, and a typed
    # copy of it would lose exactly what the consent commands must keep.
    SEARCH_WINDOW = 1000  # offset paging stops at the first 1000 results (§3)
    USERS_PER_PAGE = 100  # Auth0's maximum per_page
    SEARCH_WINDOW_EXCEEDED = "search_window_exceeded"  # TenantError.error_code

    @dataclass(frozen=True)
    class UserPage:
        """One page of a user search: the users, and the total when it was asked for."""

        users: list[dict[str, Any]]
        total: int | None

    def get_user(
        self, user_id: str, *, fields: Sequence[str] = (), include_fields: bool = True
    ) -> dict[str, Any]:
        """One user (only ``fields``, or all but them with ``include_fields=False``)."""
        narrow: dict[str, Any] = (
            {"fields": ",".join(fields), "include_fields": include_fields} if fields else {}
        )
        got = self._call(
            f"get user {user_id}",
            lambda: self._sdk.users.get(user_id, **narrow),
            idempotent=True,
            not_found=f"no such user: {user_id}",
        )
        return TenantClient._user_dict(got)

    def users_by_email(
        self, email: str, *, fields: Sequence[str] = ("user_id", "email", "user_metadata")
    ) -> list[dict[str, Any]]:
        """Every user with this email (one per connection); Auth0 matches it exactly."""
        found = self._call(
            "find users by email",
            lambda: self._sdk.users.list_users_by_email(
                email=email, fields=",".join(fields), include_fields=True
            ),
            idempotent=True,
        )
        return [TenantClient._user_dict(user) for user in found]

    def search_users_page(
        self,
        q: str,
        *,
        page: int = 0,
        per_page: int = USERS_PER_PAGE,
        include_totals: bool = True,
        fields: Sequence[str] = (),
    ) -> TenantClient.UserPage:
        """One page of a search v3 query, in a stable order (by user_id)."""
        narrow: dict[str, Any] = (
            {"fields": ",".join(fields), "include_fields": True} if fields else {}
        )
        pager = self._call(
            "search users",
            lambda: self._sdk.users.list(
                q=q,
                search_engine="v3",
                page=page,
                per_page=per_page,
                include_totals=include_totals,
                sort="user_id:1",
                **narrow,
            ),
            idempotent=True,
        )
        total = getattr(pager.response, "total", None) if include_totals else None
        return TenantClient.UserPage(
            users=[TenantClient._user_dict(user) for user in pager.items or []],
            total=int(total) if isinstance(total, (int, float)) else None,
        )

    def search_users(self, q: str, *, fields: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every user matching q, all pages, when they fit in the search window.

        Past the window (more than SEARCH_WINDOW results) nothing beyond the
        first page is fetched: a TenantError with error_code
        SEARCH_WINDOW_EXCEEDED says so, and the caller turns to an export job.
        """
        current = self.search_users_page(q, fields=fields)
        total = current.total
        if total is not None and total > self.SEARCH_WINDOW:
            raise TenantError(
                f"search users: {total} users match, more than the "
                f"{self.SEARCH_WINDOW} a search can page through",
                error_code=self.SEARCH_WINDOW_EXCEEDED,
            )
        found = list(current.users)
        page = 0
        while len(current.users) == self.USERS_PER_PAGE and (total is None or len(found) < total):
            page += 1
            if (page + 1) * self.USERS_PER_PAGE > self.SEARCH_WINDOW:
                raise TenantError(
                    f"search users: more than the {self.SEARCH_WINDOW} results a search "
                    "can page through",
                    error_code=self.SEARCH_WINDOW_EXCEEDED,
                )
            current = self.search_users_page(q, page=page, fields=fields)
            found.extend(current.users)
        return found

    def update_user_metadata(self, user_id: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """PATCH user_metadata: Auth0 merges top-level keys, replaces nested objects,
        and deletes a key sent as null. Returns the updated user."""
        if not patch:
            # An empty object would wipe the whole of user_metadata.
            raise ValueError("refusing an empty user_metadata patch: it would wipe the metadata")
        updated = self._call(
            f"update user {user_id}",
            lambda: self._sdk.users.update(user_id, user_metadata=dict(patch)),
            idempotent=True,
            not_found=f"no such user: {user_id}",
        )
        return TenantClient._user_dict(updated)

    @staticmethod
    def _user_dict(user: pydantic.BaseModel) -> dict[str, Any]:
        """A user as plain JSON: only the keys the tenant sent (nulls inside metadata kept)."""
        return dict(user.model_dump(mode="json", by_alias=True, exclude_unset=True))

    # -- jobs (user exports) ------------------------------------------------------------
    @dataclass(frozen=True)
    class ExportJob:
        """A users-export job as the tenant reports it (GET /jobs/{id})."""

        id: str
        status: str  # pending | processing | completed | failed
        format: str | None  # json (NDJSON) | csv
        connection_id: str | None
        created_at: str | None
        location: str | None  # the pre-signed download URL, once completed
        percentage_done: int | None
        time_left_seconds: int | None
        status_details: str | None

    def create_users_export(
        self,
        fields: Sequence[str | tuple[str, str]],
        *,
        file_format: Literal["json", "csv"] = "json",
        connection_id: str | None = None,
    ) -> TenantClient.ExportJob:
        """Start a users-export job; a field is a name or (name, export_as)."""
        from auth0.management import CreateExportUsersFields

        requested = [
            CreateExportUsersFields(name=f)
            if isinstance(f, str)
            else CreateExportUsersFields(name=f[0], export_as=f[1])
            for f in fields
        ]
        created = self._call(
            "create users export job",
            lambda: self._sdk.jobs.users_exports.create(
                format=file_format,
                fields=requested,
                **({"connection_id": connection_id} if connection_id is not None else {}),
            ),
            idempotent=False,
            not_found=f"no such connection: {connection_id}",
        )
        return TenantClient._export_job(created)

    def get_job(self, job_id: str) -> TenantClient.ExportJob:
        got = self._call(
            f"get job {job_id}",
            lambda: self._sdk.jobs.get(job_id),
            idempotent=True,
            not_found=f"no such job: {job_id}",
        )
        return TenantClient._export_job(got)

    @dataclass(frozen=True)
    class Download:
        """An export file arriving: its size when announced, and its raw bytes in chunks."""

        size: int | None
        chunks: Iterator[bytes]  # raises TenantError (status None) if the connection drops

    @contextlib.contextmanager
    def open_download(self, url: str, chunk_bytes: int = 64 * 1024) -> Iterator[Download]:
        """Stream a job's pre-signed ``location`` as it is: no Authorization header.

        The URL is the credential (the token must not reach the storage host,
        and S3 refuses a second auth mechanism); it goes over this client's
        connections, so the same TLS trust applies (AUTH0_CA_BUNDLE, the served
        local tenant's CA). The SDK adds the token per call, never to the
        httpx client itself (and httpx sends cookies only back to the host
        that set them). Bytes come raw: not decoded by Content-Encoding.
        Errors name the origin only, never the URL. An answer other than 200
        is a TenantError with its status; a dropped connection one with None.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        what = f"download from {origin}"

        def dropped(exc: httpx.TransportError) -> TenantError:
            return TenantError(f"{what}: no complete answer ({exc.__class__.__name__})")

        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise TenantError(
                        f"{what}: HTTP {response.status_code}", status=response.status_code
                    )
                raw_size = response.headers.get("content-length", "")

                def chunks() -> Iterator[bytes]:
                    try:
                        yield from response.iter_raw(chunk_bytes)
                    except httpx.TransportError as exc:
                        raise dropped(exc) from None

                size = int(raw_size) if raw_size.isdigit() else None
                yield TenantClient.Download(size, chunks())
        except httpx.TransportError as exc:
            raise dropped(exc) from None

    @staticmethod
    def _export_job(job: pydantic.BaseModel) -> TenantClient.ExportJob:
        """From the SDK's create or get answer (both pydantic models; read by name)."""

        def text(name: str) -> str | None:
            value = getattr(job, name, None)
            if isinstance(value, datetime):
                return _timestamp(value)
            return str(value) if value is not None else None

        def number(name: str) -> int | None:
            value = getattr(job, name, None)
            return int(value) if isinstance(value, (int, float)) else None

        return TenantClient.ExportJob(
            id=text("id") or "",
            status=text("status") or "",
            format=text("format"),
            connection_id=text("connection_id"),
            created_at=text("created_at"),
            location=text("location"),
            percentage_done=number("percentage_done"),
            time_left_seconds=number("time_left_seconds"),
            status_details=text("status_details"),
        )

    # -- the retry loop and pagination --------------------------------------------------
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
                    raise self._error(what, exc, not_found, hidden) from None
                unclear = unclear or status != 429
            except httpx.TransportError as exc:
                unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                untrusted = _tls_failure(exc)
                if untrusted is not None:
                    raise TenantError(f"{what}: {untrusted}") from None
                if not (idempotent or unsent) or not budget.failed():
                    message = _scrub(str(exc), [*hidden, *self.credentials.sensitive()])
                    raise TenantError(
                        f"{what}: no answer from {self.base_url} "
                        f"({exc.__class__.__name__}: {message or 'connection failed'}); "
                        + (
                            "retrying is safe: run it again"
                            if idempotent or unsent
                            else "it may or may not have been carried out: re-read the tenant "
                            "(apply does, when run again) before repeating it"
                        )
                    ) from None
                unclear = unclear or not unsent
                wait = _backoff(budget.failures, self.retry)
            except (ParsingError, pydantic.ValidationError, json.JSONDecodeError) as exc:
                raise TenantError(
                    f"{what}: unexpected answer from {self.base_url} ({exc.__class__.__name__})"
                ) from None
            self.sleep(wait)

    def _error(
        self, what: str, exc: SdkApiError, not_found: str | None, hidden: list[str]
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
            message = _scrub(message, [*hidden, *self.credentials.sensitive()])
        status = exc.status_code
        head = not_found if status == 404 and not_found else what
        return TenantError(
            _describe(head, status, message, code),
            status=status,
            error_code=code,
            auth0_message=message,
        )

    def _all_pages(
        self,
        what: str,
        first: Callable[[], SyncPager[T, Any]],
        *,
        not_found: str | None = None,
    ) -> list[T]:
        """Follow the pager; stop at a short page or the reported total (saves a request)."""
        page: SyncPager[T, Any] | None = self._call(
            what, first, idempotent=True, not_found=not_found
        )
        found: list[T] = []
        while page is not None:
            items = page.items or []
            found.extend(items)
            total = getattr(page.response, "total", None)
            per_page = getattr(page.response, "per_page", None)
            if (
                not items
                or not page.has_next
                or (total is not None and len(found) >= total)
                or (per_page is not None and len(items) < per_page)
            ):
                break
            page = self._call(what, page.next_page, idempotent=True, not_found=not_found)
        return found


# -- opening a client for an environment ---------------------------------------------
@contextlib.contextmanager
def open_tenant_client(
    tenant: Project,
    view: EnvironmentView,
    environ: Mapping[str, str] | None = None,
    *,
    retry: RetryPolicy = RetryPolicy(),
    timeout: float = 30.0,
) -> Iterator[TenantClient]:
    """A client for the environment's tenant, for the duration of the block.

    The embedded local tenant is served on loopback while the block runs and
    reached over HTTP like any other; its state persists in ``.auth0-local/``.
    A tenant served over TLS by a private CA is trusted through
    ``AUTH0_CA_BUNDLE`` or, for the local environment, the published ``ca_path``.
    """
    target = resolve_target(tenant, view, environ)
    if target.embedded:
        from auth0_actions.emulator.tenant import LocalTenant

        with LocalTenant.open(tenant.root, serve=True) as local:
            served = Target(
                target.environment,
                local.domain,
                local.base_url,
                local.client_id,
                local.client_secret,
                target.origins,
            )
            client = TenantClient.for_target(
                served, audience=local.audience, retry=retry, timeout=timeout
            )
            with client:
                yield client
        return
    published = _served_credentials(tenant) if view.is_local else {}
    audience = published.get("audience")
    with TenantClient.for_target(
        target,
        audience=audience if isinstance(audience, str) else None,
        retry=retry,
        timeout=timeout,
        ca_bundle=_ca_bundle(tenant, target, published, environ),
    ) as client:
        yield client


def _served_credentials(tenant: Project) -> dict[str, Any]:
    """What a served local tenant published in its credentials.json (empty if nothing)."""
    path = tenant.root / LOCAL_STATE_DIR / LOCAL_CREDENTIALS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _ca_bundle(
    tenant: Project,
    target: Target,
    published: Mapping[str, Any],
    environ: Mapping[str, str] | None,
) -> Path | None:
    """The CA bundle to trust: AUTH0_CA_BUNDLE, else the served local tenant's CA."""
    env = os.environ if environ is None else environ
    named = env.get(CA_BUNDLE_VARIABLE)
    if named:
        return tenant.root / Path(named).expanduser()  # an absolute path stays as it is
    ca_path = published.get("ca_path")
    served_by_it = published.get("base_url") == target.base_url
    if isinstance(ca_path, str) and served_by_it and (target.base_url or "").startswith("https"):
        return tenant.root / ca_path
    return None


# -- helpers ------------------------------------------------------------------------
def trust(ca_bundle: Path) -> ssl.SSLContext:
    """A verifying TLS context trusting exactly the CAs in ``ca_bundle`` (PEM)."""
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"{ca_bundle}: not a usable CA bundle (PEM certificates expected): {reason}"
        ) from None


def _tls_failure(exc: BaseException) -> str | None:
    """Why the tenant's certificate was refused, if that is what happened."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return (
                f"the tenant's TLS certificate is not trusted ({seen.verify_message}); "
                f"for a private CA set {CA_BUNDLE_VARIABLE} to its PEM file"
            )
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"the tenant's TLS certificate is not trusted; for a private CA set "
            f"{CA_BUNDLE_VARIABLE} to its PEM file"
        )
    return None


def _transport_reason(exc: httpx.TransportError) -> str:
    return _tls_failure(exc) or exc.__class__.__name__


def _rate_limit_wait(headers: Mapping[str, str], retry: RetryPolicy) -> float:
    wait: float | None = None
    retry_after = headers.get("retry-after")
    if retry_after and retry_after.strip().isdigit():
        wait = float(retry_after)
    else:
        reset = headers.get("x-ratelimit-reset")
        if reset and reset.strip().isdigit():
            wait = float(reset) - time.time()
    if wait is None or wait <= 0:
        wait = retry.backoff_s / 5
    return min(wait * (1 + random.random() * 0.2), retry.max_wait_s)  # noqa: S311


def _backoff(attempt: int, retry: RetryPolicy) -> float:
    wait = retry.backoff_s * 2.0 ** (attempt - 1)
    return min(wait * (1 + (random.random() - 0.5) * 0.2), retry.max_wait_s)  # noqa: S311


def _scrub(text: str, hidden: Iterable[str]) -> str:
    for value in hidden:
        if value:
            text = text.replace(value, "********")
    return text


def _describe(what: str, status: int | None, message: str | None, code: str | None) -> str:
    out = f"{what}: {status}" if status is not None else what
    if message:
        out += f" {message}"
    if code:
        out += f" ({code})"
    return out


def _trigger(trigger_id: str) -> ActionTrigger:
    return ActionTrigger(
        id=trigger_id, version=TRIGGER_VERSIONS.get(trigger_id, DEFAULT_TRIGGER_VERSION)
    )


def _dependencies(pairs: Iterable[tuple[str, str]]) -> list[ActionVersionDependency]:
    return [ActionVersionDependency(name=name, version=version) for name, version in pairs]


def _secrets(secrets: Mapping[str, Secret] | None) -> list[ActionSecretRequest]:
    return [
        ActionSecretRequest(name=name, value=value.reveal())
        for name, value in (secrets or {}).items()
    ]


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _pairs(deps: Sequence[ActionVersionDependency] | None) -> Dependencies:
    return tuple((d.name or "", d.version or "") for d in deps or [])


SdkVersion = (
    ActionVersion
    | ActionDeployedVersion
    | DeployActionResponseContent
    | DeployActionVersionResponseContent
)
SdkAction = (
    Action | GetActionResponseContent | CreateActionResponseContent | UpdateActionResponseContent
)


def _version(version: SdkVersion) -> LiveVersion:
    return LiveVersion(
        id=version.id or "",
        number=int(version.number or 0),
        code=version.code or "",
        dependencies=_pairs(version.dependencies),
        runtime=version.runtime or "",
        secret_names=tuple(s.name or "" for s in version.secrets or []),
        status=str(version.status or ""),
        deployed=bool(version.deployed),
        created_at=_timestamp(version.created_at),
    )


def _action(action: SdkAction) -> LiveAction:
    deployed = action.deployed_version
    return LiveAction(
        id=action.id or "",
        name=action.name or "",
        trigger_ids=tuple(str(t.id) for t in action.supported_triggers or []),
        code=action.code or "",
        dependencies=_pairs(action.dependencies),
        runtime=action.runtime or "",
        secret_names=tuple(s.name or "" for s in action.secrets or []),
        status=str(action.status or ""),
        all_changes_deployed=bool(action.all_changes_deployed),
        deployed_version=_version(deployed) if deployed is not None else None,
    )


def _binding(binding: ActionBinding) -> LiveBinding:
    action = binding.action
    return LiveBinding(
        id=binding.id or "",
        action_id=(action.id if action else None) or "",
        action_name=(action.name if action else None) or "",
        display_name=binding.display_name or "",
    )
