"""Trigger bindings: which deployed actions run, in order, for each trigger.

``PATCH /actions/triggers/{triggerId}/bindings`` replaces the whole list (new
binding ids every time, as recorded in go_TestActionManager_Bindings); a
reference names an action by id, by name or by an existing binding, and the
action must support the trigger and have a built deployed version.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.actions_spec import BINDINGS_SCHEMA as BINDINGS
from auth0_actions.emulator.backends.actions import NOT_DEPLOYED, ActionsBackend, iso
from auth0_actions.emulator.http import bad_request
from auth0_actions.emulator.validation import validate


class BindingsBackend:
    """Each trigger's bindings, stored as one document per trigger."""

    def __init__(self, actions: ActionsBackend) -> None:
        self.actions = actions
        self.store = actions.store

    def _render_bindings(self, trigger_id: str, bindings: list[Any]) -> list[dict[str, Any]]:
        out = []
        for binding in bindings:
            doc = self.store.get("action", binding["action_id"])
            if doc is None:
                continue
            doc = self.actions.settle(doc)
            out.append(
                {
                    "id": binding["id"],
                    "trigger_id": trigger_id,
                    "action": self.actions.embedded_action(doc),
                    "created_at": binding["created_at"],
                    "updated_at": binding["updated_at"],
                    "display_name": binding.get("display_name") or doc.get("name", ""),
                }
            )
        return out

    def bindings(self, trigger_id: str) -> list[dict[str, Any]]:
        """The trigger's bindings, rendered, in execution order."""
        with self.store.transaction():
            stored = self.store.get("bindings", trigger_id) or {"bindings": []}
            return self._render_bindings(trigger_id, stored["bindings"])

    def deployed_actions(self, trigger_id: str) -> list[dict[str, Any]]:
        """The stored actions bound to the trigger that have a deployed version, in order
        (what a flow runs; the documents as stored, secrets' values included)."""
        stored = self.store.get("bindings", trigger_id) or {"bindings": []}
        out = []
        for binding in stored["bindings"]:
            action = self.store.get("action", binding["action_id"])
            if action and action.get("deployed_version"):
                out.append(action)
        return out

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
        doc = self.actions.settle(doc)
        deployed = doc.get("deployed_version") or {}
        if deployed.get("status") != "built":
            raise bad_request(NOT_DEPLOYED)
        return doc

    def set_bindings(self, trigger_id: str, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Replace the trigger's bindings with the body's list; returns them rendered."""
        validate(body, BINDINGS)
        wanted: list[Mapping[str, Any]] = body["bindings"]
        with self.store.transaction():
            stored = self.store.get("bindings", trigger_id) or {
                "trigger_id": trigger_id,
                "bindings": [],
            }
            fresh = []
            for item in wanted:
                doc = self._resolve(trigger_id, item["ref"], stored["bindings"])
                now = iso(clock.now_ns())
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
            return self._render_bindings(trigger_id, fresh)
