"""Bulk user exports: POST /jobs/users-exports, GET /jobs/{id}, and the download.

Shaped as go_TestJobManager_ExportUsers.yaml and docs/reference/management-api.md §3. A job
answers ``status: "pending"`` when created and moves on lazily, when it is
read: the first read finds it ``processing`` (with ``percentage_done`` and
``time_left_seconds``), a later read ``completed`` once the export time
(``settings.build_seconds``, the emulator's one "work takes this long" knob)
has passed. On completion the file is written once, gzip-compressed like
Auth0's: NDJSON for ``format: "json"``, a header row plus one row per user
for ``"csv"``. ``location`` points at the emulator itself,
``{base}/exports/{token}/{job_id}.{json|csv}.gz``; that route needs no bearer
token, the random token in the path is the capability (as Auth0's pre-signed
download URLs are), and like S3 it refuses a request that also carries an
``Authorization`` header (400), so a client leaking its token there fails.

The file is written streaming: users are read from SQLite in batches and
gzip-compressed as they go into a temp file that is renamed when complete
(in memory only for an emulator without a state directory), so a 100,000-user
export costs the emulator a few MB, not the tenant times two.

Tests make the next completing job fail (``status: "failed"`` with
``status_details``) by appending a message to ``app.export_failures``.

Field names may be paths (``user_metadata.consent.given``,
``identities[0].connection``); the output column/key is ``export_as`` or the
name. JSON exports without ``fields`` carry the whole user; CSV exports
without ``fields`` carry a fixed set of root fields (metadata must be listed,
at most 30 fields).
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import math
import re
import secrets
import string
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.context import EmulatorApp
from auth0_actions.emulator.http import ApiError, Request, Response, bad_request, not_found, public
from auth0_actions.emulator.users_backend import DEFAULT_CONNECTION, connection_id
from auth0_actions.emulator.users_query import value_at

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
_ALNUM = string.ascii_letters + string.digits


def _job_id() -> str:
    return "job_" + "".join(secrets.choice(_ALNUM) for _ in range(16))


def _connections(store: Any) -> dict[str, str]:
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


def _iter_users(store: Any) -> Iterator[dict[str, Any]]:
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


def register(app: EmulatorApp) -> None:
    store = app.store
    memory: dict[str, bytes] = {}
    lock = threading.Lock()

    def export_dir() -> Path | None:
        # Beside the tenant's database: .auth0-local/exports for the embedded tenant.
        return store.path.parent / "exports" if store.path is not None else None

    def shaped(job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def create(request: Request) -> Response:
        body = request.json_object()
        extra = sorted(k for k in body if k not in ("connection_id", "format", "limit", "fields"))
        if extra:
            raise bad_request(
                f"Payload validation error: 'Additional properties not allowed: {extra[0]}'."
            )
        fmt = body.get("format", "json")
        if fmt not in ("json", "csv"):
            raise bad_request(
                "Payload validation error: 'No enum match for: "
                f"{json.dumps(fmt)}' on property format."
            )
        limit = body.get("limit")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise bad_request(
                "Payload validation error: 'Expected type integer, minimum 1' on property limit."
            )
        fields = body.get("fields")
        if fields is not None:
            if not isinstance(fields, list):
                raise bad_request(
                    "Payload validation error: 'Expected type array but found type "
                    f"{type(fields).__name__}' on property fields."
                )
            for index, field in enumerate(fields):
                if not isinstance(field, dict) or not isinstance(field.get("name"), str):
                    raise bad_request(
                        "Payload validation error: 'Missing required property: name' on "
                        f"property fields[{index}]."
                    )
                unknown = sorted(k for k in field if k not in ("name", "export_as"))
                if unknown:
                    raise bad_request(
                        "Payload validation error: 'Additional properties not allowed: "
                        f"{unknown[0]}' on property fields[{index}]."
                    )
                for key in ("name", "export_as"):
                    value = field.get(key)
                    if key in field and (not isinstance(value, str) or len(value) > 100):
                        raise bad_request(
                            "Payload validation error: 'String is too long (max 100)' on "
                            f"property fields[{index}].{key}."
                        )
            limit_fields = CSV_MAX_FIELDS if fmt == "csv" else FIELDS_MAX
            if len(fields) > limit_fields:
                raise bad_request(
                    f"The export can include at most {limit_fields} fields "
                    f"in {fmt} format ({len(fields)} requested).",
                )
        connection = None
        con_id = body.get("connection_id")
        if con_id is not None:
            if not isinstance(con_id, str) or not re.fullmatch(r"con_[A-Za-z0-9]{16}", con_id):
                raise bad_request(
                    "Payload validation error: 'String does not match pattern "
                    "^con_[A-Za-z0-9]{16}$' on property connection_id."
                )
            connection = _connections(store).get(con_id)
            if connection is None:
                raise ApiError(404, "The connection does not exist.", "inexistent_connection")
        job: dict[str, Any] = {"type": "users_export", "status": "pending"}
        if con_id is not None:
            job["connection_id"] = con_id
        job["format"] = fmt
        if limit is not None:
            job["limit"] = limit
        if fields is not None:
            job["fields"] = fields
        if connection is not None:
            job["connection"] = connection
        job["created_at"] = clock.iso_utc()
        job["id"] = _job_id()
        job["_started"] = clock.now_s()
        job["_reads"] = 0
        job["_token"] = secrets.token_urlsafe(24)
        host = request.headers.get("host") or "127.0.0.1"
        job["_base"] = app.public_base_url or f"http://{host}"
        with store.transaction():
            store.put("job", job["id"], job)
        return Response(200, shaped(job))

    def complete(job: dict[str, Any]) -> None:
        failures = app.export_failures
        if failures:
            # A hook for tests: the next completing job fails, as a real one can.
            job["status"] = "failed"
            job["status_details"] = str(failures.pop(0))
            for key in ("percentage_done", "time_left_seconds"):
                job.pop(key, None)
            return
        users: Iterable[dict[str, Any]] = _iter_users(store)
        if job.get("connection"):
            users = (
                u
                for u in users
                if any(i.get("connection") == job["connection"] for i in u.get("identities") or [])
            )
        if job.get("limit"):
            users = itertools.islice(users, job["limit"])
        name = f"{job['id']}.{job['format']}.gz"
        folder = export_dir()
        if folder is not None:
            # Streamed to a temp file and renamed: the file is complete or absent.
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{name}.partial"
            with (
                partial.open("wb") as raw,
                gzip.GzipFile(
                    filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6
                ) as packed,
            ):
                write_export(users, job, packed)
            partial.replace(folder / name)
        else:
            buffer = io.BytesIO()
            with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as packed:
                write_export(users, job, packed)
            with lock:
                memory[name] = buffer.getvalue()
        job["status"] = "completed"
        job["location"] = f"{job['_base'].rstrip('/')}/exports/{job['_token']}/{name}"
        for key in ("percentage_done", "time_left_seconds"):
            job.pop(key, None)

    def get(request: Request) -> Response:
        with store.transaction():
            job = store.get("job", request.params["id"])
            if job is None:
                raise not_found("The job does not exist.", "inexistent_job")
            if job["status"] not in ("completed", "failed"):
                duration = float(getattr(app.settings, "build_seconds", 0.0) or 0.0)
                elapsed = clock.now_s() - float(job["_started"])
                job["_reads"] = int(job.get("_reads", 0)) + 1
                if job["_reads"] >= 2 and elapsed >= duration:
                    complete(job)
                else:
                    job["status"] = "processing"
                    done = 50 if duration <= 0 else int(min(99.0, 100 * elapsed / duration))
                    job["percentage_done"] = done
                    job["time_left_seconds"] = max(1, math.ceil(duration - elapsed))
                store.put("job", job["id"], job)
        return Response(200, shaped(job))

    def download(request: Request) -> Response:
        if "authorization" in request.headers:
            # As S3 answers a pre-signed URL that also carries a bearer token:
            # the link is the credential, a second one is refused.
            raise ApiError(
                400,
                "Only one auth mechanism allowed; the pre-signed URL already authorizes "
                "this request, do not send an Authorization header",
                "invalid_argument",
            )
        name = request.params["name"]
        found = re.fullmatch(r"(job_[A-Za-z0-9]{16})\.(json|csv)\.gz", name)
        job = store.get("job", found.group(1)) if found else None
        if (
            job is None
            or job.get("status") != "completed"
            or not secrets.compare_digest(str(job.get("_token")), request.params["token"])
        ):
            raise ApiError(404, "Not Found")
        folder = export_dir()
        payload: bytes | None
        if folder is not None and (folder / name).is_file():
            payload = (folder / name).read_bytes()
        else:
            with lock:
                payload = memory.get(name)
        if payload is None:
            raise ApiError(404, "Not Found")
        return Response(
            200,
            payload,
            headers={"content-disposition": f'attachment; filename="{name}"'},
            content_type="application/gzip",
        )

    app.router.add("POST", "/api/v2/jobs/users-exports", create, scopes=("read:users",))
    app.router.add("GET", "/api/v2/jobs/{id}", get, scopes=("create:users", "read:users"))
    app.router.add("GET", "/exports/{token}/{name}", download)
