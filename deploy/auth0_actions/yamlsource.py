"""Load YAML while remembering where every key and value stands.

PyYAML silently keeps the last of two duplicate keys and forgets line numbers
once it has built plain dicts. Configuration errors must name file, line and
key, and a duplicated key is almost always a merge mistake, so this loader
records a position for every path and rejects duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auth0_actions.errors import ConfigError, Location, Problem

KeyPath = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """Plain data plus the position of each key path within its file."""

    path: Path
    data: Any
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, key_path: KeyPath) -> Location:
        """The best known position for key_path: itself, else its nearest parent."""
        probe = tuple(key_path)
        while probe and probe not in self.positions:
            probe = probe[:-1]
        line, column = self.positions.get(probe, (1, 1))
        return Location(self.path, line, column, dotted(key_path) or None)


def dotted(key_path: KeyPath) -> str:
    """('actions', 0, 'name') -> 'actions[0].name'."""
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (anchors and merges stay supported)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first defined on line {first})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def record_positions(
    node: yaml.Node, path: KeyPath, positions: dict[KeyPath, tuple[int, int]]
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            child = (*path, key_node.value)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            record_positions(value_node, child, positions)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            positions[child] = (item.start_mark.line + 1, item.start_mark.column + 1)
            record_positions(item, child, positions)


def load_yaml(path: Path) -> YamlDocument:
    """Parse one YAML file; every failure is a ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDocument:
    try:
        loader = StrictLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        reason = exc.problem or exc.context or "invalid YAML"
        problem = Problem(Location(path, line, column), reason)
        raise ConfigError(f"{path}: invalid YAML", [problem]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    positions: dict[KeyPath, tuple[int, int]] = {}
    if node is not None:
        positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
        record_positions(node, (), positions)
    return YamlDocument(path=path, data=data, positions=positions)
