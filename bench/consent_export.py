"""Benchmark: ``consent export`` at 100,000 / 300,000 / 1,000,000 users: time and peak memory.

Loading a million users into the local tenant's store and having its export
job write them back out costs minutes before anything is measured, so the
export job's FILE is generated instead, in the same wire format (gzip'd
NDJSON, one user per line holding user_id, email, user_metadata and
app_metadata, as a ``format: "json"`` users-export job writes it), and
served over loopback HTTP as the job's pre-signed ``location``. What is
measured is everything ``consent export`` does after the job completes: the
streamed download, gunzip, line splitting, reading each user's ledger
(``ledger.derive_state`` / ``needed`` per purpose, a seed record's migrated
view), and the atomic write of the file. The job itself (create, poll) is
a stub answering "completed" at once.

Users: 20% without consent, 20% with only the seed's user_metadata record
(no ledger yet), 60% with a ledger in app_metadata of 2 to 6 signed events
(a few ledger shapes, reused: events carry no user id). Each size runs in
its own child process; its wall time and peak RSS come from ``os.wait4``.
Targets: peak RSS under 150 MB at every size, and time linear in users
(the per-user cost at 1,000,000 within 1.5x of the one at the smallest
size, judged on the child's CPU time, since wall time on a shared machine
also counts other processes' turns). Prints a fitted per-user cost; the
last line is one JSON object.

    .venv/bin/python bench/consent_export.py [--sizes 100000,300000,1000000]
        [--format csv|ndjson|iso27560]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "deploy"))

TARGET_MB = 150.0
LINEAR_LIMIT = 1.5
TERMS = "2026-11-01"
KEY = b"bench ledger key"


def ledger_shapes() -> list[str]:
    """A few ledgers as JSON text (their events do not name the user, so they are reused)."""
    from auth0_actions.consent import ledger as ledgers

    def at(day: int) -> str:
        return f"2026-11-{day:02d}T09:00:00.000Z"

    def new(purpose: str, decision: ledgers.Decision, day: int, method: str = "page") -> Any:
        return ledgers.NewEvent(
            purpose, decision, TERMS, at(day), method, "a" * 64, "en", "203.0.113.9"
        )

    histories = [
        [new("terms", "given", 1, "signup"), new("marketing", "declined", 1, "signup")],
        [new("terms", "given", 2), new("marketing", "given", 2)],
        [
            new("terms", "given", 1),
            new("marketing", "given", 1),
            new("marketing", "withdrawn", 5, "self-service"),
        ],
        [
            ledgers.NewEvent("terms", "given", "2025-01-01", at(1), "page"),
            new("marketing", "given", 1),
            new("marketing", "withdrawn", 3, "self-service"),
            new("marketing", "given", 4, "self-service"),
            new("terms", "given", 6),
            new("marketing", "withdrawn", 7, "api"),
        ],
    ]
    return [
        json.dumps({"consent_ledger": ledgers.append(None, h, KEY, max_events=40)})
        for h in histories
    ]


def write_export(path: Path, users: int) -> None:
    """The export job's file: gzip'd NDJSON, written as it is generated."""
    shapes = ledger_shapes()
    seed = json.dumps(
        {"consent": {"given": True, "date": "2026-10-01T09:00:00.000Z", "terms_version": TERMS}}
    )
    with gzip.open(path, "wb", compresslevel=1) as out:
        batch: list[str] = []
        for index in range(users):
            kind = index % 5
            head = f'{{"user_id":"auth0|{index:024x}","email":"user{index}@example.com"'
            if kind == 0:
                line = head + ',"user_metadata":{"lang":"de"}}'
            elif kind == 1:
                line = head + f',"user_metadata":{seed}}}'
            else:
                line = head + f',"user_metadata":{{}},"app_metadata":{shapes[index % 4]}}}'
            batch.append(line)
            if len(batch) == 5000:
                out.write(("\n".join(batch) + "\n").encode())
                batch.clear()
        if batch:
            out.write(("\n".join(batch) + "\n").encode())


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The files of ``folder`` over loopback HTTP (the storage host of the pre-signed link)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def child(url: str, out: Path, file_format: str) -> None:
    """Run in the measured process: export_consent against a stub job and the served file."""
    import httpx

    from auth0_actions.config import load_tenant
    from auth0_actions.consent.export import export_consent
    from auth0_actions.consent.texts import text_hashes
    from auth0_actions.tenant_client import ExportJob
    from auth0_actions.tenant_client.jobs import Download

    job = ExportJob("job_bench", "completed", "json", None, None, url, 100, 0, None)

    class StubJobClient:
        """The job endpoints answered at once; the download over real HTTP."""

        def __init__(self) -> None:
            self.http = httpx.Client(timeout=60)

        def create_users_export(self, *_: Any, **__: Any) -> ExportJob:
            return job

        def get_job(self, _: str) -> ExportJob:
            return job

        @contextlib.contextmanager
        def open_download(self, link: str, chunk_bytes: int) -> Iterator[Download]:
            with self.http.stream("GET", link) as response:
                size = response.headers.get("content-length", "")
                yield Download(
                    int(size) if size.isdigit() else None, response.iter_raw(chunk_bytes)
                )

    project = load_tenant(REPO / "tenant.yaml")
    policy = project.environment("local").consent
    texts = text_hashes(project.root, policy) if file_format == "iso27560" else None
    summary = export_consent(StubJobClient(), policy, out, file_format, texts=texts)  # type: ignore[arg-type]
    print(json.dumps(summary.as_json()))


def measure(url: str, out: Path, file_format: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", url, "--out", str(out), "--format", file_format]
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"export failed: {stderr.read().strip()}")
        summary = json.loads(stdout.read().strip().splitlines()[-1])
    return {
        "wall_s": round(wall, 2),
        # CPU time of the exporting process: what linearity is judged on, since
        # wall time on a shared machine also counts other processes' turns.
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "users": summary["users"],
        "bytes": summary["bytes"],
        "sources": summary["sources"],
    }


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares: seconds = fixed + per_user * users."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    per_user = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else 0.0
    return mean_y - per_user * mean_x, per_user


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--format", default="csv", choices=["csv", "ndjson", "iso27560"])
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.out, args.format)
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="consent-export-bench-") as tmp:
        folder = Path(tmp)
        with serve(folder) as base:
            for size in sizes:
                name = f"export-{size}.json.gz"
                started = time.perf_counter()
                write_export(folder / name, size)
                generated = time.perf_counter() - started
                result = measure(f"{base}/{name}", folder / f"out-{size}", args.format)
                (folder / name).unlink()
                (folder / f"out-{size}").unlink()
                results[size] = result
                per_user_us = result["cpu_s"] / size * 1e6
                verdict = "ok" if result["peak_rss_mb"] < TARGET_MB else f"OVER {TARGET_MB:.0f} MB"
                print(
                    f"{size:>9,} users ({args.format}): {result['wall_s']:.1f} s wall, "
                    f"{result['cpu_s']:.1f} s CPU ({per_user_us:.1f} us/user), "
                    f"peak RSS {result['peak_rss_mb']:.1f} MB "
                    f"({verdict}); file generated in {generated:.1f} s"
                )
    fixed, per_user = fit([(size, r["cpu_s"]) for size, r in results.items()])
    smallest, largest = min(sizes), max(sizes)
    ratio = (results[largest]["cpu_s"] / largest) / (results[smallest]["cpu_s"] / smallest)
    linear = ratio <= LINEAR_LIMIT
    print(
        f"fit: {fixed:.2f} s + {per_user * 1e6:.1f} us/user; per-user cost at {largest:,} is "
        f"{ratio:.2f}x the one at {smallest:,} ({'linear' if linear else 'NOT linear'})"
    )
    under = all(r["peak_rss_mb"] < TARGET_MB for r in results.values())
    print(
        json.dumps(
            {
                "format": args.format,
                "sizes": sizes,
                "wall_s": {str(s): r["wall_s"] for s, r in results.items()},
                "cpu_s": {str(s): r["cpu_s"] for s, r in results.items()},
                "peak_rss_mb": {str(s): r["peak_rss_mb"] for s, r in results.items()},
                "exported_users": {str(s): r["users"] for s, r in results.items()},
                "fixed_s": round(fixed, 3),
                "per_user_us": round(per_user * 1e6, 2),
                "per_user_ratio": round(ratio, 3),
                "linear": linear,
                "target_peak_rss_mb": TARGET_MB,
                "under_target": under,
            }
        )
    )
    return 0 if under and linear else 1


if __name__ == "__main__":
    sys.exit(main())
