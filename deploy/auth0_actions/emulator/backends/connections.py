"""Connections, and the database connection every new tenant starts with.

A new Auth0 tenant has one database connection, ``Username-Password-Authentication``
(strategy ``auth0``), enabled for the tenant's applications
(https://auth0.com/docs/authenticate/database-connections). Its id is the
stable ``con_`` id the login flow and user exports already give that name
(:func:`~auth0_actions.emulator.backends.users.connection_id`), so every part
of the local tenant names the same connection. Until someone sets its
``enabled_clients``, the default connection is enabled for every client the
tenant has, as Auth0 enables a new application on the tenant's connections.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from auth0_actions.emulator.backends.users import DEFAULT_CONNECTION, connection_id
from auth0_actions.emulator.http import ApiError, bad_request, not_found
from auth0_actions.emulator.store import Store

CONNECTION = "connection"
REMOVED = "connection_removed"  # the default connection, once deleted
NOT_FOUND = "The connection does not exist"
NAME_TAKEN = "A connection with the same name already exists"

# A new tenant's database connection options, as Auth0 returns them (recording
# go_TestJobManager_ExportUsers, GET /api/v2/connections?name=Username-Password-Authentication).
DEFAULT_DATABASE_OPTIONS: dict[str, Any] = {
    "mfa": {"active": True, "return_enroll_settings": True},
    "import_mode": False,
    "configuration": {},
    "customScripts": {},
    "passwordPolicy": "good",
    "password_history": {"size": 5, "enable": False},
    "strategy_version": 2,
    "requires_username": False,
    "password_dictionary": {"enable": False, "dictionary": []},
    "brute_force_protection": True,
    "password_no_personal_info": {"enable": False},
    "password_complexity_options": {"min_length": 8},
    "enabledDatabaseCustomization": False,
}
# What PATCH may change (name and strategy are fixed once created).
UPDATABLE = (
    "display_name",
    "options",
    "enabled_clients",
    "is_domain_connection",
    "realms",
    "metadata",
    "show_as_button",
    "authentication",
    "connected_accounts",
)


class ConnectionsBackend:
    """The tenant's connections; ``clients`` lists the tenant's client ids."""

    def __init__(self, store: Store, clients: Callable[[], Iterable[str]]) -> None:
        self.store = store
        self.clients = clients

    # The default connection is not stored until it changes, so a new (or reset)
    # tenant's state stays empty; deleting it leaves a tombstone.
    @staticmethod
    def _default() -> dict[str, Any]:
        return {
            "id": connection_id(DEFAULT_CONNECTION),
            "name": DEFAULT_CONNECTION,
            "strategy": "auth0",
            "options": copy.deepcopy(DEFAULT_DATABASE_OPTIONS),
            "is_domain_connection": False,
            "realms": [DEFAULT_CONNECTION],
            "_all_clients": True,  # until enabled_clients is set
        }

    def _all(self) -> list[dict[str, Any]]:
        stored = self.store.all(CONNECTION)
        default_id = connection_id(DEFAULT_CONNECTION)
        if self.store.get(REMOVED, default_id) is None and not any(
            c["id"] == default_id for c in stored
        ):
            stored.insert(0, self._default())
        return stored

    # ---- lookups and rendering -------------------------------------------------
    def connection(self, connection_id_: str) -> dict[str, Any]:
        doc = next((c for c in self._all() if c["id"] == connection_id_), None)
        if doc is None:
            raise not_found(NOT_FOUND, "inexistent_connection")
        return doc

    def render(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: copy.deepcopy(v) for k, v in doc.items() if not k.startswith("_")}
        if doc.get("_all_clients"):
            out["enabled_clients"] = sorted(self.clients())
        else:
            out["enabled_clients"] = list(doc.get("enabled_clients") or [])
        return out

    def by_name(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self._all() if c.get("name") == name), None)

    # ---- operations -------------------------------------------------------------
    def list_connections(
        self, *, names: Iterable[str] = (), strategies: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        wanted_names, wanted_strategies = set(names), set(strategies)
        with self.store.transaction():
            return [
                self.render(doc)
                for doc in self._all()
                if (not wanted_names or doc.get("name") in wanted_names)
                and (not wanted_strategies or doc.get("strategy") in wanted_strategies)
            ]

    def get(self, connection_id_: str) -> dict[str, Any]:
        with self.store.transaction():
            return self.render(self.connection(connection_id_))

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            if self.by_name(str(body["name"])) is not None:
                raise ApiError(409, NAME_TAKEN, "connection_conflict")
            doc: dict[str, Any] = {
                "id": connection_id(str(body["name"])),
                "name": body["name"],
                "strategy": body["strategy"],
                "options": copy.deepcopy(body.get("options") or {}),
                "is_domain_connection": bool(body.get("is_domain_connection", False)),
                "realms": list(body.get("realms") or [body["name"]]),
                "enabled_clients": list(body.get("enabled_clients") or []),
            }
            if body["strategy"] == "auth0" and not body.get("options"):
                doc["options"] = copy.deepcopy(DEFAULT_DATABASE_OPTIONS)
            for key in ("display_name", "metadata", "show_as_button"):
                if key in body:
                    doc[key] = copy.deepcopy(body[key])
            self.store.delete(REMOVED, doc["id"])
            self._put(doc)
            return self.render(doc)

    def update(self, connection_id_: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            doc = self.connection(connection_id_)
            for key in UPDATABLE:
                if key not in body:
                    continue
                if key == "enabled_clients":
                    doc.pop("_all_clients", None)
                    doc[key] = list(body[key] or [])
                elif key == "options":
                    # Auth0 replaces options as a whole: what is not sent is gone.
                    doc[key] = copy.deepcopy(body[key] or {})
                else:
                    doc[key] = copy.deepcopy(body[key])
            self._put(doc)
            return self.render(doc)

    def delete(self, connection_id_: str) -> None:
        with self.store.transaction():
            self.connection(connection_id_)
            self.store.delete(CONNECTION, connection_id_)
            if connection_id_ == connection_id(DEFAULT_CONNECTION):
                self.store.put(REMOVED, connection_id_, {"id": connection_id_})

    def enabled_clients(self, connection_id_: str) -> list[str]:
        with self.store.transaction():
            return list(self.render(self.connection(connection_id_))["enabled_clients"])

    def set_client_status(self, connection_id_: str, changes: Iterable[Mapping[str, Any]]) -> None:
        """``PATCH /connections/{id}/clients``: ``[{client_id, status}]`` enables or disables."""
        with self.store.transaction():
            doc = self.connection(connection_id_)
            enabled = self.render(doc)["enabled_clients"]
            for change in changes:
                client_id = change.get("client_id")
                if not isinstance(client_id, str) or not isinstance(change.get("status"), bool):
                    raise bad_request(
                        "Payload validation error: 'Expected {client_id: string, status: boolean}'."
                    )
                if change["status"] and client_id not in enabled:
                    enabled.append(client_id)
                elif not change["status"] and client_id in enabled:
                    enabled.remove(client_id)
            doc.pop("_all_clients", None)
            doc["enabled_clients"] = enabled
            self._put(doc)

    def _put(self, doc: dict[str, Any]) -> None:
        self.store.put(CONNECTION, doc["id"], doc)
