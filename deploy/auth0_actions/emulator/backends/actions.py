"""Actions, versions and bindings as the tenant keeps them, and Auth0's rules for them.

Everything that reads or changes stored actions happens here; bodies arrive
checked against the OpenAPI document (dispatch), and the limits it does not
state are :mod:`auth0_actions.emulator.actions_spec`'s (code size, counts).

The build state machine is computed when read, never by a background
thread: a draft (and a version) is ``pending`` for the first third of
``settings.build_seconds`` after its last create/update, then ``building``,
then ``built`` -- or ``failed`` when its code carries :data:`BUILD_FAILURE`
or its npm dependencies cannot be installed (:mod:`auth0_actions.emulator.builds`;
the failure names the package in the version's ``errors``). Every version is
created by a deploy (``POST .../deploy``, a rollback, ``deploy: true``) and
builds no earlier than its draft. ``deployed_version`` is the newest version
that built, else the newest still building (as recorded for create-with-deploy).
Settled states are written back so the login flow reads what clients see.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.actions_spec import CREATE_SCHEMA, DEFAULT_RUNTIME, UPDATE_SCHEMA
from auth0_actions.emulator.backends.host import BackendHost
from auth0_actions.emulator.builds import INSTALLING
from auth0_actions.emulator.http import ApiError, bad_request, not_found
from auth0_actions.emulator.validation import validate

BUILD_FAILURE = "/* a0-emulator:build-failure */"

ACTION_NOT_FOUND = "That action does not exist."
VERSION_NOT_FOUND = "That action version does not exist."
BOUND_CONFLICT = "Unable to delete an action bound to a trigger."
NOT_DEPLOYED = "Trying to create a binding for an action that has not been deployed yet."
# Auth0 refuses a draft still building; clients retry on it (auth0/auth0-deploy-cli#524).
NOT_BUILT = "A draft must be in the 'built' state before it can be deployed."


def _phase(start_ns: int, done_ns: int, fails: bool, now_ns: int) -> str:
    if now_ns >= done_ns:
        return "failed" if fails else "built"
    if now_ns - start_ns < (done_ns - start_ns) / 3:
        return "pending"
    return "building"


def _trigger_refs(triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: t[k] for k in ("id", "version") if k in t} for t in triggers]


def iso(ns: int) -> str:
    """Actions and versions carry nanosecond timestamps."""
    return clock.iso_utc(ns, digits=9)


class ActionsBackend:
    """The tenant's actions, versions and bindings; one per emulator.

    Each operation the handlers call (``list_actions``, ``create``, ``deploy``,
    ``rollback``, ``set_bindings``, ...) runs in one store transaction;
    :meth:`action`, :meth:`settle` and :meth:`render_action` are building
    blocks for use inside one.
    """

    def __init__(self, host: BackendHost) -> None:
        self.app = host  # its settings are read on every use: a test may replace them
        self.store = host.store

    # ---- build clock -----------------------------------------------------
    def _build_ns(self) -> int:
        return int(max(0.0, self.app.settings.build_seconds) * 1_000_000_000)

    def _status(self, item: Mapping[str, Any], now_ns: int) -> str:
        """The build state of a draft or a version."""
        start = int(item.get("_build_start_ns") or 0)
        done = int(item.get("_build_done_ns") or 0)
        phase = _phase(start, done, bool(item.get("_build_fails")), now_ns)
        if item.get("_deps") == INSTALLING and phase in ("built", "failed"):
            return "building"  # npm is still installing its dependencies
        return phase

    _draft_status = _version_status = _status

    # ---- lookups ----------------------------------------------------------
    def action(self, action_id: str) -> dict[str, Any]:
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
            message = version.get("_build_error") or "The action failed to build."
            out["errors"] = [{"id": "build_failed", "msg": message, "url": ""}]
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
        now_ns = now_ns or clock.now_ns()
        versions = self._versions_of(doc)
        changed = self.app.dependency_builds.resolve(doc)
        resolved = {v["id"] for v in versions if self.app.dependency_builds.resolve(v)}
        effective = self._effective(versions, now_ns)
        deployed_id = effective["id"] if effective else None
        for version in versions:
            rendered = self._render_version(version, deployed_id, now_ns)
            fields = {k: rendered.get(k) for k in ("status", "deployed", "built_at", "updated_at")}
            if version["id"] in resolved or any(version.get(k) != v for k, v in fields.items()):
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

    def embedded_action(self, doc: Mapping[str, Any]) -> dict[str, Any]:
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
        start = clock.now_ns()
        doc["_build_start_ns"] = start
        doc["_build_done_ns"] = start + self._build_ns()
        doc["_build_fails"] = BUILD_FAILURE in str(doc.get("code") or "")
        self.app.dependency_builds.begin(doc)  # npm in the background; settle() reads it

    def _new_version(
        self,
        doc: dict[str, Any],
        source: Mapping[str, Any],
        *,
        done_ns: int,
        fails: bool,
    ) -> dict[str, Any]:
        """A new version N+1 of the action from ``source`` (the draft or an older version)."""
        now_ns = clock.now_ns()
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
            "_deps": source.get("_deps", "installed"),
        }
        if source.get("_build_error"):
            version["_build_error"] = source["_build_error"]
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

    # ---- actions ------------------------------------------------------------
    def list_actions(
        self,
        *,
        name: str | None,
        trigger_id: str | None,
        deployed: bool | None,
        installed: bool | None,
    ) -> list[dict[str, Any]]:
        """The matching actions, rendered, in creation order."""
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
        return items

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new action from a validated body (deployed at once with ``deploy: true``)."""
        validate(body, CREATE_SCHEMA)
        created = iso(clock.now_ns())
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
        return doc

    def get(self, action_id: str) -> dict[str, Any]:
        """The stored action, brought up to the build clock."""
        with self.store.transaction():
            return self.settle(self.action(action_id))

    def update(self, action_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Edit the draft from a validated body; it builds again."""
        validate(body, UPDATE_SCHEMA)
        with self.store.transaction():
            doc = self.action(action_id)
            self._apply(doc, body, iso(clock.now_ns()))
            doc["all_changes_deployed"] = False
            self.store.put("action", doc["id"], doc)
            return self.settle(doc)

    def delete(self, action_id: str, *, force: bool) -> None:
        """Delete the action and its versions; a bound one only with ``force`` (unbinding it)."""
        with self.store.transaction():
            doc = self.action(action_id)
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

    def deploy(self, action_id: str) -> dict[str, Any]:
        """A new version from the draft; the answer is that version as created."""
        with self.store.transaction():
            doc = self.settle(self.action(action_id))
            if doc.get("status") in ("pending", "building"):
                raise ApiError(400, NOT_BUILT)
            before = self._action_base(doc)
            version = self._deploy_draft(doc)
            doc["all_changes_deployed"] = not doc.get("_build_fails")
            self.store.put("action", doc["id"], doc)
            now_ns = clock.now_ns()
            out = self._render_version(version, None, now_ns)
            self.settle(doc, now_ns)
        out.pop("built_at", None)  # the deploy answer is the version as created (recorded)
        out["action"] = before
        return out

    # ---- versions -----------------------------------------------------------
    def versions(self, action_id: str) -> list[dict[str, Any]]:
        """The action's versions, rendered, newest first."""
        with self.store.transaction():
            doc = self.settle(self.action(action_id))
            now_ns = clock.now_ns()
            versions = self._versions_of(doc)
            effective = self._effective(versions, now_ns)
            deployed_id = effective["id"] if effective else None
            return [self._render_version(v, deployed_id, now_ns, doc) for v in reversed(versions)]

    def _version(self, doc: Mapping[str, Any], version_id: str) -> dict[str, Any]:
        version = self.store.get("action_version", version_id)
        if version is None or version.get("_action_id") != doc["id"]:
            raise not_found(VERSION_NOT_FOUND)
        return version

    def version(self, action_id: str, version_id: str) -> dict[str, Any]:
        """One version of the action, rendered."""
        with self.store.transaction():
            doc = self.settle(self.action(action_id))
            version = self._version(doc, version_id)
            now_ns = clock.now_ns()
            effective = self._effective(self._versions_of(doc), now_ns)
            return self._render_version(
                version, effective["id"] if effective else None, now_ns, doc
            )

    def rollback(self, action_id: str, version_id: str, *, update_draft: bool) -> dict[str, Any]:
        """A new version N+1 made from an older one, deployed at once."""
        with self.store.transaction():
            doc = self.settle(self.action(action_id))
            source = self._version(doc, version_id)
            now_ns = clock.now_ns()
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
                doc["_deps"] = source.get("_deps", "installed")
                doc.pop("_build_error", None)
            doc["all_changes_deployed"] = update_draft
            self.store.put("action", doc["id"], doc)
            out = self._render_version(version, None, clock.now_ns())
            self.settle(doc)
        out.pop("built_at", None)
        out["action"] = before
        return out
