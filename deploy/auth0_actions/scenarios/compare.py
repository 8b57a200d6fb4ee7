"""Compare expected and actual values; render the difference for people."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from auth0_actions.errors import ConfigError
from auth0_actions.scenarios.model import Matcher, PolicyRef, matches_special


@dataclass(frozen=True)
class Mismatch:
    path: str
    expected: Any
    actual: Any
    present: bool = True

    def diff(self) -> str:
        """expected vs actual as a unified diff of their YAML forms."""
        want = _yaml(self.expected).splitlines()
        got = (_yaml(self.actual) if self.present else "<absent>").splitlines()
        lines = difflib.unified_diff(want, got, "expected", "actual", lineterm="", n=3)
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, Matcher | PolicyRef):
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _yaml(value: Any) -> str:
    text = yaml.safe_dump(_plain(value), sort_keys=True, allow_unicode=True, width=100)
    return text.removesuffix("...\n").rstrip()  # a bare scalar ends with a document marker


def plain(value: Any) -> Any:
    """Matchers written out as text, for JSON reports."""
    return _plain(value)


def compare_value(
    expected: Any, actual: Any, path: str, mode: str, present: bool = True
) -> list[Mismatch]:
    """Mismatches between expected and actual; mappings by subset unless mode is exact."""
    if isinstance(expected, Matcher):
        return (
            []
            if matches_special(expected, actual, present)
            else [Mismatch(path, expected, actual, present)]
        )
    if not present:
        return [Mismatch(path, expected, None, False)]
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [Mismatch(path, expected, actual)]
        found: list[Mismatch] = []
        for key, want in expected.items():
            found.extend(
                compare_value(want, actual.get(key), f"{path}.{key}", mode, present=key in actual)
            )
        if mode == "exact":
            extra = sorted(set(actual) - set(expected), key=str)
            found.extend(Mismatch(f"{path}.{k}", _MISSING_TEXT, actual[k]) for k in extra)
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [Mismatch(path, expected, actual)]
        if path == "logs":
            # Each expected line must match some log line, in any order.
            missing = [
                want
                for want in expected
                if not any(not compare_value(want, line, path, mode) for line in actual)
            ]
            return [Mismatch(path, missing, actual)] if missing else []
        if len(expected) != len(actual):
            return [Mismatch(path, expected, actual)]
        found = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found.extend(compare_value(want, got, f"{path}[{index}]", mode))
        return found
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = type(expected) is type(actual) and expected == actual
    else:
        same = expected == actual
    return [] if same else [Mismatch(path, expected, actual)]


_MISSING_TEXT = "<not expected>"


def resolve_policy_refs(value: Any, context: Mapping[str, Any]) -> Any:
    """Replace every !policy KEY with the policy's value at KEY (dotted)."""
    if isinstance(value, PolicyRef):
        node: Any = context
        for part in value.path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ConfigError(f"!policy {value.path}: the consent policy has no such key")
            node = node[part]
        return node
    if isinstance(value, Mapping):
        return {k: resolve_policy_refs(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_policy_refs(v, context) for v in value]
    return value
