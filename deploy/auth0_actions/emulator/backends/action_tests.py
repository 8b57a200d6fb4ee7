"""``POST /actions/actions/{id}/test``: one run of an action's draft in the sandbox.

The draft runs as its trigger runs it (the trigger's event built from the
payload, its npm dependencies from the cache its build installed them into,
the Actions Modules versions its ``modules`` pin),
in a pool of one sandbox worker started on first use. The answer is what
Auth0 keeps of an execution: status, the api commands, the console output
and the error, all without this machine's paths.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from auth0_actions.emulator.backends.actions import ActionsBackend
from auth0_actions.emulator.backends.host import BackendHost
from auth0_actions.emulator.backends.modules import ModulesBackend
from auth0_actions.emulator.http import bad_request
from auth0_actions.triggers import registry
from auth0_actions.triggers.base import persisted_logs


class ActionTests:
    """Runs drafts for the test endpoint; the host keeps the sandbox pool."""

    def __init__(self, host: BackendHost, actions: ActionsBackend, modules: ModulesBackend) -> None:
        self.host = host
        self.actions = actions
        self.modules = modules
        self._pool_lock = threading.Lock()

    def pool(self) -> Any:
        """The tenant's sandbox pool for action tests, started on first use (size 1)."""
        with self._pool_lock:
            pool = self.host.actions_sandbox
            if pool is None:
                from auth0_actions.sandbox.pool import SandboxPool

                pool = SandboxPool(1)
                self.host.actions_sandbox = pool
            return pool

    def close(self) -> None:
        """Stop the pool, if one was started."""
        with self._pool_lock:
            pool, self.host.actions_sandbox = self.host.actions_sandbox, None
        if pool is not None:
            pool.close()

    def run(self, action_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The execution's record: ``{"status", "commands", "logs", "error"?}``."""
        with self.host.store.transaction():
            doc = self.actions.action(action_id)
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

        builds = self.host.dependency_builds
        unit = {
            "name": doc.get("name", ""),
            "code": doc.get("code") or "",
            "filename": f"{doc.get('name', 'action')}.js",
            "secrets": dict(doc.get("_secret_values") or {}),
            "deps_dir": None,
        }
        event = trigger.build_event(dict(payload))
        try:
            # The module versions the draft pins, and the draft's npm dependencies
            # with theirs, as the build installed them (builds.py).
            pinned = self.modules.pinned(doc.get("modules") or [])
            unit["modules"] = [{k: m[k] for k in ("name", "code", "secrets")} for m in pinned]
            deps_dir = builds.directory(
                _merged(str(doc.get("name", "")), doc.get("dependencies") or [], pinned)
            )
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

        record: dict[str, Any] = {
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
            record["error"] = {
                k: clean(str(error[k])) for k in ("message", "stack", "handler") if error.get(k)
            }
        return record


def _merged(
    action: str, dependencies: list[Mapping[str, Any]], pinned: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """The draft's npm packages with its modules'; DependencyError on a version conflict."""
    from auth0_actions.sandbox.modules import Package, PinnedModule, merged_dependencies

    def packages(deps: list[Mapping[str, Any]]) -> list[Package]:
        return [Package(str(d["name"]), str(d["version"])) for d in deps]

    modules = [
        PinnedModule(m["name"], m["code"], dependencies=packages(m["dependencies"])) for m in pinned
    ]
    merged = merged_dependencies(action, packages(dependencies), modules)
    return [{"name": p.name, "version": p.version} for p in merged]
