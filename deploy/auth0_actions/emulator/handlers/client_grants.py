"""GET/POST/PATCH/DELETE /api/v2/client-grants."""

from __future__ import annotations

from auth0_actions.emulator.backends.paging import paged
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, public


def list_grants(app: EmulatorApp, request: Request) -> Response:
    grants = app.backends.client_grants.all(
        audience=request.arg("audience"), client_id=request.arg("client_id")
    )
    return Response(200, paged(request, [public(g) for g in grants], "client_grants"))


def create_grant(app: EmulatorApp, request: Request) -> Response:
    return Response(201, public(app.backends.client_grants.create(request.json_object())))


def get_grant(app: EmulatorApp, request: Request) -> Response:
    return Response(200, public(app.backends.client_grants.get(request.params["id"])))


def update_grant(app: EmulatorApp, request: Request) -> Response:
    doc = app.backends.client_grants.update(request.params["id"], request.json_object())
    return Response(200, public(doc))


def delete_grant(app: EmulatorApp, request: Request) -> Response:
    app.backends.client_grants.delete(request.params["id"])
    return Response(204)
