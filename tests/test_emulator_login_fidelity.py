"""The local tenant's login flow ends, issues tokens and persists as Auth0 does.

Each test binds small inline post-login actions in a fresh local tenant, logs a user in
over HTTP (/authorize, the login form, /continue, /oauth/token) and cites the Auth0 page
for what it checks.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from emulator_support import login_client, store_deployed

from auth0_actions.clock import iso_utc
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.backends.users import connection_id
from auth0_actions.emulator.flows import login as login_flow
from auth0_actions.emulator.server import ServerThread
from auth0_actions.sandbox.pool import Limits, SandboxPool

APP = "https://app.example.com/callback"
PASSWORD = "correct horse battery staple"
API_OBJECT = (
    "https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/"
    "login-trigger/post-login-api-object"
)


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Emulator, str]]:
    # A short trigger limit, so the timeout test does not wait 20 s.
    monkeypatch.setattr(
        login_flow, "SandboxPool", lambda size: SandboxPool(size, limits=Limits(timeout_ms=1500))
    )
    app = Emulator()
    login_client(app, [APP])
    user = {
        "user_id": "auth0|fidelity0000000000000001",
        "email": "jane@example.com",
        "name": "Jane",
        "created_at": iso_utc(),
        "identities": [
            {
                "connection": "Username-Password-Authentication",
                "provider": "auth0",
                "isSocial": False,
                "user_id": "fidelity0000000000000001",
            }
        ],
        "user_metadata": {"theme": "dark"},
        "app_metadata": {"plan": "gold"},
    }
    salt = secrets.token_hex(8)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**12, r=8, p=1).hex()
    user["_password_hash"] = f"scrypt${salt}${digest}"
    app.store.put("user", user["user_id"], user)
    server = ServerThread(app).start()
    try:
        yield app, server.base_url
    finally:
        server.stop()
        app.login_flow.close()


def bind(app: Emulator, *codes: str) -> None:
    store_deployed(app, "post-login", {f"action-{n}": code for n, code in enumerate(codes)})


def on_execute(body: str, cont: str | None = None) -> str:
    code = f"exports.onExecutePostLogin = async (event, api) => {{ {body} }};\n"
    if cont is not None:
        code += f"exports.onContinuePostLogin = async (event, api) => {{ {cont} }};\n"
    return code


def login(base: str, host: str | None = None, client: httpx.Client | None = None) -> httpx.Response:
    """Sign in from ``client`` (a browser: it keeps the transaction's cookie for /continue)."""
    headers = {"host": host} if host else {}
    client = client or httpx.Client(base_url=base, follow_redirects=False, headers=headers)
    page = client.get(
        "/authorize",
        params={
            "client_id": "app",
            "redirect_uri": APP,
            "response_type": "code",
            "state": "app-state",
            "scope": "openid profile email",
        },
    )
    assert page.status_code == 200
    tx = page.text.split('name="tx" value="')[1].split('"')[0]
    return client.post(
        "/u/login", data={"tx": tx, "email": "jane@example.com", "password": PASSWORD}
    )


def at_app(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(APP)
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


def tokens(base: str, code: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": "app",
            "redirect_uri": APP,
        },
    ).json()
    decode = {"options": {"verify_signature": False}}
    return {
        "id": jwt.decode(answer["id_token"], **decode),  # type: ignore[arg-type]
        "access": jwt.decode(answer["access_token"], **decode),  # type: ignore[arg-type]
        "scope": answer["scope"],
    }


@pytest.mark.parametrize(
    ("call", "error", "description"),
    [
        ("api.session.revoke('session revoked')", "access_denied", "session revoked"),
        ("api.refreshToken.revoke('token revoked')", "access_denied", "token revoked"),
        (
            "api.validation.error('invalid_payload', 'Missing name')",
            "invalid_payload",
            "Missing name",
        ),
    ],
)
def test_revoke_and_validation_error_reach_the_app_as_errors(
    tenant: tuple[Emulator, str], call: str, error: str, description: str
) -> None:
    """API_OBJECT: session.revoke / refreshToken.revoke "mark the current login attempt as
    denied"; validation errors "are forwarded to the customer's application error page"
    (https://auth0.com/docs/customize/login-pages/universal-login/customize-signup-and-login-prompts)."""
    app, base = tenant
    bind(app, on_execute(f"{call};"), on_execute("api.user.setUserMetadata('second', true);"))
    query = at_app(login(base))
    assert "code" not in query
    assert query == {"error": error, "error_description": description, "state": "app-state"}
    assert "second" not in app.store.get("user", "auth0|fidelity0000000000000001")["user_metadata"]


def test_tokens_never_carry_restricted_claims(tenant: tuple[Emulator, str]) -> None:
    """https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims: restricted
    claims (sub, roles, permissions, ...) set by an action are not added; others are."""
    app, base = tenant
    bind(
        app,
        on_execute(
            """
            api.idToken.setCustomClaim('sub', 'auth0|someone-else');
            api.idToken.setCustomClaim('roles', ['admin']);
            api.idToken.setCustomClaim('https://acme.example/roles', ['admin']);
            api.accessToken.setCustomClaim('permissions', ['delete:all']);
            api.accessToken.setCustomClaim('aud', 'https://evil.example');
            api.accessToken.setCustomClaim('https://acme.example/tier', 'gold');
            """
        ),
    )
    issued = tokens(base, at_app(login(base))["code"])
    assert issued["id"]["sub"] == "auth0|fidelity0000000000000001"
    assert "roles" not in issued["id"]
    assert issued["id"]["https://acme.example/roles"] == ["admin"]
    assert "permissions" not in issued["access"]
    assert issued["access"]["aud"] != "https://evil.example"
    assert issued["access"]["https://acme.example/tier"] == "gold"


def test_add_and_remove_scope_change_the_issued_scope(tenant: tuple[Emulator, str]) -> None:
    """API_OBJECT accessToken.addScope / removeScope: the scope of "the Access Token that
    will be issued upon completion of the login flow"."""
    app, base = tenant
    bind(
        app,
        on_execute(
            "api.accessToken.addScope('read:orders'); api.accessToken.removeScope('email');"
        ),
    )
    issued = tokens(base, at_app(login(base))["code"])
    assert issued["access"]["scope"] == "openid profile read:orders"
    assert issued["scope"] == "openid profile read:orders"


def test_transaction_metadata_survives_the_redirect(tenant: tuple[Emulator, str]) -> None:
    """https://auth0.com/docs/customize/actions/transaction-metadata "Preserve values on
    redirect to external sites": onContinuePostLogin and later actions see the values."""
    app, base = tenant
    bind(
        app,
        on_execute(
            """
            api.transaction.setMetadata('custom_tx_id', 'xyz123');
            api.redirect.sendUserTo('https://consent.example/page');
            """,
            cont="""
            api.idToken.setCustomClaim('https://acme.example/on_continue',
              event.transaction.metadata.custom_tx_id);
            """,
        ),
        on_execute(
            """
            api.idToken.setCustomClaim('https://acme.example/later',
              event.transaction.metadata.custom_tx_id);
            """
        ),
    )
    browser = httpx.Client(base_url=base, follow_redirects=False)
    away = login(base, client=browser)
    assert away.headers["location"].startswith("https://consent.example/page")
    # The redirect renews the browser's transaction cookie for as long as the login waits.
    assert away.cookies["auth0_tx"] == browser.cookies["auth0_tx"]
    state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
    back = browser.get("/continue", params={"state": state})
    issued = tokens(base, at_app(back)["code"])
    assert issued["id"]["https://acme.example/on_continue"] == "xyz123"
    assert issued["id"]["https://acme.example/later"] == "xyz123"


@pytest.mark.parametrize(
    "failing",
    [
        "await new Promise(() => {});",  # runs past the trigger's time limit
        "throw new Error('boom');",
    ],
    ids=["timeout", "thrown"],
)
def test_a_failed_execution_never_erases_stored_metadata(
    tenant: tuple[Emulator, str], failing: str
) -> None:
    """https://auth0.com/docs/customize/actions/limitations ("Executions"): a failed or
    timed-out execution ends in an error; the profile keeps its metadata and the
    execution's batched writes are discarded."""
    app, base = tenant
    bind(app, on_execute(f"api.user.setUserMetadata('half', 'written'); {failing}"))
    query = at_app(login(base))
    assert query["error"] == "access_denied"
    stored = app.store.get("user", "auth0|fidelity0000000000000001")
    assert stored["user_metadata"] == {"theme": "dark"}
    assert stored["app_metadata"] == {"plan": "gold"}


def test_metadata_past_32_kb_is_not_persisted(tenant: tuple[Emulator, str]) -> None:
    """https://auth0.com/docs/customize/actions/limitations ("User metadata and app
    metadata"): at most 32 kB each per session. A write past it throws in the action; an
    action that catches it goes on, and nothing of the refused write is stored."""
    app, base = tenant
    bind(
        app,
        on_execute(
            """
            api.user.setAppMetadata('tier', 'platinum');
            try { api.user.setUserMetadata('blob', 'b'.repeat(40 * 1024)); } catch (e) {}
            """
        ),
    )
    assert "code" in at_app(login(base))
    stored = app.store.get("user", "auth0|fidelity0000000000000001")
    assert stored["user_metadata"] == {"theme": "dark"}
    assert stored["app_metadata"] == {"plan": "gold", "tier": "platinum"}


def test_event_connection_id_hostname_and_no_organization(tenant: tuple[Emulator, str]) -> None:
    """https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-event-object:
    connection.id is the connection's con_ id, request.hostname the host the browser
    used (a custom domain in front of the tenant), organization only present for an
    organization login."""
    app, base = tenant
    bind(
        app,
        on_execute(
            """
            api.idToken.setCustomClaim('https://acme.example/event', {
              connection: event.connection.id,
              hostname: event.request.hostname,
              organization: 'organization' in event,
            });
            """
        ),
    )
    issued = tokens(base, at_app(login(base, host="login.acme.test:8443"))["code"])
    seen = issued["id"]["https://acme.example/event"]
    assert seen["connection"].startswith("con_")
    assert len(seen["connection"]) == len("con_") + 16
    # The id the Management API gives the connection (GET /api/v2/connections, exports).
    assert seen["connection"] == connection_id("Username-Password-Authentication")
    assert seen["hostname"] == "login.acme.test"
    assert seen["organization"] is False
    # Straight to the loopback address: the tenant's own domain, as tokens use it.
    direct = tokens(base, at_app(login(base))["code"])["id"]["https://acme.example/event"]
    assert direct["hostname"] == app.domain
