"""GET/POST/PATCH/DELETE /api/v2/resource-servers (the Management API among them)."""

from __future__ import annotations

from auth0_actions.emulator.backends.paging import paged
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, public


def list_apis(app: EmulatorApp, request: Request) -> Response:
    wanted = set(request.query.get("identifiers", []))
    apis = app.backends.resource_servers.all()
    items = [public(r) for r in apis if not wanted or r["identifier"] in wanted]
    return Response(200, paged(request, items, "resource_servers"))


def create_api(app: EmulatorApp, request: Request) -> Response:
    return Response(201, public(app.backends.resource_servers.create(request.json_object())))


def get_api(app: EmulatorApp, request: Request) -> Response:
    return Response(200, public(app.backends.resource_servers.get(request.params["id"])))


def update_api(app: EmulatorApp, request: Request) -> Response:
    doc = app.backends.resource_servers.update(request.params["id"], request.json_object())
    return Response(200, public(doc))


def delete_api(app: EmulatorApp, request: Request) -> Response:
    app.backends.resource_servers.delete(request.params["id"])
    return Response(204)
