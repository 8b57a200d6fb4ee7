"""Actions modules: shared code that actions import, with published versions.

Auth0's API (https://auth0.com/docs/api/management/v2/actions/get-actions-modules):
a module has a draft (``code``, ``dependencies``, ``secrets``) and immutable
versions numbered from 1; ``POST .../versions`` publishes the draft, a
rollback makes the draft an older version's copy again and publishes it as
N+1. An action refers to a module version by ``module_id`` and
``module_version_id`` in its ``modules`` list; a module that an action uses
cannot be deleted (412). Secret values are write-only, as for actions.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.http import ApiError, bad_request, not_found
from auth0_actions.emulator.store import Store

MODULE = "action_module"
MODULE_VERSION = "action_module_version"

MODULE_NOT_FOUND = "That module does not exist."
VERSION_NOT_FOUND = "That module version does not exist."
NAME_TAKEN = "A module with that name already exists."
IN_USE = "Unable to delete a module that is used by one or more actions."


def _now() -> str:
    return clock.iso_utc(clock.now_ns(), digits=9)


def _secrets(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return copy.deepcopy(doc.get("secrets") or [])


class ModulesBackend:
    """The tenant's actions modules and their versions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- lookups ------------------------------------------------------------
    def module(self, module_id: str) -> dict[str, Any]:
        doc = self.store.get(MODULE, module_id)
        if doc is None:
            raise not_found(MODULE_NOT_FOUND)
        return doc

    def _versions_of(self, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Oldest first."""
        found = []
        for version_id in doc.get("_versions") or []:
            version = self.store.get(MODULE_VERSION, version_id)
            if version is not None:
                found.append(version)
        return found

    def _version(self, doc: Mapping[str, Any], version_id: str) -> dict[str, Any]:
        version = self.store.get(MODULE_VERSION, version_id)
        if version is None or version.get("module_id") != doc["id"]:
            raise not_found(VERSION_NOT_FOUND)
        return version

    # ---- rendering ------------------------------------------------------------
    @staticmethod
    def render_version(version: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": version["id"],
            "module_id": version["module_id"],
            "version_number": version["version_number"],
            "code": version.get("code", ""),
            "dependencies": copy.deepcopy(version.get("dependencies") or []),
            "secrets": _secrets(version),
            "created_at": version["created_at"],
        }

    def render(self, doc: Mapping[str, Any], *, latest: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": doc["id"],
            "name": doc["name"],
            "code": doc.get("code", ""),
            "dependencies": copy.deepcopy(doc.get("dependencies") or []),
            "secrets": _secrets(doc),
            "actions_using_module_total": len(self._users(doc["id"])),
            "all_changes_published": bool(doc.get("all_changes_published")),
            "latest_version_number": int(doc.get("latest_version_number") or 0),
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
        }
        versions = self._versions_of(doc)
        if latest and versions:
            reference = self.render_version(versions[-1])
            reference.pop("module_id")
            out["latest_version"] = reference
        return out

    # ---- which actions use a module ------------------------------------------------
    def _users(self, module_id: str) -> list[dict[str, Any]]:
        """One row per action (draft or deployed version) that names the module."""
        rows = []
        for action in self.store.all("action"):
            refs: list[Mapping[str, Any]] = list(action.get("modules") or [])
            deployed = action.get("deployed_version") or {}
            refs += list(deployed.get("modules") or [])
            ref = next((r for r in refs if r.get("module_id") == module_id), None)
            if ref is None:
                continue
            rows.append(
                {
                    "action_id": action["id"],
                    "action_name": action.get("name", ""),
                    "module_version_id": ref.get("module_version_id", ""),
                    "module_version_number": int(ref.get("module_version_number") or 0),
                    "supported_triggers": copy.deepcopy(action.get("supported_triggers") or []),
                }
            )
        return rows

    def actions_using(self, module_id: str) -> list[dict[str, Any]]:
        with self.store.transaction():
            self.module(module_id)
            return self._users(module_id)

    def resolve_references(self, refs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Actions' ``modules`` entries, completed from the versions they name.

        An entry names a version by ``module_version_id`` (or a module by id or
        name plus ``module_version_number``); an unknown one is a 400.
        """
        out = []
        for index, ref in enumerate(refs):
            doc = None
            if ref.get("module_id"):
                doc = self.store.get(MODULE, str(ref["module_id"]))
            elif ref.get("module_name"):
                doc = self._by_name(str(ref["module_name"]))
            version = None
            if ref.get("module_version_id"):
                version = self.store.get(MODULE_VERSION, str(ref["module_version_id"]))
                if version is not None and doc is None:
                    doc = self.store.get(MODULE, version["module_id"])
            elif doc is not None and ref.get("module_version_number") is not None:
                number = int(ref["module_version_number"])
                version = next(
                    (v for v in self._versions_of(doc) if v["version_number"] == number), None
                )
            if doc is None or version is None or version["module_id"] != doc["id"]:
                raise bad_request(f"The module version in modules[{index}] does not exist.")
            out.append(
                {
                    "module_id": doc["id"],
                    "module_name": doc["name"],
                    "module_version_id": version["id"],
                    "module_version_number": version["version_number"],
                }
            )
        return out

    def pinned(self, refs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """What an action version's ``modules`` pin, for the runtime: one per reference.

        ``{name, code, dependencies, secrets}`` of each pinned version, the
        secrets being the version's values (never returned by the API). A
        version that no longer exists is left out: the action's
        ``require('actions:<name>')`` then fails as for a module it does not pin.
        """
        out = []
        with self.store.transaction():
            for ref in refs:
                version = self.store.get(MODULE_VERSION, str(ref.get("module_version_id", "")))
                doc = self.store.get(MODULE, version["module_id"]) if version else None
                if version is None or doc is None:
                    continue
                out.append(
                    {
                        "name": str(ref.get("module_name") or doc["name"]),
                        "code": version.get("code", ""),
                        "dependencies": copy.deepcopy(version.get("dependencies") or []),
                        "secrets": dict(version.get("_secret_values") or {}),
                    }
                )
        return out

    def _by_name(self, name: str) -> dict[str, Any] | None:
        return next((m for m in self.store.all(MODULE) if m.get("name") == name), None)

    # ---- operations ---------------------------------------------------------
    def list_modules(self) -> list[dict[str, Any]]:
        with self.store.transaction():
            out = []
            for doc in self.store.all(MODULE):
                item = self.render(doc, latest=False)
                out.append(item)
            return out

    def get(self, module_id: str) -> dict[str, Any]:
        with self.store.transaction():
            return self.render(self.module(module_id))

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        now = _now()
        doc: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": body["name"],
            "code": body["code"],
            "dependencies": [dict(d) for d in body.get("dependencies") or []],
            "secrets": [],
            "created_at": now,
            "updated_at": now,
            "all_changes_published": False,
            "latest_version_number": 0,
            "_secret_values": {},
            "_versions": [],
        }
        if body.get("api_version"):
            doc["api_version"] = body["api_version"]
        self._set_secrets(doc, body.get("secrets") or [], now)
        with self.store.transaction():
            if self._by_name(doc["name"]) is not None:
                raise ApiError(409, NAME_TAKEN)
            if body.get("publish"):
                self._publish(doc)
            self.store.put(MODULE, doc["id"], doc)
            return self.render(doc)

    def update(self, module_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            doc = self.module(module_id)
            now = _now()
            if "code" in body:
                doc["code"] = body["code"]
            if "dependencies" in body:
                doc["dependencies"] = [dict(d) for d in body["dependencies"]]
            if "secrets" in body:
                self._set_secrets(doc, body["secrets"], now)
            doc["updated_at"] = now
            doc["all_changes_published"] = False
            self.store.put(MODULE, doc["id"], doc)
            return self.render(doc)

    def delete(self, module_id: str) -> None:
        with self.store.transaction():
            doc = self.module(module_id)
            if self._users(module_id):
                raise ApiError(412, IN_USE)
            for version_id in doc.get("_versions") or []:
                self.store.delete(MODULE_VERSION, version_id)
            self.store.delete(MODULE, module_id)

    def publish(self, module_id: str) -> dict[str, Any]:
        """A new version N+1 from the draft."""
        with self.store.transaction():
            doc = self.module(module_id)
            version = self._publish(doc)
            self.store.put(MODULE, doc["id"], doc)
            return self.render_version(version)

    def versions(self, module_id: str) -> list[dict[str, Any]]:
        """Newest first, as action versions are listed."""
        with self.store.transaction():
            doc = self.module(module_id)
            return [self.render_version(v) for v in reversed(self._versions_of(doc))]

    def version(self, module_id: str, version_id: str) -> dict[str, Any]:
        with self.store.transaction():
            return self.render_version(self._version(self.module(module_id), version_id))

    def rollback(self, module_id: str, version_id: str) -> dict[str, Any]:
        """The draft becomes the older version's copy, published as N+1."""
        with self.store.transaction():
            doc = self.module(module_id)
            source = self._version(doc, version_id)
            for key in ("code", "dependencies", "secrets", "_secret_values"):
                doc[key] = copy.deepcopy(source.get(key))
            doc["updated_at"] = _now()
            self._publish(doc)
            self.store.put(MODULE, doc["id"], doc)
            return self.render(doc)

    # ---- building blocks ------------------------------------------------------
    def _publish(self, doc: dict[str, Any]) -> dict[str, Any]:
        number = int(doc.get("latest_version_number") or 0) + 1
        version = {
            "id": str(uuid.uuid4()),
            "module_id": doc["id"],
            "version_number": number,
            "code": doc.get("code", ""),
            "dependencies": copy.deepcopy(doc.get("dependencies") or []),
            "secrets": _secrets(doc),
            "created_at": _now(),
            "_secret_values": dict(doc.get("_secret_values") or {}),
        }
        self.store.put(MODULE_VERSION, version["id"], version)
        doc["_versions"] = [*(doc.get("_versions") or []), version["id"]]
        doc["latest_version_number"] = number
        doc["all_changes_published"] = True
        return version

    @staticmethod
    def _set_secrets(doc: dict[str, Any], secrets: Iterable[Mapping[str, Any]], now: str) -> None:
        """The list replaces the module's secrets; values are kept privately, never returned."""
        values: dict[str, str] = dict(doc.get("_secret_values") or {})
        kept: dict[str, str] = {}
        for item in secrets:
            name = str(item["name"])
            value = item.get("value")
            kept[name] = str(value) if value is not None else values.get(name, "")
        doc["_secret_values"] = kept
        doc["secrets"] = [{"name": name, "updated_at": now} for name in kept]
