"""PATCH and PUT of the settings singletons (backends/settings.py); their GETs are the defaults'."""

from __future__ import annotations

from auth0_actions.emulator.backends.settings import Write
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response


def write(operation: Write, app: EmulatorApp, request: Request) -> Response:
    """One write of ``backends.settings.WRITES`` (the route table binds ``operation``)."""
    path = operation.path.format(**request.params)
    backend = app.backends.settings
    if operation.method == "PATCH":
        return Response(200, backend.patch(operation.path, path, request.json_object()))
    return Response(200, backend.put(operation.path, path, request.json()))
