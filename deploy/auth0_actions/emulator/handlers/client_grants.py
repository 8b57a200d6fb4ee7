"""GET/POST/PATCH/DELETE /api/v2/client-grants."""

from __future__ import annotations

from auth0_actions.emulator.backends.paging import paged
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, public


def register(app: EmulatorApp) -> None:
    grants = app.backends.client_grants

    def list_grants(request: Request) -> Response:
        items = [
            public(g)
            for g in grants.all(
                audience=request.arg("audience"), client_id=request.arg("client_id")
            )
        ]
        return Response(200, paged(request, items, "client_grants"))

    def create(request: Request) -> Response:
        return Response(201, public(grants.create(request.json_object())))

    def get(request: Request) -> Response:
        return Response(200, public(grants.get(request.params["id"])))

    def update(request: Request) -> Response:
        return Response(200, public(grants.update(request.params["id"], request.json_object())))

    def delete(request: Request) -> Response:
        grants.delete(request.params["id"])
        return Response(204)

    path = "/api/v2/client-grants"
    app.router.add("GET", path, list_grants, scopes=("read:client_grants",))
    app.router.add("POST", path, create, scopes=("create:client_grants",))
    app.router.add("GET", path + "/{id}", get, scopes=("read:client_grants",))
    app.router.add("PATCH", path + "/{id}", update, scopes=("update:client_grants",))
    app.router.add("DELETE", path + "/{id}", delete, scopes=("delete:client_grants",))
