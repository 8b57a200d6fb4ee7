"""Actions, versions, triggers and bindings, as Auth0's Management API serves them.

Wire format: docs/reference/management-api.md §1 and the recordings in
tests/conformance/recordings (TestAcc*Action*, go_TestActionManager_*).

The build state machine is computed when read, never by a background
thread: a draft (and a version) is ``pending`` for the first third of
``settings.build_seconds`` after its last create/update, then ``building``,
then ``built`` -- or ``failed`` when its code carries :data:`BUILD_FAILURE`.
Every version is created by a deploy (``POST .../deploy``, a rollback, or
``deploy: true`` on create); a version finishes building no earlier than the
draft it was taken from. The action's ``deployed_version`` is the newest
version that built, or, while none has, the newest one still building (as
recorded for create-with-deploy). Settled states are written back to the
store so other modules (the login flow) read what clients see.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.http import ApiError, Request, Response, bad_request, not_found

BUILD_FAILURE = "/* a0-emulator:build-failure */"

MAX_CODE_CHARS = 100 * 1024  # 100 kB of code per action
MAX_DEPENDENCIES = 10
MAX_SECRETS = 30
MAX_SECRET_NAME = 128
MAX_SECRET_VALUE = 2048
MAX_BINDINGS = 20  # bound actions per trigger

READ, CREATE, UPDATE, DELETE = (
    ("read:actions",),
    ("create:actions",),
    ("update:actions",),
    ("delete:actions",),
)

ACTION_NOT_FOUND = "That action does not exist."
VERSION_NOT_FOUND = "That action version does not exist."
BOUND_CONFLICT = "Unable to delete an action bound to a trigger."
NOT_DEPLOYED = "Trying to create a binding for an action that has not been deployed yet."

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

# --------------------------------------------------------------------------
# Request bodies, validated as Auth0 does (z-schema messages, spec schemas).

Schema = dict[str, Any]

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


# --------------------------------------------------------------------------
# Time and build state.


def iso(ns: int) -> str:
    """Auth0's nanosecond timestamps, for a time in ns since the epoch."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def _phase(start_ns: int, done_ns: int, fails: bool, now_ns: int) -> str:
    if now_ns >= done_ns:
        return "failed" if fails else "built"
    if now_ns - start_ns < (done_ns - start_ns) / 3:
        return "pending"
    return "building"


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document without its private ("_"-prefixed) fields."""
    return {k: copy.deepcopy(v) for k, v in doc.items() if not k.startswith("_")}


def _trigger_refs(triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: t[k] for k in ("id", "version") if k in t} for t in triggers]


class Actions:
    """The handlers; one instance per emulator."""

    def __init__(self, app: Emulator) -> None:
        self.app = app
        self.store = app.store
        self._pool_lock = threading.Lock()

    # ---- build clock -----------------------------------------------------
    def _build_ns(self) -> int:
        return int(max(0.0, self.app.settings.build_seconds) * 1_000_000_000)

    def _draft_status(self, doc: Mapping[str, Any], now_ns: int) -> str:
        start = int(doc.get("_build_start_ns") or 0)
        done = int(doc.get("_build_done_ns") or 0)
        return _phase(start, done, bool(doc.get("_build_fails")), now_ns)

    def _version_status(self, version: Mapping[str, Any], now_ns: int) -> str:
        start = int(version.get("_build_start_ns") or 0)
        done = int(version.get("_build_done_ns") or 0)
        return _phase(start, done, bool(version.get("_build_fails")), now_ns)

    # ---- lookups ----------------------------------------------------------
    def _action(self, action_id: str) -> dict[str, Any]:
        doc = self.store.get("action", action_id)
        if doc is None:
            raise not_found(ACTION_NOT_FOUND)
        return doc

    def _versions_of(self, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The action's versions, oldest first."""
        found = []
        for version_id in doc.get("_versions") or []:
            version = self.store.get("action_version", version_id)
            if version is not None:
                found.append(version)
        return found

    def _effective(self, versions: list[dict[str, Any]], now_ns: int) -> dict[str, Any] | None:
        """The deployed version: the newest that built, else the newest still building."""
        candidates: list[dict[str, Any]] = [
            v for v in reversed(versions) if not v.get("_build_fails")
        ]
        for version in candidates:
            if self._version_status(version, now_ns) == "built":
                return version
        return candidates[0] if candidates else None

    # ---- rendering --------------------------------------------------------
    def _action_base(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": doc["id"],
            "name": doc.get("name", ""),
            "supported_triggers": copy.deepcopy(doc.get("supported_triggers") or []),
            "created_at": doc.get("created_at"),
            "updated_at": doc.get("updated_at"),
            "all_changes_deployed": bool(doc.get("all_changes_deployed")),
        }

    def _render_version(
        self,
        version: Mapping[str, Any],
        deployed_id: str | None,
        now_ns: int,
        action: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        status = self._version_status(version, now_ns)
        out: dict[str, Any] = {}
        if version.get("code"):
            out["code"] = version["code"]
        out["dependencies"] = copy.deepcopy(version.get("dependencies") or [])
        out["id"] = version["id"]
        out["deployed"] = version["id"] == deployed_id
        out["number"] = version.get("number", 0)
        built_ns = int(version.get("_build_done_ns") or 0)
        if status == "built":
            out["built_at"] = iso(built_ns)
        out["secrets"] = copy.deepcopy(version.get("secrets") or [])
        out["status"] = status
        if status == "failed":
            out["errors"] = [
                {"id": "build_failed", "msg": "The action failed to build.", "url": ""}
            ]
        out["created_at"] = version.get("created_at")
        out["updated_at"] = (
            iso(built_ns) if status in ("built", "failed") else version.get("created_at")
        )
        out["runtime"] = version.get("runtime", DEFAULT_RUNTIME)
        out["supported_triggers"] = copy.deepcopy(version.get("supported_triggers") or [])
        if version.get("modules"):
            out["modules"] = copy.deepcopy(version["modules"])
        if action is not None:
            out["action"] = self._action_base(action)
        return out

    def _current_version(self, deployed: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": deployed["id"]}
        if deployed.get("code"):
            out["code"] = deployed["code"]
        out["runtime"] = deployed["runtime"]
        out["status"] = str(deployed["status"]).upper()
        out["number"] = deployed["number"]
        if "built_at" in deployed:
            out["build_time"] = deployed["built_at"]
        out["created_at"] = deployed["created_at"]
        out["updated_at"] = deployed["updated_at"]
        return out

    def settle(self, doc: dict[str, Any], now_ns: int | None = None) -> dict[str, Any]:
        """Bring the stored action (and its versions) up to the build clock.

        Returns the stored document, updated and written back if anything moved.
        """
        now_ns = now_ns or time.time_ns()
        versions = self._versions_of(doc)
        effective = self._effective(versions, now_ns)
        deployed_id = effective["id"] if effective else None
        changed = False
        for version in versions:
            rendered = self._render_version(version, deployed_id, now_ns)
            fields = {k: rendered.get(k) for k in ("status", "deployed", "built_at", "updated_at")}
            if any(version.get(k) != v for k, v in fields.items()):
                version.update({k: v for k, v in fields.items() if v is not None})
                if rendered.get("built_at") is None:
                    version.pop("built_at", None)
                self.store.put("action_version", version["id"], version)
        status = self._draft_status(doc, now_ns)
        if doc.get("status") != status:
            doc["status"] = status
            changed = True
        if effective is not None:
            deployed = self._render_version(effective, deployed_id, now_ns)
            current = self._current_version(deployed)
            if doc.get("deployed_version") != deployed or doc.get("current_version") != current:
                doc["deployed_version"] = deployed
                doc["current_version"] = current
                changed = True
        elif "deployed_version" in doc or "current_version" in doc:
            doc.pop("deployed_version", None)
            doc.pop("current_version", None)
            changed = True
        if changed:
            self.store.put("action", doc["id"], doc)
        return doc

    def render_action(self, doc: Mapping[str, Any], *, status: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": doc["id"],
            "name": doc.get("name", ""),
            "supported_triggers": copy.deepcopy(doc.get("supported_triggers") or []),
            "created_at": doc.get("created_at"),
            "updated_at": doc.get("updated_at"),
        }
        if doc.get("code"):
            out["code"] = doc["code"]
        out["dependencies"] = copy.deepcopy(doc.get("dependencies") or [])
        out["runtime"] = doc.get("runtime", DEFAULT_RUNTIME)
        out["status"] = status or doc.get("status", "pending")
        out["secrets"] = copy.deepcopy(doc.get("secrets") or [])
        if doc.get("modules"):
            out["modules"] = copy.deepcopy(doc["modules"])
        for key in ("current_version", "deployed_version"):
            if doc.get(key):
                out[key] = copy.deepcopy(doc[key])
        out["all_changes_deployed"] = bool(doc.get("all_changes_deployed"))
        return out

    def _embedded_action(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """The action inside a binding: no code, dependencies, status or secrets (as recorded)."""
        out = self._action_base(doc)
        flag = out.pop("all_changes_deployed")
        for key in ("current_version", "deployed_version"):
            if doc.get(key):
                out[key] = copy.deepcopy(doc[key])
        out["all_changes_deployed"] = flag
        return out

    # ---- draft edits --------------------------------------------------------
    def _apply(self, doc: dict[str, Any], body: Mapping[str, Any], now: str) -> None:
        for key in ("name", "code", "runtime"):
            if key in body:
                doc[key] = body[key]
        if "supported_triggers" in body:
            doc["supported_triggers"] = _trigger_refs(body["supported_triggers"])
        if "dependencies" in body:
            doc["dependencies"] = [dict(d) for d in body["dependencies"]]
        if "modules" in body:
            doc["modules"] = [dict(m) for m in body["modules"]]
        if "secrets" in body:
            self._apply_secrets(doc, body["secrets"], now)
        self._start_build(doc)
        doc["updated_at"] = now
        doc["status"] = "pending"

    def _apply_secrets(self, doc: dict[str, Any], secrets: list[Any], now: str) -> None:
        """The list replaces the action's secrets; values are kept privately, never returned."""
        values: dict[str, str] = dict(doc.get("_secret_values") or {})
        wanted: dict[str, Any] = {}
        for item in secrets:
            wanted[str(item["name"])] = item.get("value")
        names = [s["name"] for s in doc.get("secrets") or [] if s["name"] in wanted]
        names += [name for name in wanted if name not in names]
        kept: dict[str, str] = {}
        for name in names:
            value = wanted[name]
            kept[name] = str(value) if value is not None else values.get(name, "")
        doc["_secret_values"] = kept
        doc["secrets"] = [{"name": name, "updated_at": now} for name in names]

    def _start_build(self, doc: dict[str, Any]) -> None:
        start = time.time_ns()
        doc["_build_start_ns"] = start
        doc["_build_done_ns"] = start + self._build_ns()
        doc["_build_fails"] = BUILD_FAILURE in str(doc.get("code") or "")

    def _new_version(
        self,
        doc: dict[str, Any],
        source: Mapping[str, Any],
        *,
        done_ns: int,
        fails: bool,
    ) -> dict[str, Any]:
        """A new version N+1 of the action from ``source`` (the draft or an older version)."""
        now_ns = time.time_ns()
        number = int(doc.get("_next_number") or 1)
        doc["_next_number"] = number + 1
        version: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "number": number,
            "dependencies": copy.deepcopy(source.get("dependencies") or []),
            "secrets": copy.deepcopy(source.get("secrets") or []),
            "runtime": source.get("runtime", DEFAULT_RUNTIME),
            "supported_triggers": copy.deepcopy(source.get("supported_triggers") or []),
            "deployed": False,
            "status": "pending",
            "created_at": iso(now_ns),
            "updated_at": iso(now_ns),
            "_action_id": doc["id"],
            "_secret_values": dict(source.get("_secret_values") or {}),
            "_build_start_ns": now_ns,
            "_build_done_ns": max(done_ns, now_ns),
            "_build_fails": fails,
        }
        if source.get("code"):
            version["code"] = source["code"]
        if source.get("modules"):
            version["modules"] = copy.deepcopy(source["modules"])
        self.store.put("action_version", version["id"], version)
        doc["_versions"] = [*(doc.get("_versions") or []), version["id"]]
        self._evict(doc, now_ns)
        return version

    def _evict(self, doc: dict[str, Any], now_ns: int) -> None:
        """Keep at most settings.versions_kept versions; the oldest go first."""
        keep = max(1, int(self.app.settings.versions_kept))
        versions = self._versions_of(doc)
        if len(versions) <= keep:
            doc["_versions"] = [v["id"] for v in versions]
            return
        effective = self._effective(versions, now_ns)
        protected = {versions[-1]["id"], effective["id"] if effective else ""}
        excess = len(versions) - keep
        for version in list(versions):
            if excess <= 0:
                break
            if version["id"] in protected:
                continue
            self.store.delete("action_version", version["id"])
            versions.remove(version)
            excess -= 1
        doc["_versions"] = [v["id"] for v in versions]

    def _deploy_draft(self, doc: dict[str, Any]) -> dict[str, Any]:
        version = self._new_version(
            doc,
            doc,
            done_ns=int(doc.get("_build_done_ns") or 0),
            fails=bool(doc.get("_build_fails")),
        )
        return version

    # ---- pagination ---------------------------------------------------------
    @staticmethod
    def _page(
        request: Request, key: str, items: list[dict[str, Any]], default_per_page: int
    ) -> dict[str, Any]:
        """Auth0's envelope: zero-valued keys omitted; an empty page past the end."""
        page = request.int_arg("page", 0, low=0, high=100_000)
        per_page = request.int_arg("per_page", default_per_page, low=1, high=100)
        chunk = items[page * per_page : (page + 1) * per_page]
        out: dict[str, Any] = {key: chunk}
        if chunk:
            out["total"] = len(items)
        if page:
            out["page"] = page
        out["per_page"] = per_page
        return out

    # ---- handlers: actions --------------------------------------------------
    def list_actions(self, request: Request) -> Response:
        trigger_id = request.arg("triggerId")
        if trigger_id is not None and trigger_id not in TRIGGER_IDS:
            raise bad_request(
                f"Query validation error: 'No enum match for: \"{trigger_id}\"' "
                "on property triggerId.",
                "invalid_query_string",
            )
        name = request.arg("actionName")
        deployed = request.bool_arg("deployed")
        installed = request.bool_arg("installed")
        items = []
        with self.store.transaction():
            for doc in self.store.all("action"):
                if name is not None and doc.get("name") != name:
                    continue
                if trigger_id and trigger_id not in [
                    t.get("id") for t in doc.get("supported_triggers") or []
                ]:
                    continue
                if installed:  # no marketplace integrations are installed locally
                    continue
                doc = self.settle(doc)
                if deployed is not None and bool(doc.get("deployed_version")) != deployed:
                    continue
                items.append(self.render_action(doc))
        return Response(200, self._page(request, "actions", items, 50))

    def create_action(self, request: Request) -> Response:
        body = request.json()
        validate(body, CREATE_SCHEMA)
        now_ns = time.time_ns()
        created = iso(now_ns)
        doc: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": body["name"],
            "supported_triggers": [],
            "created_at": created,
            "updated_at": created,
            "dependencies": [],
            "runtime": DEFAULT_RUNTIME,
            "status": "pending",
            "secrets": [],
            "all_changes_deployed": False,
            "_secret_values": {},
            "_versions": [],
            "_next_number": 1,
        }
        with self.store.transaction():
            self._apply(doc, body, created)
            self.store.put("action", doc["id"], doc)
            if body.get("deploy"):
                self._deploy_draft(doc)
                doc["all_changes_deployed"] = not doc.get("_build_fails")
                self.store.put("action", doc["id"], doc)
                doc = self.settle(doc)
        return Response(201, self.render_action(doc, status="pending"))

    def get_action(self, request: Request) -> Response:
        with self.store.transaction():
            doc = self.settle(self._action(request.params["id"]))
        return Response(200, self.render_action(doc))

    def update_action(self, request: Request) -> Response:
        body = request.json()
        validate(body, UPDATE_SCHEMA)
        with self.store.transaction():
            doc = self._action(request.params["id"])
            self._apply(doc, body, iso(time.time_ns()))
            doc["all_changes_deployed"] = False
            self.store.put("action", doc["id"], doc)
            doc = self.settle(doc)
        return Response(200, self.render_action(doc, status="pending"))

    def delete_action(self, request: Request) -> Response:
        force = bool(request.bool_arg("force"))
        action_id = request.params["id"]
        with self.store.transaction():
            doc = self._action(action_id)
            bound = [
                b
                for b in self.store.all("bindings")
                if any(x.get("action_id") == action_id for x in b.get("bindings") or [])
            ]
            if bound and not force:
                raise ApiError(409, BOUND_CONFLICT)
            for trigger in bound:
                trigger["bindings"] = [
                    x for x in trigger["bindings"] if x.get("action_id") != action_id
                ]
                self.store.put("bindings", trigger["trigger_id"], trigger)
            for version_id in doc.get("_versions") or []:
                self.store.delete("action_version", version_id)
            self.store.delete("action", action_id)
        return Response(204)

    def deploy_action(self, request: Request) -> Response:
        with self.store.transaction():
            doc = self.settle(self._action(request.params["id"]))
            before = self._action_base(doc)
            version = self._deploy_draft(doc)
            doc["all_changes_deployed"] = not doc.get("_build_fails")
            self.store.put("action", doc["id"], doc)
            now_ns = time.time_ns()
            out = self._render_version(version, None, now_ns)
            self.settle(doc, now_ns)
        out.pop("built_at", None)  # the deploy answer is the version as created (recorded)
        out["action"] = before
        return Response(200, out)

    # ---- handlers: versions -------------------------------------------------
    def list_versions(self, request: Request) -> Response:
        with self.store.transaction():
            doc = self.settle(self._action(request.params["actionId"]))
            now_ns = time.time_ns()
            versions = self._versions_of(doc)
            effective = self._effective(versions, now_ns)
            deployed_id = effective["id"] if effective else None
            items = [self._render_version(v, deployed_id, now_ns, doc) for v in reversed(versions)]
        return Response(200, self._page(request, "versions", items, 50))

    def _version(self, doc: Mapping[str, Any], version_id: str) -> dict[str, Any]:
        version = self.store.get("action_version", version_id)
        if version is None or version.get("_action_id") != doc["id"]:
            raise not_found(VERSION_NOT_FOUND)
        return version

    def get_version(self, request: Request) -> Response:
        with self.store.transaction():
            doc = self.settle(self._action(request.params["actionId"]))
            version = self._version(doc, request.params["id"])
            now_ns = time.time_ns()
            effective = self._effective(self._versions_of(doc), now_ns)
            out = self._render_version(version, effective["id"] if effective else None, now_ns, doc)
        return Response(200, out)

    def deploy_version(self, request: Request) -> Response:
        """Rollback: a new version N+1 made from an older one, deployed at once."""
        body = request.json() if request.body.strip() else None
        validate(body, DEPLOY_VERSION_SCHEMA)
        update_draft = bool((body or {}).get("update_draft"))
        with self.store.transaction():
            doc = self.settle(self._action(request.params["actionId"]))
            source = self._version(doc, request.params["id"])
            now_ns = time.time_ns()
            if self._version_status(source, now_ns) == "failed":
                raise bad_request("Unable to deploy a version that failed to build.")
            before = self._action_base(doc)
            # Already built: the copy is ready as soon as the source is.
            version = self._new_version(
                doc, source, done_ns=int(source.get("_build_done_ns") or 0), fails=False
            )
            if update_draft:
                now = iso(now_ns)
                for key in ("code", "runtime", "dependencies", "supported_triggers", "modules"):
                    if key in source:
                        doc[key] = copy.deepcopy(source[key])
                    else:
                        doc.pop(key, None)
                doc["secrets"] = copy.deepcopy(source.get("secrets") or [])
                doc["_secret_values"] = dict(source.get("_secret_values") or {})
                doc["updated_at"] = now
                doc["_build_start_ns"] = int(source.get("_build_start_ns") or 0)
                doc["_build_done_ns"] = int(source.get("_build_done_ns") or 0)
                doc["_build_fails"] = False
            doc["all_changes_deployed"] = update_draft
            self.store.put("action", doc["id"], doc)
            out = self._render_version(version, None, time.time_ns())
            self.settle(doc)
        out.pop("built_at", None)
        out["action"] = before
        return Response(200, out)

    # ---- handlers: triggers and bindings -----------------------------------
    def list_triggers(self, _: Request) -> Response:
        return Response(200, {"triggers": copy.deepcopy(TRIGGERS)})

    @staticmethod
    def _trigger_id(request: Request) -> str:
        trigger_id = request.params["triggerId"]
        if trigger_id not in TRIGGER_IDS:
            raise bad_request(
                f"Path validation error: 'No enum match for: \"{trigger_id}\"' "
                "on property triggerId.",
                "invalid_uri",
            )
        return trigger_id

    def _render_bindings(self, trigger_id: str, bindings: list[Any]) -> list[dict[str, Any]]:
        out = []
        for binding in bindings:
            doc = self.store.get("action", binding["action_id"])
            if doc is None:
                continue
            doc = self.settle(doc)
            out.append(
                {
                    "id": binding["id"],
                    "trigger_id": trigger_id,
                    "action": self._embedded_action(doc),
                    "created_at": binding["created_at"],
                    "updated_at": binding["updated_at"],
                    "display_name": binding.get("display_name") or doc.get("name", ""),
                }
            )
        return out

    def get_bindings(self, request: Request) -> Response:
        trigger_id = self._trigger_id(request)
        with self.store.transaction():
            stored = self.store.get("bindings", trigger_id) or {"bindings": []}
            items = self._render_bindings(trigger_id, stored["bindings"])
        return Response(200, self._page(request, "bindings", items, 50))

    def _resolve(
        self, trigger_id: str, ref: Mapping[str, Any], current: list[dict[str, Any]]
    ) -> dict[str, Any]:
        kind, value = ref["type"], ref["value"]
        doc: dict[str, Any] | None = None
        if kind == "action_id":
            doc = self.store.get("action", value)
        elif kind == "action_name":
            doc = next((a for a in self.store.all("action") if a.get("name") == value), None)
        else:
            found = next((b for b in current if b.get("id") == value), None)
            if found is None:
                raise bad_request(f"Binding with id {value} does not exist.")
            doc = self.store.get("action", found["action_id"])
        if doc is None:
            raise bad_request(f"Action with {kind.replace('_', ' ')} {value} does not exist.")
        if trigger_id not in [t.get("id") for t in doc.get("supported_triggers") or []]:
            raise bad_request(
                f"The action {doc.get('name')!r} does not support the {trigger_id} trigger."
            )
        doc = self.settle(doc)
        deployed = doc.get("deployed_version") or {}
        if deployed.get("status") != "built":
            raise bad_request(NOT_DEPLOYED)
        return doc

    def update_bindings(self, request: Request) -> Response:
        trigger_id = self._trigger_id(request)
        body = request.json()
        validate(body, BINDINGS_SCHEMA)
        with self.store.transaction():
            stored = self.store.get("bindings", trigger_id) or {
                "trigger_id": trigger_id,
                "bindings": [],
            }
            fresh = []
            for item in body["bindings"]:
                doc = self._resolve(trigger_id, item["ref"], stored["bindings"])
                now = iso(time.time_ns())
                fresh.append(
                    {
                        "id": str(uuid.uuid4()),
                        "action_id": doc["id"],
                        "display_name": item.get("display_name") or doc.get("name", ""),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            stored = {"trigger_id": trigger_id, "bindings": fresh}
            self.store.put("bindings", trigger_id, stored)
            items = self._render_bindings(trigger_id, fresh)
        return Response(200, {"bindings": items})

    # ---- handler: test -------------------------------------------------------
    def pool(self) -> Any:
        """The app's sandbox pool for action tests, started on first use (size 1)."""
        with self._pool_lock:
            pool = getattr(self.app, "actions_sandbox", None)
            if pool is None:
                from auth0_actions.sandbox.pool import SandboxPool

                pool = SandboxPool(1)
                self.app.actions_sandbox = pool  # type: ignore[attr-defined]
            return pool

    def test_action(self, request: Request) -> Response:
        body = request.json()
        validate(body, TEST_SCHEMA)
        with self.store.transaction():
            doc = self._action(request.params["id"])
        triggers = [t.get("id") for t in doc.get("supported_triggers") or []]
        if "post-login" not in triggers:
            raise bad_request("The local tenant can test post-login actions only.")
        from auth0_actions.sandbox.event import build_event
        from auth0_actions.sandbox.pool import Reply

        unit = {
            "name": doc.get("name", ""),
            "code": doc.get("code") or "",
            "filename": f"{doc.get('name', 'action')}.js",
            "secrets": dict(doc.get("_secret_values") or {}),
            "deps_dir": None,
        }
        event = build_event(body["payload"])
        try:
            reply = self.pool().call(
                {"op": "post-login", "units": [unit], "event": event, "resume": None}
            )
        except Exception as exc:  # no Node, or the pool could not start a worker
            reply = Reply(None, f"the sandbox is unavailable: {exc}")
        result = reply.result or {
            "status": "error",
            "error": {"message": reply.failure or "the action did not run"},
        }
        payload: dict[str, Any] = {
            "status": result.get("status"),
            "commands": [
                {k: v for k, v in c.items() if k != "action"} for c in result.get("commands") or []
            ],
            "logs": [entry.get("message") for entry in result.get("logs") or []]
            + list(reply.stray_output),
        }
        error = result.get("error")
        if error:
            payload["error"] = {k: error[k] for k in ("message", "handler") if k in error}
        return Response(200, {"payload": payload})


def close(app: Emulator) -> None:
    """Stop the action-test sandbox pool, if one was started."""
    pool = getattr(app, "actions_sandbox", None)
    if pool is not None:
        pool.close()
        app.actions_sandbox = None  # type: ignore[attr-defined]


def register(app: Emulator) -> None:
    handlers = Actions(app)
    add: Callable[..., None] = app.router.add
    add("GET", "/api/v2/actions/actions", handlers.list_actions, READ)
    add("POST", "/api/v2/actions/actions", handlers.create_action, CREATE)
    add("GET", "/api/v2/actions/actions/{id}", handlers.get_action, READ)
    add("PATCH", "/api/v2/actions/actions/{id}", handlers.update_action, UPDATE)
    add("DELETE", "/api/v2/actions/actions/{id}", handlers.delete_action, DELETE)
    add("POST", "/api/v2/actions/actions/{id}/deploy", handlers.deploy_action, CREATE)
    add("POST", "/api/v2/actions/actions/{id}/test", handlers.test_action, CREATE)
    add("GET", "/api/v2/actions/actions/{actionId}/versions", handlers.list_versions, READ)
    add("GET", "/api/v2/actions/actions/{actionId}/versions/{id}", handlers.get_version, READ)
    add(
        "POST",
        "/api/v2/actions/actions/{actionId}/versions/{id}/deploy",
        handlers.deploy_version,
        CREATE,
    )
    add("GET", "/api/v2/actions/triggers", handlers.list_triggers, READ)
    add("GET", "/api/v2/actions/triggers/{triggerId}/bindings", handlers.get_bindings, READ)
    add("PATCH", "/api/v2/actions/triggers/{triggerId}/bindings", handlers.update_bindings, UPDATE)
