"""The login flow: its transactions, the post-login actions, the code for the exchange.

Its endpoints (/authorize, the login form, /continue) are thin handlers in
:mod:`auth0_actions.emulator.handlers.login`; ``/oauth/token`` redeems the code
(:mod:`auth0_actions.emulator.handlers.oauth`). The flow is built once with the
app (``app.login_flow``) and reaches users and bindings through ``app.backends``.

A login runs the post-login bindings in order in the sandbox, as Auth0 does
(docs/reference/actions-runtime.md §1): ``sendUserTo`` redirects the
browser with ``state``; ``/continue`` resumes in that action's
``onContinuePostLogin``; metadata writes are persisted key by key when the
trigger ends (and before a redirect), never by a segment that failed
(:mod:`auth0_actions.emulator.flow_writes`); an MFA challenge an action asked
for runs before the code (:mod:`auth0_actions.emulator.handlers.mfa`); a deny
ends at the application with
``error=access_denied``; otherwise the application gets a code, and
``/oauth/token`` (authorization_code) returns an id_token carrying the
actions' custom claims.

Each action runs with its declared npm dependencies, from the cache its build
installed them into (:mod:`auth0_actions.emulator.builds`). An action that
throws ends the login with ``error=access_denied`` and the error's message as
the description, as Auth0 does (https://community.auth0.com/t/63027): its
first line only, without this machine's paths; a failure of the runtime
itself gets a generic description. The detail (message and stack, paths
redacted) goes to the action's log: :attr:`LoginFlow.action_log` and the
``auth0_actions.emulator.login`` logger.
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
from collections.abc import Callable
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.backends.users import connection_id
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.flow_writes import FlowWriteError, MetadataWrites
from auth0_actions.emulator.flows import login_log
from auth0_actions.emulator.flows.runner import sandbox_units
from auth0_actions.emulator.handlers import mfa
from auth0_actions.emulator.http import Response
from auth0_actions.emulator.login_guard import (
    transaction_cookie,
)
from auth0_actions.emulator.url_params import with_params as _with_params
from auth0_actions.sandbox.deps import DependencyError, redact_paths
from auth0_actions.sandbox.pool import SandboxPool
from auth0_actions.triggers.post_login import TRIGGER as POST_LOGIN

TRANSACTION_TTL_S = 600
CODE_TTL_S = 300
NO_INTERACTION_PROTOCOLS = ("oauth2-resource-owner", "oauth2-refresh-token", "oauth2-password")
# What the application is told when the runtime (not the action's code) failed.
GENERIC_FAILURE = "The login could not be completed because an action failed to run."
ACTION_LOG_SIZE = 200  # entries kept in memory, newest last
_DESCRIPTION_LIMIT = 500

log = logging.getLogger("auth0_actions.emulator.login")


def _redirect(url: str) -> Response:
    return Response(302, b"", {"location": url}, content_type="text/plain")


class LoginFlow:
    """Transactions in flight and codes not yet exchanged, in memory."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.transactions: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._pool: SandboxPool | None = None
        # The action log of failed executions (message and stack, paths redacted).
        self.action_log: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=ACTION_LOG_SIZE
        )

    def pool(self) -> SandboxPool:
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(1)
            return self._pool

    def units(self) -> list[dict[str, Any]]:
        """The bound, deployed actions; DependencyError when one's packages are not installed."""
        return sandbox_units(self.app, POST_LOGIN.id)

    def record_failure(self, action: str | None, message: str, stack: str | None = None) -> None:
        """The detail of a failed execution, for the action's log: never for the app."""
        known = self.app.dependency_builds.known_paths()
        entry = {
            "date": clock.iso_utc(),
            "action": action,
            "message": redact_paths(message, known),
            "stack": redact_paths(stack, known) if stack else None,
        }
        self.action_log.append(entry)
        log.warning(
            "action %s failed in a login: %s%s",
            action or "?",
            entry["message"],
            f"\n{entry['stack']}" if entry["stack"] else "",
        )

    def event_for(self, user: dict[str, Any], tx: dict[str, Any]) -> dict[str, Any]:
        public_user = {k: v for k, v in user.items() if not k.startswith("_")}
        identities = public_user.get("identities") or []
        connection = (
            identities[0]["connection"] if identities else "Username-Password-Authentication"
        )
        strategy = identities[0].get("provider", "auth0") if identities else "auth0"
        return POST_LOGIN.build_event(
            {
                "user": {
                    **public_user,
                    "user_metadata": user.get("user_metadata") or {},
                    "app_metadata": user.get("app_metadata") or {},
                    "enrolledFactors": mfa.enrolled_factors(user),
                },
                "client": {
                    "client_id": tx["client_id"],
                    "name": tx.get("client_name") or "Local application",
                    "metadata": {},
                },
                "connection": {
                    "id": connection_id(connection),
                    "name": connection,
                    "strategy": strategy,
                },
                "request": {
                    "hostname": tx.get("hostname") or self.app.domain,
                    "ip": tx["ip"],
                    "method": "GET",
                    "query": tx["query"],
                    "body": {},
                },
                "transaction": {
                    "id": tx["id"],
                    "protocol": tx.get("protocol", "oidc-basic-profile"),
                    "redirect_uri": tx["redirect_uri"],
                    "state": tx.get("app_state"),
                    "prompt": tx["prompt"],
                    "requested_scopes": tx["scopes"],
                },
                "stats": {"logins_count": int(user.get("logins_count") or 0) + 1},
                "tenant": {"id": self.app.domain.split(".")[0]},
            }
        )

    # --- outcomes
    def run(self, tx: dict[str, Any], event: dict[str, Any], resume: int | None) -> Response:
        units = tx["units"]
        started_at = login_log.started()
        try:
            reply = self.pool().call(
                {
                    "op": POST_LOGIN.id,
                    "units": units,
                    "event": event,
                    "resume": None if resume is None else {"index": resume},
                }
            )
        except Exception as exc:  # no Node, or the pool could not start a worker
            self.record_failure(None, f"the sandbox is unavailable: {exc}")
            return self._finish_error(tx, "access_denied", GENERIC_FAILURE)
        if reply.result is None:
            login_log.record_run(self.app, tx, started_at, None)
            self.record_failure(None, reply.failure or "the login failed")
            return self._finish_error(tx, "access_denied", GENERIC_FAILURE)
        result = reply.result
        login_log.record_run(self.app, tx, started_at, result)
        status = result["status"]
        # The trigger already dropped the claims Auth0 would not issue (post_login.py).
        tx["claims"].update(result.get("id_token_claims") or {})
        tx["access_claims"].update(result.get("access_token_claims") or {})
        tx.setdefault("scope_changes", []).extend(
            c for c in result.get("commands") or [] if str(c.get("type")).endswith("Scope")
        )
        # An MFA challenge asked for in any segment runs when the flow ends (handlers/mfa.py).
        tx["mfa"] = mfa.requested(result, tx.get("mfa"))
        if status != "error":
            # A failed or timed-out execution never erases the profile: its
            # batched writes are discarded (limitations.mdx; @auth0/actions).
            # A deny keeps them (post-login-api-object.mdx, api.access.deny).
            try:
                self._persist(tx["user_id"], result)
            except FlowWriteError as exc:
                self.record_failure(None, str(exc))
                return self._finish_error(tx, "access_denied", GENERIC_FAILURE)
        if status in ("denied", "failed"):
            # session.revoke / refreshToken.revoke deny as access.deny does;
            # validation.error reaches the app with its own code
            # (customize-signup-and-login-prompts.mdx: "forwarded to the
            # customer's application error page").
            deny = result["deny"]
            return self._finish_error(tx, deny.get("code") or "access_denied", deny["reason"])
        if status == "error":
            error = result.get("error") or {}
            message = str(error.get("message") or "")
            self.record_failure(error.get("action"), message, error.get("stack"))
            return self._finish_error(tx, "access_denied", self._app_description(message))
        if status == "redirected":
            if "prompt" in tx["query"] and tx["query"]["prompt"] == "none":
                return self._finish_error(tx, "interaction_required", "Interaction required")
            state = secrets.token_urlsafe(24)
            with self._lock:
                tx["resume"] = result["redirect"]["index"]
                # Transaction metadata survives the redirect (transaction-metadata.mdx).
                if isinstance(event.get("transaction"), dict):
                    event["transaction"]["metadata"] = result.get("transaction_metadata") or {}
                tx["event"] = event
                tx["expires"] = clock.now_s() + TRANSACTION_TTL_S
                self.transactions[state] = tx
            away = _redirect(_with_params(result["redirect"]["url"], {"state": state}))
            if isinstance(tx.get("browser"), str):
                # /continue needs the cookie as long as the transaction lives.
                away.headers["set-cookie"] = transaction_cookie(
                    tx["browser"], self.app.public_base_url
                )
            return away
        if tx["mfa"] is not None:
            return mfa.start(self, tx)
        return self._finish_code(tx)

    def _persist(self, user_id: str, result: dict[str, Any]) -> None:
        """This segment's metadata writes, key by key on the profile as stored now.

        One profile update per segment, as Auth0 batches them (flow_writes.py);
        FlowWriteError when the batch breaks the session's limits.
        """
        writes = MetadataWrites.from_commands(result.get("commands") or [])
        self.app.backends.users.persist_flow_writes(user_id, writes)

    def _app_description(self, message: str) -> str:
        """What the app is told of a thrown error: its first line, no paths, no stack."""
        first = redact_paths(message.strip().split("\n", 1)[0])
        if len(first) > _DESCRIPTION_LIMIT:
            first = first[: _DESCRIPTION_LIMIT - 3] + "..."
        return first or GENERIC_FAILURE

    def _finish_error(self, tx: dict[str, Any], error: str, description: str) -> Response:
        login_log.login_event(self.app, tx, "f", description)
        params = {"error": error, "error_description": description}
        if tx.get("app_state") is not None:
            params["state"] = tx["app_state"]
        return _redirect(_with_params(tx["redirect_uri"], params))

    def _finish_code(self, tx: dict[str, Any]) -> Response:
        code = secrets.token_urlsafe(24)
        self.app.backends.users.record_login(tx["user_id"])
        login_log.login_event(self.app, tx, "s", None)
        with self._lock:
            self.codes[code] = {**tx, "expires": clock.now_s() + CODE_TTL_S}
        params = {"code": code}
        if tx.get("app_state") is not None:
            params["state"] = tx["app_state"]
        return _redirect(_with_params(tx["redirect_uri"], params))

    def start(self, tx: dict[str, Any], user: dict[str, Any]) -> Response:
        """Run the post-login actions for a user who just proved who they are (or signed up)."""
        tx["user_id"] = user["user_id"]
        # When they authenticated: the id_token's auth_time (OIDC Core 1.0 s. 2).
        tx["auth_time"] = int(clock.now_s())
        try:
            tx["units"] = self.units()
        except DependencyError as exc:  # a bound action's packages could not be installed
            self.record_failure(None, str(exc))
            return self._finish_error(tx, "access_denied", GENERIC_FAILURE)
        return self.run(tx, self.event_for(user, tx), None)

    def park(self, key: str, tx: dict[str, Any]) -> None:
        """Keep a transaction in flight under ``key`` (``login:<id>``, a state, ``mfa:<state>``)."""
        with self._lock:
            self.transactions[key] = tx

    def take(self, key: str) -> dict[str, Any] | None:
        """The transaction under ``key``, removed (None when there is none)."""
        with self._lock:
            return self.transactions.pop(key, None)

    def peek(self, key: str) -> dict[str, Any] | None:
        """The transaction under ``key``, left in place (None when there is none)."""
        with self._lock:
            return self.transactions.get(key)

    def take_if(self, key: str, accept: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The transaction under ``key``, removed if ``accept`` takes it; else None (it stays)."""
        with self._lock:
            tx = self.transactions.get(key)
            if tx is None or not accept(tx):
                return None
            return self.transactions.pop(key)

    def close(self) -> None:
        """Stop the login flow's sandbox pool, if one was started."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def redeem(self, code: str) -> dict[str, Any] | None:
        """The login behind a code, removed: a code is good once, whatever follows."""
        with self._lock:
            return self.codes.pop(code, None) if code else None
