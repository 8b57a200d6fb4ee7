"""Auth0's fixed facts about actions: triggers, runtimes, limits and request schemas.

Wire format: docs/reference/management-api.md §1 and the recordings in
tests/conformance/recordings (go_TestActionManager_Triggers for the trigger list).
"""

from __future__ import annotations

from typing import Any

from auth0_actions.emulator.validation import Schema

MAX_CODE_CHARS = 100 * 1024  # 100 kB of code per action
MAX_DEPENDENCIES = 10
MAX_SECRETS = 30
MAX_SECRET_NAME = 128
MAX_SECRET_VALUE = 4096  # limitations.mdx, "Secrets"
MAX_BINDINGS = 20  # bound actions per trigger

# The spec's ActionTriggerTypeEnum, plus the one auth0-python 6.8 also knows.
SPEC_TRIGGERS = (
    "post-login",
    "credentials-exchange",
    "pre-user-registration",
    "post-user-registration",
    "post-change-password",
    "send-phone-message",
    "custom-phone-provider",
    "custom-email-provider",
    "password-reset-post-challenge",
    "custom-token-exchange",
    "event-stream",
    "password-hash-migration",
    "login-post-identifier",
    "signup-post-identifier",
)
TRIGGER_IDS = (*SPEC_TRIGGERS, "post-credential-validation")
RUNTIMES = ["node18-actions", "node22"]
DEFAULT_RUNTIME = "node22"


def _trigger(
    trigger_id: str,
    version: str,
    status: str = "CURRENT",
    runtimes: list[str] | None = None,
    compatible: list[dict[str, str]] | None = None,
    default: bool = True,
) -> dict[str, Any]:
    chosen = runtimes or RUNTIMES
    out: dict[str, Any] = {
        "id": trigger_id,
        "version": version,
        "status": status,
        "runtimes": list(chosen),
    }
    if default:
        out["default_runtime"] = chosen[-1]
    out["compatible_triggers"] = compatible or []
    return out


def _old(trigger_id: str, *, default: bool = True) -> dict[str, Any]:
    return _trigger(trigger_id, "v1", "DEPRECATED", ["node12"], default=default)


# Order and deprecated versions as recorded (go_TestActionManager_Triggers),
# with today's runtimes, then the triggers added since.
TRIGGERS: list[dict[str, Any]] = [
    _old("post-login"),
    _trigger("post-login", "v2", "DEPRECATED", ["node12", "node16", "node18"]),
    _trigger("post-login", "v3", compatible=[{"id": "post-login", "version": "v2"}]),
    _trigger("credentials-exchange", "v2"),
    _old("credentials-exchange"),
    _old("pre-user-registration"),
    _trigger("pre-user-registration", "v2"),
    _old("post-user-registration"),
    _trigger("post-user-registration", "v2"),
    _trigger("post-change-password", "v2"),
    _old("post-change-password"),
    _old("send-phone-message", default=False),
    _trigger("send-phone-message", "v2"),
    _trigger("custom-phone-provider", "v1"),
    _trigger("custom-email-provider", "v1"),
    _trigger("password-reset-post-challenge", "v1"),
    _trigger("custom-token-exchange", "v1"),
    _trigger("event-stream", "v1"),
    _trigger("password-hash-migration", "v1"),
    _trigger("login-post-identifier", "v1"),
    _trigger("signup-post-identifier", "v1"),
]


# Auth0's limits on request bodies, beyond the OpenAPI document's schemas (which the
# app's dispatch checks first); the backend checks these, in z-schema's words.

_SECRET: Schema = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_SECRET_NAME},
        "value": {"type": "string", "maxLength": MAX_SECRET_VALUE},
    },
}
_TRIGGER_REF: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "enum": list(TRIGGER_IDS)},
        "version": {"type": "string"},
        "binding_policy": {"type": "string", "enum": ["trigger-bound", "entity-bound"]},
        "compatible_triggers": {"type": "array"},
        "default_runtime": {"type": "string"},
        "runtimes": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string"},
    },
}
_DEPENDENCY: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "version"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string", "minLength": 1},
        "registry_url": {"type": "string"},
    },
}
_MODULE: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "module_id": {"type": "string"},
        "module_name": {"type": "string"},
        "module_version_id": {"type": "string"},
        "module_version_number": {"type": "integer"},
    },
}
_ACTION_FIELDS: dict[str, Schema] = {
    "name": {"type": "string", "minLength": 1},
    "supported_triggers": {"type": "array", "minItems": 1, "items": _TRIGGER_REF},
    "code": {"type": "string", "maxLength": MAX_CODE_CHARS},
    "dependencies": {"type": "array", "maxItems": MAX_DEPENDENCIES, "items": _DEPENDENCY},
    "runtime": {"type": "string", "minLength": 1},
    "secrets": {"type": "array", "maxItems": MAX_SECRETS, "items": _SECRET},
    "modules": {"type": "array", "items": _MODULE},
}
CREATE_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "supported_triggers"],
    "properties": {**_ACTION_FIELDS, "deploy": {"type": "boolean"}},
}
UPDATE_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "properties": _ACTION_FIELDS,
}
_BINDING: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ref"],
    "properties": {
        "display_name": {"type": "string"},
        "ref": {
            "type": "object",
            "required": ["type", "value"],
            "properties": {
                "type": {"type": "string", "enum": ["binding_id", "action_id", "action_name"]},
                "value": {"type": "string"},
            },
        },
        "secrets": {"type": "array", "items": _SECRET},
    },
}
BINDINGS_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["bindings"],
    "properties": {
        "bindings": {"type": "array", "maxItems": MAX_BINDINGS, "items": {"oneOf": [_BINDING]}}
    },
}
DEPLOY_VERSION_SCHEMA: Schema = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {"update_draft": {"type": "boolean"}},
}
TEST_SCHEMA: Schema = {
    "type": "object",
    "additionalProperties": False,
    "required": ["payload"],
    "properties": {"payload": {"type": "object"}},
}
