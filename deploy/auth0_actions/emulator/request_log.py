"""The local tenant's request log: the newest requests in full, and counts of all of them.

A served tenant answers requests for as long as it runs (a CI job, a
benchmark's million requests), so the log keeps the newest
:data:`LOG_ENTRIES` requests, and no more than :data:`LOG_BODY_BYTES` of
their bodies (the oldest go first), while its counters (total, and per
method and status) count every request ever recorded. Tests read the
entries (their requests are the newest); the counters say how many arrived.

It reads as the sequence of every request recorded since it was cleared,
of which only the newest are still held: ``len(log)`` is the count,
``log[mark:]`` the requests after a mark taken with ``len(log)`` (those
still held), so a test's "what did this run send" works however long the
tenant has run.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, overload

LOG_ENTRIES = 10_000
# The raw bodies the kept entries hold, at most (a request body is up to 1 MB).
LOG_BODY_BYTES = 8 * 1024 * 1024


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    at: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)  # the answer's rate-limit headers
    size: int = 0  # bytes of the raw request body


class RequestLog:
    """Bounded: the newest entries (by count and body bytes); counters of every entry."""

    def __init__(self, entries: int = LOG_ENTRIES, body_bytes: int = LOG_BODY_BYTES) -> None:
        self.max_entries = entries
        self.max_body_bytes = body_bytes
        self._entries: collections.deque[LoggedRequest] = collections.deque()
        self._body_bytes = 0
        self.total = 0
        self._counts: collections.Counter[tuple[str, int]] = collections.Counter()
        self._lock = threading.Lock()

    def append(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.total += 1
            self._counts[(entry.method, entry.status)] += 1
            self._entries.append(entry)
            self._body_bytes += entry.size
            while len(self._entries) > self.max_entries or (
                self._body_bytes > self.max_body_bytes and len(self._entries) > 1
            ):
                self._body_bytes -= self._entries.popleft().size

    def count(self, method: str | None = None, status: int | None = None) -> int:
        """How many requests were recorded (of a method, with a status), kept or not."""
        with self._lock:
            return sum(
                n
                for (m, s), n in self._counts.items()
                if (method is None or m == method) and (status is None or s == status)
            )

    def entries(self) -> list[LoggedRequest]:
        """The kept entries, oldest first (a copy)."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._body_bytes = 0
            self.total = 0
            self._counts.clear()

    @property
    def kept(self) -> int:
        """How many entries are held (at most ``max_entries``)."""
        return len(self._entries)

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, index: int) -> LoggedRequest: ...

    @overload
    def __getitem__(self, index: slice) -> list[LoggedRequest]: ...

    def __getitem__(self, index: int | slice) -> LoggedRequest | list[LoggedRequest]:
        """By position among every request recorded; an evicted one is gone."""
        with self._lock:
            first = self.total - len(self._entries)  # the position of the oldest held
            if isinstance(index, slice):
                start, stop, step = index.indices(self.total)
                if step != 1:
                    raise ValueError("the request log is sliced with step 1 only")
                low = max(start, first)
                if stop <= low:
                    return []
                return list(itertools.islice(self._entries, low - first, stop - first))
            position = index + self.total if index < 0 else index
            if not first <= position < self.total:
                raise IndexError(f"request {index} is not held (held: {first}..{self.total - 1})")
            return self._entries[position - first]

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries())
