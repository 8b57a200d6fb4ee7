"""Actions modules over the wire: ``/api/v2/actions/modules*``.

Shapes from Auth0's Management API reference
(https://auth0.com/docs/api/management/v2/actions/get-actions-modules); the
bodies are checked against the request schemas of Auth0's OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.backends.modules import ModulesBackend
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Handler, Request, Response
from auth0_actions.emulator.validation import Schema, validate

_TEXT = {"type": "string", "maxLength": 65536}
_DEPENDENCY: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "version"],
    "properties": {
        "name": {"type": "string", "maxLength": 255},
        "version": {"type": "string", "maxLength": 50},
    },
}
_SECRET: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "value"],
    "properties": {
        "name": {"type": "string", "maxLength": 255},
        "value": {"type": "string", "maxLength": 4096},
    },
}
_DRAFT: dict[str, Schema] = {
    "code": _TEXT,
    "dependencies": {"type": "array", "items": _DEPENDENCY},
    "secrets": {"type": "array", "items": _SECRET},
}
CREATE_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "code"],
    "properties": {
        **_DRAFT,
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "api_version": {"type": "string", "maxLength": 20},
        "publish": {"type": "boolean"},
    },
}
UPDATE_SCHEMA: Schema = {"type": "object", "additionalProperties": False, "properties": _DRAFT}
ROLLBACK_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["module_version_id"],
    "properties": {"module_version_id": {"type": "string"}},
}

READ, CREATE, UPDATE, DELETE = (
    ("read:actions",),
    ("create:actions",),
    ("update:actions",),
    ("delete:actions",),
)


def _page(request: Request, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    page = request.int_arg("page", 0, low=0, high=100_000)
    per_page = request.int_arg("per_page", 50, low=1, high=100)
    return {
        key: items[page * per_page : (page + 1) * per_page],
        "page": page,
        "per_page": per_page,
        "total": len(items),
    }


class ModulesHandlers:
    def __init__(self, backend: ModulesBackend) -> None:
        self.backend = backend

    def list_modules(self, request: Request) -> Response:
        return Response(200, _page(request, "modules", self.backend.list_modules()))

    def create(self, request: Request) -> Response:
        body = request.json_object()
        validate(body, CREATE_SCHEMA)
        return Response(201, self.backend.create(body))

    def get(self, request: Request) -> Response:
        return Response(200, self.backend.get(request.params["id"]))

    def update(self, request: Request) -> Response:
        body = request.json_object()
        validate(body, UPDATE_SCHEMA)
        return Response(200, self.backend.update(request.params["id"], body))

    def delete(self, request: Request) -> Response:
        self.backend.delete(request.params["id"])
        return Response(204)

    def actions(self, request: Request) -> Response:
        return Response(
            200, _page(request, "actions", self.backend.actions_using(request.params["id"]))
        )

    def versions(self, request: Request) -> Response:
        return Response(
            200, _page(request, "versions", self.backend.versions(request.params["id"]))
        )

    def publish(self, request: Request) -> Response:
        return Response(200, self.backend.publish(request.params["id"]))

    def version(self, request: Request) -> Response:
        out = self.backend.version(request.params["id"], request.params["versionId"])
        return Response(200, out)

    def rollback(self, request: Request) -> Response:
        body = request.json_object()
        validate(body, ROLLBACK_SCHEMA)
        return Response(200, self.backend.rollback(request.params["id"], body["module_version_id"]))


def routes(app: EmulatorApp) -> list[tuple[str, str, Handler, tuple[str, ...]]]:
    """(method, path template, handler, scopes) of every modules endpoint."""
    h = ModulesHandlers(app.backends.modules)
    base = "/api/v2/actions/modules"
    return [
        ("GET", base, h.list_modules, READ),
        ("POST", base, h.create, CREATE),
        ("GET", base + "/{id}", h.get, READ),
        ("PATCH", base + "/{id}", h.update, UPDATE),
        ("DELETE", base + "/{id}", h.delete, DELETE),
        ("GET", base + "/{id}/actions", h.actions, READ),
        ("GET", base + "/{id}/versions", h.versions, READ),
        ("POST", base + "/{id}/versions", h.publish, UPDATE),
        ("GET", base + "/{id}/versions/{versionId}", h.version, READ),
        ("POST", base + "/{id}/rollback", h.rollback, UPDATE),
    ]
