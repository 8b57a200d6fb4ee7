"""GET /api/v2/logs, /api/v2/logs/{id} and /api/v2/actions/executions/{id}.

Shapes from the vendored OpenAPI document (``get_logs``, ``get_logs_by_id``,
``get_execution``); the state and its bounds are
:class:`~auth0_actions.emulator.backends.logs.LogsBackend`'s.
"""

from __future__ import annotations

import re
from typing import Any

from auth0_actions.emulator.backends.logs import LOG_FIELDS, search
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, bad_request, project

MAX_PER_PAGE = 100
_FIELD = "|".join(LOG_FIELDS)
_SORT = re.compile(rf"^({_FIELD}):(1|-1)$")
_FIELDS = re.compile(rf"^({_FIELD})(,({_FIELD}))*$")


def _pattern_error(name: str, pattern: str) -> Exception:
    return bad_request(
        f"Query validation error: 'String does not match pattern {pattern}' on property {name}.",
        "invalid_query_string",
    )


def list_logs(app: EmulatorApp, request: Request) -> Response:
    events = app.flows.logs.events()
    query = request.arg("q") or request.arg("search")
    if query:
        events = search(events, query)
    fields = request.arg("fields")
    if fields and not _FIELDS.match(fields):
        raise _pattern_error("fields", _FIELDS.pattern)
    include = request.bool_arg("include_fields")
    checkpoint = request.arg("from")
    if checkpoint is not None or request.arg("take") is not None:
        # Checkpoint paging: the events after ``from``, oldest first.
        take = request.int_arg("take", 50, low=1, high=MAX_PER_PAGE)
        if checkpoint:
            events = [e for e in events if e["log_id"] > checkpoint]
        return Response(200, [project(e, fields, include) for e in events[:take]])
    events = _sorted(events, request.arg("sort"))
    page = request.int_arg("page", 0, low=0)
    per_page = request.int_arg("per_page", 50, low=0, high=MAX_PER_PAGE)
    chunk = [project(e, fields, include) for e in events[page * per_page : (page + 1) * per_page]]
    if request.bool_arg("include_totals"):
        body: Any = {
            "start": page * per_page,
            "limit": per_page,
            "length": len(chunk),
            "logs": chunk,
            "total": len(events),
        }
        return Response(200, body)
    return Response(200, chunk)


def _sorted(events: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    if not sort:
        return list(reversed(events))  # newest first
    found = _SORT.match(sort)
    if not found:
        raise _pattern_error("sort", _SORT.pattern)
    name, order = found.group(1), found.group(2)
    key = "log_id" if name == "date" else name  # log ids are time-ordered
    return sorted(events, key=lambda e: str(e.get(key) or ""), reverse=order == "-1")


def get_log(app: EmulatorApp, request: Request) -> Response:
    return Response(200, app.flows.logs.event(request.params["id"]))


def get_execution(app: EmulatorApp, request: Request) -> Response:
    return Response(200, app.flows.logs.execution(request.params["id"]))
