"""post-login (v3): a user logs in (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger).

The event is a realistic login (fields as in Auth0's post-login event
reference, https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-event-object,
and the sample event of @auth0/actions; docs/reference/actions-runtime.md §1):
a database user logging in to a regular web application over OIDC. The api
is in post_login.js.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auth0_actions.sandbox.results import ProtocolViolation, list_field, object_field
from auth0_actions.triggers._sample import (
    BROWSER_IP,
    DATABASE_CONNECTION,
    DATABASE_IDENTITY,
    GEOIP,
    USER_AGENT,
    WEB_CLIENT,
)
from auth0_actions.triggers.base import Trigger
from auth0_actions.triggers.post_login_tokens import (
    MAX_CUSTOM_CLAIMS_BYTES,
    claims_bytes,
    is_auth0_api,
    keep_allowed,
)

TENANT = "acme"
HOSTNAME = "acme.eu.auth0.com"

EVENT: dict[str, Any] = {
    "authentication": {
        "methods": [{"name": "pwd", "timestamp": "2026-11-27T09:00:00.000Z"}],
        "riskAssessment": {"confidence": "high", "version": "1", "assessments": {}},
    },
    "authorization": {"roles": []},
    "client": WEB_CLIENT,
    "connection": DATABASE_CONNECTION,
    "request": {
        "ip": BROWSER_IP,
        "method": "GET",
        "hostname": HOSTNAME,
        "language": "en",
        "user_agent": USER_AGENT,
        "query": {
            "client_id": "3b1Zq9m8Xk2pLw7vRt5yNc4Hd6Gf0Jsa",
            "redirect_uri": "https://app.example.com/callback",
            "response_type": "code",
            "scope": "openid profile email",
            "state": "app-state-9f8e7d",
        },
        "body": {},
        "geoip": GEOIP,
    },
    "resource_server": {"identifier": "https://api.example.com"},
    "secrets": {},
    "session": {"id": "sess_5mX2kP9qL3vT7wYb", "clients": [], "device": {}},
    "stats": {"logins_count": 3},
    "tenant": {"id": TENANT},
    "transaction": {
        "id": "tx_7Qk3Lm9Pz2Wr5Tx8",
        "protocol": "oidc-basic-profile",
        "redirect_uri": "https://app.example.com/callback",
        "requested_scopes": ["openid", "profile", "email"],
        "ui_locales": [],
        "locale": "en",
        "state": "app-state-9f8e7d",
        "prompt": [],
        "response_mode": "query",
        "response_type": ["code"],
        "acr_values": [],
        "login_hint": None,
        "correlation_id": None,
        "metadata": {},
    },
    "user": {
        "user_id": "auth0|6543210fedcba98765432100",
        "email": "jane.doe@example.com",
        "email_verified": True,
        "username": None,
        "name": "Jane Doe",
        "nickname": "jane.doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "picture": "https://s.gravatar.com/avatar/0000?s=480&r=pg&d=mp",
        "phone_number": None,
        "phone_verified": False,
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-11-20T10:00:00.000Z",
        "last_password_reset": None,
        "multifactor": [],
        "enrolledFactors": [],
        "app_metadata": {},
        "user_metadata": {},
        "identities": [DATABASE_IDENTITY],
    },
}


class PostLogin(Trigger):
    id = "post-login"
    version = "v3"
    title = "Login"
    docs = "https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger"
    handlers = ("onExecutePostLogin", "onContinuePostLogin")
    resume_handler = "onContinuePostLogin"
    script = "post_login.js"
    event = EVENT
    default = True
    suspends = frozenset({"redirect.sendUserTo", "prompt.render"})
    # post-login-api-object.mdx: each "will prevent the end-user from completing the
    # login flow"; the flow stops after the action, and no later action runs.
    fails = frozenset({"session.revoke", "refreshToken.revoke", "validation.error"})
    carries: ClassVar[tuple[str, ...]] = (
        "user_metadata",
        "app_metadata",
        "transaction_metadata",
        "cache",
    )

    def initial_state(self, event: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
        user = event.get("user") or {}
        transaction = event.get("transaction") or {}
        return {
            "user_metadata": user.get("user_metadata") or {},
            "app_metadata": user.get("app_metadata") or {},
            "transaction_metadata": transaction.get("metadata") or {},
            "cache": request.get("cache") or {},
            "primary_user": None,
            # Whether the access token is for an Auth0 API (its non-namespaced
            # custom claims are dropped; post_login_tokens.py).
            "auth0_audience": is_auth0_api(
                (event.get("resource_server") or {}).get("identifier"),
                (event.get("request") or {}).get("hostname"),
            ),
        }

    def initial_result(self) -> dict[str, Any]:
        return {
            **super().initial_result(),
            "id_token_claims": {},
            "access_token_claims": {},
            "access_token_scopes": {"added": [], "removed": []},
            "multifactor": None,
            "dropped_claims": [],
        }

    def check(self, result: Mapping[str, Any], name: str) -> None:
        super().check(result, name)
        for key in ("id_token_claims", "access_token_claims"):
            object_field(result, key)
        scopes = object_field(result, "access_token_scopes")
        list_field(scopes, "added")
        list_field(scopes, "removed")
        if result.get("multifactor") is not None:
            object_field(result, "multifactor")
        if result.get("primary_user") is not None and not isinstance(result["primary_user"], str):
            raise ProtocolViolation("primary_user is not a string")

    def carry(
        self, combined: dict[str, Any], state: dict[str, Any], result: Mapping[str, Any]
    ) -> None:
        # Stored metadata that is not an object (bad data in the profile) is
        # carried as it came; the api refuses to write into it.
        for key in ("user_metadata", "app_metadata"):
            state[key] = result.get(key, state[key])
        for key in ("transaction_metadata", "cache"):
            state[key] = object_field(result, key)
        state["primary_user"] = result.get("primary_user") or state["primary_user"]
        # Auth0 drops restricted claims silently; the run reports them.
        for token in ("id_token", "access_token"):
            kept, dropped = keep_allowed(
                object_field(result, f"{token}_claims"), token, bool(state.get("auth0_audience"))
            )
            combined[f"{token}_claims"].update(kept)
            combined["dropped_claims"].extend(dropped)
        scopes = object_field(result, "access_token_scopes")
        combined["access_token_scopes"]["added"].extend(list_field(scopes, "added"))
        combined["access_token_scopes"]["removed"].extend(list_field(scopes, "removed"))
        if result.get("multifactor") is not None:
            combined["multifactor"] = object_field(result, "multifactor")

    def decide(self, combined: dict[str, Any], commands: list[Any], name: str, index: int) -> bool:
        # The custom-claims migration page, "Maximum token size": over 100 KB of
        # custom claims in one token fails the authentication.
        for token in ("id_token", "access_token"):
            size = claims_bytes(combined[f"{token}_claims"])
            if size > MAX_CUSTOM_CLAIMS_BYTES:
                combined["status"] = "error"
                combined["error"] = {
                    "action": name,
                    "message": (
                        f"The {token}'s custom claims are {size} bytes; "
                        f"Auth0 allows at most {MAX_CUSTOM_CLAIMS_BYTES} bytes per token"
                    ),
                }
                return True
        return super().decide(combined, commands, name, index)

    def denial(self, command: Mapping[str, Any]) -> dict[str, Any]:
        out = super().denial(command)
        if command.get("type") in ("session.revoke", "refreshToken.revoke"):
            # session.revoke and refreshToken.revoke deny the login as deny does.
            out["code"] = "access_denied"
        return out

    def redirection(self, command: Mapping[str, Any]) -> dict[str, Any]:
        if command.get("type") == "prompt.render":
            return {"prompt": str(command.get("form_id", ""))}
        return super().redirection(command)


TRIGGER = PostLogin()
