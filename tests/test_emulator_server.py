"""Serving the local tenant: fault injection, TLS, persistence, the emulator commands.

Everything talks real HTTP to a server on 127.0.0.1; nothing reaches the network.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.faults import Fault
from auth0_actions.emulator.http import ApiError, Request, Response
from auth0_actions.emulator.server import ServerThread
from auth0_actions.emulator.tenant import LocalTenant, load_users
from auth0_actions.errors import Auth0ActionsError, ConfigError
from auth0_actions.served_credentials import read_published

AUTH0_KEYS = {"statusCode", "error", "message"}
TOO_MANY = {
    "statusCode": 429,
    "error": "Too Many Requests",
    "message": "Global limit has been reached",
    "errorCode": "too_many_requests",
}


def _trust(ca_path: Path | str) -> ssl.SSLContext:
    """Trust the local CA only (httpx's verify=<path> is deprecated)."""
    return ssl.create_default_context(cafile=str(ca_path))


def _route_exists(app: Emulator, method: str, path: str) -> bool:
    try:
        app.router.match(method, path)
    except ApiError:
        return False
    return True


def _ensure_route(
    app: Emulator, method: str, path: str, body: Any, scopes: tuple[str, ...]
) -> None:
    """A stand-in for an endpoint module that has not landed yet (the real one when it has)."""
    if not _route_exists(app, method, path):
        app.router.add(method, path, lambda _: Response(200, body), scopes=scopes)


def _token(base_url: str, client_id: str, secret: str, **kwargs: Any) -> str:
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": "https://local.auth0-actions.test/api/v2/",
        },
        **kwargs,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def served() -> Iterator[SimpleNamespace]:
    app = Emulator()
    client = app.oauth.register()
    server = ServerThread(app).start()
    http = httpx.Client(base_url=server.base_url, timeout=10)
    token = _token(server.base_url, client.client_id, client.client_secret)
    try:
        yield SimpleNamespace(app=app, server=server, http=http, token=token, client=client)
    finally:
        http.close()
        server.stop()


def _assert_auth0_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) >= AUTH0_KEYS, body
    assert body["statusCode"] == status
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    return dict(body)


# -- fault injection ----------------------------------------------------------


def test_latency_is_applied_to_every_request(served: SimpleNamespace) -> None:
    started = time.perf_counter()
    served.http.get("/.well-known/jwks.json")
    fast = time.perf_counter() - started
    served.app.injector.latency_ms = 150
    started = time.perf_counter()
    assert served.http.get("/.well-known/jwks.json").status_code == 200
    slow = time.perf_counter() - started
    assert slow >= 0.15
    assert slow > fast


def test_rate_limit_answers_429_with_auth0_body_and_headers(served: SimpleNamespace) -> None:
    served.app.injector.use_profile("free")  # burst 2, 2 per second
    responses = [served.http.get("/.well-known/jwks.json") for _ in range(4)]
    assert [r.status_code for r in responses[:2]] == [200, 200]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    for response in responses:
        assert response.headers["x-ratelimit-limit"] == "2"
        remaining = int(response.headers["x-ratelimit-remaining"])
        assert 0 <= remaining <= 2
        reset = int(response.headers["x-ratelimit-reset"])  # UNIX seconds, not a delta
        assert time.time() - 1 <= reset <= time.time() + 5
    assert limited[0].json() == TOO_MANY
    assert limited[0].headers["x-ratelimit-remaining"] == "0"
    served.app.injector.use_profile("none")
    ok = served.http.get("/.well-known/jwks.json")
    assert ok.status_code == 200
    assert "x-ratelimit-limit" not in ok.headers


def test_sdk_recovers_from_429_by_honouring_the_reset_header(served: SimpleNamespace) -> None:
    from auth0.management import Auth0

    path = "/api/v2/actions/triggers"
    _ensure_route(served.app, "GET", path, {"triggers": []}, ("read:actions",))
    sdk = Auth0(base_url=f"{served.server.base_url}/api/v2", token=served.token, max_retries=2)
    served.app.injector.use_profile("free")
    for _ in range(2):  # use up the burst
        served.http.get("/.well-known/jwks.json")
    started = time.monotonic()
    triggers = sdk.actions.triggers.list()
    elapsed = time.monotonic() - started
    assert triggers is not None
    statuses = [e.status for e in served.app.injector.requests("GET", f"^{path}$")]
    assert statuses[0] == 429
    assert statuses[-1] == 200
    assert len(statuses) <= 3
    assert elapsed < 5  # waited for the reset, not an exponential backoff to 60 s


def test_scripted_fault_fails_once_then_recovers(served: SimpleNamespace) -> None:
    served.app.injector.faults.append(Fault("GET", r"^/\.well-known/jwks\.json$", status=503))
    first = served.http.get("/.well-known/jwks.json")
    body = _assert_auth0_error(first, 503)
    assert body["error"] == "Service Unavailable"
    assert served.http.get("/.well-known/jwks.json").status_code == 200
    # Other paths were never affected.
    assert served.http.post("/oauth/token", json={}).status_code != 503


def test_dropped_connection_is_a_connection_error_for_the_client(served: SimpleNamespace) -> None:
    served.app.injector.faults.append(Fault("*", r"^/\.well-known/", status=None, times=1))
    with httpx.Client(base_url=served.server.base_url, timeout=5) as fresh:
        with pytest.raises(httpx.TransportError):
            fresh.get("/.well-known/jwks.json")
        assert fresh.get("/.well-known/jwks.json").status_code == 200
    dropped = served.app.injector.requests("GET", r"jwks")
    assert [e.status for e in dropped] == [-1, 200]


def _random_fault_run(seed: int) -> list[int]:
    app = Emulator()
    app.injector.set_seed(seed)
    app.injector.faults.append(
        Fault("*", r"^/\.well-known/", status=500, times=None, probability=0.5)
    )
    server = ServerThread(app).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=5) as http:
            statuses = [http.get("/.well-known/jwks.json").status_code for _ in range(24)]
            for status in statuses:
                assert status in (200, 500)
            bad = http.get("/.well-known/jwks.json?x=1")
            if bad.status_code == 500:
                _assert_auth0_error(bad, 500)
    finally:
        server.stop()
    return statuses


def test_random_faults_are_repeatable_with_a_seed() -> None:
    first = _random_fault_run(1234)
    assert 0 < first.count(500) < len(first)
    assert _random_fault_run(1234) == first


def test_request_log_counts_calls(served: SimpleNamespace) -> None:
    before = len(served.app.injector.requests())
    for _ in range(3):
        served.http.get("/.well-known/jwks.json")
    served.http.post("/oauth/token", json={"grant_type": "nope"})
    assert len(served.app.injector.requests("GET", r"^/\.well-known/jwks\.json$")) == 3
    posts = served.app.injector.requests("POST", "^/oauth/token$")
    assert posts[-1].body == {"grant_type": "nope"}
    assert posts[-1].status == 403
    assert len(served.app.injector.requests()) == before + 4


# -- bad requests ----------------------------------------------------------------


def test_malformed_json_is_an_auth0_400(served: SimpleNamespace) -> None:
    """The Management API's shape; /oauth/token answers OAuth's (test_emulator_fuzz.py)."""
    response = served.http.post(
        "/api/v2/users",
        content=b'{"email": ',
        headers={"content-type": "application/json", "authorization": f"Bearer {served.token}"},
    )
    body = _assert_auth0_error(response, 400)
    assert body["errorCode"] == "invalid_body"


def test_oversized_body_is_an_auth0_413(served: SimpleNamespace) -> None:
    payload = b'{"x":"' + b"a" * (1024 * 1024 + 10) + b'"}'
    response = served.http.post(
        "/oauth/token", content=payload, headers={"content-type": "application/json"}
    )
    _assert_auth0_error(response, 413)
    # The server is still healthy afterwards.
    assert served.http.get("/.well-known/jwks.json").status_code == 200


def test_chunked_bodies_are_read(served: SimpleNamespace) -> None:
    body = json.dumps(
        {
            "grant_type": "client_credentials",
            "client_id": served.client.client_id,
            "client_secret": served.client.client_secret,
            "audience": "https://local.auth0-actions.test/api/v2/",
        }
    ).encode()
    parts = iter([body[:10], body[10:]])  # an iterator: httpx sends it chunked
    response = served.http.post(
        "/oauth/token", content=parts, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert served.http.get("/.well-known/jwks.json").status_code == 200
    big = iter([b"[" + b"1," * 300_000, b"1," * 300_000 + b"1]"])
    too_big = served.http.post(
        "/oauth/token", content=big, headers={"content-type": "application/json"}
    )
    _assert_auth0_error(too_big, 413)
    assert served.http.get("/.well-known/jwks.json").status_code == 200


@pytest.mark.parametrize(
    "head",
    [
        b"Content-Length: nope\r\n",
        b"Content-Length: -5\r\n",
        b"Transfer-Encoding: chunked\r\n",  # then a chunk size that is not hex
    ],
)
def test_unreadable_bodies_get_auth0_400_and_a_closed_connection(
    served: SimpleNamespace, head: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=5) as raw:
        raw.sendall(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + head
            + b"\r\nzz\r\n{}\r\n"
        )
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
    head_part, _, payload = received.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 400"), received
    assert b"connection: close" in head_part.lower()
    assert json.loads(payload)["statusCode"] == 400


def test_unknown_paths_methods_and_tokens_get_auth0_errors(served: SimpleNamespace) -> None:
    """Auth0 authenticates before it routes: an unknown /api/v2 path is a 401 without a
    token and a 404 only with a valid one, so paths cannot be probed anonymously
    (https://auth0.com/docs/api/management/v2#authentication)."""
    anonymous = served.http.get("/api/v2/no-such-thing")
    assert _assert_auth0_error(anonymous, 401)["message"] == "Missing authentication"
    forged = served.http.get("/api/v2/no-such-thing", headers={"authorization": "Bearer not.a.jwt"})
    _assert_auth0_error(forged, 401)
    authorized = {"authorization": f"Bearer {served.token}"}
    _assert_auth0_error(served.http.get("/api/v2/no-such-thing", headers=authorized), 404)
    # Outside /api/v2 (the Authentication API, pages) there is no token to check first.
    _assert_auth0_error(served.http.get("/no-such-page"), 404)
    _assert_auth0_error(served.http.delete("/oauth/token"), 405)
    _ensure_route(
        served.app, "GET", "/api/v2/actions/triggers", {"triggers": []}, ("read:actions",)
    )
    no_token = served.http.get("/api/v2/actions/triggers")
    _assert_auth0_error(no_token, 401)
    bad_token = served.http.get(
        "/api/v2/actions/triggers", headers={"authorization": "Bearer not.a.jwt"}
    )
    assert _assert_auth0_error(bad_token, 401)["message"] == "Invalid token"


def test_a_handler_bug_is_a_generic_500_without_a_trace(served: SimpleNamespace) -> None:
    def broken(_: Request) -> Response:
        raise RuntimeError("secret internals /home/x/file.py line 3")

    # Outside /api/v2: every Management API route needs a token, even one listed without scopes.
    served.app.router.add("GET", "/__broken", broken)
    response = served.http.get("/__broken")
    body = _assert_auth0_error(response, 500)
    assert "secret internals" not in response.text
    assert body["message"] == "Internal Server Error"


# -- the local tenant ----------------------------------------------------------


def test_tls_serving_is_verified_with_the_generated_ca(tmp_path: Path) -> None:
    with LocalTenant.open(tmp_path, tls=True) as tenant:
        assert tenant.base_url.startswith("https://127.0.0.1:")
        assert tenant.server is not None
        assert tenant.ca_path is not None
        tls_dir = tenant.ca_path.parent
        for key in ("ca-key.pem", "server-key.pem"):
            assert stat.S_IMODE((tls_dir / key).stat().st_mode) == 0o600
        with (
            socket.create_connection(("127.0.0.1", tenant.server.port)),  # says nothing
            httpx.Client(verify=_trust(tenant.ca_path), timeout=5) as http,
        ):
            # A silent client does not stall the server (handshakes run per request thread).
            assert http.get(f"{tenant.base_url}/.well-known/jwks.json").status_code == 200
            localhost = tenant.base_url.replace("127.0.0.1", "localhost")
            assert http.get(f"{localhost}/.well-known/jwks.json").status_code == 200
        token = _token(
            tenant.base_url,
            tenant.client_id,
            tenant.client_secret.reveal(),
            verify=_trust(tenant.ca_path),
        )
        assert token.count(".") == 2
        with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as untrusting:
            untrusting.get(f"{tenant.base_url}/.well-known/jwks.json")
        ca_before = tenant.ca_path.read_bytes()
    with LocalTenant.open(tmp_path, tls=True) as again:  # the CA is kept, not regenerated
        assert again.ca_path is not None
        assert again.ca_path.read_bytes() == ca_before


def test_credentials_json_is_written_0600_and_read_by_the_target(tmp_path: Path) -> None:
    with LocalTenant.open(tmp_path) as tenant:
        path = tenant.write_credentials()
        assert path == tmp_path / ".auth0-local" / "credentials.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = json.loads(path.read_text())
        assert set(data) >= {"base_url", "domain", "client_id", "client_secret"}
        assert "ca_path" not in data
        assert data["base_url"] == tenant.base_url
        assert data["domain"] == tenant.base_url.removeprefix("http://")
        assert data["client_secret"] == tenant.client_secret.reveal()
        assert tenant.client_secret.reveal() not in repr(tenant.client_secret)
        published = read_published(tmp_path)
        assert published is not None
        assert published.client_id == tenant.client_id
        assert published.client_secret == tenant.client_secret
        # The credentials work against the served tenant.
        _token(data["base_url"], data["client_id"], data["client_secret"])
    assert stat.S_IMODE((tmp_path / ".auth0-local").stat().st_mode) == 0o700


def _a_user(email: str) -> dict[str, Any]:
    return {"email": email, "connection": "Username-Password-Authentication", "password": "pw-1"}


def test_state_and_credentials_persist_across_opens(tmp_path: Path) -> None:
    with LocalTenant.open(tmp_path) as first:
        client_id, secret = first.client_id, first.client_secret
        token = _token(first.base_url, client_id, secret.reveal())
        (seeded,) = first.seed([_a_user("kept@example.com")])
        over_http = None
        if _route_exists(first.app, "POST", "/api/v2/users"):
            response = httpx.post(
                f"{first.base_url}/api/v2/users",
                headers={"authorization": f"Bearer {token}"},
                json={**_a_user("http@example.com"), "user_metadata": {"lang": "en"}},
            )
            assert response.status_code == 201, response.text
            over_http = response.json()["user_id"]
        jwks = httpx.get(f"{first.base_url}/.well-known/jwks.json").json()
    with LocalTenant.open(tmp_path) as second:
        assert (second.client_id, second.client_secret) == (client_id, secret)
        assert second.store.get("user", seeded["user_id"]) == seeded
        # The signing key persisted too: the first run's token is still valid.
        assert second.app.authority.verify(f"Bearer {token}")[0] == client_id
        assert httpx.get(f"{second.base_url}/.well-known/jwks.json").json() == jwks
        if over_http is not None:
            from auth0.authentication import GetToken
            from auth0.management import Auth0

            # The official SDK, authenticated with what credentials.json holds.
            data = json.loads(second.write_credentials().read_text())
            fresh = GetToken(
                data["domain"], data["client_id"], data["client_secret"], protocol="http"
            ).client_credentials(data["audience"])["access_token"]
            sdk = Auth0(base_url=f"{data['base_url']}/api/v2", token=fresh, max_retries=0)
            kept = sdk.users.get(over_http)
            assert kept.email == "http@example.com"
            assert kept.user_metadata == {"lang": "en"}
            assert sdk.users.get(seeded["user_id"]).email == "kept@example.com"
            assert "_password_hash" not in json.dumps(kept.model_dump(mode="json"))


def test_reset_wipes_data_but_keeps_the_client(tmp_path: Path) -> None:
    with LocalTenant.open(tmp_path, serve=False) as tenant:
        tenant.seed([_a_user("a@example.com"), _a_user("b@example.com")])
        tenant.store.put("rule", "rul_1", {"id": "rul_1", "name": "r"})
        client_id = tenant.client_id
        assert tenant.reset() == {"rule": 1, "user": 2}
        assert tenant.store.count("user") == tenant.store.count("rule") == 0
    with LocalTenant.open(tmp_path, serve=False) as again:
        assert again.store.count("user") == 0
        assert again.client_id == client_id


# -- users.yaml and the emulator commands ---------------------------------------

USERS = """\
- email: ana@example.com
  connection: Username-Password-Authentication
  password: correct horse battery staple
  user_metadata:
    consent: {given: true, date: 2026-01-01}
  app_metadata: {plan: free}
- email: bo@example.com
  connection: Username-Password-Authentication
  email_verified: true
"""

BAD_USERS = """\
- email: ok@example.com
  connection: Username-Password-Authentication
- email: not-an-email
  connection: Username-Password-Authentication
  user_metadata:
    a.b: 1
- connection: db
  colour: blue
"""


def test_seed_loads_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.yaml").write_text(USERS)
    run = cli("emulator", "seed", "users.yaml", "--output", "json")
    assert run.code == 0, run.err
    report = run.json()
    assert report["loaded"] == 2
    assert [u["email"] for u in report["users"]] == ["ana@example.com", "bo@example.com"]
    with LocalTenant.open(tmp_path, serve=False) as tenant:
        users = {u["email"]: u for u in tenant.store.all("user")}
    ana = users["ana@example.com"]
    assert ana["user_id"].startswith("auth0|")
    assert len(ana["user_id"]) == len("auth0|") + 24
    assert ana["identities"][0]["connection"] == "Username-Password-Authentication"
    assert ana["user_metadata"] == {"consent": {"given": True, "date": "2026-01-01"}}
    assert ana["app_metadata"] == {"plan": "free"}
    assert ana["_password_hash"].startswith("scrypt$")
    assert "correct horse" not in json.dumps(ana)
    assert users["bo@example.com"]["email_verified"] is True
    assert "_password_hash" not in users["bo@example.com"]
    # Loading the same file again clashes with what is there: nothing more is added.
    again = cli("emulator", "seed", "users.yaml")
    assert again.code == 1
    assert "users.yaml:1:" in again.err
    assert "already exists" in again.err


def test_seed_passwords_work_with_the_login_flow(tmp_path: Path) -> None:
    from auth0_actions.emulator.handlers import login  # the check POST /u/login makes

    with LocalTenant.open(tmp_path, serve=False) as tenant:
        (user,) = tenant.seed([_a_user("pw@example.com")])
    assert login.verify_password(user, "pw-1")
    assert not login.verify_password(user, "pw-2")


def test_seed_bad_file_names_lines_and_loads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "users.yaml").write_text(BAD_USERS)
    run = cli("emulator", "seed", "users.yaml")
    assert run.code == 1
    assert "no user was loaded" in run.err
    assert "users.yaml:3:" in run.err  # the bad email
    assert "users.yaml:6:" in run.err  # a.b
    assert "users.yaml:7:" in run.err  # the user without an email
    assert "users.yaml:8:" in run.err  # colour
    as_json = cli("emulator", "seed", "users.yaml", "--output", "json")
    assert as_json.code == 1
    lines = sorted(p["line"] for p in as_json.json()["problems"])
    assert lines == [3, 6, 7, 8]
    with LocalTenant.open(tmp_path, serve=False) as tenant:
        assert tenant.store.count("user") == 0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("email: x@example.com\n", "expected a YAML list"),
        (
            "- email: a@example.com\n  connection: c\n- email: A@example.com\n  connection: c\n",
            ":3:",
        ),
        ("- [unclosed\n", "invalid YAML"),
    ],
)
def test_users_file_shape_errors(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_users(path)
    assert where in str(caught.value)


def test_reset_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any) -> None:
    monkeypatch.chdir(tmp_path)
    with LocalTenant.open(tmp_path, serve=False) as tenant:
        tenant.seed([_a_user("gone@example.com")])
    run = cli("emulator", "reset", "--output", "json")
    assert run.code == 0, run.err
    assert run.json() == {"ok": True, "removed": {"user": 1}}
    text = cli("emulator", "reset")
    assert "0 object(s) removed" in text.out


def test_serve_command_writes_credentials_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auth0_actions",
            "emulator",
            "serve",
            "--tls",
            "--rate-profile",
            "enterprise",
            "--latency-ms",
            "1",
            "--output",
            "json",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    credentials = tmp_path / ".auth0-local" / "credentials.json"
    try:
        deadline = time.monotonic() + 20
        while not credentials.exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        data = json.loads(credentials.read_text())
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        assert data["base_url"].startswith("https://127.0.0.1:")
        token = _token(
            data["base_url"],
            data["client_id"],
            data["client_secret"],
            verify=_trust(data["ca_path"]),
        )
        assert token
        jwks = httpx.get(
            f"{data['base_url']}/.well-known/jwks.json", verify=_trust(data["ca_path"])
        )
        assert jwks.headers["x-ratelimit-limit"] == "50"  # --rate-profile enterprise
    finally:
        process.send_signal(signal.SIGINT)
        # Generous: the suite runs on several workers, and a loaded machine is slow to
        # tear the server down; what is checked is a clean exit, not its speed.
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    printed = json.loads(out)
    assert printed["client_secret"] == data["client_secret"]
    assert printed["base_url"] == data["base_url"]
    assert "Traceback" not in err


def test_serve_command_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "auth0_actions", "emulator", "serve"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    credentials = tmp_path / ".auth0-local" / "credentials.json"
    deadline = time.monotonic() + 20
    while not credentials.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.terminate()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Local tenant at http://127.0.0.1:" in out
    assert json.loads(credentials.read_text())["client_secret"] in out
    assert "Stopped." in err


def test_serve_on_a_taken_port_is_a_clear_error(tmp_path: Path, cli: Any) -> None:
    with LocalTenant.open(tmp_path / "first") as first:
        assert first.server is not None
        port = str(first.server.port)
        run = cli("emulator", "serve", "--port", port)
    assert run.code == 1
    assert f"cannot serve the local tenant on 127.0.0.1:{port}" in run.err
    assert "internal error" not in run.err


def test_a_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / ".auth0-local"
    state.mkdir()
    (state / "tenant.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(Auth0ActionsError, match="not a usable SQLite database"):
        LocalTenant(tmp_path)
