"""GET/POST/PATCH/DELETE /api/v2/clients and POST .../rotate-secret.

Scopes from the Management API's OpenAPI document; the secret is rendered
only on create and rotate, and to tokens holding ``read:client_keys``.
"""

from __future__ import annotations

from auth0_actions.emulator.backends.clients import Clients
from auth0_actions.emulator.backends.paging import paged
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, project

READ = ("read:clients", "read:client_keys", "read:client_credentials", "read:client_summary")
UPDATE = (
    "update:clients",
    "update:client_keys",
    "update:client_credentials",
    "update:client_token_vault_privileged_access",
)


def register(app: EmulatorApp) -> None:
    clients = app.backends.clients

    def shown(request: Request) -> bool:
        return "read:client_keys" in request.scopes

    def list_clients(request: Request) -> Response:
        fields, include = request.arg("fields"), request.bool_arg("include_fields")
        items = [
            project(Clients.render(c, show_secret=shown(request)), fields, include)
            for c in clients.all(request.arg("app_type"))
        ]
        return Response(200, paged(request, items, "clients"))

    def create(request: Request) -> Response:
        doc = clients.create(request.json_object())
        return Response(201, Clients.render(doc, show_secret=True))

    def get(request: Request) -> Response:
        doc = clients.get(request.params["id"])
        rendered = Clients.render(doc, show_secret=shown(request))
        return Response(
            200, project(rendered, request.arg("fields"), request.bool_arg("include_fields"))
        )

    def update(request: Request) -> Response:
        doc = clients.update(request.params["id"], request.json_object())
        return Response(200, Clients.render(doc, show_secret=shown(request)))

    def rotate(request: Request) -> Response:
        return Response(
            200, Clients.render(clients.rotate_secret(request.params["id"]), show_secret=True)
        )

    def delete(request: Request) -> Response:
        with app.store.transaction():
            clients.delete(request.params["id"])
            app.backends.client_grants.delete_for_client(request.params["id"])
        return Response(204)

    app.router.add("GET", "/api/v2/clients", list_clients, scopes=READ)
    app.router.add("POST", "/api/v2/clients", create, scopes=("create:clients",))
    app.router.add("GET", "/api/v2/clients/{id}", get, scopes=READ)
    app.router.add("PATCH", "/api/v2/clients/{id}", update, scopes=UPDATE)
    app.router.add("DELETE", "/api/v2/clients/{id}", delete, scopes=("delete:clients",))
    app.router.add(
        "POST", "/api/v2/clients/{id}/rotate-secret", rotate, scopes=("update:client_keys",)
    )
