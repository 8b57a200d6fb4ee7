"""Actions, versions, triggers and bindings, as Auth0's Management API serves them.

Wire format: docs/reference/management-api.md §1 and the recordings in
tests/conformance/recordings (TestAcc*Action*, go_TestActionManager_*).

Each handler translates the wire: it checks the query and the body (Auth0's
messages), calls one method of the :class:`ActionsBackend`, which owns the
stored actions and Auth0's rules for them, and renders the answer.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from auth0_actions.emulator.actions_backend import ActionsBackend
from auth0_actions.emulator.actions_spec import (
    BINDINGS_SCHEMA,
    CREATE_SCHEMA,
    DEPLOY_VERSION_SCHEMA,
    TEST_SCHEMA,
    TRIGGER_IDS,
    TRIGGERS,
    UPDATE_SCHEMA,
)
from auth0_actions.emulator.backends.modules import ModulesBackend
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import Request, Response, bad_request
from auth0_actions.emulator.validation import validate
from auth0_actions.triggers import registry
from auth0_actions.triggers.base import persisted_logs

READ, CREATE, UPDATE, DELETE = (
    ("read:actions",),
    ("create:actions",),
    ("update:actions",),
    ("delete:actions",),
)


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


def _trigger_id(request: Request) -> str:
    trigger_id = request.params["triggerId"]
    if trigger_id not in TRIGGER_IDS:
        raise bad_request(
            f"Path validation error: 'No enum match for: \"{trigger_id}\"' on property triggerId.",
            "invalid_uri",
        )
    return trigger_id


class Actions:
    """The handlers; one instance per emulator."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.backend = ActionsBackend(app)
        self.modules = ModulesBackend(app.store)  # completes the actions' module references
        self._pool_lock = threading.Lock()

    # ---- actions ------------------------------------------------------------
    def list_actions(self, request: Request) -> Response:
        trigger_id = request.arg("triggerId")
        if trigger_id is not None and trigger_id not in TRIGGER_IDS:
            raise bad_request(
                f"Query validation error: 'No enum match for: \"{trigger_id}\"' "
                "on property triggerId.",
                "invalid_query_string",
            )
        items = self.backend.list_actions(
            name=request.arg("actionName"),
            trigger_id=trigger_id,
            deployed=request.bool_arg("deployed"),
            installed=request.bool_arg("installed"),
        )
        return Response(200, _page(request, "actions", items, 50))

    def create_action(self, request: Request) -> Response:
        body = request.json()
        validate(body, CREATE_SCHEMA)
        if "modules" in body:
            body["modules"] = self.modules.resolve_references(body["modules"])
        doc = self.backend.create(body)
        return Response(201, self.backend.render_action(doc, status="pending"))

    def get_action(self, request: Request) -> Response:
        doc = self.backend.get(request.params["id"])
        return Response(200, self.backend.render_action(doc))

    def update_action(self, request: Request) -> Response:
        body = request.json()
        validate(body, UPDATE_SCHEMA)
        if "modules" in body:
            body["modules"] = self.modules.resolve_references(body["modules"])
        doc = self.backend.update(request.params["id"], body)
        return Response(200, self.backend.render_action(doc, status="pending"))

    def delete_action(self, request: Request) -> Response:
        force = bool(request.bool_arg("force"))
        self.backend.delete(request.params["id"], force=force)
        return Response(204)

    def deploy_action(self, request: Request) -> Response:
        return Response(200, self.backend.deploy(request.params["id"]))

    # ---- versions -----------------------------------------------------------
    def list_versions(self, request: Request) -> Response:
        items = self.backend.versions(request.params["actionId"])
        return Response(200, _page(request, "versions", items, 50))

    def get_version(self, request: Request) -> Response:
        out = self.backend.version(request.params["actionId"], request.params["id"])
        return Response(200, out)

    def deploy_version(self, request: Request) -> Response:
        """Rollback: a new version N+1 made from an older one, deployed at once."""
        body = request.json() if request.body.strip() else None
        validate(body, DEPLOY_VERSION_SCHEMA)
        out = self.backend.rollback(
            request.params["actionId"],
            request.params["id"],
            update_draft=bool((body or {}).get("update_draft")),
        )
        return Response(200, out)

    # ---- triggers and bindings ----------------------------------------------
    def list_triggers(self, _: Request) -> Response:
        return Response(200, {"triggers": copy.deepcopy(TRIGGERS)})

    def get_bindings(self, request: Request) -> Response:
        items = self.backend.bindings(_trigger_id(request))
        return Response(200, _page(request, "bindings", items, 50))

    def update_bindings(self, request: Request) -> Response:
        trigger_id = _trigger_id(request)
        body = request.json()
        validate(body, BINDINGS_SCHEMA)
        return Response(200, {"bindings": self.backend.set_bindings(trigger_id, body["bindings"])})

    # ---- test ---------------------------------------------------------------
    def pool(self) -> Any:
        """The app's sandbox pool for action tests, started on first use (size 1)."""
        with self._pool_lock:
            pool = self.app.actions_sandbox
            if pool is None:
                from auth0_actions.sandbox.pool import SandboxPool

                pool = SandboxPool(1)
                self.app.actions_sandbox = pool
            return pool

    def test_action(self, request: Request) -> Response:
        body = request.json()
        validate(body, TEST_SCHEMA)
        with self.app.store.transaction():
            doc = self.backend.action(request.params["id"])
        triggers = [t.get("id") for t in doc.get("supported_triggers") or []]
        known = [t for t in triggers if t in registry.registry()]
        if not known:
            raise bad_request(
                f"The local tenant cannot run actions of {', '.join(map(str, triggers))}; "
                f"it runs {', '.join(registry.ids())}."
            )
        trigger = registry.get(str(known[0]))
        from auth0_actions.sandbox.deps import DependencyError, redact_paths
        from auth0_actions.sandbox.pool import Reply

        builds = self.app.dependency_builds
        unit = {
            "name": doc.get("name", ""),
            "code": doc.get("code") or "",
            "filename": f"{doc.get('name', 'action')}.js",
            "secrets": dict(doc.get("_secret_values") or {}),
            "deps_dir": None,
        }
        event = trigger.build_event(body["payload"])
        try:
            # The draft's npm dependencies, as its build installed them (builds.py).
            deps_dir = builds.directory(doc.get("dependencies") or [])
            unit["deps_dir"] = str(deps_dir) if deps_dir else None
            reply = self.pool().call(
                {"op": trigger.id, "units": [unit], "event": event, "resume": None}
            )
        except DependencyError as exc:
            reply = Reply(None, builds.describe(exc))
        except Exception as exc:  # no Node, or the pool could not start a worker
            reply = Reply(None, f"the sandbox is unavailable: {exc}")
        result = reply.result or {
            "status": "error",
            "error": {"message": reply.failure or "the action did not run"},
        }

        def clean(text: str) -> str:  # the execution's record, without this machine's paths
            return redact_paths(text, builds.known_paths())

        payload: dict[str, Any] = {
            "status": result.get("status"),
            "commands": [
                {k: v for k, v in c.items() if k != "action"} for c in result.get("commands") or []
            ],
            # Only what Auth0 would store of the action's console output, no host path.
            "logs": persisted_logs(
                [clean(str(entry.get("message"))) for entry in result.get("logs") or []]
                + [clean(line) for line in reply.stray_output]
            ),
        }
        error = result.get("error")
        if error:
            payload["error"] = {
                k: clean(str(error[k])) for k in ("message", "stack", "handler") if error.get(k)
            }
        return Response(200, {"payload": payload})


def close(app: EmulatorApp) -> None:
    """Stop the action-test sandbox pool, if one was started."""
    pool = app.actions_sandbox
    if pool is not None:
        pool.close()
        app.actions_sandbox = None


def register(app: EmulatorApp) -> None:
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
