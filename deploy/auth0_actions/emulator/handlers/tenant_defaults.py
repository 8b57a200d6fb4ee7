"""GET handlers for the resource types a new tenant has nothing of (backends/tenant_defaults.py).

A settings singleton answers its stored value once written (backends/settings.py).
"""

from __future__ import annotations

from auth0_actions.emulator.backends.paging import paged
from auth0_actions.emulator.backends.tenant_defaults import Default, Setting, Unset
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Response


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
    return Response(200, paged(request, [], default.key))
