"""GET/POST/PATCH/DELETE /api/v2/clients and POST .../rotate-secret.

Scopes from the Management API's OpenAPI document; the secret is rendered
only on create and rotate, and to tokens holding ``read:client_keys``.
"""

from __future__ import annotations

from auth0_actions.emulator.backends.clients import Clients
from auth0_actions.emulator.backends.paging import paged
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, project


def _shown(request: Request) -> bool:
    return "read:client_keys" in request.scopes


def list_clients(app: EmulatorApp, request: Request) -> Response:
    fields, include = request.arg("fields"), request.bool_arg("include_fields")
    items = [
        project(Clients.render(c, show_secret=_shown(request)), fields, include)
        for c in app.backends.clients.all(request.arg("app_type"))
    ]
    return Response(200, paged(request, items, "clients"))


def create_client(app: EmulatorApp, request: Request) -> Response:
    doc = app.backends.clients.create(request.json_object())
    return Response(201, Clients.render(doc, show_secret=True))


def get_client(app: EmulatorApp, request: Request) -> Response:
    doc = app.backends.clients.get(request.params["id"])
    rendered = Clients.render(doc, show_secret=_shown(request))
    return Response(
        200, project(rendered, request.arg("fields"), request.bool_arg("include_fields"))
    )


def update_client(app: EmulatorApp, request: Request) -> Response:
    doc = app.backends.clients.update(request.params["id"], request.json_object())
    return Response(200, Clients.render(doc, show_secret=_shown(request)))


def rotate_secret(app: EmulatorApp, request: Request) -> Response:
    doc = app.backends.clients.rotate_secret(request.params["id"])
    return Response(200, Clients.render(doc, show_secret=True))


def delete_client(app: EmulatorApp, request: Request) -> Response:
    with app.store.transaction():
        app.backends.clients.delete(request.params["id"])
        app.backends.client_grants.delete_for_client(request.params["id"])
    return Response(204)
