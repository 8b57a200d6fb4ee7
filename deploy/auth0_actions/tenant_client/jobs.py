"""Users-export jobs: start one, follow it, and stream its file from the pre-signed URL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import httpx
import pydantic

from auth0_actions.errors import TenantError
from auth0_actions.tenant_client.transport import Transport, origin_of
from auth0_actions.tenant_client.values import timestamp


@dataclass(frozen=True)
class ExportJob:
    """A users-export job as the tenant reports it (GET /jobs/{id})."""

    id: str
    status: str  # pending | processing | completed | failed
    format: str | None  # json (NDJSON) | csv
    connection_id: str | None
    created_at: str | None
    location: str | None  # the pre-signed download URL, once completed
    percentage_done: int | None
    time_left_seconds: int | None
    status_details: str | None


@dataclass(frozen=True)
class Download:
    """An export file arriving: its size when announced, and its raw bytes in chunks."""

    size: int | None
    chunks: Iterator[bytes]  # raises TenantError (status None) if the connection drops


class JobsApi(Transport):
    """The users-export jobs of one tenant."""

    def create_users_export(
        self,
        fields: Sequence[str | tuple[str, str]],
        *,
        file_format: Literal["json", "csv"] = "json",
        connection_id: str | None = None,
    ) -> ExportJob:
        """Start a users-export job; a field is a name or (name, export_as)."""
        from auth0.management import CreateExportUsersFields

        requested = [
            CreateExportUsersFields(name=f)
            if isinstance(f, str)
            else CreateExportUsersFields(name=f[0], export_as=f[1])
            for f in fields
        ]
        created = self._call(
            "create users export job",
            lambda: self._sdk.jobs.users_exports.create(
                format=file_format,
                fields=requested,
                **({"connection_id": connection_id} if connection_id is not None else {}),
            ),
            idempotent=False,
            not_found=f"no such connection: {connection_id}",
        )
        return _export_job(created)

    def get_job(self, job_id: str) -> ExportJob:
        got = self._call(
            f"get job {job_id}",
            lambda: self._sdk.jobs.get(job_id),
            idempotent=True,
            not_found=f"no such job: {job_id}",
        )
        return _export_job(got)

    @contextlib.contextmanager
    def open_download(self, url: str, chunk_bytes: int = 64 * 1024) -> Iterator[Download]:
        """Stream a job's pre-signed ``location`` as it is: no Authorization header.

        The URL is the credential (the token must not reach the storage host,
        and S3 refuses a second auth mechanism); it goes over this client's
        connections, so the same TLS trust and timeouts apply (AUTH0_CA_BUNDLE,
        the served local tenant's CA). The SDK adds the token per call, never
        to the httpx client itself (and httpx sends cookies only back to the
        host that set them). Bytes come raw: not decoded by Content-Encoding.
        Errors name the origin only, never the URL. An answer other than 200
        is a TenantError with its status; a dropped connection one with None.
        """
        what = f"download from {origin_of(url)}"

        def dropped(exc: httpx.TransportError) -> TenantError:
            return TenantError(f"{what}: no complete answer ({exc.__class__.__name__})")

        try:
            with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise TenantError(
                        f"{what}: HTTP {response.status_code}", status=response.status_code
                    )
                raw_size = response.headers.get("content-length", "")

                def chunks() -> Iterator[bytes]:
                    try:
                        yield from response.iter_raw(chunk_bytes)
                    except httpx.TransportError as exc:
                        raise dropped(exc) from None

                size = int(raw_size) if raw_size.isdigit() else None
                yield Download(size, chunks())
        except httpx.TransportError as exc:
            raise dropped(exc) from None


def _export_job(job: pydantic.BaseModel) -> ExportJob:
    """From the SDK's create or get answer (both pydantic models; read by name)."""

    def text(name: str) -> str | None:
        value = getattr(job, name, None)
        if isinstance(value, datetime):
            return timestamp(value)
        return str(value) if value is not None else None

    def number(name: str) -> int | None:
        value = getattr(job, name, None)
        return int(value) if isinstance(value, (int, float)) else None

    return ExportJob(
        id=text("id") or "",
        status=text("status") or "",
        format=text("format"),
        connection_id=text("connection_id"),
        created_at=text("created_at"),
        location=text("location"),
        percentage_done=number("percentage_done"),
        time_left_seconds=number("time_left_seconds"),
        status_details=text("status_details"),
    )
