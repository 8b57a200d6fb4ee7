"""Which template values a render read, so values-sha256 covers only those.

Templates see the unit's context through read-recording views. Reading a key
records that key's path; a value taken whole (passed to the ``js`` filter,
iterated, measured, compared, turned into text) records its whole subtree;
a key looked up but absent (``x.get('y')``, ``x.y is defined``, ``'y' in x``)
records that absence, so adding the value later changes the digest too.
Adding a value that no template of a unit reads therefore leaves that unit's
output, header included, byte-identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

# Keys from the top-level name down; list items by index.
ValuePath = tuple[str | int, ...]


class _Absent:
    """A key the template looked for and did not find."""

    __slots__ = ()


ABSENT = _Absent()


class ValueReads:
    """The paths a render read, each with the value it saw (or ABSENT)."""

    def __init__(self) -> None:
        self._reads: dict[ValuePath, Any] = {}
        self._whole: set[ValuePath] = set()

    def watch(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """The context as a template should see it: every container recorded."""
        return {name: _view(value, (name,), self) for name, value in context.items()}

    def read(self, path: ValuePath, value: Any) -> None:
        self._reads[path] = value

    def whole(self, path: ValuePath, value: Any) -> None:
        self._reads[path] = value
        self._whole.add(path)

    def paths(self) -> list[ValuePath]:
        """Every recorded path not already inside a subtree read whole, sorted."""
        return [
            path
            for path in sorted(self._reads, key=_sort_key)
            if not any(path[:n] in self._whole for n in range(1, len(path)))
        ]

    def canonical(self) -> str:
        """One JSON document: [path] for an absent key, [path, value] for a read."""
        entries = [
            [list(path)] if self._reads[path] is ABSENT else [list(path), self._reads[path]]
            for path in self.paths()
        ]
        return json.dumps(entries, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def digest(self) -> str:
        return hashlib.sha256(self.canonical().encode("utf-8")).hexdigest()


def _sort_key(path: ValuePath) -> list[tuple[int, str | int]]:
    # Mapping keys are strings and list indices ints; never compare the two.
    return [(0, part) if isinstance(part, int) else (1, part) for part in path]


def _view(value: Any, path: ValuePath, reads: ValueReads) -> Any:
    if isinstance(value, Mapping):
        return RecordingMapping(value, path, reads)
    if isinstance(value, list | tuple):
        return RecordingSequence(value, path, reads)
    return value


def original(value: Any) -> Any:
    """The data behind a view, without recording anything."""
    if isinstance(value, RecordingMapping | RecordingSequence):
        return value._data
    return value


def taken_whole(value: Any) -> Any:
    """Plain data for value, recording every view inside it as read whole.

    For the js filter and JSON dumps: a dict or list literal built in the
    template may hold views, and all of their data reaches the output.
    """
    if isinstance(value, RecordingMapping | RecordingSequence):
        return value._take()
    if isinstance(value, dict):
        return {key: taken_whole(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [taken_whole(item) for item in value]
    return value


class RecordingMapping(Mapping[str, Any]):
    """A read-only mapping that records each key read from it.

    Its attributes start with an underscore, which the Jinja sandbox refuses,
    so a template cannot reach the data around the recording.
    """

    __slots__ = ("_data", "_path", "_reads")

    def __init__(self, data: Mapping[str, Any], path: ValuePath, reads: ValueReads) -> None:
        self._data = data
        self._path = path
        self._reads = reads

    def _take(self) -> Mapping[str, Any]:
        self._reads.whole(self._path, self._data)
        return self._data

    def __getitem__(self, key: str) -> Any:
        path = (*self._path, key)
        try:
            value = self._data[key]
        except (KeyError, TypeError):
            self._reads.read(path, ABSENT)
            raise
        if isinstance(value, Mapping | list | tuple):
            # Only what is read from inside it counts.
            return _view(value, path, self._reads)
        self._reads.read(path, value)
        return value

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str | int):
            return False
        path = (*self._path, key)
        if key in self._data:
            self._reads.whole(path, self._data[key])  # type: ignore[index]
            return True
        self._reads.read(path, ABSENT)
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._take())

    def __len__(self) -> int:
        return len(self._take())

    def __eq__(self, other: object) -> bool:
        return bool(self._take() == original(other))

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return str(self._take())

    def __repr__(self) -> str:
        return repr(self._take())


class RecordingSequence(Sequence[Any]):
    """A read-only list that records each index read from it."""

    __slots__ = ("_data", "_path", "_reads")

    def __init__(self, data: Sequence[Any], path: ValuePath, reads: ValueReads) -> None:
        self._data = data
        self._path = path
        self._reads = reads

    def _take(self) -> Sequence[Any]:
        self._reads.whole(self._path, list(self._data))
        return self._data

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return self._take()[index]
        if index < 0:
            # Which item -1 is depends on the length: that is the whole list.
            return self._take()[index]
        path = (*self._path, index)
        try:
            value = self._data[index]
        except IndexError:
            self._reads.read(path, ABSENT)
            raise
        if isinstance(value, Mapping | list | tuple):
            return _view(value, path, self._reads)
        self._reads.read(path, value)
        return value

    def __contains__(self, value: object) -> bool:
        return original(value) in self._take()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._take())

    def __len__(self) -> int:
        return len(self._take())

    def __eq__(self, other: object) -> bool:
        return bool(list(self._take()) == original(other))

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return str(self._take())

    def __repr__(self) -> str:
        return repr(self._take())
