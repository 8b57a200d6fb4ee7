"""Connections over the wire: ``/api/v2/connections*``.

Shapes from Auth0's Management API reference
(https://auth0.com/docs/api/management/v2/connections/get-connections) and
the recording go_TestJobManager_ExportUsers: a bare array, or with
``include_totals=true`` ``{total, start, limit, connections}``; with
``from``/``take`` the checkpoint envelope ``{connections, next?}``.
"""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, project


def _checkpoint(request: Request, key: str, items: list[Any]) -> dict[str, Any]:
    """Auth0's checkpoint paging: ``from`` is an opaque cursor (here an offset)."""
    start = request.int_arg("from", 0, low=0)
    take = request.int_arg("take", 50, low=1, high=100)
    out: dict[str, Any] = {key: items[start : start + take]}
    if start + take < len(items):
        out["next"] = str(start + take)
    return out


def list_connections(app: EmulatorApp, request: Request) -> Response:
    items = app.backends.connections.list_connections(
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


def create_connection(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    return Response(201, app.backends.connections.create(body))


def get_connection(app: EmulatorApp, request: Request) -> Response:
    doc = app.backends.connections.get(request.params["id"])
    fields, include = request.arg("fields"), request.bool_arg("include_fields")
    return Response(200, project(doc, fields, include))


def update_connection(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    return Response(200, app.backends.connections.update(request.params["id"], body))


def delete_connection(app: EmulatorApp, request: Request) -> Response:
    app.backends.connections.delete(request.params["id"])
    return Response(202)  # Auth0 deletes a connection asynchronously


def enabled_clients(app: EmulatorApp, request: Request) -> Response:
    ids = app.backends.connections.enabled_clients(request.params["id"])
    return Response(200, _checkpoint(request, "clients", [{"client_id": c} for c in ids]))


def set_enabled_clients(app: EmulatorApp, request: Request) -> Response:
    body = request.json()
    app.backends.connections.set_client_status(request.params["id"], body)
    return Response(204)
