"""Rules and rules-configs as the tenant keeps them, and Auth0's rules for them.

Wire format: docs/reference/management-api.md §2; recordings TestAccRule,
TestAccRuleConfig, go_TestRule*.

A rule is ``{id: "rul_" + 16 alphanumerics, enabled, script, name, order,
stage: "login_success"}``; ``enabled`` defaults to true and ``order`` to one
past the highest. A duplicate name, or an explicit order another rule holds,
is a 409. Rules-configs are write-only: the list gives keys, never values;
PUT echoes the value once. Bodies arrive checked against the OpenAPI
document's schemas; the limits here are those it does not state.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from typing import Any

from auth0_actions.emulator.http import ApiError, bad_request
from auth0_actions.emulator.store import Store

_CONFIG_KEY = re.compile(r"^[A-Za-z0-9_\-@*+:]*$")
_ALNUM = string.ascii_letters + string.digits
FIELDS = ("name", "script", "enabled", "order")
MAX_SCRIPT_BYTES = 100 * 1024


def _rule_id() -> str:
    return "rul_" + "".join(secrets.choice(_ALNUM) for _ in range(16))


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def rule_not_found() -> ApiError:
    return ApiError(404, "The rule does not exist.", "inexistent_rule")


def _check(body: Mapping[str, Any], *, create: bool) -> None:
    if not create and not body:
        raise bad_request("Payload validation error: 'Too few properties defined (0), minimum 1'.")
    script = body.get("script")
    if isinstance(script, str) and len(script.encode()) > MAX_SCRIPT_BYTES:
        raise bad_request("Payload validation error: 'String is too long' on property script.")


def check_config_key(key: str) -> None:
    """The path's key, as Auth0 checks it (a 400 ``invalid_uri``)."""
    if not key or len(key) > 127 or not _CONFIG_KEY.match(key):
        raise bad_request(
            "Path validation error: 'String does not match pattern "
            f"{_CONFIG_KEY.pattern}' on property key (Key of the rules config).",
            "invalid_uri",
        )


class RulesBackend:
    """The tenant's rules and rules-configs; every write runs in one store transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _conflicts(self, body: Mapping[str, Any], rule_id: str | None) -> None:
        for other in self.store.all("rule"):
            if other["id"] == rule_id:
                continue
            if "name" in body and other["name"] == body["name"]:
                raise ApiError(409, "A rule with the same name already exists", "rule_conflict")
            if "order" in body and other["order"] == body["order"]:
                raise ApiError(409, "A rule with the same order already exists", "rule_conflict")

    def ordered(self, *, enabled: bool | None = None) -> list[dict[str, Any]]:
        """Rules in execution order (``order``, then id)."""
        rules = sorted(self.store.all("rule"), key=lambda r: (r["order"], r["id"]))
        if enabled is not None:
            rules = [r for r in rules if r["enabled"] is enabled]
        return rules

    def get(self, rule_id: str) -> dict[str, Any]:
        rule = self.store.get("rule", rule_id)
        if rule is None:
            raise rule_not_found()
        return rule

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        _check(body, create=True)
        with self.store.transaction():
            self._conflicts(body, None)
            order = body.get("order")
            if order is None:
                order = max((r["order"] for r in self.store.all("rule")), default=0) + 1
            rule = {
                "id": _rule_id(),
                "enabled": body.get("enabled", True),
                "script": body["script"],
                "name": body["name"],
                "order": _number(order),
                "stage": "login_success",
            }
            self.store.put("rule", rule["id"], rule)
        return rule

    def update(self, rule_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        _check(body, create=False)
        with self.store.transaction():
            rule = self.get(rule_id)
            self._conflicts(body, rule["id"])
            for name in FIELDS:
                if name in body:
                    rule[name] = _number(body[name]) if name == "order" else body[name]
            self.store.put("rule", rule["id"], rule)
        return rule

    def delete(self, rule_id: str) -> None:
        with self.store.transaction():
            self.store.delete("rule", rule_id)

    def config_keys(self) -> list[str]:
        return [c["key"] for c in self.store.all("rules_config")]

    def set_config(self, key: str, value: str) -> None:
        check_config_key(key)
        with self.store.transaction():
            self.store.put("rules_config", key, {"key": key, "_value": value})

    def delete_config(self, key: str) -> None:
        check_config_key(key)
        with self.store.transaction():
            self.store.delete("rules_config", key)
