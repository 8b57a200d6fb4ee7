"""TenantClient against the local tenant over real HTTP: every method, tokens, retries, errors."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator, Mapping
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
from auth0_actions.tenant_client import (
    BindingRef,
    LiveAction,
    RetryPolicy,
    TenantClient,
    open_tenant_client,
)
from auth0_actions.tenant_client.pacing import Pacer, RateLimit

CODE = "exports.onExecutePostLogin = async (event, api) => {};"
SECRET_VALUE = "s3cret-value-that-must-never-print-0123"
FAST = RetryPolicy(backoff_s=0.01)
ACTIONS = r"/api/v2/actions/actions$"


@dataclasses.dataclass
class Served:
    app: Emulator
    server: ServerThread
    target: Target
    client: TenantClient

    def tokens_issued(self) -> int:
        return len(self.app.injector.requests("POST", r"^/oauth/token$"))


def _target(server: ServerThread, client_id: str, secret: str) -> Target:
    return Target(
        "test",
        server.base_url.split("://", 1)[1],
        server.base_url,
        client_id,
        Secret(secret),
        {},
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[Emulator, ServerThread, Target]]:
    """One served emulator for the module (stopping a server takes half a second)."""
    app = Emulator()
    server = ServerThread(app).start()
    registered = app.oauth.register()
    try:
        yield app, server, _target(server, registered.client_id, registered.client_secret)
    finally:
        server.stop()
        app.close()


@pytest.fixture
def served(emulator: tuple[Emulator, ServerThread, Target]) -> Iterator[Served]:
    """The module's emulator, emptied and without faults, and a fresh client."""
    app, server, target = emulator
    app.store.clear()
    # The application and its grant live in the tenant's state: registered again.
    assert target.client_id
    assert target.client_secret
    app.oauth.register(target.client_id, target.client_secret.reveal())
    app.injector.faults.clear()
    app.injector.set_rate_limit(None)
    app.injector.log.clear()
    client = TenantClient.for_target(target, retry=FAST)
    try:
        yield Served(app, server, target, client)
    finally:
        client.close()


def _create(
    client: TenantClient, name: str = "consent", secrets: Mapping[str, Secret] | None = None
) -> LiveAction:
    return client.create_action(name, "post-login", CODE, secrets=secrets)


# -- every method round-trips ---------------------------------------------------------
def test_actions_round_trip(served: Served) -> None:
    client = served.client
    created = client.create_action(
        "consent",
        "post-login",
        CODE,
        runtime="node22",
        dependencies=[("lodash", "4.17.21")],
        secrets={"SESSION_SECRET": Secret(SECRET_VALUE)},
    )
    assert created.name == "consent"
    assert created.trigger_ids == ("post-login",)
    assert created.code == CODE
    assert created.dependencies == (("lodash", "4.17.21"),)
    assert created.runtime == "node22"
    assert created.secret_names == ("SESSION_SECRET",)
    assert created.deployed_version is None
    assert not created.all_changes_deployed

    assert created.status == "pending"  # as Auth0 answers a create
    built = dataclasses.replace(created, status="built")  # no build time locally
    assert client.get_action(created.id) == built
    assert client.find_action_by_name("consent") == built
    assert client.find_action_by_name("absent") is None
    assert [a.id for a in client.list_actions()] == [created.id]
    assert [a.id for a in client.list_actions("post-login")] == [created.id]
    assert client.list_actions("credentials-exchange") == []

    updated = client.update_action(created.id, code=CODE + "\n// v2", dependencies=[])
    assert updated.code == CODE + "\n// v2"
    assert updated.dependencies == ()
    assert updated.secret_names == ("SESSION_SECRET",)  # untouched
    assert updated.runtime == "node22"
    # The secret's value was sent and kept (the emulator holds it privately).
    stored = served.app.store.get("action", created.id)
    assert stored is not None
    assert stored["_secret_values"] == {"SESSION_SECRET": SECRET_VALUE}

    renamed = client.update_action(
        created.id, secrets={"OTHER": Secret("another-value-0123456789")}
    )
    assert renamed.secret_names == ("OTHER",)


def test_deploy_versions_and_rollback(served: Served) -> None:
    client = served.client
    action = _create(client)
    first = client.deploy_action(action.id)
    assert first.number == 1
    assert first.code == CODE
    assert not first.deployed  # as Auth0 answers a deploy
    live = client.get_action(action.id)
    assert live.all_changes_deployed
    assert live.deployed_version is not None
    assert live.deployed_version.id == first.id
    assert live.deployed_version.deployed
    assert live.deployed_version.status == "built"

    client.update_action(action.id, code=CODE + "// 2")
    second = client.deploy_action(action.id)
    assert second.number == 2
    versions = client.list_versions(action.id)
    assert [v.number for v in versions] == [2, 1]
    assert [v.deployed for v in versions] == [True, False]
    assert versions[0].created_at is not None

    rollback = client.deploy_version(action.id, first.id)
    assert rollback.number == 3
    assert rollback.code == CODE
    after = client.get_action(action.id)
    assert after.code == CODE + "// 2"  # the draft stays without update_draft
    assert after.deployed_version is not None
    assert after.deployed_version.number == 3

    client.deploy_version(action.id, second.id, update_draft=True)
    assert client.get_action(action.id).code == CODE + "// 2"
    assert client.get_action(action.id).all_changes_deployed


def test_bindings_round_trip_and_delete(served: Served) -> None:
    client = served.client
    first, second = _create(client, "first"), _create(client, "second")
    for action in (first, second):
        client.deploy_action(action.id)
    assert client.get_bindings("post-login") == []

    bound = client.set_bindings(
        "post-login",
        [
            BindingRef("action_id", second.id, "Second"),
            BindingRef("action_name", "first"),
        ],
    )
    assert [(b.action_id, b.action_name, b.display_name) for b in bound] == [
        (second.id, "second", "Second"),
        (first.id, "first", "first"),
    ]
    assert client.get_bindings("post-login") == bound
    # Reorder by binding id: the same actions, new binding ids (Auth0 replaces the list).
    again = client.set_bindings(
        "post-login", [BindingRef("binding_id", bound[1].id), BindingRef("binding_id", bound[0].id)]
    )
    assert [b.action_id for b in again] == [first.id, second.id]

    # A bound action is not deleted, at once (no retry of the 409).
    started = time.monotonic()
    with pytest.raises(TenantError) as caught:
        client.delete_action(first.id)
    assert caught.value.status == 409
    assert "Unable to delete an action bound to a trigger." in str(caught.value)
    assert time.monotonic() - started < 1
    assert len(served.app.injector.requests("DELETE")) == 1

    client.delete_action(first.id, force=True)
    assert [b.action_id for b in client.get_bindings("post-login")] == [second.id]
    with pytest.raises(TenantError, match="no such action") as missing:
        client.get_action(first.id)
    assert missing.value.not_found
    client.set_bindings("post-login", [])
    client.delete_action(second.id)
    assert client.list_actions() == []


def test_the_pager_is_followed_to_the_end(served: Served) -> None:
    client = served.client
    made = {_create(client, f"action-{i:02d}").id for i in range(55)}
    served.app.injector.log.clear()
    assert {a.id for a in client.list_actions()} == made
    pages = served.app.injector.requests("GET", ACTIONS)
    assert [p.query.get("page") for p in pages] == [["0"], ["1"]]  # the short page ends it

    # Exactly a page: the reported total ends it without asking for an empty page.
    for action_id in sorted(made)[:5]:
        client.delete_action(action_id)
    served.app.injector.log.clear()
    assert len(client.list_actions("post-login")) == 50
    assert len(served.app.injector.requests("GET", ACTIONS)) == 1


def test_errors_carry_status_and_auth0_message(served: Served) -> None:
    client = served.client
    with pytest.raises(TenantError) as caught:
        client.create_action("bad", "no-such-trigger", CODE)
    error = caught.value
    assert error.status == 400
    assert error.error_code == "invalid_body"
    assert error.auth0_message is not None
    assert "Payload validation error" in error.auth0_message
    assert "400" in str(error)

    with pytest.raises(TenantError) as missing:
        client.deploy_action("00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404
    assert "no such action" in str(missing.value)
    assert "That action does not exist." in str(missing.value)
    with pytest.raises(TenantError, match="no such action"):
        client.list_versions("00000000-0000-0000-0000-000000000000")


# -- tokens -----------------------------------------------------------------------------
def test_the_token_is_cached_and_refreshed_before_expiry(served: Served) -> None:
    now = [1000.0]
    client = TenantClient.for_target(served.target, retry=FAST, clock=lambda: now[0])
    with client:
        for _ in range(5):
            client.list_actions()
        assert served.tokens_issued() == 1
        now[0] += 86_400 - 61  # still more than a minute left
        client.list_actions()
        assert served.tokens_issued() == 1
        now[0] += 2  # within the last minute: fetched again, transparently
        client.list_actions()
        client.list_actions()
        assert served.tokens_issued() == 2
    token_request = served.app.injector.requests("POST", r"^/oauth/token$")[0]
    assert token_request.body["audience"] == f"https://{served.target.domain}/api/v2/"
    assert token_request.body["grant_type"] == "client_credentials"


def test_a_rejected_token_is_replaced_once(served: Served) -> None:
    served.client.list_actions()
    served.client.credentials._token = "not-a-token"  # e.g. the tenant rotated its keys
    assert served.client.list_actions() == []
    assert served.tokens_issued() == 2


def test_bad_credentials_fail_without_showing_the_secret(served: Served) -> None:
    wrong = dataclasses.replace(served.target, client_secret=Secret(SECRET_VALUE))
    with TenantClient.for_target(wrong, retry=FAST) as client, pytest.raises(TenantError) as caught:
        client.list_actions()
    assert caught.value.status == 401
    assert "token request" in str(caught.value)
    assert SECRET_VALUE not in str(caught.value)
    assert SECRET_VALUE not in repr(caught.value)


def test_secrets_never_show(served: Served) -> None:
    client = served.client
    action = _create(client, secrets={"SESSION_SECRET": Secret(SECRET_VALUE)})
    version = client.deploy_action(action.id)
    shown = [action, version, client.get_action(action.id), client.list_versions(action.id)]
    shown += [client, client.credentials, served.target]
    for thing in shown:
        assert SECRET_VALUE not in repr(thing)
        assert SECRET_VALUE not in str(thing)
    assert served.target.client_secret is not None
    client_secret = served.target.client_secret.reveal()
    for thing in (client, client.credentials, served.target):
        assert client_secret not in repr(thing)
    token = client.credentials()
    assert token not in repr(client.credentials)

    # A refused write that carried a secret value does not echo it.
    long_name = "N" * 200
    with pytest.raises(TenantError) as caught:
        client.update_action(action.id, secrets={long_name: Secret(SECRET_VALUE)})
    assert caught.value.status == 400
    assert SECRET_VALUE not in str(caught.value)
    assert token not in str(caught.value)


# -- retries ------------------------------------------------------------------------------
def test_a_429_storm_is_waited_out_honouring_the_reset(served: Served) -> None:
    # A client whose pacer believes the limit is far higher (as when another tool
    # spends the tenant's limit): the 429s come, and each retry waits for the reset.
    too_fast = Pacer(RateLimit(1000.0, 1000))
    with TenantClient.for_target(served.target, pacer=too_fast) as client:
        client.list_actions()  # token first
        served.app.injector.set_rate_limit(2, 2)
        served.app.injector.log.clear()
        for _ in range(4):
            assert client.list_actions() == []
    log = served.app.injector.requests()
    statuses = [entry.status for entry in log]
    assert 429 in statuses
    assert statuses.count(200) == 4
    for limited, following in itertools.pairwise(log):
        if limited.status == 429:
            # x-ratelimit-reset is a whole second after the refusal at the earliest.
            assert following.at >= int(limited.at) + 1 - 0.01


def test_token_requests_are_retried_on_429(served: Served) -> None:
    served.app.injector.faults.append(Fault("POST", r"^/oauth/token$", status=429, times=1))
    assert served.client.list_actions() == []
    assert [e.status for e in served.app.injector.requests("POST", r"^/oauth/token$")] == [429, 200]


def test_a_503_on_a_read_is_retried(served: Served) -> None:
    client = served.client
    _create(client)
    served.app.injector.faults.append(Fault("GET", ACTIONS, status=503, times=2))
    assert len(client.list_actions()) == 1
    assert [e.status for e in served.app.injector.requests("GET", ACTIONS)] == [503, 503, 200]


def test_a_dropped_connection_on_a_read_is_retried(served: Served) -> None:
    client = served.client
    action = _create(client)
    served.app.injector.faults.append(Fault("GET", r"/actions/actions/", status=None, times=1))
    assert client.get_action(action.id).id == action.id
    assert [e.status for e in served.app.injector.requests("GET", r"/actions/actions/")] == [
        -1,
        200,
    ]


def test_idempotent_writes_are_retried(served: Served) -> None:
    client = served.client
    action = _create(client)
    client.deploy_action(action.id)
    served.app.injector.faults += [
        Fault("PATCH", r"/bindings$", status=502, times=1),
        Fault("PATCH", r"/actions/actions/", status=None, times=1),
    ]
    assert len(client.set_bindings("post-login", [BindingRef("action_id", action.id)])) == 1
    assert client.update_action(action.id, code=CODE + "//x").code == CODE + "//x"
    assert [e.status for e in served.app.injector.requests("PATCH")] == [502, 200, -1, 200]


@pytest.mark.parametrize("status", [503, None])
def test_creates_are_not_repeated_after_an_unclear_failure(
    served: Served, status: int | None
) -> None:
    served.client.list_actions()
    served.app.injector.faults.append(Fault("POST", ACTIONS, status=status, times=1))
    with pytest.raises(TenantError) as caught:
        _create(served.client)
    assert caught.value.status == status
    assert len(served.app.injector.requests("POST", ACTIONS)) == 1
    assert served.client.list_actions() == []


def test_retries_are_bounded(served: Served) -> None:
    served.client.list_actions()
    served.app.injector.faults.append(Fault("GET", ACTIONS, status=500, times=None))
    with pytest.raises(TenantError) as caught:
        served.client.list_actions()
    assert caught.value.status == 500
    assert len(served.app.injector.requests("GET", ACTIONS)) == 1 + FAST.attempts


def test_an_unreachable_tenant_is_a_tenant_error() -> None:
    app = Emulator()
    server = ServerThread(app).start()
    registered = app.oauth.register()
    target = _target(server, registered.client_id, registered.client_secret)
    server.stop()
    app.close()
    policy = RetryPolicy(attempts=2, backoff_s=0.01)
    with (
        TenantClient.for_target(target, retry=policy) as client,
        pytest.raises(TenantError, match="cannot reach the tenant") as caught,
    ):
        client.list_actions()
    assert caught.value.status is None


# -- opening a client for an environment ------------------------------------------------
def test_the_local_environment_opens_the_embedded_tenant(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    view = tenant.environment("local")
    with open_tenant_client(tenant, view, {}) as client:
        assert client.base_url.startswith("http://127.0.0.1:")
        created = _create(client, "persisted")
    assert (project / ".auth0-local" / "tenant.sqlite3").is_file()
    with open_tenant_client(tenant, view, {}) as client:
        assert [a.id for a in client.list_actions()] == [created.id]
        assert client.find_action_by_name("persisted") == dataclasses.replace(
            created, status="built"
        )


def test_a_served_local_tenant_takes_the_same_path(project: Path) -> None:
    tenant = load_tenant(Path("tenant.yaml"))
    with LocalTenant.open(project, serve=True) as local:
        local.write_credentials()
        environ = {"AUTH0_DOMAIN": local.base_url}
        with open_tenant_client(tenant, tenant.environment("local"), environ) as client:
            assert client.base_url == local.base_url
            created = _create(client, "over-http")
        assert local.store.get("action", created.id) is not None
        token_request = local.app.injector.requests("POST", r"^/oauth/token$")[0]
        assert token_request.body["audience"] == local.audience


@pytest.mark.remote_envs
def test_credentials_come_from_the_variables_tenant_yaml_names(
    project: Path, emulator: tuple[Emulator, ServerThread, Target]
) -> None:
    app, server, target = emulator
    assert target.client_secret is not None
    environ = {
        "AUTH0_DOMAIN": server.base_url,  # a CI override; the credentials stay dev's
        "AUTH0_DEV_CLIENT_ID": str(target.client_id),
        "AUTH0_DEV_CLIENT_SECRET": target.client_secret.reveal(),
    }
    tenant = load_tenant(Path("tenant.yaml"))
    app.injector.log.clear()
    with open_tenant_client(tenant, tenant.environment("dev"), environ) as client:
        created = _create(client, "from-dev")
        assert client.get_action(created.id).name == "from-dev"
    token_request = app.injector.requests("POST", r"^/oauth/token$")[0]
    assert token_request.body["client_id"] == target.client_id


def test_a_retried_delete_that_finds_the_action_gone_succeeded(served: Served) -> None:
    action = _create(served.client)

    def meanwhile(_: float) -> None:  # the first attempt went through; its answer was lost
        served.app.store.delete("action", action.id)

    served.app.injector.faults.append(Fault("DELETE", r"/actions/actions/", status=503, times=1))
    with TenantClient.for_target(served.target, retry=FAST, sleep=meanwhile) as client:
        client.delete_action(action.id)
    assert [e.status for e in served.app.injector.requests("DELETE")] == [503, 404]
    # Without an unclear failure first, a 404 is an error.
    with pytest.raises(TenantError, match="no such action") as caught:
        served.client.delete_action(action.id)
    assert caught.value.status == 404


# -- 429s have their own budget ----------------------------------------------------------
def test_a_429_storm_longer_than_the_attempts_is_waited_out(served: Served) -> None:
    """429s were refused, not processed: they do not use up the 5xx attempts."""
    served.client.list_actions()
    storm = 3 * FAST.attempts
    served.app.injector.faults.append(Fault("GET", ACTIONS, status=429, times=storm, reset_s=0))
    slept: list[float] = []
    with TenantClient.for_target(served.target, retry=FAST, sleep=slept.append) as client:
        assert client.list_actions() == []
    assert len(slept) == storm
    assert [e.status for e in served.app.injector.requests("GET", ACTIONS)][-1] == 200


def test_the_rate_limit_budget_bounds_a_storm_that_never_ends(served: Served) -> None:
    served.client.list_actions()
    served.app.injector.faults.append(Fault("GET", ACTIONS, status=429, times=None, reset_s=1))
    slept: list[float] = []
    policy = dataclasses.replace(FAST, rate_limit_s=5.0)
    with (
        TenantClient.for_target(served.target, retry=policy, sleep=slept.append) as client,
        pytest.raises(TenantError) as caught,
    ):
        client.list_actions()
    assert caught.value.status == 429
    assert 0 < sum(slept) <= 5.0
    assert len(slept) >= 2  # each wait is at most ~2 s (reset a whole second ahead)


def test_a_token_request_429_is_retried_once_by_our_policy_alone(served: Served) -> None:
    """The token exchange shares the client's policy: no hidden retries of its own."""
    served.app.injector.faults.append(
        Fault("POST", r"^/oauth/token$", status=429, times=2, reset_s=0)
    )
    slept: list[float] = []
    with TenantClient.for_target(served.target, retry=FAST, sleep=slept.append) as client:
        assert client.list_actions() == []
    assert [e.status for e in served.app.injector.requests("POST", r"^/oauth/token$")] == [
        429,
        429,
        200,
    ]
    assert len(slept) == 2


# -- TLS -------------------------------------------------------------------------------------
def test_a_local_tenant_served_over_tls_is_trusted_through_its_published_ca(
    project: Path, cli: Any
) -> None:
    """`emulator serve --tls` publishes ca_path; plan and apply verify against it."""
    tenant = load_tenant(Path("tenant.yaml"))
    with LocalTenant.open(project, tls=True) as local:
        local.write_credentials()
        assert local.base_url.startswith("https://127.0.0.1:")
        environ = {"AUTH0_DOMAIN": local.base_url}
        with open_tenant_client(tenant, tenant.environment("local"), environ) as client:
            created = _create(client, "over-tls")
            assert client.get_action(created.id).name == "over-tls"
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AUTH0_DOMAIN", local.base_url)
            applied = cli("apply", "--yes")
            assert applied.code == 0, applied.err
            assert cli("plan", "--detailed-exitcode").code == 0
        assert local.app.injector.requests("POST", r"^/oauth/token$")


def test_an_untrusted_certificate_is_refused_with_a_clear_error(
    project: Path, tmp_path: Path
) -> None:
    from auth0_actions.emulator.tls import ensure_tls

    other_ca = ensure_tls(tmp_path / "other").ca_path  # a CA that did not sign the server
    tenant = load_tenant(Path("tenant.yaml"))
    with LocalTenant.open(project, tls=True) as local:
        local.write_credentials()
        for bundle in (str(other_ca), None):
            environ = {"AUTH0_DOMAIN": local.base_url}
            if bundle:
                environ["AUTH0_CA_BUNDLE"] = bundle
            else:  # no published CA: the system store, which does not know it
                (project / ".auth0-local" / "credentials.json").unlink()
                environ["AUTH0_CLIENT_ID"] = local.client_id
                environ["AUTH0_CLIENT_SECRET"] = local.client_secret.reveal()
            with (
                open_tenant_client(tenant, tenant.environment("local"), environ) as client,
                pytest.raises(TenantError, match="TLS certificate is not trusted") as caught,
            ):
                client.list_actions()
            assert "AUTH0_CA_BUNDLE" in str(caught.value)
            assert not local.app.injector.requests("POST", r"^/oauth/token$")


def test_a_ca_bundle_that_is_not_one_is_a_config_error(project: Path) -> None:
    from auth0_actions.errors import ConfigError

    (project / "not-a-ca.pem").write_text("hello\n", encoding="utf-8")
    tenant = load_tenant(Path("tenant.yaml"))
    environ = {"AUTH0_DOMAIN": "https://127.0.0.1:9", "AUTH0_CA_BUNDLE": "not-a-ca.pem",
               "AUTH0_CLIENT_ID": "id", "AUTH0_CLIENT_SECRET": "secret"}  # fmt: skip
    with (
        pytest.raises(ConfigError, match=r"not-a-ca\.pem: not a usable CA bundle"),
        open_tenant_client(tenant, tenant.environment("local"), environ),
    ):
        pass
