"""Bulk user export jobs as the tenant keeps them: created, advanced when read, downloaded.

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

The files' rows are :mod:`auth0_actions.emulator.backends.exports`'.
"""

from __future__ import annotations

import gzip
import io
import itertools
import math
import re
import secrets
import string
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from auth0_actions import clock
from auth0_actions.emulator.backends.exports import (
    CSV_MAX_FIELDS,
    FIELDS_MAX,
    connections,
    iter_users,
    write_export,
)
from auth0_actions.emulator.backends.host import BackendHost
from auth0_actions.emulator.http import ApiError, bad_request, not_found, public

_ALNUM = string.ascii_letters + string.digits
_FILE_NAME = re.compile(r"(job_[A-Za-z0-9]{16})\.(json|csv)\.gz")


def _job_id() -> str:
    return "job_" + "".join(secrets.choice(_ALNUM) for _ in range(16))


class JobsBackend:
    """The tenant's export jobs and their files (beside the database, or in memory)."""

    def __init__(self, host: BackendHost) -> None:
        self.host = host
        self.store = host.store
        self._memory: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _export_dir(self) -> Path | None:
        # Beside the tenant's database: .auth0-local/exports for the embedded tenant.
        path = self.store.path
        return path.parent / "exports" if path is not None else None

    def create_export(self, body: Mapping[str, Any], base_url: str) -> dict[str, Any]:
        """A pending users-export job; its file will be linked under ``base_url``."""
        fmt = body.get("format", "json")
        fields = body.get("fields")
        if fields is not None:
            limit_fields = CSV_MAX_FIELDS if fmt == "csv" else FIELDS_MAX
            if len(fields) > limit_fields:
                raise bad_request(
                    f"The export can include at most {limit_fields} fields "
                    f"in {fmt} format ({len(fields)} requested).",
                )
        connection = None
        con_id = body.get("connection_id")
        if con_id is not None:
            connection = connections(self.store).get(con_id)
            if connection is None:
                raise ApiError(404, "The connection does not exist.", "inexistent_connection")
        job: dict[str, Any] = {"type": "users_export", "status": "pending"}
        if con_id is not None:
            job["connection_id"] = con_id
        job["format"] = fmt
        if body.get("limit") is not None:
            job["limit"] = body["limit"]
        if fields is not None:
            job["fields"] = fields
        if connection is not None:
            job["connection"] = connection
        job["created_at"] = clock.iso_utc()
        job["id"] = _job_id()
        job["_started"] = clock.now_s()
        job["_reads"] = 0
        job["_token"] = secrets.token_urlsafe(24)
        job["_base"] = base_url
        with self.store.transaction():
            self.store.put("job", job["id"], job)
        return public(job)

    def _complete(self, job: dict[str, Any]) -> None:
        failures = self.host.export_failures
        if failures:
            # A hook for tests: the next completing job fails, as a real one can.
            job["status"] = "failed"
            job["status_details"] = str(failures.pop(0))
            for key in ("percentage_done", "time_left_seconds"):
                job.pop(key, None)
            return
        users: Iterable[dict[str, Any]] = iter_users(self.store)
        if job.get("connection"):
            users = (
                u
                for u in users
                if any(i.get("connection") == job["connection"] for i in u.get("identities") or [])
            )
        if job.get("limit"):
            users = itertools.islice(users, job["limit"])
        name = f"{job['id']}.{job['format']}.gz"
        folder = self._export_dir()
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
            with self._lock:
                self._memory[name] = buffer.getvalue()
        job["status"] = "completed"
        job["location"] = f"{job['_base'].rstrip('/')}/exports/{job['_token']}/{name}"
        for key in ("percentage_done", "time_left_seconds"):
            job.pop(key, None)

    def get(self, job_id: str) -> dict[str, Any]:
        """The job, moved on lazily: processing at the first read, done when its time is up."""
        with self.store.transaction():
            job = self.store.get("job", job_id)
            if job is None:
                raise not_found("The job does not exist.", "inexistent_job")
            if job["status"] not in ("completed", "failed"):
                duration = float(getattr(self.host.settings, "build_seconds", 0.0) or 0.0)
                elapsed = clock.now_s() - float(job["_started"])
                job["_reads"] = int(job.get("_reads", 0)) + 1
                if job["_reads"] >= 2 and elapsed >= duration:
                    self._complete(job)
                else:
                    job["status"] = "processing"
                    done = 50 if duration <= 0 else int(min(99.0, 100 * elapsed / duration))
                    job["percentage_done"] = done
                    job["time_left_seconds"] = max(1, math.ceil(duration - elapsed))
                self.store.put("job", job["id"], job)
        return public(job)

    def download(self, token: str, name: str) -> bytes:
        """A completed export's file, for the capability token in its link (else a 404)."""
        found = _FILE_NAME.fullmatch(name)
        job = self.store.get("job", found.group(1)) if found else None
        if (
            job is None
            or job.get("status") != "completed"
            or not secrets.compare_digest(str(job.get("_token")), token)
        ):
            raise ApiError(404, "Not Found")
        folder = self._export_dir()
        payload: bytes | None
        if folder is not None and (folder / name).is_file():
            payload = (folder / name).read_bytes()
        else:
            with self._lock:
                payload = self._memory.get(name)
        if payload is None:
            raise ApiError(404, "Not Found")
        return payload
