"""auth0-actions consent export: every user's consent to an NDJSON, CSV or ISO/IEC TS 27560 file."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

import click

from auth0_actions.cli.state import environment_option, output_option, state
from auth0_actions.consent.export import (
    FILE_FORMATS,
    ExportProgress,
    ExportSummary,
    FileFormat,
    export_consent,
)
from auth0_actions.consent.texts import text_hashes
from auth0_actions.environment import open_environment
from auth0_actions.errors import EXIT_OK

REDRAW_S = 0.1  # at most ten progress redraws a second


class ProgressLine:
    """One self-overwriting status line on a terminal's stderr."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = 0.0
        self.width = 0

    def __call__(self, update: ExportProgress) -> None:
        now = time.monotonic()
        if update.phase == "downloading" and now - self.last < REDRAW_S:
            return
        self.last = now
        self.draw(describe(update))

    def draw(self, text: str) -> None:
        pad = " " * max(0, self.width - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self.width = len(text)

    def clear(self) -> None:
        if self.width:
            self.draw("")
            self.stream.write("\r")
            self.stream.flush()


def describe(update: ExportProgress) -> str:
    """The progress line's text for one update."""
    if update.phase == "waiting":
        done = f" {update.percentage_done}%" if update.percentage_done is not None else ""
        left = (
            f", about {update.time_left_seconds} s left"
            if update.time_left_seconds is not None
            else ""
        )
        return f"export job {update.job_id}: preparing{done}{left}"
    size = _size(update.downloaded_bytes)
    if update.total_bytes:
        size += f" of {_size(update.total_bytes)}"
    verb = "downloaded" if update.phase == "done" else "downloading"
    return f"export job {update.job_id}: {verb} {size}, {update.users:,} users"


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} kB"
    return f"{count / (1024 * 1024):.1f} MB"


def summary_text(summary: ExportSummary, env: str) -> str:
    lines = [
        f"{summary.users:,} users exported from the {env} tenant to {summary.path} "
        f"({summary.file_format}, {_size(summary.bytes)}, {summary.seconds:.1f} s)"
    ]
    for purpose, statuses in summary.purposes.items():
        counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        lines.append(f"  {purpose}: {counts}")
    seeds = summary.sources.get("seed-record", 0)
    if seeds:
        lines.append(
            f"  {seeds:,} users have no ledger yet: their seed record in user_metadata was "
            "read as it would be migrated (consent_source seed-record)"
        )
    return "\n".join(lines)


@click.command("export")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FILE_FORMATS),
    required=True,
    help="ndjson: one JSON object per user; csv: a header and one row per user; iso27560: "
    "JSON Lines, one ISO/IEC TS 27560 consent record per user and purpose.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    metavar="FILE",
    help="Where to write; replaced only once the export is complete.",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="PATH",
    help="Also export this user field in ndjson and csv (e.g. created_at, last_login, "
    "identities[0].connection); repeatable.",
)
@environment_option("The environment whose tenant to export (default: local).")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show progress on stderr (default: when stderr is a terminal).",
)
@output_option
def export_command(
    file_format: str, out: Path, fields: tuple[str, ...], env: str, progress: bool | None
) -> int:
    """Export every user's consent record through a users-export job.

    The job's file is streamed from the tenant and written row by row, so
    memory stays flat for any number of users. Consent is read from the
    ledger in app_metadata (a user with only a seed record in user_metadata
    is read as it would be migrated, flagged seed-record). Each ndjson/csv
    row holds user_id, email, any --field, per purpose its status against
    the current version (valid, missing, declined, withdrawn, outdated) and
    latest decision, and the user_metadata mirror; ndjson also the ledger
    whole. iso27560 writes one ISO/IEC TS 27560 consent record per user and
    purpose (header, processing, parties, events). CSV cells a spreadsheet
    would run as a formula (starting with = + - @) get an apostrophe.

    FILE (mode 0600: it holds personal data) appears only when the export is
    complete; on any error it is left as it was and the exit code is 1.
    """
    app = state()
    tenant = app.tenant()
    environment = open_environment(tenant, env)
    chosen: FileFormat = next(f for f in FILE_FORMATS if f == file_format)
    texts = text_hashes(tenant.root, environment.consent) if chosen == "iso27560" else None
    stderr = sys.stderr
    show = stderr.isatty() if progress is None else progress
    line = ProgressLine(stderr) if show else None
    try:
        with environment.tenant_client() as client:
            summary = export_consent(
                client,
                environment.consent,
                out,
                chosen,
                extra_fields=fields,
                texts=texts,
                progress=line,
            )
    finally:
        if line is not None:
            line.clear()
    if app.output == "json":
        click.echo(json.dumps({**summary.as_json(), "environment": env}, indent=2, sort_keys=True))
    else:
        click.echo(summary_text(summary, env))
    return EXIT_OK
