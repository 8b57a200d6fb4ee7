"""GET handlers for the resource types a new tenant has nothing of (backends/tenant_defaults.py).

A settings singleton answers its stored value once written (backends/settings.py).
"""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.backends.tenant_defaults import Default, Setting, Unset
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Response, project


def _offset(request: Request, key: str, items: list[dict[str, Any]]) -> Any:
    page = request.int_arg("page", 0, low=0)
    per_page = request.int_arg("per_page", 50, low=0, high=100)
    chunk = items[page * per_page : (page + 1) * per_page]
    fields, include = request.arg("fields"), request.bool_arg("include_fields")
    chunk = [project(item, fields, include) for item in chunk]
    if request.bool_arg("include_totals"):
        return {key: chunk, "start": page * per_page, "limit": per_page, "total": len(items)}
    return chunk


def answer(default: Default, app: EmulatorApp, request: Request) -> Response:
    """The GET answer of one entry (the route table binds ``default``)."""
    if isinstance(default, Unset):
        raise ApiError(404, default.message, default.error_code)
    if isinstance(default, Setting):
        path = default.path.format(**request.params)
        return Response(200, app.backends.settings.read(default.path, path))
    if default.paging == "array":
        return Response(200, [])
    if default.paging in ("checkpoint", "fixed"):
        return Response(200, {default.key: []})
    return Response(200, _offset(request, default.key, []))
