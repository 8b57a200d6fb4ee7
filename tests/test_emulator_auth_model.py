"""The local tenant's auth model is Auth0's: applications, APIs, grants, and who may call what.

Sources: the Management API tokens page
(https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens/get-management-api-tokens-for-single-page-applications),
the client credentials flow
(https://auth0.com/docs/get-started/authentication-and-authorization-flow/client-credentials-flow),
RFC 6749 s. 4.1.2.1 and 4.1.3 (code bound to client and redirect URI; no redirect to
an unregistered URI), RFC 7636 (PKCE) and OpenID Connect Discovery 1.0.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from auth0.authentication import GetToken
from emulator_support import RECORDINGS, login_client

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.management_scopes import MANAGEMENT_API_SCOPES
from auth0_actions.emulator.server import ServerThread

APP = "https://app.example.com/callback"
PASSWORD = "correct horse battery staple"
VICTIM = "auth0|victim00000000000000001"
ATTACKER = "auth0|attacker000000000000001"


def _user(user_id: str, email: str) -> dict[str, Any]:
    salt = secrets.token_hex(8)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**12, r=8, p=1).hex()
    return {
        "user_id": user_id,
        "email": email,
        "name": email,
        "identities": [{"connection": "Username-Password-Authentication", "provider": "auth0"}],
        "user_metadata": {"theme": "dark"},
        "app_metadata": {"plan": "gold"},
        "_password_hash": f"scrypt${salt}${digest}",
    }


class Tenant:
    def __init__(self) -> None:
        self.app = Emulator()
        self.server = ServerThread(self.app).start()
        self.base = self.server.base_url
        self.audience = f"https://{self.app.domain}/api/v2/"
        self.admin = self.app.oauth.register()
        login_client(self.app, [APP])  # a public SPA: "app"
        for user_id, email in ((VICTIM, "victim@example.com"), (ATTACKER, "eve@example.com")):
            self.app.store.put("user", user_id, _user(user_id, email))

    def token(self, **body: str) -> httpx.Response:
        return httpx.post(f"{self.base}/oauth/token", data=body)

    def admin_token(self) -> str:
        answer = self.token(
            grant_type="client_credentials",
            client_id=self.admin.client_id,
            client_secret=self.admin.client_secret,
            audience=self.audience,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.base}/api/v2", headers={"authorization": f"Bearer {token}"}
        )

    def authorize(self, browser: httpx.Client, **params: str) -> httpx.Response:
        query = {"client_id": "app", "redirect_uri": APP, "state": "s", "scope": "openid"}
        return browser.get("/authorize", params={**query, **params})

    def login(self, email: str, browser: httpx.Client | None = None, **params: str) -> str:
        """The code a login of ``email`` ends with."""
        browser = browser or httpx.Client(base_url=self.base, follow_redirects=False)
        page = self.authorize(browser, **params)
        assert page.status_code == 200, page.text
        tx = page.text.split('name="tx" value="')[1].split('"')[0]
        done = browser.post("/u/login", data={"tx": tx, "email": email, "password": PASSWORD})
        assert done.status_code == 302, done.text
        return parse_qs(urlsplit(done.headers["location"]).query)["code"][0]

    def exchange(self, code: str, **extra: str) -> httpx.Response:
        body = {"grant_type": "authorization_code", "code": code, "client_id": "app"}
        return self.token(**{**body, "redirect_uri": APP, **extra})


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    served = Tenant()
    try:
        yield served
    finally:
        served.server.stop()
        served.app.close()


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


# --- the Management API refuses what Auth0 refuses ------------------------------------
def test_an_end_users_login_asking_for_management_scopes_gets_none(tenant: Tenant) -> None:
    """The attack of issue 13: scope=read:users update:users at /authorize."""
    code = tenant.login(
        "eve@example.com",
        audience=tenant.audience,
        scope="openid read:users update:users delete:users read:current_user",
    )
    answer = tenant.exchange(code)
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    assert set(_claims(token)["scope"].split()) == {"openid", "read:current_user"}
    api = tenant.api(token)
    assert api.get(f"/users/{VICTIM}").status_code == 403
    assert api.patch(f"/users/{VICTIM}", json={"password": "pwned-pwned-1"}).status_code == 403
    assert api.get("/users", params={"q": "email:victim@example.com"}).status_code == 403


def test_a_current_user_token_reads_and_updates_only_its_own_user(tenant: Tenant) -> None:
    code = tenant.login(
        "eve@example.com",
        audience=tenant.audience,
        scope="openid read:current_user update:current_user_metadata",
    )
    api = tenant.api(tenant.exchange(code).json()["access_token"])
    own = api.get(f"/users/{ATTACKER}")
    assert own.status_code == 200
    assert own.json()["email"] == "eve@example.com"
    mine = api.patch(f"/users/{ATTACKER}", json={"user_metadata": {"lang": "fr"}})
    assert mine.status_code == 200, mine.text
    assert mine.json()["user_metadata"] == {"theme": "dark", "lang": "fr"}
    # Not app_metadata, not another user, not a delete.
    assert api.patch(f"/users/{ATTACKER}", json={"app_metadata": {"plan": "x"}}).status_code == 403
    assert api.patch(f"/users/{VICTIM}", json={"user_metadata": {"x": 1}}).status_code == 403
    assert api.delete(f"/users/{ATTACKER}").status_code == 403
    assert tenant.app.store.get("user", VICTIM)["user_metadata"] == {"theme": "dark"}


def test_a_token_for_another_audience_is_not_a_management_token(tenant: Tenant) -> None:
    admin = tenant.api(tenant.admin_token())
    made = admin.post(
        "/resource-servers",
        json={"identifier": "https://orders.example/", "scopes": [{"value": "read:orders"}]},
    )
    assert made.status_code == 201, made.text
    granted = admin.post(
        "/client-grants",
        json={
            "client_id": tenant.admin.client_id,
            "audience": "https://orders.example/",
            "scope": ["read:orders"],
        },
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["id"].startswith("cgr_")
    other = tenant.token(
        grant_type="client_credentials",
        client_id=tenant.admin.client_id,
        client_secret=tenant.admin.client_secret,
        audience="https://orders.example/",
    )
    assert other.status_code == 200, other.text
    assert other.json()["scope"] == "read:orders"
    assert tenant.api(other.json()["access_token"]).get("/users").status_code == 401


# --- POST /oauth/token: client credentials -------------------------------------------
def test_client_credentials_follow_auth0s_rules(tenant: Tenant) -> None:
    admin = tenant.api(tenant.admin_token())
    made = admin.post("/clients", json={"name": "worker", "app_type": "non_interactive"})
    assert made.status_code == 201, made.text
    worker = made.json()
    assert len(worker["client_id"]) == 32
    assert worker["grant_types"] == ["client_credentials"]
    creds = {
        "grant_type": "client_credentials",
        "client_id": worker["client_id"],
        "client_secret": worker["client_secret"],
    }
    unknown = tenant.token(**creds, audience="https://nowhere.example/")
    assert (unknown.status_code, unknown.json()) == (
        403,
        {
            "error": "access_denied",
            "error_description": "Service not found: https://nowhere.example/",
        },
    )
    no_grant = tenant.token(**creds, audience=tenant.audience)
    assert no_grant.status_code == 403
    assert no_grant.json()["error"] == "access_denied"
    assert "client-grant" in no_grant.json()["error_description"]
    admin.post(
        "/client-grants",
        json={
            "client_id": worker["client_id"],
            "audience": tenant.audience,
            "scope": ["read:users", "read:clients"],
        },
    ).raise_for_status()
    narrowed = tenant.token(**creds, audience=tenant.audience, scope="read:users delete:users")
    assert narrowed.json()["scope"] == "read:users"  # requested and granted only
    everything = tenant.token(**creds, audience=tenant.audience)
    assert set(everything.json()["scope"].split()) == {"read:users", "read:clients"}
    wrong = tenant.token(**{**creds, "client_secret": "not-it"}, audience=tenant.audience)
    assert (wrong.status_code, wrong.json()["error"]) == (401, "access_denied")
    assert set(wrong.json()) == {"error", "error_description"}
    spa = tenant.token(grant_type="client_credentials", client_id="app", audience=tenant.audience)
    assert (spa.status_code, spa.json()["error"]) == (403, "unauthorized_client")
    odd = tenant.token(grant_type="password", client_id="app")
    assert odd.json()["error"] == "unsupported_grant_type"
    missing = tenant.token(client_id="app")
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


def test_auth0_pythons_get_token_client_credentials(tenant: Tenant) -> None:
    domain = tenant.base.split("://", 1)[1]
    got = GetToken(
        domain, tenant.admin.client_id, tenant.admin.client_secret, protocol="http"
    ).client_credentials(tenant.audience)
    assert got["token_type"] == "Bearer"
    listed = tenant.api(got["access_token"]).get("/clients")
    assert listed.status_code == 200
    # The secret is shown only to tokens holding read:client_keys (the admin has it).
    assert all("client_secret" in c for c in listed.json())


def test_the_management_api_is_a_system_resource_server(tenant: Tenant) -> None:
    admin = tenant.api(tenant.admin_token())
    apis = admin.get("/resource-servers").json()
    system = next(a for a in apis if a.get("is_system"))
    assert system["identifier"] == tenant.audience
    assert {s["value"] for s in system["scopes"]} == set(MANAGEMENT_API_SCOPES)
    assert admin.delete(f"/resource-servers/{system['id']}").status_code == 403


def test_the_scope_list_is_the_openapi_documents() -> None:
    """Every scope the vendored OpenAPI document names under an operation's security."""
    import json

    document = json.loads((RECORDINGS.parent / "auth0-management-api.openapi.json").read_text())
    named = {
        scope
        for operations in document["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for entry in operation.get("security", [])
        for scopes in entry.values()
        for scope in scopes
    }
    assert set(MANAGEMENT_API_SCOPES) == named


# --- authorization code ---------------------------------------------------------------
def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_a_code_is_good_once(tenant: Tenant) -> None:
    code = tenant.login("eve@example.com")
    assert tenant.exchange(code).status_code == 200
    again = tenant.exchange(code)
    assert (again.status_code, again.json()["error"]) == (403, "invalid_grant")


def test_a_code_is_bound_to_its_redirect_uri_client_and_verifier(tenant: Tenant) -> None:
    other = login_client(tenant.app, [APP], client_id="other-app")
    verifier, challenge = _pkce()
    for attempt in (
        {"redirect_uri": "https://evil.example/callback"},
        {"client_id": other["client_id"], "code_verifier": verifier},
        {"code_verifier": "not-the-verifier"},
        {},  # no verifier at all
    ):
        code = tenant.login(
            "eve@example.com", code_challenge=challenge, code_challenge_method="S256"
        )
        refused = tenant.exchange(code, **attempt)
        assert (refused.status_code, refused.json()["error"]) == (403, "invalid_grant"), attempt
        # ... and the code is spent by the attempt.
        assert tenant.exchange(code, code_verifier=verifier).status_code == 403
    code = tenant.login("eve@example.com", code_challenge="plain-verifier-" + "x" * 30)
    assert tenant.exchange(code, code_verifier="plain-verifier-" + "x" * 30).status_code == 200


def test_a_confidential_client_authenticates_to_exchange_its_code(tenant: Tenant) -> None:
    web = tenant.app.backends.clients.create(
        {"name": "web", "app_type": "regular_web", "callbacks": ["https://web.example/cb"]}
    )
    browser = httpx.Client(base_url=tenant.base, follow_redirects=False)
    code = tenant.login(
        "eve@example.com",
        browser,
        client_id=web["client_id"],
        redirect_uri="https://web.example/cb",
    )
    body = {"client_id": web["client_id"], "redirect_uri": "https://web.example/cb"}
    assert tenant.exchange(code, **body).status_code == 401  # no secret
    code = tenant.login(
        "eve@example.com",
        browser,
        client_id=web["client_id"],
        redirect_uri="https://web.example/cb",
    )
    basic = base64.b64encode(f"{web['client_id']}:{web['client_secret']}".encode()).decode()
    answer = httpx.post(
        f"{tenant.base}/oauth/token",
        data={"grant_type": "authorization_code", "code": code, **body},
        headers={"authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text
    assert _claims(answer.json()["id_token"])["aud"] == web["client_id"]


# --- /authorize and /continue --------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [{"client_id": "nobody"}, {"redirect_uri": "https://evil.example/steal"}],
)
def test_authorize_refuses_unknown_clients_and_callbacks_with_a_page(
    tenant: Tenant, params: dict[str, str]
) -> None:
    browser = httpx.Client(base_url=tenant.base, follow_redirects=False)
    page = tenant.authorize(browser, **params)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert page.headers["content-type"].startswith("text/html")


def test_an_unknown_audience_at_authorize_goes_back_as_access_denied(tenant: Tenant) -> None:
    browser = httpx.Client(base_url=tenant.base, follow_redirects=False)
    sent = tenant.authorize(browser, audience="https://nowhere.example/")
    query = parse_qs(urlsplit(sent.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"] == ["Service not found: https://nowhere.example/"]


def test_continue_needs_the_browser_that_started_the_login(tenant: Tenant) -> None:
    redirect = (
        "exports.onExecutePostLogin = async (event, api) => {"
        " api.redirect.sendUserTo('https://consent.example/page'); };\n"
        "exports.onContinuePostLogin = async (event, api) => {};\n"
    )
    tenant.app.store.put(
        "action",
        "r1",
        {"id": "r1", "name": "r", "code": redirect, "deployed_version": {"code": redirect}},
    )
    tenant.app.store.put(
        "bindings",
        "post-login",
        {"trigger_id": "post-login", "bindings": [{"id": "b", "action_id": "r1"}]},
    )
    try:
        victim = httpx.Client(base_url=tenant.base, follow_redirects=False)
        page = tenant.authorize(victim)
        tx = page.text.split('name="tx" value="')[1].split('"')[0]
        away = victim.post(
            "/u/login", data={"tx": tx, "email": "victim@example.com", "password": PASSWORD}
        )
        state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
        thief = httpx.Client(base_url=tenant.base, follow_redirects=False)
        assert thief.get("/continue", params={"state": state}).status_code == 400
        back = victim.get("/continue", params={"state": state})  # still the victim's to finish
        assert back.status_code == 302
        assert back.headers["location"].startswith(APP + "?code=")
    finally:
        tenant.app.store.delete("bindings", "post-login")


# --- OIDC -----------------------------------------------------------------------------
def test_discovery_userinfo_and_logout(tenant: Tenant) -> None:
    found = httpx.get(f"{tenant.base}/.well-known/openid-configuration").json()
    assert found["issuer"] == f"{tenant.base}/"
    assert found["token_endpoint"] == f"{tenant.base}/oauth/token"
    assert "S256" in found["code_challenge_methods_supported"]
    keys = httpx.get(found["jwks_uri"]).json()["keys"]
    code = tenant.login("eve@example.com", scope="openid email profile")
    answer = tenant.exchange(code).json()
    key = jwt.PyJWK(keys[0]).key
    id_claims = jwt.decode(answer["id_token"], key, algorithms=["RS256"], audience="app")
    assert id_claims["iss"] == found["issuer"]
    assert id_claims["sub"] == ATTACKER
    info = httpx.get(
        found["userinfo_endpoint"], headers={"authorization": f"Bearer {answer['access_token']}"}
    )
    assert info.status_code == 200
    assert info.json()["sub"] == ATTACKER
    assert info.json()["email"] == "eve@example.com"
    assert httpx.get(found["userinfo_endpoint"]).status_code == 401
    tenant.app.backends.clients.update("app", {"allowed_logout_urls": ["https://app.example.com/"]})
    out = httpx.get(
        f"{tenant.base}/v2/logout",
        params={"client_id": "app", "returnTo": "https://app.example.com/"},
    )
    assert (out.status_code, out.headers["location"]) == (302, "https://app.example.com/")
    refused = httpx.get(
        f"{tenant.base}/v2/logout", params={"client_id": "app", "returnTo": "https://evil.example/"}
    )
    assert refused.status_code == 400
    assert "location" not in refused.headers


def test_client_authentication_the_local_tenant_does_not_model_is_refused(
    tenant: Tenant,
) -> None:
    """With ``client_authentication_methods`` (private_key_jwt, mTLS) Auth0 stops accepting
    the client secret (https://auth0.com/docs/get-started/applications/configure-private-key-jwt).
    The local tenant does not model those methods; accepting the field and ignoring it would
    let a secret through here that Auth0 refuses, so it is refused by name instead."""
    admin = tenant.api(tenant.admin_token())
    methods = {"private_key_jwt": {"credentials": [{"credential_type": "public_key", "pem": "x"}]}}
    for answer in (
        admin.post("/clients", json={"name": "jwt", "client_authentication_methods": methods}),
        admin.patch("/clients/app", json={"client_authentication_methods": methods}),
    ):
        assert answer.status_code == 400, answer.text
        assert "client_authentication_methods" in answer.json()["message"]
    assert "client_authentication_methods" not in admin.get("/clients/app").json()
