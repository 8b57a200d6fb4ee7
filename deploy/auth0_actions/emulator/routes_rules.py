"""Rules and rules-configs.

Wire format: docs/reference/management-api.md §2; recordings TestAccRule, TestAccRuleConfig,
go_TestRule*.

A rule is ``{id: "rul_" + 16 alphanumerics, enabled, script, name, order,
stage: "login_success"}``; ``enabled`` defaults to true and ``order`` to one
past the highest. A duplicate name, or an explicit order another rule holds,
is a 409. Rules-configs are write-only: the list gives keys, never values;
PUT echoes the value once.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Response, bad_request, project

_NAME = re.compile(r"^[a-zA-Z0-9]([ \-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_CONFIG_KEY = re.compile(r"^[A-Za-z0-9_\-@*+:]*$")
_ALNUM = string.ascii_letters + string.digits
_FIELDS = ("name", "script", "enabled", "order")
MAX_SCRIPT_BYTES = 100 * 1024


def _rule_id() -> str:
    return "rul_" + "".join(secrets.choice(_ALNUM) for _ in range(16))


def _is(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _validate(body: dict[str, Any], *, create: bool) -> None:
    extra = sorted(k for k in body if k not in _FIELDS)
    if extra:
        raise bad_request(
            f"Payload validation error: 'Additional properties not allowed: {extra[0]}'."
        )
    if create:
        for name in ("name", "script"):
            if name not in body:
                raise bad_request(f"Payload validation error: 'Missing required property: {name}'.")
    elif not body:
        raise bad_request("Payload validation error: 'Too few properties defined (0), minimum 1'.")
    for name, kind in (
        ("name", "string"),
        ("script", "string"),
        ("enabled", "boolean"),
        ("order", "number"),
    ):
        if name in body and not _is(kind, body[name]):
            found = type(body[name]).__name__
            found = {"str": "string", "bool": "boolean", "int": "integer", "float": "number"}.get(
                found, "object" if isinstance(body[name], dict) else found
            )
            raise bad_request(
                f"Payload validation error: 'Expected type {kind} but found type {found}' "
                f"on property {name}."
            )
    if "name" in body and not _NAME.match(body["name"]):
        raise bad_request(
            "Payload validation error: 'String does not match pattern "
            f"{_NAME.pattern}' on property name."
        )
    if "script" in body:
        if not body["script"]:
            raise bad_request(
                "Payload validation error: 'String is too short (0 chars), minimum 1' on "
                "property script."
            )
        if len(body["script"].encode()) > MAX_SCRIPT_BYTES:
            raise bad_request("Payload validation error: 'String is too long' on property script.")
    if "order" in body and body["order"] < 0:
        raise bad_request(
            f"Payload validation error: 'Value {body['order']} is less than minimum 0' on "
            "property order."
        )


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def register(app: EmulatorApp) -> None:
    store = app.store

    def conflicts(body: dict[str, Any], rule_id: str | None) -> None:
        for other in store.all("rule"):
            if other["id"] == rule_id:
                continue
            if "name" in body and other["name"] == body["name"]:
                raise ApiError(409, "A rule with the same name already exists", "rule_conflict")
            if "order" in body and other["order"] == body["order"]:
                raise ApiError(409, "A rule with the same order already exists", "rule_conflict")

    def list_rules(request: Request) -> Response:
        page = request.int_arg("page", 0)
        per_page = request.int_arg("per_page", 50, low=0, high=100)
        enabled = request.bool_arg("enabled")
        rules = sorted(store.all("rule"), key=lambda r: (r["order"], r["id"]))
        if enabled is not None:
            rules = [r for r in rules if r["enabled"] is enabled]
        fields, include = request.arg("fields"), request.bool_arg("include_fields")
        chunk = [project(r, fields, include) for r in rules[page * per_page :][:per_page]]
        if request.bool_arg("include_totals"):
            return Response(
                200,
                {"total": len(rules), "start": page * per_page, "limit": per_page, "rules": chunk},
            )
        return Response(200, chunk)

    def create(request: Request) -> Response:
        body = request.json_object()
        _validate(body, create=True)
        with store.transaction():
            conflicts(body, None)
            rules = store.all("rule")
            order = body.get("order")
            if order is None:
                order = max((r["order"] for r in rules), default=0) + 1
            rule = {
                "id": _rule_id(),
                "enabled": body.get("enabled", True),
                "script": body["script"],
                "name": body["name"],
                "order": _number(order),
                "stage": "login_success",
            }
            store.put("rule", rule["id"], rule)
        return Response(201, rule)

    def get(request: Request) -> Response:
        rule = store.get("rule", request.params["id"])
        if rule is None:
            raise ApiError(404, "The rule does not exist.", "inexistent_rule")
        return Response(
            200, project(rule, request.arg("fields"), request.bool_arg("include_fields"))
        )

    def update(request: Request) -> Response:
        body = request.json_object()
        _validate(body, create=False)
        with store.transaction():
            rule = store.get("rule", request.params["id"])
            if rule is None:
                raise ApiError(404, "The rule does not exist.", "inexistent_rule")
            conflicts(body, rule["id"])
            for name in _FIELDS:
                if name in body:
                    rule[name] = _number(body[name]) if name == "order" else body[name]
            store.put("rule", rule["id"], rule)
        return Response(200, rule)

    def delete(request: Request) -> Response:
        with store.transaction():
            store.delete("rule", request.params["id"])
        return Response(204)

    def list_configs(_: Request) -> Response:
        return Response(200, [{"key": c["key"]} for c in store.all("rules_config")])

    def check_key(key: str) -> None:
        if not key or len(key) > 127 or not _CONFIG_KEY.match(key):
            raise bad_request(
                "Path validation error: 'String does not match pattern "
                f"{_CONFIG_KEY.pattern}' on property key (Key of the rules config).",
                "invalid_uri",
            )

    def put_config(request: Request) -> Response:
        key = request.params["key"]
        check_key(key)
        body = request.json_object()
        extra = sorted(k for k in body if k != "value")
        if extra:
            raise bad_request(
                f"Payload validation error: 'Additional properties not allowed: {extra[0]}'."
            )
        if "value" not in body:
            raise bad_request("Payload validation error: 'Missing required property: value'.")
        if not isinstance(body["value"], str):
            raise bad_request(
                "Payload validation error: 'Expected type string but found type "
                f"{type(body['value']).__name__}' on property value."
            )
        with store.transaction():
            store.put("rules_config", key, {"key": key, "_value": body["value"]})
        return Response(200, {"key": key, "value": body["value"]})

    def delete_config(request: Request) -> Response:
        key = request.params["key"]
        check_key(key)
        with store.transaction():
            store.delete("rules_config", key)
        return Response(204)

    app.router.add("GET", "/api/v2/rules", list_rules, scopes=("read:rules",))
    app.router.add("POST", "/api/v2/rules", create, scopes=("create:rules",))
    app.router.add("GET", "/api/v2/rules/{id}", get, scopes=("read:rules",))
    app.router.add("PATCH", "/api/v2/rules/{id}", update, scopes=("update:rules",))
    app.router.add("DELETE", "/api/v2/rules/{id}", delete, scopes=("delete:rules",))
    app.router.add("GET", "/api/v2/rules-configs", list_configs, scopes=("read:rules_configs",))
    app.router.add(
        "PUT", "/api/v2/rules-configs/{key}", put_config, scopes=("update:rules_configs",)
    )
    app.router.add(
        "DELETE", "/api/v2/rules-configs/{key}", delete_config, scopes=("delete:rules_configs",)
    )
