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

from auth0_actions.emulator.http import ApiError, not_found, public
from auth0_actions.emulator.store import Store

KIND = "client"
PUBLIC_APP_TYPES = ("spa", "native")
_INTERACTIVE = ["authorization_code", "implicit", "refresh_token"]
DEFAULT_GRANT_TYPES: dict[str | None, list[str]] = {
    "non_interactive": ["client_credentials"],
    "spa": _INTERACTIVE,
    "native": _INTERACTIVE,
    "regular_web": [*_INTERACTIVE, "client_credentials"],
    None: [*_INTERACTIVE, "client_credentials"],
}
_URL_LISTS = ("callbacks", "allowed_logout_urls", "allowed_origins", "web_origins")
_ALPHANUMERIC = string.ascii_letters + string.digits
# Fields the document accepts whose effect the local tenant does not model. Ignoring
# one could allow here what Auth0 denies (private_key_jwt or mTLS client
# authentication would still accept a secret), so they are refused by name.
NOT_MODELLED = ("client_authentication_methods", "signed_request_object")


def _refuse_unmodelled(body: dict[str, Any]) -> None:
    for name in NOT_MODELLED:
        if name in body:
            raise ApiError(
                400,
                f"The local tenant does not model {name}: it would accept credentials Auth0 "
                "refuses.",
                "not_modelled",
            )


def new_client_id() -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


def new_client_secret() -> str:
    return secrets.token_urlsafe(48)  # 64 characters


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
        _refuse_unmodelled(body)
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
            "cross_origin_authentication": False,
            "custom_login_page_on": True,
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
        _refuse_unmodelled(body)
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
