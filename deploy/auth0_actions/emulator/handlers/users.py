"""Users on the wire: create, get, users-by-email, search, PATCH, delete.

Wire format per docs/reference/management-api.md §3 and the recordings
(TestAccUser, TestAccDataSourceUser, go_TestUserManager_*). The handlers
translate the wire (query checks, paging, ``fields``/``include_fields``);
:class:`~auth0_actions.emulator.backends.users.UsersBackend` owns the stored
users, Auth0's rules for them and the search.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from auth0_actions.emulator.backends.users_query import value_at
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.flows.context import Origin
from auth0_actions.emulator.http import Request, Response, bad_request, project, public

MAX_PER_PAGE = 100
MAX_PAGED_RECORDS = 1000


def _per_page(request: Request, default: int = 50) -> int:
    raw = request.arg("per_page")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(
            "Query validation error: 'Expected type integer but found type string' on "
            "property per_page (Number of results per page. Defaults to 50).",
            "invalid_query_string",
        ) from None
    if value > MAX_PER_PAGE:
        raise bad_request(
            f"Query validation error: 'Value {value} is greater than maximum {MAX_PER_PAGE}' "
            "on property per_page (Number of results per page. Defaults to 50).",
            "invalid_query_string",
        )
    if value < 0:
        raise bad_request(
            f"Query validation error: 'Value {value} is less than minimum 0' on property "
            "per_page (Number of results per page. Defaults to 50).",
            "invalid_query_string",
        )
    return value


def _sort_key(spec: str | None) -> tuple[Callable[[dict[str, Any]], Any], bool] | None:
    if not spec:
        return None
    field, _, order = spec.partition(":")
    if order not in ("1", "-1", ""):
        raise bad_request(
            "Query validation error: 'String does not match pattern ^(([a-zA-Z0-9_\\.]+))"
            ":(1|-1)$' on property sort.",
            "invalid_query_string",
        )

    def key(user: dict[str, Any]) -> Any:
        value = value_at(user, field)
        return (value is None, json.dumps(value, sort_keys=True) if value is not None else "")

    return key, order == "-1"


def create_user(app: EmulatorApp, request: Request) -> Response:
    return Response(201, public(app.backends.users.create(request.json_object())))


def get_user(app: EmulatorApp, request: Request) -> Response:
    user = app.backends.users.get(request.params["id"])
    return Response(200, project(user, request.arg("fields"), request.bool_arg("include_fields")))


def users_by_email(app: EmulatorApp, request: Request) -> Response:
    email = request.arg("email")
    if not email:
        raise bad_request(
            "Query validation error: 'Missing required property: email'.",
            "invalid_query_string",
        )
    fields, include = request.arg("fields"), request.bool_arg("include_fields")
    found = app.backends.users.find_by_email(email)
    return Response(200, [project(u, fields, include) for u in found])


def search_users(app: EmulatorApp, request: Request) -> Response:
    engine = request.arg("search_engine")
    if engine not in (None, "", "v1", "v2", "v3"):
        raise bad_request(
            f"Query validation error: 'Invalid value {engine}' on property search_engine.",
            "invalid_query_string",
        )
    page = request.int_arg("page", 0, low=0)
    per_page = _per_page(request)
    if page * per_page + per_page > MAX_PAGED_RECORDS:
        raise bad_request(
            "You can only page through the first 1000 records. See "
            "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
            "invalid_paging",
        )
    found = app.backends.users.search(request.arg("q") or "")
    sort = _sort_key(request.arg("sort"))
    if sort is not None:
        found.sort(key=sort[0], reverse=sort[1])
    chunk = found[page * per_page : page * per_page + per_page]
    fields, include = request.arg("fields"), request.bool_arg("include_fields")
    users = [project(u, fields, include) for u in chunk]
    if request.bool_arg("include_totals"):
        return Response(
            200,
            {
                "start": page * per_page,
                "limit": per_page,
                "length": len(users),
                "users": users,
                "total": len(found),
            },
        )
    return Response(200, users)


def update_user(app: EmulatorApp, request: Request) -> Response:
    body = request.json_object()
    user = app.backends.users.update(request.params["id"], body)
    if isinstance(body.get("password"), str) and app.flows is not None:
        # A changed password runs post-change-password (flows/password.py).
        app.flows.password.after_change(user, Origin.of(request, app.domain))
    return Response(200, public(user))


def delete_user(app: EmulatorApp, request: Request) -> Response:
    app.backends.users.delete(request.params["id"])
    return Response(204)
