"""Resource servers (APIs): an identifier (the ``audience``) and the scopes it defines.

Every tenant has the Management API as a system resource server; it is not
stored (so ``emulator reset`` cannot lose it), cannot be changed or deleted,
and defines every scope of the Management API
(https://auth0.com/docs/get-started/apis). ``GET /resource-servers/{id}``
takes an id or an identifier, as Auth0's does.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from auth0_actions.emulator.http import ApiError, bad_request, not_found
from auth0_actions.emulator.management_scopes import (
    MANAGEMENT_API_NAME,
    MANAGEMENT_API_SCOPES,
    is_management_audience,
    management_api_identifier,
)
from auth0_actions.emulator.store import Store

KIND = "resource_server"
_FIELDS = {
    "name",
    "identifier",
    "scopes",
    "signing_alg",
    "signing_secret",
    "allow_offline_access",
    "token_lifetime",
    "token_lifetime_for_web",
    "skip_consent_for_verifiable_first_party_clients",
    "enforce_policies",
    "token_dialect",
}


def _scope_description(scope: str) -> str:
    verb, _, noun = scope.partition(":")
    return f"{verb.capitalize()} {noun.replace('_', ' ').title()}".strip()


class ResourceServers:
    """The tenant's APIs, the Management API first."""

    def __init__(self, store: Store, domain: str) -> None:
        self.store = store
        self.domain = domain

    # --- the system API
    def management_api(self) -> dict[str, Any]:
        digest = hashlib.sha256(self.domain.encode()).hexdigest()[:24]
        return {
            "id": digest,
            "name": MANAGEMENT_API_NAME,
            "identifier": management_api_identifier(self.domain),
            "is_system": True,
            "allow_offline_access": False,
            "skip_consent_for_verifiable_first_party_clients": False,
            "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "signing_alg": "RS256",
            "scopes": [
                {"value": s, "description": _scope_description(s)} for s in MANAGEMENT_API_SCOPES
            ],
        }

    # --- lookups
    def find(self, audience: str) -> dict[str, Any] | None:
        """The API whose identifier is ``audience`` (None: no such API on this tenant)."""
        if is_management_audience(audience, self.domain):
            return self.management_api()
        return next((r for r in self.store.all(KIND) if r.get("identifier") == audience), None)

    def get(self, id_or_identifier: str) -> dict[str, Any]:
        system = self.management_api()
        if id_or_identifier in (system["id"], system["identifier"]):
            return system
        found = self.store.get(KIND, id_or_identifier) or self.find(id_or_identifier)
        if found is None:
            raise not_found("Resource server not found", "inexistent_resource_server")
        return found

    def all(self) -> list[dict[str, Any]]:
        return [self.management_api(), *self.store.all(KIND)]

    # --- changes
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - _FIELDS)
        if unknown:
            raise bad_request(
                f"Payload validation error: 'Additional properties not allowed: {unknown[0]}'."
            )
        identifier = body.get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise bad_request("Payload validation error: 'Missing required property: identifier'.")
        with self.store.transaction():
            if self.find(identifier) is not None:
                raise ApiError(
                    409, "A resource server with the same identifier already exists", "conflict"
                )
            doc: dict[str, Any] = {
                "id": secrets.token_hex(12),
                "name": body.get("name") or identifier,
                "identifier": identifier,
                "scopes": _scopes(body.get("scopes", [])),
                "signing_alg": body.get("signing_alg", "RS256"),
                "allow_offline_access": bool(body.get("allow_offline_access", False)),
                "token_lifetime": int(body.get("token_lifetime", 86400)),
                "token_lifetime_for_web": int(body.get("token_lifetime_for_web", 7200)),
                "skip_consent_for_verifiable_first_party_clients": bool(
                    body.get("skip_consent_for_verifiable_first_party_clients", True)
                ),
            }
            for optional in ("enforce_policies", "token_dialect"):
                if optional in body:
                    doc[optional] = body[optional]
            self.store.put(KIND, doc["id"], doc)
        return doc

    def update(self, id_or_identifier: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            doc = self._own(id_or_identifier, "update")
            unknown = sorted(set(body) - (_FIELDS - {"identifier"}))
            if unknown:
                raise bad_request(
                    f"Payload validation error: 'Additional properties not allowed: {unknown[0]}'."
                )
            for key, value in body.items():
                doc[key] = _scopes(value) if key == "scopes" else value
            self.store.put(KIND, doc["id"], doc)
        return doc

    def delete(self, id_or_identifier: str) -> None:
        with self.store.transaction():
            doc = self._own(id_or_identifier, "delete")
            self.store.delete(KIND, doc["id"])

    def _own(self, id_or_identifier: str, verb: str) -> dict[str, Any]:
        doc = self.get(id_or_identifier)
        if doc.get("is_system"):
            raise ApiError(
                403, f"You cannot {verb} the {MANAGEMENT_API_NAME}", "operation_not_supported"
            )
        return doc

    @staticmethod
    def scope_values(resource_server: dict[str, Any]) -> list[str]:
        return [str(s.get("value")) for s in resource_server.get("scopes") or []]


def _scopes(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not all(
        isinstance(s, dict) and isinstance(s.get("value"), str) and s["value"] for s in value
    ):
        raise bad_request(
            "Payload validation error: 'Expected type array of {value, description}' "
            "on property scopes."
        )
    return [{"value": s["value"], "description": str(s.get("description", ""))} for s in value]
