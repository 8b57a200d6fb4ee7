"""Exported users -> the lines of a consent export file (ndjson, csv).

Each user's consent comes from the ledger in app_metadata (or, before the
ledger started, from the seed record's migrated view, flagged
``seed-record``: consent/user_view.py). Per purpose of tenant.yaml a row
carries its status (``ledger.needed`` against the current version, or
``valid``) and the latest decision; the readable mirror in user_metadata is
carried as before (``consent`` / the ``consent.*`` columns) so readers of
the seed's record keep their fields, but ``consent.status`` is the record
purpose's status from the ledger: nothing judges consent from the mirror,
which users can edit.

NDJSON is the lossless format: the stored ledger is included whole
(``ledger``, null when there is none) and no value is touched. CSV cells a
spreadsheet would run as a formula are neutralised (:func:`csv_cell`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent.record import (
    FLAT_COLUMNS,
    ConsentRecord,
    RecordLayout,
    Status,
    flat_fields,
)
from auth0_actions.consent.user_view import ConsentView, consent_view

BASE_FIELDS: tuple[str, ...] = ("user_id", "email", "user_metadata", "app_metadata")
# A purpose's columns in the CSV, after "<purpose id>.": its status, then its latest decision.
PURPOSE_COLUMNS: tuple[str, ...] = (
    "status",
    "given",
    "version",
    "event",
    "at",
    "method",
    "text_sha256",
)
SOURCE_COLUMN = "consent.source"
# Spreadsheet programs run a cell starting with one of these as a formula
# (CSV injection, OWASP): such string cells get a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def user_value(user: Mapping[str, Any], path: str) -> Any:
    """A field of an exported user: the key as sent, else the dotted path walked."""
    if path in user:
        return user[path]
    current: Any = user
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def csv_cell(value: Any) -> str:
    """How a value reads in the CSV: true/false, empty for none, JSON for objects.

    A string a spreadsheet would evaluate (``=cmd|...``, ``+1+1``, ``@SUM``) is
    prefixed with ``'``; the NDJSON export keeps every value untouched.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def csv_line(values: Sequence[Any]) -> bytes:
    text = io.StringIO()
    # RFC 4180: fields with commas, quotes or line breaks are quoted, quotes doubled.
    csv.writer(text, lineterminator="\r\n").writerow([csv_cell(v) for v in values])
    return text.getvalue().encode("utf-8")


def purpose_fields(view: ConsentView, purpose: str, version: str) -> dict[str, Any]:
    """One purpose of one user: its status and latest decision (None where undecided)."""
    latest = view.state.get(purpose)
    latest = latest if isinstance(latest, Mapping) else {}
    fields: dict[str, Any] = {"status": view.status(purpose, version)}
    fields.update({name: latest.get(name) for name in PURPOSE_COLUMNS[1:]})
    return fields


class ConsentRows:
    """Exported users -> NDJSON lines or CSV rows holding their consent per purpose."""

    def __init__(
        self,
        policy: ConsentPolicy,
        file_format: Literal["ndjson", "csv"],
        extra_fields: Sequence[str] = (),
        *,
        now: str,
    ) -> None:
        self.policy = policy
        self.layout = RecordLayout.from_policy(policy)
        self.record_purpose = policy.record_purpose
        self.file_format = file_format
        self.extra_fields = tuple(f for f in extra_fields if f not in ("user_id", "email"))
        self.now = now

    @property
    def job_fields(self) -> list[str]:
        return list(dict.fromkeys((*BASE_FIELDS, *self.extra_fields)))

    def header(self) -> bytes:
        if self.file_format == "ndjson":
            return b""
        purposes = [f"{p.id}.{c}" for p in self.policy.purposes for c in PURPOSE_COLUMNS]
        return csv_line(
            ["user_id", "email", *self.extra_fields, SOURCE_COLUMN, *FLAT_COLUMNS, *purposes]
        )

    def rows(self, user: Mapping[str, Any]) -> tuple[bytes, dict[str, Status], str]:
        """One user's line (newline included), status per purpose, and the view's source."""
        view = consent_view(user, self.policy, self.now)
        purposes = {p.id: purpose_fields(view, p.id, p.version) for p in self.policy.purposes}
        statuses: dict[str, Status] = {pid: fields["status"] for pid, fields in purposes.items()}
        metadata = user.get("user_metadata")
        mirror = ConsentRecord.from_metadata(
            metadata if isinstance(metadata, Mapping) else None, self.layout
        )
        flat = flat_fields(mirror)
        flat["consent.status"] = statuses[self.record_purpose.id]
        user_id, email = user.get("user_id"), user.get("email")
        extras = [user_value(user, f) for f in self.extra_fields]
        if self.file_format == "csv":
            cells = [v for fields in purposes.values() for v in fields.values()]
            line = csv_line([user_id, email, *extras, view.source, *flat.values(), *cells])
            return line, statuses, view.source
        data: dict[str, Any] = {"user_id": user_id, "email": email}
        data.update(zip(self.extra_fields, extras, strict=True))
        data["consent_status"] = flat["consent.status"]
        data["consent_source"] = view.source
        data["purposes"] = purposes
        data["consent"] = (
            None
            if mirror is None
            else {k.removeprefix("consent."): v for k, v in flat.items() if k != "consent.status"}
        )
        data["ledger"] = view.ledger if view.source == "ledger" else None
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8") + b"\n", statuses, view.source
