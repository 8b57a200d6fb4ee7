"""Edit tenant.yaml as a round trip: its comments, order and layout stay as written.

ruamel.yaml keeps what PyYAML forgets (comments, key order, flow or block
style), so the file a team reviews changes only by the entries import adds.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from auth0_actions.errors import ConfigError


def _yaml() -> YAML:
    yaml = YAML()  # round trip
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.preserve_quotes = True
    return yaml


class TenantYaml:
    """tenant.yaml loaded for editing; :meth:`text` is the edited file."""

    def __init__(self, text: str, where: str) -> None:
        self.where = where
        try:
            self.data = _yaml().load(text)
        except Exception as exc:  # ruamel raises its own YAMLError tree
            raise ConfigError(f"{where}: cannot edit: {exc}") from None
        if not isinstance(self.data, CommentedMap):
            raise ConfigError(f"{where}: not a mapping")

    def _block_list(self, key: str) -> CommentedSeq:
        current = self.data.get(key)
        if isinstance(current, CommentedSeq) and current:
            return current
        # Absent, or `[]` (what `init --bare` writes): a block list from here on.
        seq = CommentedSeq()
        seq.fa.set_block_style()
        self.data[key] = seq
        return seq

    def declared(self, section: str) -> set[str]:
        return {
            str(entry.get("name"))
            for entry in self.data.get(section) or []
            if isinstance(entry, Mapping)
        }

    def max_order(self, section: str, trigger: str) -> int:
        return max(
            (
                int(entry.get("order", 0))
                for entry in self.data.get(section) or []
                if isinstance(entry, Mapping) and entry.get("trigger") == trigger
            ),
            default=0,
        )

    def add_entry(self, section: str, entry: Mapping[str, Any]) -> None:
        seq = self._block_list(section)
        with _tail_kept(seq):
            seq.append(_block(entry))

    def adopt(self, environment: str, kind_key: str, name: str, live_id: str) -> None:
        """Record ``environments.<env>.adopted.<kind_key>.<name>: <live_id>``."""
        env = self.data["environments"][environment]
        if env is None or not isinstance(env, CommentedMap):
            raise ConfigError(f"{self.where}: environments.{environment} is not a mapping")
        with _tail_kept(env):
            adopted = env.setdefault("adopted", CommentedMap())
            ids = adopted.setdefault(kind_key, CommentedMap())
            ids[name] = live_id

    def text(self) -> str:
        out = io.StringIO()
        _yaml().dump(self.data, out)
        return out.getvalue()


def _block(value: Any) -> Any:
    """Nested mappings and lists in block style, as the rest of tenant.yaml is written."""
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = _block(item)
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_block(item) for item in value)
        seq.fa.set_block_style()
        return seq
    return value


# ruamel keeps the comment lines after a block's last value on that value: the
# lines introducing the next section would follow whatever is appended. They
# are moved to the block's new last value, so they stay where they were.
Node = CommentedMap | CommentedSeq


def _last(node: Node) -> tuple[Any, Any] | None:
    if not node:
        return None
    key = next(reversed(node)) if isinstance(node, CommentedMap) else len(node) - 1
    return key, node[key]


def _tail_slot(node: Node) -> tuple[Node, Any, int] | None:
    """Where the comment after the block's last value is kept: (container, key, slot)."""
    last = _last(node)
    if last is None:
        return None
    key, value = last
    if isinstance(value, CommentedMap | CommentedSeq):
        deeper = _tail_slot(value)
        if deeper is not None:
            return deeper
    slot = 2 if isinstance(node, CommentedMap) else 0
    entry = node.ca.items.get(key)
    if entry and len(entry) > slot and entry[slot] is not None:
        return node, key, slot
    return None


def _last_scalar(node: Node) -> tuple[Node, Any, int] | None:
    last = _last(node)
    if last is None:
        return None
    key, value = last
    if isinstance(value, CommentedMap | CommentedSeq) and value:
        return _last_scalar(value)
    return node, key, 2 if isinstance(node, CommentedMap) else 0


@contextlib.contextmanager
def _tail_kept(node: Node) -> Iterator[None]:
    found = _tail_slot(node)
    token = None
    if found is not None:
        container, key, slot = found
        token = container.ca.items[key][slot]
        container.ca.items[key][slot] = None
    yield
    target = _last_scalar(node) if token is not None else None
    if target is not None:
        container, key, slot = target
        entry = container.ca.items.setdefault(key, [None, None, None, None])
        while len(entry) <= slot:
            entry.append(None)
        entry[slot] = token
