"""Auth0's limits beyond its OpenAPI document, checked as JSON-schema-like dicts.

Bodies are validated from the document by the app's dispatch
(:mod:`auth0_actions.emulator.openapi`); some limits Auth0 enforces are not in
it (an action's code size, its dependency and secret counts, 4096-character
secret values, 20 bindings per trigger: :mod:`auth0_actions.emulator.actions_spec`).
The actions backend checks those with :func:`validate`, in the same words:
Auth0's 400 ``Payload validation error: '<message>' on property <path>.``
Only the keywords those schemas use are known:
``type``, ``enum``, ``oneOf``, ``minLength``/``maxLength``,
``minItems``/``maxItems``, ``items``, ``required``, ``properties`` and
``additionalProperties: false``.
"""

from __future__ import annotations

import json
from typing import Any

from auth0_actions.emulator.http import bad_request

Schema = dict[str, Any]


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _problem(value: Any, schema: Schema, path: str) -> tuple[str, str] | None:
    """The first (message, property path) the value breaks, in z-schema's words."""
    expected = schema.get("type")
    if expected is not None:
        allowed = expected if isinstance(expected, list) else [expected]
        actual = _type_of(value)
        fits = actual in allowed or (actual == "integer" and "number" in allowed)
        if not fits:
            return f"Expected type {allowed[0]} but found type {actual}", path
    if "oneOf" in schema:
        if not any(_problem(value, option, path) is None for option in schema["oneOf"]):
            return "Data does not match any schemas from 'oneOf'", path
        return None
    if "enum" in schema and value not in schema["enum"]:
        return f"No enum match for: {json.dumps(value)}", path
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"String is too short ({len(value)} chars), minimum {schema['minLength']}", path
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"String is too long ({len(value)} chars), maximum {schema['maxLength']}", path
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return f"Array is too short ({len(value)}), minimum {schema['minItems']}", path
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"Array is too long ({len(value)}), maximum {schema['maxItems']}", path
        if "items" in schema:
            for index, item in enumerate(value):
                found = _problem(item, schema["items"], f"{path}[{index}]")
                if found:
                    return found
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                return f"Missing required property: {name}", path
        properties: dict[str, Schema] = schema.get("properties", {})
        if schema.get("additionalProperties", True) is False:
            extra = [k for k in value if k not in properties]
            if extra:
                return f"Additional properties not allowed: {','.join(extra)}", path
        for name, sub in properties.items():
            if name in value:
                found = _problem(value[name], sub, f"{path}.{name}" if path else name)
                if found:
                    return found
    return None


def validate(value: Any, schema: Schema) -> None:
    """Raise Auth0's 400 "Payload validation error" for a body the schema refuses."""
    found = _problem(value, schema, "")
    if found is None:
        return
    message, path = found
    where = f" on property {path}" if path else ""
    raise bad_request(f"Payload validation error: '{message}'{where}.")
