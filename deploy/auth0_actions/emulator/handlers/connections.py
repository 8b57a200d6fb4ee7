"""Connections over the wire: ``/api/v2/connections*``.

Shapes from Auth0's Management API reference
(https://auth0.com/docs/api/management/v2/connections/get-connections) and
the recording go_TestJobManager_ExportUsers: a bare array, or with
``include_totals=true`` ``{total, start, limit, connections}``; with
``from``/``take`` the checkpoint envelope ``{connections, next?}``.
"""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.backends.connections import ConnectionsBackend
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Handler, Request, Response, project
from auth0_actions.emulator.validation import Schema, validate

_NAME = {"type": "string", "minLength": 1, "maxLength": 128}
_FIELDS: dict[str, Schema] = {
    "display_name": {"type": "string", "maxLength": 128},
    "options": {"type": "object"},
    "enabled_clients": {"type": "array", "items": {"type": "string"}},
    "is_domain_connection": {"type": "boolean"},
    "realms": {"type": "array", "items": {"type": "string"}},
    "metadata": {"type": "object"},
    "show_as_button": {"type": "boolean"},
    "authentication": {"type": "object"},
    "connected_accounts": {"type": "object"},
}
CREATE_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "strategy"],
    "properties": {**_FIELDS, "name": _NAME, "strategy": {"type": "string", "minLength": 1}},
}
UPDATE_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {**_FIELDS, "enabled_clients": {"type": ["array", "null"]}},
}
CLIENTS_SCHEMA: Schema = {"type": "array", "items": {"type": "object"}}

READ, CREATE, UPDATE, DELETE = (
    ("read:connections",),
    ("create:connections",),
    ("update:connections",),
    ("delete:connections",),
)


def _checkpoint(request: Request, key: str, items: list[Any]) -> dict[str, Any]:
    """Auth0's checkpoint paging: ``from`` is an opaque cursor (here an offset)."""
    start = request.int_arg("from", 0, low=0)
    take = request.int_arg("take", 50, low=1, high=100)
    out: dict[str, Any] = {key: items[start : start + take]}
    if start + take < len(items):
        out["next"] = str(start + take)
    return out


class ConnectionsHandlers:
    def __init__(self, backend: ConnectionsBackend) -> None:
        self.backend = backend

    def list_connections(self, request: Request) -> Response:
        items = self.backend.list_connections(
            names=request.query.get("name") or (),
            strategies=request.query.get("strategy") or (),
        )
        fields, include = request.arg("fields"), request.bool_arg("include_fields")
        items = [project(c, fields, include) for c in items]
        if request.arg("from") is not None or request.arg("take") is not None:
            return Response(200, _checkpoint(request, "connections", items))
        page = request.int_arg("page", 0, low=0)
        per_page = request.int_arg("per_page", 50, low=0, high=100)
        chunk = items[page * per_page : (page + 1) * per_page]
        if request.bool_arg("include_totals"):
            return Response(
                200,
                {
                    "total": len(items),
                    "start": page * per_page,
                    "limit": per_page,
                    "connections": chunk,
                },
            )
        return Response(200, chunk)

    def create(self, request: Request) -> Response:
        body = request.json_object()
        validate(body, CREATE_SCHEMA)
        return Response(201, self.backend.create(body))

    def get(self, request: Request) -> Response:
        doc = self.backend.get(request.params["id"])
        fields, include = request.arg("fields"), request.bool_arg("include_fields")
        return Response(200, project(doc, fields, include))

    def update(self, request: Request) -> Response:
        body = request.json_object()
        validate(body, UPDATE_SCHEMA)
        return Response(200, self.backend.update(request.params["id"], body))

    def delete(self, request: Request) -> Response:
        self.backend.delete(request.params["id"])
        return Response(202)  # Auth0 deletes a connection asynchronously

    def clients(self, request: Request) -> Response:
        ids = self.backend.enabled_clients(request.params["id"])
        return Response(200, _checkpoint(request, "clients", [{"client_id": c} for c in ids]))

    def set_clients(self, request: Request) -> Response:
        body = request.json()
        validate(body, CLIENTS_SCHEMA)
        self.backend.set_client_status(request.params["id"], body)
        return Response(204)


def routes(app: EmulatorApp) -> list[tuple[str, str, Handler, tuple[str, ...]]]:
    h = ConnectionsHandlers(app.backends.connections)
    base = "/api/v2/connections"
    return [
        ("GET", base, h.list_connections, READ),
        ("POST", base, h.create, CREATE),
        ("GET", base + "/{id}", h.get, READ),
        ("PATCH", base + "/{id}", h.update, UPDATE),
        ("DELETE", base + "/{id}", h.delete, DELETE),
        ("GET", base + "/{id}/clients", h.clients, READ),
        ("PATCH", base + "/{id}/clients", h.set_clients, UPDATE),
    ]
