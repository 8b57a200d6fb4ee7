"""GET/POST/PATCH/DELETE /api/v2/resource-servers (the Management API among them)."""

from __future__ import annotations

from auth0_actions.emulator.backends.paging import paged
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, public


def register(app: EmulatorApp) -> None:
    apis = app.backends.resource_servers

    def list_apis(request: Request) -> Response:
        wanted = set(request.query.get("identifiers", []))
        items = [public(r) for r in apis.all() if not wanted or r["identifier"] in wanted]
        return Response(200, paged(request, items, "resource_servers"))

    def create(request: Request) -> Response:
        return Response(201, public(apis.create(request.json_object())))

    def get(request: Request) -> Response:
        return Response(200, public(apis.get(request.params["id"])))

    def update(request: Request) -> Response:
        return Response(200, public(apis.update(request.params["id"], request.json_object())))

    def delete(request: Request) -> Response:
        apis.delete(request.params["id"])
        return Response(204)

    path = "/api/v2/resource-servers"
    app.router.add("GET", path, list_apis, scopes=("read:resource_servers",))
    app.router.add("POST", path, create, scopes=("create:resource_servers",))
    app.router.add("GET", path + "/{id}", get, scopes=("read:resource_servers",))
    app.router.add("PATCH", path + "/{id}", update, scopes=("update:resource_servers",))
    app.router.add("DELETE", path + "/{id}", delete, scopes=("delete:resource_servers",))
