"""Actions modules over the wire: ``/api/v2/actions/modules*``.

Shapes from Auth0's Management API reference
(https://auth0.com/docs/api/management/v2/actions/get-actions-modules); the
bodies are checked against the request schemas of Auth0's OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response


def _page(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    page = request.int_arg("page", 0, low=0, high=100_000)
    per_page = request.int_arg("per_page", 50, low=1, high=100)
    return {
        key: items[page * per_page : (page + 1) * per_page],
        "page": page,
        "per_page": per_page,
        "total": len(items),
    }


def list_modules(app: EmulatorApp, request: Request) -> Response:
    return Response(200, _page(request, "modules", app.backends.modules.list_modules()))


def create_module(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    return Response(201, app.backends.modules.create(body))


def get_module(app: EmulatorApp, request: Request) -> Response:
    return Response(200, app.backends.modules.get(request.params["id"]))


def update_module(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    return Response(200, app.backends.modules.update(request.params["id"], body))


def delete_module(app: EmulatorApp, request: Request) -> Response:
    app.backends.modules.delete(request.params["id"])
    return Response(204)


def module_actions(app: EmulatorApp, request: Request) -> Response:
    return Response(
        200, _page(request, "actions", app.backends.modules.actions_using(request.params["id"]))
    )


def module_versions(app: EmulatorApp, request: Request) -> Response:
    return Response(
        200, _page(request, "versions", app.backends.modules.versions(request.params["id"]))
    )


def publish_module(app: EmulatorApp, request: Request) -> Response:
    return Response(200, app.backends.modules.publish(request.params["id"]))


def get_module_version(app: EmulatorApp, request: Request) -> Response:
    out = app.backends.modules.version(request.params["id"], request.params["versionId"])
    return Response(200, out)


def rollback_module(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    return Response(
        200, app.backends.modules.rollback(request.params["id"], body["module_version_id"])
    )
