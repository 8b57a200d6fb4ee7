"""Benchmark: ``consent export`` of 100,000 users, wall time and peak memory.

In a throwaway copy of the project:

1. seeds ``--users`` users (default 100,000) straight into the local
   tenant's SQLite store, one transaction, no password hashes: a fifth each
   with a valid, missing, declined, withdrawn and outdated consent record,
   plus a few unrelated metadata keys as real tenants have;
2. serves the local tenant with ``auth0-actions emulator serve`` in its own
   process;
3. runs ``auth0-actions consent export --format csv`` and then
   ``--format ndjson`` against it, each as a child process
   (``AUTH0_DOMAIN`` points the local environment at the served tenant),
   and measures its wall time and peak RSS (``os.wait4``'s rusage of that
   one child, so the figures of one run never mix with another's).

The target is a peak RSS under 150 MB for the exporting process. The
emulator's own peak (VmHWM) is reported too. The last line printed is one
JSON object with every figure.

    .venv/bin/python bench/consent_export.py [--users 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_MB = 150.0
DB = "Username-Password-Authentication"
TERMS = "2026-11-01"  # tenant.yaml's terms_version


def copy_project(root: Path) -> None:
    shutil.copy(REPO / "tenant.yaml", root / "tenant.yaml")
    shutil.copytree(REPO / "rules_templates", root / "rules_templates")
    if (REPO / "actions").is_dir():
        shutil.copytree(REPO / "actions", root / "actions")


def consent(index: int) -> dict[str, Any] | None:
    kind = index % 5
    if kind == 1:
        return None
    record: dict[str, Any] = {
        "given": kind in (0, 4),
        "date": "2026-11-02T09:00:00.000Z",
        "terms_version": TERMS if kind != 4 else "2025-01-01",
        "text_details": f"https://example.com/legal/terms/{TERMS}",
        "method": "redirect",
        "ip": f"203.0.113.{index % 250}",
    }
    if kind == 3:
        record["withdrawn_at"] = "2026-11-03T12:00:00.000Z"
        record["withdrawn_reason"] = "asked by email, ticket #" + str(index)
    return record


def user_document(index: int) -> dict[str, Any]:
    """A user as the emulator's users endpoints keep it."""
    local_id = f"{index:024x}"
    email = f"user{index:06d}@example.com"
    metadata: dict[str, Any] = {"lang": "de", "newsletter": index % 3 == 0, "theme": "dark"}
    record = consent(index)
    if record is not None:
        metadata["consent"] = record
    return {
        "user_id": f"auth0|{local_id}",
        "email": email,
        "email_verified": True,
        "name": f"User {index}, Example",
        "nickname": f"user{index:06d}",
        "picture": "https://s.gravatar.com/avatar/0?s=480&r=pg",
        "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "identities": [
            {"connection": DB, "provider": "auth0", "user_id": local_id, "isSocial": False}
        ],
        "logins_count": index % 17,
        "user_metadata": metadata,
    }


def seed(project: Path, count: int) -> float:
    """Write the users into the local tenant's store; returns seconds taken."""
    sys.path.insert(0, str(REPO))
    from auth0_actions.emulator.store import Store
    from auth0_actions.emulator.tenant import DATABASE_FILE
    from auth0_actions.secrets import LOCAL_STATE_DIR

    started = time.perf_counter()
    store = Store(project / LOCAL_STATE_DIR / DATABASE_FILE)
    try:
        with store.transaction():
            # The store's put() reads MAX(seq) per document; a bulk insert with
            # consecutive seq numbers gives the same table in a fraction of the time.
            store._db.executemany(
                "INSERT INTO docs (kind, id, seq, body) VALUES ('user', ?, ?, ?)",
                (
                    (doc["user_id"], index + 1, json.dumps(doc, separators=(",", ":")))
                    for index, doc in ((i, user_document(i)) for i in range(count))
                ),
            )
    finally:
        store.close()
    return time.perf_counter() - started


def serve(project: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "auth0_actions", "emulator", "serve", "--output", "json"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if process.stdout is None:
        raise SystemExit("emulator serve: no stdout")
    # The JSON document is printed whole once the server listens.
    text = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            _, err = process.communicate(timeout=5)
            raise SystemExit(f"emulator serve did not start: {err}")
        text += line
        if line.rstrip() == "}":
            return process, str(json.loads(text)["base_url"])
    raise SystemExit("emulator serve did not start within 60 s")


def export(project: Path, base_url: str, file_format: str) -> dict[str, Any]:
    """Run one export as a child process; its wall time, peak RSS and summary."""
    out = project / f"consent.{file_format}"
    report = project / f"summary-{file_format}.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "AUTH0_DOMAIN": base_url}
    for name in ("AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"):
        env.pop(name, None)  # the served tenant's credentials.json supplies them
    command = [sys.executable, "-m", "auth0_actions", "consent", "export"]
    command += ["--format", file_format, "--out", str(out), "--output", "json"]
    with report.open("w") as stdout, tempfile.TemporaryFile("w+") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=project, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        errors = stderr.read()
    if child.returncode != 0:
        raise SystemExit(f"consent export --format {file_format} failed: {errors.strip()}")
    summary = json.loads(report.read_text())
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        "bytes": out.stat().st_size,
        "users": summary["users"],
        "statuses": summary["statuses"],
    }


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="consent-export-bench-") as tmp:
        project = Path(tmp)
        copy_project(project)
        seeded_s = seed(project, args.users)
        print(f"seeded {args.users:,} users in {seeded_s:.1f} s")
        server, base_url = serve(project)
        try:
            results = {fmt: export(project, base_url, fmt) for fmt in ("csv", "ndjson")}
            emulator_mb = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.communicate(timeout=30)

    for fmt, result in results.items():
        verdict = "ok" if result["peak_rss_mb"] < TARGET_MB else f"OVER {TARGET_MB:.0f} MB"
        print(
            f"consent export --format {fmt}: {result['users']:,} users, "
            f"{result['bytes'] / 1e6:.1f} MB written in {result['wall_s']:.1f} s, "
            f"peak RSS {result['peak_rss_mb']:.1f} MB ({verdict})"
        )
        if result["users"] != args.users:
            print(f"  expected {args.users:,} users")
    if emulator_mb is not None:
        print(f"emulator serve (job + download for both): peak RSS {emulator_mb:.1f} MB")
    figures = {
        "users": args.users,
        "seed_s": round(seeded_s, 2),
        "wall_s": {fmt: r["wall_s"] for fmt, r in results.items()},
        "peak_rss_mb": {fmt: r["peak_rss_mb"] for fmt, r in results.items()},
        "file_bytes": {fmt: r["bytes"] for fmt, r in results.items()},
        "exported_users": {fmt: r["users"] for fmt, r in results.items()},
        "emulator_peak_rss_mb": emulator_mb,
        "target_peak_rss_mb": TARGET_MB,
        "under_target": all(r["peak_rss_mb"] < TARGET_MB for r in results.values()),
    }
    print(json.dumps(figures))
    return 0 if figures["under_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
