"""Applications (clients): type, grant types, callback and logout URLs, secret.

Defaults are those of a new Auth0 application
(https://auth0.com/docs/get-started/applications/application-settings):
grant types by application type, ``token_endpoint_auth_method`` ``none``
for SPAs and native apps (public clients), ``client_secret_post`` otherwise.
Ids are 32 letters and digits and secrets 64 URL-safe characters, as Auth0's.
The secret is shown only on create, on rotate and to tokens with
``read:client_keys`` (https://auth0.com/docs/api/management/v2/clients/get-clients).
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from auth0_actions.emulator.http import ApiError, bad_request, not_found, public
from auth0_actions.emulator.store import Store

KIND = "client"
APP_TYPES = ("non_interactive", "spa", "regular_web", "native")
PUBLIC_APP_TYPES = ("spa", "native")
AUTH_METHODS = ("none", "client_secret_post", "client_secret_basic")
_INTERACTIVE = ["authorization_code", "implicit", "refresh_token"]
DEFAULT_GRANT_TYPES: dict[str | None, list[str]] = {
    "non_interactive": ["client_credentials"],
    "spa": _INTERACTIVE,
    "native": _INTERACTIVE,
    "regular_web": [*_INTERACTIVE, "client_credentials"],
    None: [*_INTERACTIVE, "client_credentials"],
}
GRANT_TYPES = (
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "http://auth0.com/oauth/grant-type/password-realm",
    "http://auth0.com/oauth/grant-type/mfa-oob",
    "http://auth0.com/oauth/grant-type/mfa-otp",
    "http://auth0.com/oauth/grant-type/mfa-recovery-code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
)
_URL_LISTS = ("callbacks", "allowed_logout_urls", "allowed_origins", "web_origins")
_STRINGS = ("name", "description", "logo_uri", "initiate_login_uri")
_BOOLEANS = ("is_first_party", "oidc_conformant", "sso_disabled", "cross_origin_auth")
_PASSED = ("client_metadata", "jwt_configuration", "refresh_token", "organization_usage")
_WRITABLE = {
    *_URL_LISTS,
    *_STRINGS,
    *_BOOLEANS,
    *_PASSED,
    "app_type",
    "grant_types",
    "token_endpoint_auth_method",
    "client_secret",
}
_ALPHANUMERIC = string.ascii_letters + string.digits


def new_client_id() -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


def new_client_secret() -> str:
    return secrets.token_urlsafe(48)  # 64 characters


def _invalid(message: str) -> ApiError:
    return bad_request(f"Payload validation error: '{message}'.")


class Clients:
    """The tenant's applications."""

    def __init__(self, store: Store, domain: str) -> None:
        self.store = store
        self.domain = domain

    def find(self, client_id: str) -> dict[str, Any] | None:
        return self.store.get(KIND, client_id) if client_id else None

    def get(self, client_id: str) -> dict[str, Any]:
        found = self.find(client_id)
        if found is None:
            raise not_found("The client does not exist", "inexistent_client")
        return found

    def all(self, app_type: str | None = None) -> list[dict[str, Any]]:
        wanted = {t for t in (app_type or "").split(",") if t}
        return [c for c in self.store.all(KIND) if not wanted or c.get("app_type") in wanted]

    def create(
        self,
        body: dict[str, Any],
        *,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """A new application; ``client_id`` is for seeding (Auth0 always generates one)."""
        self._check(body, creating=True)
        app_type = body.get("app_type")
        public_client = app_type in PUBLIC_APP_TYPES
        doc: dict[str, Any] = {
            "client_id": client_id or new_client_id(),
            "name": body["name"],
            "tenant": self.domain.split(".")[0],
            "global": False,
            "is_first_party": True,
            "is_token_endpoint_ip_header_trusted": False,
            "oidc_conformant": True,
            "sso_disabled": False,
            "cross_origin_auth": False,
            "custom_login_page_on": True,
            "callback_url_template": False,
            "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000},
            "token_endpoint_auth_method": "none" if public_client else "client_secret_post",
            "grant_types": list(DEFAULT_GRANT_TYPES.get(app_type, DEFAULT_GRANT_TYPES[None])),
            **{name: [] for name in _URL_LISTS},
            "client_secret": body.get("client_secret") or new_client_secret(),
        }
        if app_type is not None:
            doc["app_type"] = app_type
        doc.update({k: v for k, v in body.items() if k != "client_secret"})
        with self.store.transaction():
            if self.store.get(KIND, doc["client_id"]) is not None:
                raise ApiError(409, "A client with this client_id already exists", "conflict")
            self.store.put(KIND, doc["client_id"], doc)
        return doc

    def update(self, client_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check(body, creating=False)
        with self.store.transaction():
            doc = self.get(client_id)
            doc.update(body)
            self.store.put(KIND, client_id, doc)
        return doc

    def rotate_secret(self, client_id: str) -> dict[str, Any]:
        return self.update(client_id, {"client_secret": new_client_secret()})

    def delete(self, client_id: str) -> None:
        with self.store.transaction():
            self.get(client_id)
            self.store.delete(KIND, client_id)

    @staticmethod
    def render(doc: dict[str, Any], *, show_secret: bool) -> dict[str, Any]:
        out = public(doc)
        if not show_secret:
            out.pop("client_secret", None)
        return out

    @staticmethod
    def is_public(doc: dict[str, Any]) -> bool:
        return doc.get("token_endpoint_auth_method") == "none"

    def _check(self, body: dict[str, Any], *, creating: bool) -> None:
        unknown = sorted(set(body) - _WRITABLE)
        if unknown:
            raise _invalid(f"Additional properties not allowed: {unknown[0]}")
        if creating and not isinstance(body.get("name"), str):
            raise _invalid("Missing required property: name")
        for name in _STRINGS:
            if name in body and not isinstance(body[name], str):
                raise _invalid(f"Expected type string but found type {_kind(body[name])}")
        for name in _BOOLEANS:
            if name in body and not isinstance(body[name], bool):
                raise _invalid(f"Expected type boolean but found type {_kind(body[name])}")
        for name in _URL_LISTS:
            value = body.get(name, [])
            if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
                raise _invalid(f"Expected type array of strings on property {name}")
        if "app_type" in body and body["app_type"] not in APP_TYPES:
            raise _invalid(f"No enum match for: {body['app_type']!r} on property app_type")
        method = body.get("token_endpoint_auth_method", "none")
        if method not in AUTH_METHODS:
            raise _invalid(f"No enum match for: {method!r} on property token_endpoint_auth_method")
        grants = body.get("grant_types", [])
        if not isinstance(grants, list) or any(g not in GRANT_TYPES for g in grants):
            raise _invalid("Invalid grant_types")
        if not isinstance(body.get("client_secret", ""), str):
            raise _invalid("Expected type string on property client_secret")


def _kind(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}.get(
        type(value), "null" if value is None else "string"
    )
