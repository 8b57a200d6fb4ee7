"""Users-export files: NDJSON or CSV rows of the tenant's users, written as they are read.

The format of go_TestJobManager_ExportUsers.yaml and docs/reference/management-api.md §3.
Field names may be paths (``user_metadata.consent.given``,
``identities[0].connection``); the output column/key is ``export_as`` or the
name. JSON exports without ``fields`` carry the whole user; CSV exports
without ``fields`` carry a fixed set of root fields (metadata must be listed,
at most 30 fields).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from auth0_actions.emulator.backends.users import DEFAULT_CONNECTION, connection_id
from auth0_actions.emulator.backends.users_query import value_at
from auth0_actions.emulator.http import public
from auth0_actions.emulator.store import Store

CSV_MAX_FIELDS = 30
FIELDS_MAX = 100
DEFAULT_CSV_FIELDS = (
    "user_id",
    "email",
    "email_verified",
    "name",
    "nickname",
    "given_name",
    "family_name",
    "picture",
    "created_at",
    "updated_at",
    "last_login",
    "logins_count",
    "blocked",
)


def connections(store: Store) -> dict[str, str]:
    """Connection id -> name for every connection the tenant's users live in."""
    names = {DEFAULT_CONNECTION}
    for user in store.all("user"):
        for identity in user.get("identities") or []:
            if isinstance(identity.get("connection"), str):
                names.add(identity["connection"])
    return {connection_id(name): name for name in names}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _columns(job: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, output key) per exported field; CSV without fields gets the default set."""
    columns = [(f["name"], f.get("export_as") or f["name"]) for f in job.get("fields") or []]
    if job["format"] == "csv" and not columns:
        columns = [(name, name) for name in DEFAULT_CSV_FIELDS]
    return columns


class _Utf8:
    """A text sink for csv.writer over a byte stream."""

    def __init__(self, out: io.BufferedIOBase) -> None:
        self.out = out

    def write(self, text: str) -> int:
        return self.out.write(text.encode("utf-8"))


def write_export(
    users: Iterable[dict[str, Any]], job: dict[str, Any], out: io.BufferedIOBase
) -> int:
    """Write the export file's uncompressed bytes to out, one user at a time; returns rows.

    Users are read and written one by one so a 100,000-user export never holds
    the tenant or the file in memory.
    """
    columns = _columns(job)
    rows = 0
    if job["format"] == "csv":
        writer = csv.writer(_Utf8(out), lineterminator="\n")
        writer.writerow([label for _, label in columns])
        for user in users:
            writer.writerow([_cell(value_at(user, name)) for name, _ in columns])
            rows += 1
        return rows
    for user in users:
        if columns:
            row = {}
            for name, label in columns:
                value = value_at(user, name)
                if value is not None:
                    row[label] = value
        else:
            row = public(user)
        out.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
        rows += 1
    return rows


def render_export(users: list[dict[str, Any]], job: dict[str, Any]) -> bytes:
    """The export file's uncompressed bytes (small exports; see :func:`write_export`)."""
    out = io.BytesIO()
    write_export(users, job, out)
    return out.getvalue()


def iter_users(store: Store) -> Iterator[dict[str, Any]]:
    """Every user in insertion order, read from SQLite in batches (not store.all: flat memory).

    The caller holds the store's transaction, so the cursor sees one state.
    """
    cursor = store._db.execute(  # the store has no streaming read; this is its one table
        "SELECT body FROM docs WHERE kind = 'user' ORDER BY seq"
    )
    while True:
        batch = cursor.fetchmany(500)
        if not batch:
            return
        for (body,) in batch:
            yield json.loads(body)
