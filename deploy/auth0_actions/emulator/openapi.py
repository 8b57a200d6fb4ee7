"""Request bodies and scopes from Auth0's Management API OpenAPI document.

The package carries a trimmed copy of the document Auth0 publishes
(``management-api.requests.json``: each operation's request-body schema and
``security`` scopes, with the component schemas they reference), written by
``python -m auth0_actions.emulator.openapi <full document> <out>`` from the
copy vendored under ``tests/conformance/`` (a test fails when it drifts).

:meth:`RequestSchemas.check` is called by the app's dispatch for every
``/api/v2`` route, so a route validates its body without code of its own, and
refuses it with Auth0's 400 in z-schema's words (the validator behind the
Management API; its messages are those of the recordings):
``{"statusCode":400,"error":"Bad Request","message":"Payload validation error:
'Missing required property: connection'.","errorCode":"invalid_body"}``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from auth0_actions.emulator.http import bad_request

API_PREFIX = "/api/v2"
DATA_FILE = "management-api.requests.json"
METHODS = ("get", "post", "put", "patch", "delete")
# Auth0's email check (z-schema's), stricter than jsonschema's "contains an @".
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Which of several problems Auth0 names first: the shallowest, then in this order.
_FIRST = {"type": 0, "additionalProperties": 1, "required": 2}


def path_shape(template: str) -> str:
    """A path template with its parameter names erased (``/users/{}``), to match the document's."""
    return re.sub(r"\{[^}]+\}", "{}", template.rstrip("/") or "/")


def trim(document: dict[str, Any]) -> dict[str, Any]:
    """The parts of the full document the local tenant reads, with only the schemas they use."""
    components = document["components"]["schemas"]
    operations: dict[str, dict[str, Any]] = {}
    used: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in used:
                    used.add(name)
                    collect(components[name])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    for template, item in sorted(document["paths"].items()):
        for method in METHODS:
            spec = item.get(method)
            if not isinstance(spec, dict):
                continue
            scopes = sorted(
                {
                    s
                    for entry in spec.get("security") or []
                    for values in entry.values()
                    for s in values
                }
            )
            entry: dict[str, Any] = {"scopes": scopes}
            content = (spec.get("requestBody") or {}).get("content") or {}
            schema = (content.get("application/json") or {}).get("schema")
            if schema is not None:
                entry["body"] = schema
                collect(schema)
            operations[f"{method.upper()} {template}"] = entry
    return {
        "info": {"source": "Auth0 Management API v2 OpenAPI document", **document.get("info", {})},
        "operations": operations,
        "components": {"schemas": {name: components[name] for name in sorted(used)}},
    }


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _where(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _wording(error: ValidationError) -> tuple[str, list[str | int]]:
    """z-schema's message for one problem, and the property it is on."""
    kind = error.validator
    value: Any = error.instance
    expected: Any = error.validator_value
    path: list[str | int] = list(error.absolute_path)
    if kind == "type":
        first = expected[0] if isinstance(expected, list) else expected
        return f"Expected type {first} but found type {_type_name(value)}", path
    if kind == "required":
        missing = next((name for name in expected if name not in value), "")
        return f"Missing required property: {missing}", path
    if kind == "additionalProperties":
        schema: Any = error.schema
        known = (schema.get("properties") if isinstance(schema, dict) else None) or {}
        extra = [str(k) for k in value if k not in known]
        return f"Additional properties not allowed: {','.join(extra)}", path
    if kind == "enum":
        return f"No enum match for: {json.dumps(value)}", path
    if kind in ("minLength", "maxLength"):
        size = "short" if kind == "minLength" else "long"
        bound = "minimum" if kind == "minLength" else "maximum"
        return f"String is too {size} ({len(value)} chars), {bound} {expected}", path
    if kind in ("minItems", "maxItems"):
        size = "short" if kind == "minItems" else "long"
        bound = "minimum" if kind == "minItems" else "maximum"
        return f"Array is too {size} ({len(value)}), {bound} {expected}", path
    if kind == "minProperties":
        return f"Too few properties defined ({len(value)}), minimum {expected}", path
    if kind == "pattern":
        return f"String does not match pattern {expected}", path
    if kind == "format":
        return f"Object didn't pass validation for format {expected}: {value}", path
    if kind in ("minimum", "exclusiveMinimum"):
        return f"Value {value} is less than minimum {expected}", path
    if kind in ("maximum", "exclusiveMaximum"):
        return f"Value {value} is greater than maximum {expected}", path
    if kind in ("oneOf", "anyOf"):
        return f"Data does not match any schemas from '{kind}'", path
    return str(error.message), path


def payload_error(errors: list[ValidationError]) -> str:
    """The one message Auth0 answers for a body with these problems."""
    first = min(
        errors,
        key=lambda e: (
            len(e.absolute_path),
            _FIRST.get(str(e.validator), 9),
            list(map(str, e.absolute_path)),
        ),
    )
    message, path = _wording(first)
    where = f" on property {_where(path)}" if path else ""
    return f"Payload validation error: '{message}'{where}."


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("email")(lambda value: not isinstance(value, str) or bool(_EMAIL.match(value)))


# Fields Auth0 accepts that its OpenAPI document does not list, per operation: the
# session lifetimes in minutes, which Auth0's SDKs and deploy CLI send for a lifetime
# under an hour or in place of hours (go-auth0 management/tenant.go MarshalJSON;
# auth0-deploy-cli's tenant handler, hoursAsInteger). Checked on their own here,
# then left out of the document's check, which would refuse them.
_MINUTES: dict[str, Any] = {"type": "integer", "minimum": 1}
BEYOND_DOCUMENT: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("PATCH", "/tenants/settings"): {
        f"{name}_in_minutes": _MINUTES
        for name in (
            "session_lifetime",
            "idle_session_lifetime",
            "ephemeral_session_lifetime",
            "idle_ephemeral_session_lifetime",
        )
    },
}


class RequestSchemas:
    """The document's operations, looked up by (method, path template), validators cached."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._components = data["components"]
        self._by_shape: dict[tuple[str, str], dict[str, Any]] = {}
        for key, entry in data["operations"].items():
            method, _, template = key.partition(" ")
            self._by_shape[(method, path_shape(template))] = entry
        self._validators: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def packaged(cls) -> RequestSchemas:
        text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
        return cls(json.loads(text))

    def operation(self, method: str, route_template: str) -> dict[str, Any] | None:
        """The document's operation a route serves (None: not a Management API operation)."""
        if not route_template.startswith(API_PREFIX + "/"):
            return None
        return self._by_shape.get((method, path_shape(route_template[len(API_PREFIX) :])))

    def scopes(self, method: str, route_template: str) -> tuple[str, ...]:
        found = self.operation(method, route_template)
        return tuple(found["scopes"]) if found else ()

    def _validator(self, method: str, route_template: str) -> Any:
        key = (method, route_template)
        with self._lock:
            if key not in self._validators:
                found = self.operation(method, route_template)
                body = found.get("body") if found else None
                self._validators[key] = (
                    None
                    if body is None
                    else jsonschema.Draft202012Validator(
                        {**body, "components": self._components}, format_checker=_FORMATS
                    )
                )
            return self._validators[key]

    def check(self, method: str, route_template: str, body: Any) -> None:
        """Raise Auth0's 400 when the document's schema refuses the body."""
        validator = self._validator(method, route_template)
        if validator is None:
            return
        beyond = BEYOND_DOCUMENT.get((method, route_template[len(API_PREFIX) :]))
        if beyond and isinstance(body, dict):
            extra = {k: v for k, v in body.items() if k in beyond}
            known = {"type": "object", "properties": beyond}
            problems = list(jsonschema.Draft202012Validator(known).iter_errors(extra))
            if problems:
                raise bad_request(payload_error(problems))
            body = {k: v for k, v in body.items() if k not in beyond}
            if extra and not body:
                return  # the extra fields alone are a body with properties
        errors = list(validator.iter_errors(body))
        if errors:
            raise bad_request(payload_error(errors))


def main(argv: list[str]) -> int:
    """Write the trimmed copy: ``python -m auth0_actions.emulator.openapi FULL.json OUT.json``."""
    if len(argv) != 2:
        print(__doc__.split("\n", 1)[0] if __doc__ else "", file=sys.stderr)
        print("usage: python -m auth0_actions.emulator.openapi FULL.json OUT.json", file=sys.stderr)
        return 1
    document = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    Path(argv[1]).write_text(render(trim(document)), encoding="utf-8")
    return 0


def render(trimmed: dict[str, Any]) -> str:
    return json.dumps(trimmed, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
