"""Client grants: which application may ask which API for which scopes.

A client-credentials token needs a grant for its audience and carries only
granted scopes (https://auth0.com/docs/get-started/applications/application-access-to-apis-client-grants).
Ids are ``cgr_`` and 16 letters and digits, as Auth0's.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from auth0_actions.emulator.backends.clients import Clients
from auth0_actions.emulator.backends.resource_servers import ResourceServers
from auth0_actions.emulator.http import ApiError, bad_request, not_found
from auth0_actions.emulator.store import Store

KIND = "client_grant"
_ALPHANUMERIC = string.ascii_letters + string.digits


def _scope_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise bad_request(
            "Payload validation error: 'Expected type array of strings' on property scope."
        )
    return list(dict.fromkeys(value))


class ClientGrants:
    def __init__(self, store: Store, clients: Clients, apis: ResourceServers) -> None:
        self.store = store
        self.clients = clients
        self.apis = apis

    def find(self, client_id: str, audience: str) -> dict[str, Any] | None:
        api = self.apis.find(audience)
        if api is None:
            return None
        return next(
            (
                g
                for g in self.store.all(KIND)
                if g.get("client_id") == client_id and g.get("audience") == api["identifier"]
            ),
            None,
        )

    def get(self, grant_id: str) -> dict[str, Any]:
        found = self.store.get(KIND, grant_id)
        if found is None:
            raise not_found("The client grant does not exist", "inexistent_client_grant")
        return found

    def all(self, *, audience: str | None = None, client_id: str | None = None) -> list[Any]:
        return [
            g
            for g in self.store.all(KIND)
            if (audience is None or g.get("audience") == audience)
            and (client_id is None or g.get("client_id") == client_id)
        ]

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - {"client_id", "audience", "scope", "organization_usage"})
        if unknown:
            raise bad_request(
                f"Payload validation error: 'Additional properties not allowed: {unknown[0]}'."
            )
        for required in ("client_id", "audience", "scope"):
            if required not in body:
                raise bad_request(
                    f"Payload validation error: 'Missing required property: {required}'."
                )
        client_id, audience = str(body["client_id"]), str(body["audience"])
        scope = _scope_list(body["scope"])
        with self.store.transaction():
            if self.clients.find(client_id) is None:
                raise not_found("No client found with the specified client_id", "inexistent_client")
            api = self.apis.find(audience)
            if api is None:
                raise not_found(
                    f"No resource server found for the audience: {audience}",
                    "inexistent_resource_server",
                )
            self._check_scopes(api, scope)
            if self.find(client_id, audience) is not None:
                raise ApiError(
                    409, "A client grant for this client and audience already exists", "conflict"
                )
            doc: dict[str, Any] = {
                "id": "cgr_" + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(16)),
                "client_id": client_id,
                "audience": api["identifier"],
                "scope": scope,
            }
            if "organization_usage" in body:
                doc["organization_usage"] = body["organization_usage"]
            self.store.put(KIND, doc["id"], doc)
        return doc

    def update(self, grant_id: str, body: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - {"scope", "organization_usage"})
        if unknown:
            raise bad_request(
                f"Payload validation error: 'Additional properties not allowed: {unknown[0]}'."
            )
        with self.store.transaction():
            doc = self.get(grant_id)
            if "scope" in body:
                scope = _scope_list(body["scope"])
                api = self.apis.find(str(doc["audience"]))
                if api is not None:
                    self._check_scopes(api, scope)
                doc["scope"] = scope
            if "organization_usage" in body:
                doc["organization_usage"] = body["organization_usage"]
            self.store.put(KIND, grant_id, doc)
        return doc

    def delete(self, grant_id: str) -> None:
        with self.store.transaction():
            self.get(grant_id)
            self.store.delete(KIND, grant_id)

    def delete_for_client(self, client_id: str) -> None:
        """A deleted application's grants go with it."""
        for grant in self.all(client_id=client_id):
            self.store.delete(KIND, grant["id"])

    def _check_scopes(self, api: dict[str, Any], scope: list[str]) -> None:
        defined = set(ResourceServers.scope_values(api))
        missing = [s for s in scope if s not in defined]
        if missing:
            raise bad_request(
                f"Scopes not defined by the resource server: {', '.join(missing)}",
                "invalid_scopes",
            )
