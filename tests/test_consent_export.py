"""consent export: against the embedded local tenant over real HTTP.

Users are seeded straight into the local tenant's store; the CLI then runs a
real users-export job, polls it and downloads the gzip the emulator serves.
The emulator refuses a download carrying an Authorization header (as S3 does
for a pre-signed URL), so a 200 for the download in its request log shows the
token was not sent.
"""

from __future__ import annotations

import csv
import gzip
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth0_actions.consent.export import ExportError, _LineAssembler
from auth0_actions.consent.export_rows import csv_cell
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.faults import Fault
from auth0_actions.emulator.tenant import LocalTenant

DB = "Username-Password-Authentication"
TERMS = "2026-11-01"  # the scaffold's version of both purposes
PURPOSE_COLUMNS = [
    f"{purpose}.{column}"
    for purpose in ("terms", "marketing")
    for column in ("status", "given", "version", "event", "at", "method", "text_sha256")
]
CONSENT_COLUMNS = [
    "consent.status",
    "consent.given",
    "consent.date",
    "consent.terms_version",
    "consent.text_url",
    "consent.method",
    "consent.ip",
    "consent.withdrawn_at",
    "consent.withdrawn_reason",
]
DOWNLOAD = r"^/exports/"


def nested(**record: Any) -> dict[str, Any]:
    return {"consent": record, "lang": "de"}


def root(**record: Any) -> dict[str, Any]:
    names = {
        "given": "consentGiven",
        "date": "consentDate",
        "terms_version": "consentTermsVersion",
        "text_details": "consentTextUrl",
        "method": "consentMethod",
        "ip": "consentIp",
        "withdrawn_at": "consentWithdrawnAt",
        "withdrawn_reason": "consentWithdrawnReason",
    }
    return {**{names[k]: v for k, v in record.items()}, "lang": "de"}


def people(shape: Callable[..., dict[str, Any]]) -> list[dict[str, Any]]:
    """One user per status, plus values that test CSV quoting and formula neutralising."""
    return [
        {
            "email": "valid@example.com",
            "user_metadata": shape(
                given=True,
                date="2026-11-02T09:00:00.000Z",
                terms_version=TERMS,
                text_details="https://example.com/legal/terms/2026-11-01",
                method="redirect",
                ip="203.0.113.7",
            ),
        },
        {"email": "none@example.com", "user_metadata": {"lang": "fr"}},
        {"email": "bare@example.com"},
        {
            "email": "withdrawn@example.com",
            "user_metadata": shape(
                given=False,
                date="2026-10-01T09:00:00.000Z",
                terms_version=TERMS,
                method="api",
                withdrawn_at="2026-11-03T12:00:00.000Z",
                withdrawn_reason='moved away, "for good"\nsecond line',
            ),
        },
        {
            "email": "declined@example.com",
            "user_metadata": shape(given=False, date="2026-11-02T09:00:00.000Z", method="signup"),
        },
        {
            "email": "old@example.com",
            "user_metadata": shape(
                given=True,
                date="2025-01-01T00:00:00.000Z",
                terms_version="=cmd|' /C calc'!A0",
                method="@SUM(1+1)",
            ),
        },
    ]


def seed(project: Path, users: list[dict[str, Any]]) -> None:
    with LocalTenant.open(project, serve=False) as tenant:
        tenant.seed([{"connection": DB, **user} for user in users])


def use_root_layout(project: Path) -> None:
    config = project / "tenant.yaml"
    text = config.read_text(encoding="utf-8")
    assert "    layout: nested" in text
    config.write_text(text.replace("    layout: nested", "    layout: root"), encoding="utf-8")


@pytest.fixture
def hooks() -> list[Callable[[Emulator], None]]:
    """Callbacks run on each emulator the CLI starts (faults, a failing job, ...)."""
    return []


@pytest.fixture
def apps(
    project: Path, monkeypatch: pytest.MonkeyPatch, hooks: list[Callable[[Emulator], None]]
) -> list[Emulator]:
    """Every emulator the embedded local tenant starts, in order."""
    started: list[Emulator] = []
    original = LocalTenant.__init__

    def init(self: LocalTenant, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for prepare in hooks:
            prepare(self.app)
        started.append(self.app)

    monkeypatch.setattr(LocalTenant, "__init__", init)
    return started


def leftovers(folder: Path) -> list[str]:
    """Temporary files of an interrupted write (hidden, beside the target)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.suffix == ".tmp")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- the files ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["nested", "root"])
def test_ndjson_holds_each_users_record_and_status(
    project: Path, cli: Any, apps: list[Emulator], layout: str
) -> None:
    if layout == "root":
        use_root_layout(project)
    seed(project, people(root if layout == "root" else nested))
    out = project / "consent.ndjson"

    run = cli("consent", "export", "--format", "ndjson", "--out", str(out))

    assert run.code == 0, run.err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_email = {row["email"]: row for row in rows}
    assert len(rows) == 6
    assert by_email["valid@example.com"]["consent_status"] == "valid"
    assert by_email["valid@example.com"]["consent"] == {
        "given": True,
        "date": "2026-11-02T09:00:00.000Z",
        "terms_version": TERMS,
        "text_url": "https://example.com/legal/terms/2026-11-01",
        "method": "redirect",
        "ip": "203.0.113.7",
        "withdrawn_at": None,
        "withdrawn_reason": None,
    }
    undecided = dict.fromkeys(("given", "version", "event", "at", "method", "text_sha256"))
    assert by_email["none@example.com"] == {
        "user_id": by_email["none@example.com"]["user_id"],
        "email": "none@example.com",
        "consent_status": "missing",
        "consent_source": "none",
        "purposes": {
            "terms": {"status": "missing", **undecided},
            "marketing": {"status": "missing", **undecided},
        },
        "consent": None,
        "ledger": None,
    }
    # A seed record without a ledger is read as it would be migrated, and flagged.
    valid = by_email["valid@example.com"]
    assert valid["consent_source"] == "seed-record"
    assert valid["ledger"] is None
    assert valid["purposes"]["terms"] == {
        "status": "valid",
        "given": True,
        "version": TERMS,
        "event": "given",
        "at": "2026-11-02T09:00:00.000Z",
        "method": "migrated",
        "text_sha256": None,
    }
    assert valid["purposes"]["marketing"]["status"] == "missing"
    assert by_email["bare@example.com"]["consent"] is None
    withdrawn = by_email["withdrawn@example.com"]
    assert withdrawn["consent_status"] == "withdrawn"
    assert withdrawn["consent"]["withdrawn_reason"] == 'moved away, "for good"\nsecond line'
    assert by_email["declined@example.com"]["consent_status"] == "declined"
    # NDJSON is the lossless format: nothing is neutralised there.
    assert by_email["old@example.com"]["consent"]["terms_version"] == "=cmd|' /C calc'!A0"
    assert by_email["old@example.com"]["consent_status"] == "outdated"
    assert all(row["user_id"].startswith("auth0|") for row in rows)
    assert "lang" not in out.read_text(encoding="utf-8")  # unrelated metadata stays out
    assert "6 users exported from the local tenant" in run.out
    assert "1 missing" not in run.out
    assert "2 missing" in run.out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # personal data
    assert leftovers(project) == []


@pytest.mark.parametrize("layout", ["nested", "root"])
def test_csv_flattens_the_record_into_the_same_columns_for_both_layouts(
    project: Path, cli: Any, apps: list[Emulator], layout: str
) -> None:
    if layout == "root":
        use_root_layout(project)
    seed(project, people(root if layout == "root" else nested))
    out = project / "consent.csv"

    run = cli("consent", "export", "--format", "csv", "--out", str(out), "--field", "name")

    assert run.code == 0, run.err
    header = out.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [
        "user_id",
        "email",
        "name",
        "consent.source",
        *CONSENT_COLUMNS,
        *PURPOSE_COLUMNS,
    ]
    rows = {row["email"]: row for row in read_csv(out)}
    assert len(rows) == 6
    valid = rows["valid@example.com"]
    assert valid["consent.status"] == "valid"
    assert valid["consent.given"] == "true"
    assert valid["consent.date"] == "2026-11-02T09:00:00.000Z"
    assert valid["consent.terms_version"] == TERMS
    assert valid["consent.text_url"] == "https://example.com/legal/terms/2026-11-01"
    assert valid["consent.ip"] == "203.0.113.7"
    assert valid["consent.withdrawn_at"] == ""
    assert valid["name"] == "valid@example.com"
    assert valid["consent.source"] == "seed-record"
    assert valid["terms.status"] == "valid"
    assert valid["terms.method"] == "migrated"
    assert valid["marketing.status"] == "missing"
    none = rows["none@example.com"]
    assert none["consent.status"] == "missing"
    assert [none[c] for c in CONSENT_COLUMNS[1:]] == [""] * 8
    withdrawn = rows["withdrawn@example.com"]
    assert withdrawn["consent.given"] == "false"
    assert withdrawn["consent.withdrawn_at"] == "2026-11-03T12:00:00.000Z"
    # Commas, quotes and a line break survive the round trip through a CSV reader.
    assert withdrawn["consent.withdrawn_reason"] == 'moved away, "for good"\nsecond line'
    # Cells a spreadsheet would evaluate are neutralised with a leading apostrophe.
    old = rows["old@example.com"]
    assert old["consent.terms_version"] == "'=cmd|' /C calc'!A0"
    assert old["consent.method"] == "'@SUM(1+1)"
    assert old["consent.status"] == "outdated"


def test_csv_cells() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(True) == "true"
    assert csv_cell(-3) == "-3"  # a number we format is not a formula
    assert csv_cell("-3") == "'-3"
    assert csv_cell("+49 30 1234") == "'+49 30 1234"
    assert csv_cell("\t=1") == "'\t=1"
    assert csv_cell({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert csv_cell("a, b") == "a, b"  # quoting is the writer's job


def test_an_empty_tenant_exports_a_header_only_csv(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    out = project / "empty.csv"
    run = cli("consent", "export", "--format", "csv", "--out", str(out), "-o", "json")
    assert run.code == 0, run.err
    assert out.read_text(encoding="utf-8").splitlines() == [
        ",".join(["user_id", "email", "consent.source", *CONSENT_COLUMNS, *PURPOSE_COLUMNS])
    ]
    assert run.json()["users"] == 0


# -- progress, summary and the download itself -------------------------------------------


def test_progress_on_stderr_and_a_json_summary(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    seed(project, people(nested))
    out = project / "consent.ndjson"

    run = cli(
        "consent", "export", "--format", "ndjson", "--out", str(out), "--progress", "-o", "json"
    )

    assert run.code == 0, run.err
    summary = run.json()
    job_id = summary["job_id"]
    assert f"export job {job_id}: preparing 50%" in run.err
    assert f"export job {job_id}: downloaded" in run.err
    assert "6 users" in run.err
    assert summary["users"] == 6
    assert summary["bytes"] == out.stat().st_size
    assert summary["format"] == "ndjson"
    assert summary["environment"] == "local"
    assert summary["statuses"] == {
        "missing": 2,
        "declined": 1,
        "withdrawn": 1,
        "outdated": 1,
        "valid": 1,
    }
    assert summary["seconds"] > 0

    quiet = cli("consent", "export", "--format", "ndjson", "--out", str(out))
    assert quiet.code == 0
    assert quiet.err == ""  # stderr is not a terminal here: no progress unless asked


def test_the_download_carries_no_authorization_header(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    seed(project, people(nested)[:2])
    out = project / "consent.csv"

    assert cli("consent", "export", "--format", "csv", "--out", str(out)).code == 0

    log = apps[-1].injector.requests()
    job_calls = [(e.method, e.path.split("/job_")[0]) for e in log if "/jobs" in e.path]
    assert job_calls[0] == ("POST", "/api/v2/jobs/users-exports")
    assert {m for m, _ in job_calls[1:]} == {"GET"}
    [download] = apps[-1].injector.requests("GET", DOWNLOAD)
    # The emulator answers 400 to a download that carries a bearer token.
    assert download.status == 200
    job = next(e for e in log if e.path == "/api/v2/jobs/users-exports")
    assert job.body["format"] == "json"
    assert [f["name"] for f in job.body["fields"]] == [
        "user_id",
        "email",
        "user_metadata",
        "app_metadata",
    ]


def test_the_emulator_refuses_a_download_with_a_token(project: Path) -> None:
    """The check the previous test relies on can fail."""
    seed(project, people(nested)[:1])
    with LocalTenant.open(project) as tenant:
        token = httpx.post(
            f"{tenant.base_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret.reveal(),
                "audience": tenant.audience,
            },
        ).json()["access_token"]
        bearer = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=tenant.base_url, headers=bearer) as api:
            job = api.post("/api/v2/jobs/users-exports", json={"format": "json"}).json()
            while job["status"] != "completed":
                job = api.get(f"/api/v2/jobs/{job['id']}").json()
        assert httpx.get(job["location"], headers=bearer).status_code == 400
        plain = httpx.get(job["location"])
        assert plain.status_code == 200
        assert b"@example.com" in gzip.decompress(plain.content)


# -- failures leave no file --------------------------------------------------------------


def test_a_failed_job_leaves_no_file_and_exits_1(
    project: Path, cli: Any, apps: list[Emulator], hooks: list[Any]
) -> None:
    seed(project, people(nested))
    hooks.append(lambda app: app.export_failures.append("storage quota exceeded"))
    out = project / "consent.csv"

    run = cli("consent", "export", "--format", "csv", "--out", str(out))

    assert run.code == 1
    assert "export job job_" in run.err
    assert "failed: storage quota exceeded" in run.err
    assert not out.exists()
    assert leftovers(project) == []
    assert apps[-1].injector.requests("GET", DOWNLOAD) == []


def test_a_dropped_download_leaves_no_file_and_exits_1(
    project: Path, cli: Any, apps: list[Emulator], hooks: list[Any]
) -> None:
    seed(project, people(nested))
    hooks.append(
        lambda app: app.injector.faults.append(Fault("GET", DOWNLOAD, status=None, times=None))
    )
    out = project / "consent.ndjson"

    run = cli("consent", "export", "--format", "ndjson", "--out", str(out), "-o", "json")

    assert run.code == 1
    error = run.json()
    assert error["ok"] is False
    assert "download from http://127.0.0.1:" in error["error"]
    assert "no complete answer" in error["error"]
    assert "/exports/" not in error["error"]  # the pre-signed URL is a credential
    assert not out.exists()
    assert leftovers(project) == []
    assert len(apps[-1].injector.requests("GET", DOWNLOAD)) == 3  # retried, then given up


def test_a_failed_export_leaves_an_existing_file_as_it_was(
    project: Path, cli: Any, apps: list[Emulator], hooks: list[Any]
) -> None:
    seed(project, people(nested))
    out = project / "consent.csv"
    out.write_text("yesterday's export\n", encoding="utf-8")
    hooks.append(lambda app: app.injector.faults.append(Fault("GET", DOWNLOAD, status=403)))

    run = cli("consent", "export", "--format", "csv", "--out", str(out))

    assert run.code == 1
    assert "HTTP 403" in run.err
    assert "expired" in run.err
    assert out.read_text(encoding="utf-8") == "yesterday's export\n"
    assert leftovers(project) == []


def test_one_dropped_download_is_retried(
    project: Path, cli: Any, apps: list[Emulator], hooks: list[Any]
) -> None:
    seed(project, people(nested))
    hooks.append(lambda app: app.injector.faults.append(Fault("GET", DOWNLOAD, status=None)))
    out = project / "consent.csv"

    run = cli("consent", "export", "--format", "csv", "--out", str(out))

    assert run.code == 0, run.err
    assert len(read_csv(out)) == 6
    assert [e.status for e in apps[-1].injector.requests("GET", DOWNLOAD)] == [-1, 200]


def test_a_download_link_over_plain_http_elsewhere_is_refused(
    project: Path, cli: Any, apps: list[Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(project, people(nested)[:1])

    original = LocalTenant.serve

    def serve(self: LocalTenant, **kwargs: Any) -> Any:
        server = original(self, **kwargs)
        self.app.public_base_url = "http://exports.example.com"  # links it hands out
        return server

    monkeypatch.setattr(LocalTenant, "serve", serve)
    out = project / "consent.csv"

    run = cli("consent", "export", "--format", "csv", "--out", str(out))

    assert run.code == 1
    assert "refusing to download the export from http://exports.example.com" in run.err
    assert "https" in run.err
    assert not out.exists()


def test_out_must_name_a_file_in_an_existing_directory(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    missing = cli("consent", "export", "--format", "csv", "--out", "no/such/dir/x.csv")
    assert missing.code == 1
    assert "no/such/dir" in missing.err
    assert "does not exist" in missing.err
    assert apps == [] or apps[-1].injector.requests("POST", "users-exports") == []


# -- streaming ---------------------------------------------------------------------------


def _ndjson_gzip(count: int, members: int = 1) -> bytes:
    lines = [
        json.dumps({"user_id": f"auth0|{i}", "email": f"u{i}@example.com"}) for i in range(count)
    ]
    per = -(-count // members)
    return b"".join(
        gzip.compress(("\n".join(lines[i : i + per]) + "\n").encode(), mtime=0)
        for i in range(0, count, per)
    )


def test_users_come_out_while_the_file_is_still_arriving() -> None:
    payload = _ndjson_gzip(2000, members=3)  # concatenated gzip members are one file
    lines = _LineAssembler("job_x")
    seen: list[dict[str, Any]] = []
    half = len(payload) // 2
    for start in range(0, half, 7):  # tiny, unaligned chunks
        seen.extend(lines.feed(payload[start : min(start + 7, half)]))
    assert 0 < len(seen) < 2000  # the first half of the bytes already gave users
    for start in range(half, len(payload), 4096):
        seen.extend(lines.feed(payload[start : start + 4096]))
    seen.extend(lines.finish())
    assert [u["user_id"] for u in seen] == [f"auth0|{i}" for i in range(2000)]


def test_a_truncated_or_garbled_file_is_an_error_naming_the_line() -> None:
    payload = _ndjson_gzip(50)
    lines = _LineAssembler("job_t")
    list(lines.feed(payload[: len(payload) - 10]))
    with pytest.raises(ExportError, match="truncated"):
        list(lines.finish())

    bad = _LineAssembler("job_b")
    text = b'{"user_id":"a"}\n\n{"user_id":\n'
    with pytest.raises(ExportError, match="line 3 is not valid JSON"):
        list(bad.feed(gzip.compress(text)))

    plain = _LineAssembler("job_p")  # served already decoded (Content-Encoding: gzip)
    got = [*plain.feed(b'{"user_id":"a"}\n{"user_id":"b"}'), *plain.finish()]
    assert [u["user_id"] for u in got] == ["a", "b"]


def test_a_tenant_served_over_tls_by_the_local_ca(
    project: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download goes over the API client's connections: the published CA is trusted."""
    seed(project, people(nested))
    with LocalTenant.open(project, tls=True) as served:
        served.write_credentials()
        monkeypatch.setenv("AUTH0_DOMAIN", served.base_url)
        out = project / "consent.csv"

        run = cli("consent", "export", "--format", "csv", "--out", str(out))

        assert run.code == 0, run.err
        assert served.base_url.startswith("https://")
        assert len(read_csv(out)) == 6
        [download] = served.app.injector.requests("GET", DOWNLOAD)
        assert download.status == 200
