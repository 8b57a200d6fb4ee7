"""Reading a worker's result: shapes the harness writes, and what breaks the protocol.

Results come from a process running untrusted code, so every field is read
through these helpers, which refuse anything the harness would not write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ProtocolViolation(Exception):
    """A worker's answer is not what the harness writes: the worker is not trusted again."""


def object_field(result: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = result.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolViolation(f"{key} is not an object")
    return value


def list_field(result: Mapping[str, Any], key: str) -> list[Any]:
    value = result.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolViolation(f"{key} is not a list")
    return value


def own_entries(result: Mapping[str, Any], key: str, field: str, name: str) -> list[Any]:
    """Commands, logs or executions, each of which must name this action."""
    entries = list_field(result, key)
    for entry in entries:
        owner = entry.get(field) if isinstance(entry, dict) else entry
        if owner != name:
            raise ProtocolViolation(f"{key} names another action ({str(owner)[:60]!r})")
    return entries


def timed_out(result: Mapping[str, Any]) -> bool:
    error = result.get("error")
    return isinstance(error, dict) and bool(error.get("timeout"))
