"""An unreachable or refusing tenant fails fast and says what failed and what to check.

Real sockets on loopback: a refused port, a listener that never answers, a
listener whose queue is full (connect timeout), a TLS server with an
untrusted certificate, a name under .invalid (RFC 6761: never resolves,
never leaves the machine), a 5xx storm, and refused credentials.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import load_tenant
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.faults import Fault
from auth0_actions.emulator.server import ServerThread
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.errors import TenantError
from auth0_actions.secrets import Secret
from auth0_actions.target import Target
from auth0_actions.tenant_client import RetryPolicy, TenantClient, open_tenant_client

SECRET = "client-secret-that-must-never-print-4711"
ACTIONS = r"^/api/v2/actions/actions$"


def _target(base_url: str, client_id: str = "some-client", secret: str = SECRET) -> Target:
    return Target("test", base_url.split("://", 1)[1], base_url, client_id, Secret(secret), {})


def _failure(client: TenantClient) -> tuple[TenantError, float]:
    started = time.monotonic()
    with client, pytest.raises(TenantError) as caught:
        client.list_actions()
    assert SECRET not in str(caught.value)
    return caught.value, time.monotonic() - started


@contextlib.contextmanager
def _listener(backlog: int = 8) -> Iterator[tuple[socket.socket, int]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(backlog)
    try:
        yield server, server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[Emulator, ServerThread]]:
    app = Emulator()
    server = ServerThread(app).start()
    try:
        yield app, server
    finally:
        server.stop()
        app.close()


def test_one_attempt_gives_up_within_ten_seconds_by_default() -> None:
    policy = RetryPolicy()
    assert policy.connect_timeout_s <= 10
    assert policy.read_timeout_s <= 10
    # An unreachable tenant is tried a bounded number of times: ~10 s each at worst.
    assert policy.unreachable_attempts * max(policy.connect_timeout_s, policy.read_timeout_s) <= 20


def test_a_refused_connection_fails_at_once_naming_the_url_and_what_to_check() -> None:
    with _listener() as (_, port):
        pass  # closed: nothing listens there now
    error, elapsed = _failure(TenantClient.for_target(_target(f"http://127.0.0.1:{port}")))
    assert elapsed < 3, elapsed  # the default policy, real backoff
    message = str(error)
    assert f"cannot reach the tenant at http://127.0.0.1:{port}: connection refused" in message
    assert "after 2 attempts" in message
    assert "check the domain and port" in message
    assert error.status is None


def test_a_listener_that_never_answers_times_out_per_attempt() -> None:
    policy = RetryPolicy(read_timeout_s=0.3, backoff_s=0.01)
    with _listener() as (_, port):  # the kernel accepts; nobody ever reads or answers
        error, elapsed = _failure(
            TenantClient.for_target(_target(f"http://127.0.0.1:{port}"), retry=policy)
        )
    assert elapsed < 3, elapsed
    message = str(error)
    assert f"at http://127.0.0.1:{port}: timed out (no answer within 0.3 s)" in message
    assert "after 2 attempts" in message
    assert "proxy" in message


def test_a_host_that_never_completes_a_connection_times_out_connecting() -> None:
    policy = RetryPolicy(connect_timeout_s=0.3, backoff_s=0.01)
    with _listener(backlog=0) as (_, port):
        filler = socket.create_connection(("127.0.0.1", port))  # the queue is now full
        try:
            error, elapsed = _failure(
                TenantClient.for_target(_target(f"http://127.0.0.1:{port}"), retry=policy)
            )
        finally:
            filler.close()
    assert elapsed < 3, elapsed
    assert "timed out connecting (no connection within 0.3 s) after 2 attempts" in str(error)


@pytest.mark.remote_envs
def test_a_name_that_does_not_resolve_fails_at_once(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    environ = {
        "AUTH0_DOMAIN": "tenant.invalid",
        "AUTH0_DEV_CLIENT_ID": "some-client",
        "AUTH0_DEV_CLIENT_SECRET": SECRET,
    }
    started = time.monotonic()
    with (
        open_tenant_client(tenant, tenant.environment("dev"), environ) as client,
        pytest.raises(TenantError) as caught,
    ):
        client.list_actions()
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "cannot reach the tenant at https://tenant.invalid: DNS name not found" in message
    assert "check the domain: $AUTH0_DOMAIN = tenant.invalid" in message
    assert "attempts" not in message  # not retried: the name will not appear in a second
    assert SECRET not in message


@pytest.mark.remote_envs
def test_the_domain_from_tenant_yaml_is_named_where_it_was_set(project: Path) -> None:
    text = (project / "tenant.yaml").read_text(encoding="utf-8")
    (project / "tenant.yaml").write_text(
        text.replace("acme-dev.eu.auth0.com", "acme-dev.invalid"), encoding="utf-8"
    )
    tenant = load_tenant(Path("tenant.yaml"))
    environ = {"AUTH0_DEV_CLIENT_ID": "some-client", "AUTH0_DEV_CLIENT_SECRET": SECRET}
    with (
        open_tenant_client(tenant, tenant.environment("dev"), environ) as client,
        pytest.raises(
            TenantError, match=r"environments\.dev\.domain = acme-dev\.invalid in tenant\.yaml"
        ),
    ):
        client.list_actions()


@pytest.mark.remote_envs
def test_the_cli_reports_an_unreachable_tenant_with_exit_code_1(
    project: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH0_DOMAIN", "tenant.invalid")
    monkeypatch.setenv("AUTH0_DEV_CLIENT_ID", "some-client")
    monkeypatch.setenv("AUTH0_DEV_CLIENT_SECRET", SECRET)
    run = cli("consent", "show", "--email", "someone@example.com", "--env", "dev")
    assert run.code == 1
    assert "https://tenant.invalid: DNS name not found (tenant.invalid)" in run.err
    assert SECRET not in run.out + run.err


def test_an_untrusted_certificate_names_the_url_and_the_ca_bundle(
    project: Path, tmp_path: Path
) -> None:
    from auth0_actions.emulator.tls import ensure_tls

    other_ca = ensure_tls(tmp_path / "other").ca_path
    tenant = load_tenant(Path("tenant.yaml"))
    with LocalTenant.open(project, tls=True) as local:
        local.write_credentials()
        base_url = local.base_url
        environ = {"AUTH0_DOMAIN": base_url, "AUTH0_CA_BUNDLE": str(other_ca)}
        started = time.monotonic()
        with (
            open_tenant_client(tenant, tenant.environment("local"), environ) as client,
            pytest.raises(TenantError) as caught,
        ):
            client.list_actions()
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert f"cannot reach the tenant at {base_url}" in message
    assert "certificate verification failed" in message
    assert "AUTH0_CA_BUNDLE" in message


def test_a_5xx_storm_gives_up_after_the_attempts_saying_so(
    emulator: tuple[Emulator, ServerThread],
) -> None:
    app, server = emulator
    registered = app.oauth.register()
    target = _target(server.base_url, registered.client_id, registered.client_secret)
    policy = RetryPolicy(attempts=3, backoff_s=0.01)
    app.injector.faults.append(Fault("GET", ACTIONS, status=503, times=None))
    try:
        error, _ = _failure(TenantClient.for_target(target, retry=policy))
    finally:
        app.injector.faults.clear()
    assert error.status == 503
    assert f"server error 503 from {server.base_url} after 3 attempts" in str(error)
    assert registered.client_secret not in str(error)


def test_a_5xx_storm_on_the_token_exchange_says_so(
    emulator: tuple[Emulator, ServerThread],
) -> None:
    app, server = emulator
    registered = app.oauth.register()
    target = _target(server.base_url, registered.client_id, registered.client_secret)
    policy = RetryPolicy(attempts=2, backoff_s=0.01)
    app.injector.faults.append(Fault("POST", r"^/oauth/token$", status=502, times=None))
    try:
        error, _ = _failure(TenantClient.for_target(target, retry=policy))
    finally:
        app.injector.faults.clear()
    assert error.status == 502
    assert f"token request to {server.base_url}: 502" in str(error)
    assert "after 2 attempts" in str(error)


# -- refused credentials name where they came from, never their values --------------------
@pytest.mark.remote_envs
def test_refused_credentials_name_the_variables_tenant_yaml_names(
    project: Path, emulator: tuple[Emulator, ServerThread]
) -> None:
    _, server = emulator
    tenant = load_tenant(Path("tenant.yaml"))
    environ = {
        "AUTH0_DOMAIN": server.base_url,
        "AUTH0_DEV_CLIENT_ID": "not-a-client-of-this-tenant",
        "AUTH0_DEV_CLIENT_SECRET": SECRET,
    }
    with (
        open_tenant_client(tenant, tenant.environment("dev"), environ) as client,
        pytest.raises(TenantError) as caught,
    ):
        client.list_actions()
    message = str(caught.value)
    assert caught.value.status == 401
    assert "the client credentials were refused" in message
    assert "$AUTH0_DEV_CLIENT_ID and $AUTH0_DEV_CLIENT_SECRET" in message
    assert "named by environments.dev.client_id_env / client_secret_env" in message
    assert SECRET not in message
    assert "not-a-client-of-this-tenant" not in message


@pytest.mark.remote_envs
def test_refused_credentials_name_the_ci_overrides(
    project: Path, emulator: tuple[Emulator, ServerThread]
) -> None:
    _, server = emulator
    tenant = load_tenant(Path("tenant.yaml"))
    environ = {
        "AUTH0_DOMAIN": server.base_url,
        "AUTH0_CLIENT_ID": "not-a-client",
        "AUTH0_CLIENT_SECRET": SECRET,
    }
    with (
        open_tenant_client(tenant, tenant.environment("prod"), environ) as client,
        pytest.raises(TenantError, match=r"\$AUTH0_CLIENT_ID and \$AUTH0_CLIENT_SECRET \(the CI"),
    ):
        client.list_actions()


def test_refused_published_credentials_name_the_file(project: Path) -> None:
    import json

    tenant = load_tenant(Path("tenant.yaml"))
    with LocalTenant.open(project) as local:
        path = local.write_credentials()
        data = json.loads(path.read_text(encoding="utf-8"))
        data["client_secret"] = SECRET
        path.write_text(json.dumps(data), encoding="utf-8")
        environ = {"AUTH0_DOMAIN": local.base_url}
        with (
            open_tenant_client(tenant, tenant.environment("local"), environ) as client,
            pytest.raises(TenantError) as caught,
        ):
            client.list_actions()
    message = str(caught.value)
    assert "client_id and client_secret in .auth0-local/credentials.json" in message
    assert SECRET not in message
