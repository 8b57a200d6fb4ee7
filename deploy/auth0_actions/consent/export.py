"""Stream every user of a tenant out of a users-export job, one dict at a time.

:func:`iter_exported_users` is the engine of ``consent export`` and of the
export fallback of ``consent audit``:

1. create an NDJSON (``format: "json"``) users-export job for the fields
   asked for (docs/reference/management-api.md §3);
2. poll ``GET /jobs/{id}`` with a growing interval until it is
   ``completed`` (or ``failed``), reporting ``percentage_done``;
3. download the file from the job's ``location`` and yield one user per line.

Memory stays flat however many users the tenant has: the download is read in
chunks, gunzipped incrementally and cut into lines as it arrives; only the
current chunk and the line being assembled are held, never the file or the
list of users. A consumer that writes each user out as it comes keeps the
whole export at a few MB.

The download URL is pre-signed (Auth0 hands out a storage link whose query
string or path is the capability), so it is fetched by
:meth:`TenantClient.open_download` without an Authorization header: the
Management API token must not leak to the storage host, and S3 refuses a
second auth mechanism anyway. It must be https, or http on loopback (the
local tenant). The URL itself is never shown in messages, only its origin,
since whoever has it can fetch every user. A download that fails before the
first user was handed out (dropped connection, 5xx) is tried again, up to
three times; one that breaks off later is an error, never a silent gap.
"""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol
from urllib.parse import urlsplit

from auth0_actions.clock import iso_utc
from auth0_actions.config.model import ConsentPolicy
from auth0_actions.consent.export_rows import ConsentRows
from auth0_actions.consent.iso27560 import Iso27560Rows
from auth0_actions.consent.record import STATUSES, Status
from auth0_actions.consent.user_view import SOURCES
from auth0_actions.errors import Auth0ActionsError, TenantError
from auth0_actions.files import atomic_binary
from auth0_actions.network import is_loopback_host
from auth0_actions.tenant_client import ExportJob, TenantClient

POLL_FIRST_S = 0.25  # the first look: small exports finish almost at once
POLL_FACTOR = 2.0
POLL_MAX_S = 10.0  # Management API rate limits are per second; a big export takes minutes
JOB_TIMEOUT_S = 3600.0
CHUNK_BYTES = 64 * 1024
MAX_LINE_BYTES = 32 * 1024 * 1024  # a user is at most 2 x 16 MB of metadata, in practice KBs
DOWNLOAD_ATTEMPTS = 3  # retried only while nothing has been handed to the caller yet
_GZIP_MAGIC = b"\x1f\x8b"


class ExportError(Auth0ActionsError):
    """The export job failed, timed out, or its file could not be downloaded or read."""


@dataclass(frozen=True)
class ExportProgress:
    """Where an export stands, for a progress display."""

    phase: Literal["waiting", "downloading", "done"]
    job_id: str
    percentage_done: int | None = None  # the job's, while waiting
    time_left_seconds: int | None = None
    downloaded_bytes: int = 0  # compressed bytes received
    total_bytes: int | None = None  # from Content-Length, when sent
    users: int = 0


Progress = Callable[[ExportProgress], None]


def iter_exported_users(
    client: TenantClient,
    fields: Sequence[str],
    *,
    progress: Progress | None = None,
    connection_id: str | None = None,
    timeout_s: float = JOB_TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[dict[str, Any]]:
    """Each exported user as a dict holding ``fields`` (paths such as ``user_metadata``).

    Raises :class:`ExportError` when the job fails or does not finish within
    ``timeout_s``, or when the download breaks off; TenantError for API errors.
    Nothing is requested until the iterator is first advanced.
    """
    last: list[ExportProgress] = []

    def report(update: ExportProgress) -> None:
        last[:] = [update]
        if progress is not None:
            progress(update)

    job = client.create_users_export(list(fields), file_format="json", connection_id=connection_id)
    job = wait_for_job(client, job, report=report, timeout_s=timeout_s, sleep=sleep, clock=clock)
    if not job.location:
        raise ExportError(f"export job {job.id} completed without a download location")
    users = 0
    for user in _download_lines(client, job, report, sleep):
        users += 1
        yield user
    received = last[0] if last and last[0].phase == "downloading" else None
    report(
        ExportProgress(
            "done",
            job.id,
            100,
            0,
            received.downloaded_bytes if received else 0,
            received.total_bytes if received else None,
            users,
        )
    )


def wait_for_job(
    client: TenantClient,
    job: ExportJob,
    *,
    report: Progress,
    timeout_s: float = JOB_TIMEOUT_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ExportJob:
    """Poll until the job is completed; backoff from POLL_FIRST_S doubling to POLL_MAX_S."""
    deadline = clock() + timeout_s
    wait = POLL_FIRST_S
    while True:
        if job.status == "completed":
            return job
        if job.status == "failed":
            detail = f": {job.status_details}" if job.status_details else ""
            raise ExportError(f"export job {job.id} failed{detail}")
        report(ExportProgress("waiting", job.id, job.percentage_done, job.time_left_seconds))
        if clock() + wait > deadline:
            raise ExportError(
                f"export job {job.id} did not finish within {timeout_s:.0f} s "
                f"(last status: {job.status or 'unknown'}"
                + (f", {job.percentage_done}% done" if job.percentage_done is not None else "")
                + ")"
            )
        sleep(wait)
        wait = min(wait * POLL_FACTOR, POLL_MAX_S)
        job = client.get_job(job.id)


def download_origin(url: str) -> str:
    """What a message may say about a pre-signed URL: its origin only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "<download URL>"


def check_download_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname or ""):
        return
    raise ExportError(
        f"refusing to download the export from {download_origin(url)}: "
        "the URL must be https (or http on loopback)"
    )


def _download_lines(
    client: TenantClient, job: ExportJob, report: Progress, sleep: Callable[[float], None]
) -> Iterator[dict[str, Any]]:
    url = job.location or ""
    check_download_url(url)
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        started = False  # has any user been handed out?
        try:
            for user in _stream(client, url, job.id, report):
                started = True
                yield user
            return
        except TenantError as exc:
            retryable = exc.status is None or exc.status >= 500
            if started or not retryable or attempt == DOWNLOAD_ATTEMPTS:
                hint = ""
                if started:
                    hint = ": the file was only partly read"
                elif exc.status == 403:
                    hint = " (the link may have expired; run the export again)"
                raise ExportError(f"export {job.id}: {exc.message}{hint}") from None
        sleep(0.5 * 2 ** (attempt - 1))


def _stream(
    client: TenantClient, url: str, job_id: str, report: Progress
) -> Iterator[dict[str, Any]]:
    with client.open_download(url, CHUNK_BYTES) as download:
        lines = _LineAssembler(job_id)
        received = users = 0
        for chunk in download.chunks:
            received += len(chunk)
            for user in lines.feed(chunk):
                users += 1
                yield user
            report(ExportProgress("downloading", job_id, 100, 0, received, download.size, users))
        yield from lines.finish()


class _LineAssembler:
    """Compressed bytes in, one parsed JSON object per NDJSON line out.

    Handles gzip made of several members (concatenated files are valid gzip)
    and a body that arrives already uncompressed (served with
    ``Content-Encoding: gzip`` and decoded on the way, or never compressed).
    """

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.mode: Literal["unknown", "gzip", "plain"] = "unknown"
        self.inflater = zlib.decompressobj(wbits=31)
        self.pending = bytearray()  # the line being assembled
        self.head = b""
        self.line_number = 0

    def feed(self, chunk: bytes) -> Iterator[dict[str, Any]]:
        if self.mode == "unknown":
            self.head += chunk
            if len(self.head) < len(_GZIP_MAGIC):
                return
            self.mode = "gzip" if self.head.startswith(_GZIP_MAGIC) else "plain"
            chunk, self.head = self.head, b""
        yield from self._lines(self._inflate(chunk) if self.mode == "gzip" else chunk)

    def finish(self) -> Iterator[dict[str, Any]]:
        if self.mode == "unknown" and self.head:
            self.mode = "plain"
            yield from self._lines(self.head)
        if self.mode == "gzip":
            yield from self._lines(self.inflater.flush())
            if not self.inflater.eof:
                raise ExportError(f"export {self.job_id}: the file is truncated (gzip incomplete)")
        if self.pending.strip():
            yield self._parse(bytes(self.pending))
        self.pending.clear()

    def _inflate(self, data: bytes) -> bytes:
        out = bytearray()
        while data:
            try:
                out += self.inflater.decompress(data)
            except zlib.error:
                raise ExportError(f"export {self.job_id}: the file is not valid gzip") from None
            data = self.inflater.unused_data
            if data:  # the next gzip member
                self.inflater = zlib.decompressobj(wbits=31)
        return bytes(out)

    def _lines(self, data: bytes) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self.pending += data[start:end]
            start = end + 1
            line = bytes(self.pending)
            self.pending.clear()
            if line.strip():
                yield self._parse(line)
            else:
                self.line_number += 1
        self.pending += data[start:]
        if len(self.pending) > MAX_LINE_BYTES:
            raise ExportError(
                f"export {self.job_id}: line {self.line_number + 1} is longer than "
                f"{MAX_LINE_BYTES // (1024 * 1024)} MB; not an NDJSON export"
            )

    def _parse(self, line: bytes) -> dict[str, Any]:
        self.line_number += 1
        try:
            value = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise ExportError(
                f"export {self.job_id}: line {self.line_number} is not valid JSON"
            ) from None
        if not isinstance(value, dict):
            raise ExportError(f"export {self.job_id}: line {self.line_number} is not a JSON object")
        return value


# -- consent export: one row per user, written atomically -------------------------------
# What the export job is asked for. The job is always NDJSON (format "json"),
# whatever file the user wants, with user_metadata and app_metadata requested
# WHOLE:
# * Auth0 documents that a JSON export can carry metadata whole, while a CSV
#   export needs every metadata leaf listed (at most 30 fields) and renders
#   nested values its own way; the columns would then depend on the layout
#   and on Auth0's cell formatting.
# * Which output key a path field (``app_metadata.consent_ledger``) gets in a
#   JSON export is not documented (the emulator uses the name as a flat key);
#   a root field comes back under its own name everywhere.
# * The ledger is then read as the Actions read it (consent/user_view.py) and
#   the file is written here, with our quoting and formula neutralising.
# The price is downloading unrelated metadata keys too; the download is
# streamed, so it costs bandwidth, not memory, and only the consent keys are
# written out.
FileFormat = Literal["ndjson", "csv", "iso27560"]
FILE_FORMATS: tuple[FileFormat, ...] = ("ndjson", "csv", "iso27560")


class Rows(Protocol):
    """What turns exported users into a file's bytes (export_rows, iso27560)."""

    @property
    def job_fields(self) -> list[str]: ...

    def header(self) -> bytes: ...

    def rows(self, user: Mapping[str, Any]) -> tuple[bytes, dict[str, Status], str]: ...


@dataclass
class ExportSummary:
    """What an export wrote."""

    path: Path
    file_format: FileFormat
    record_purpose: str = ""
    users: int = 0
    records: int = 0  # lines written (iso27560: one per user and purpose)
    bytes: int = 0
    seconds: float = 0.0
    job_id: str | None = None
    # purpose -> status -> users
    purposes: dict[str, Counter[str]] = field(default_factory=dict)
    sources: Counter[str] = field(default_factory=Counter)

    @property
    def statuses(self) -> Counter[str]:
        """The record purpose's statuses (what ``consent_status`` and ``consent.status`` say)."""
        return self.purposes.get(self.record_purpose, Counter())

    def count(self, statuses: Mapping[str, str], source: str) -> None:
        self.users += 1
        self.sources[source] += 1
        for purpose, status in statuses.items():
            self.purposes.setdefault(purpose, Counter())[status] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "file": str(self.path),
            "format": self.file_format,
            "users": self.users,
            "records": self.records,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "job_id": self.job_id,
            "statuses": {s: self.statuses.get(s, 0) for s in STATUSES},
            "purposes": {
                purpose: {s: counts.get(s, 0) for s in STATUSES}
                for purpose, counts in self.purposes.items()
            },
            "sources": {s: self.sources.get(s, 0) for s in SOURCES},
        }


def rows_for(
    policy: ConsentPolicy,
    file_format: FileFormat,
    *,
    extra_fields: Sequence[str] = (),
    texts: Mapping[str, Mapping[str, str]] | None = None,
    now: str,
) -> Rows:
    """The row writer of one format (``texts``: purpose -> language -> sha256, iso27560)."""
    if file_format == "iso27560":
        return Iso27560Rows(policy, texts or {}, now=now)
    return ConsentRows(policy, file_format, extra_fields, now=now)


def export_consent(
    client: TenantClient,
    policy: ConsentPolicy,
    path: Path,
    file_format: FileFormat,
    *,
    extra_fields: Sequence[str] = (),
    texts: Mapping[str, Mapping[str, str]] | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: str | None = None,
) -> ExportSummary:
    """Export every user's consent record to ``path``: all of it, or nothing.

    The file is written to a temp file next to ``path`` (mode 0600: it holds
    personal data) and renamed over it only when the export is complete; on
    any error the temp file is removed and ``path`` is left as it was.
    """
    started = clock()
    rows = rows_for(
        policy, file_format, extra_fields=extra_fields, texts=texts, now=now or iso_utc()
    )
    summary = ExportSummary(path, file_format, record_purpose=policy.record_purpose.id)
    per_user = len(policy.purposes) if file_format == "iso27560" else 1

    def track(update: ExportProgress) -> None:
        summary.job_id = update.job_id
        if progress is not None:
            progress(update)

    with atomic_output(path) as out:
        written = out.write(rows.header())
        for user in iter_exported_users(client, rows.job_fields, progress=track):
            line, statuses, source = rows.rows(user)
            written += out.write(line)
            summary.count(statuses, source)
            summary.records += per_user
    summary.bytes = written
    summary.seconds = clock() - started
    return summary


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[IO[bytes]]:
    """A buffered binary file that appears at ``path`` only if the block succeeds."""
    if path.is_dir():
        raise ExportError(f"{path}: is a directory; --out needs a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"{path}: directory {folder} does not exist")
    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(atomic_binary(path, private=True))
        except OSError as exc:
            raise ExportError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
        yield handle
