"""The local tenant's state: JSON documents in SQLite.

One table of documents keyed by (kind, id), kept in insertion order. The
embedded tenant keeps it under .auth0-local/ so a plan after an apply is
empty across runs; tests use an in-memory database. One lock serialises
writers; each handler's read-modify-write runs inside ``transaction()``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS docs_kind_seq ON docs (kind, seq);
"""


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        # WAL with synchronous=NORMAL: no fsync per commit (one was ~4 ms of each
        # write request); the database stays consistent, and only a power loss can
        # undo the last commits (https://www.sqlite.org/pragma.html#pragma_synchronous).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All reads and writes inside are atomic with respect to other requests."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, doc_id: str, body: dict[str, Any]) -> None:
        text = json.dumps(body, separators=(",", ":"))
        with self._lock:
            updated = self._db.execute(
                "UPDATE docs SET body = ? WHERE kind = ? AND id = ?", (text, kind, doc_id)
            ).rowcount
            if not updated:
                seq = self._db.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM docs WHERE kind = ?", (kind,)
                ).fetchone()[0]
                self._db.execute(
                    "INSERT INTO docs (kind, id, seq, body) VALUES (?, ?, ?, ?)",
                    (kind, doc_id, seq, text),
                )

    def delete(self, kind: str, doc_id: str) -> bool:
        with self._lock:
            return bool(
                self._db.execute(
                    "DELETE FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)
                ).rowcount
            )

    def all(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM docs WHERE kind = ? ORDER BY seq", (kind,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def count(self, kind: str) -> int:
        with self._lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM docs WHERE kind = ?", (kind,)).fetchone()[0]
            )

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM docs")

    def close(self) -> None:
        with self._lock:
            self._db.close()
