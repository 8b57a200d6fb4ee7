"""Rules and rules-configs on the wire: parse, call the rules backend, render.

Wire format: docs/reference/management-api.md §2 (recordings TestAccRule,
TestAccRuleConfig, go_TestRule*); the rules themselves are
:class:`~auth0_actions.emulator.backends.rules.RulesBackend`'s.
"""

from __future__ import annotations

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, project


def list_rules(app: EmulatorApp, request: Request) -> Response:
    page = request.int_arg("page", 0)
    per_page = request.int_arg("per_page", 50, low=0, high=100)
    rules = app.backends.rules.ordered(enabled=request.bool_arg("enabled"))
    fields, include = request.arg("fields"), request.bool_arg("include_fields")
    chunk = [project(r, fields, include) for r in rules[page * per_page :][:per_page]]
    if request.bool_arg("include_totals"):
        return Response(
            200, {"total": len(rules), "start": page * per_page, "limit": per_page, "rules": chunk}
        )
    return Response(200, chunk)


def create_rule(app: EmulatorApp, request: Request) -> Response:
    return Response(201, app.backends.rules.create(request.json_object()))


def get_rule(app: EmulatorApp, request: Request) -> Response:
    rule = app.backends.rules.get(request.params["id"])
    return Response(200, project(rule, request.arg("fields"), request.bool_arg("include_fields")))


def update_rule(app: EmulatorApp, request: Request) -> Response:
    return Response(200, app.backends.rules.update(request.params["id"], request.json_object()))


def delete_rule(app: EmulatorApp, request: Request) -> Response:
    app.backends.rules.delete(request.params["id"])
    return Response(204)


def list_configs(app: EmulatorApp, _: Request) -> Response:
    return Response(200, [{"key": key} for key in app.backends.rules.config_keys()])


def set_config(app: EmulatorApp, request: Request) -> Response:
    key, value = request.params["key"], request.json_object()["value"]
    app.backends.rules.set_config(key, value)
    return Response(200, {"key": key, "value": value})


def delete_config(app: EmulatorApp, request: Request) -> Response:
    app.backends.rules.delete_config(request.params["key"])
    return Response(204)
