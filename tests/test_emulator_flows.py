"""Signup, password change and client credentials run their triggers' actions on the local tenant.

Auth0's flows (https://auth0.com/docs/customize/actions/explore-triggers):
a database signup runs pre-user-registration, creates the user with the
metadata those actions set, then runs post-user-registration, whose failure
never undoes the signup; a password change or reset runs post-change-password;
a client-credentials exchange runs credentials-exchange. Each run is an
execution (``GET /api/v2/actions/executions/{id}``,
https://auth0.com/docs/api/management/v2/actions/get-execution) named in the
flow's tenant log event (``GET /api/v2/logs``, type codes:
https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes). Everything
goes over real HTTP to a served tenant, with actions deployed through the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from flows_support import APP, CONNECTION, FlowTenant, handler

from auth0_actions.emulator.flows.credentials import run_credentials_exchange
from auth0_actions.emulator.flows.prompt import PurposeBox, SignupPrompt

PASSWORD = "Sup3r-secret-passw0rd"
PRE = "onExecutePreUserRegistration"
POST = "onExecutePostUserRegistration"
CHANGED = "onExecutePostChangePassword"


@pytest.fixture
def tenant() -> Iterator[FlowTenant]:
    served = FlowTenant()
    try:
        yield served
    finally:
        served.close()


def _signup(tenant: FlowTenant, email: str, **more: object) -> httpx.Response:
    body = {"client_id": "app", "connection": CONNECTION, "email": email, "password": PASSWORD}
    return tenant.web.post("/dbconnections/signup", json={**body, **more})


def test_a_signup_runs_pre_then_post_registration_and_saves_what_pre_set(
    tenant: FlowTenant,
) -> None:
    tenant.bind(
        "pre-user-registration",
        (
            "plan",
            handler(
                PRE,
                'console.log("pre", event.user.email, event.request.body.connection);\n'
                'api.user.setUserMetadata("plan", event.user.user_metadata.wanted);\n'
                'api.user.setAppMetadata("tier", "gold");',
            ),
        ),
    )
    tenant.bind(
        "post-user-registration",
        (
            "welcome",
            handler(
                POST, 'console.log("post", event.user.user_id, event.user.user_metadata.plan);'
            ),
        ),
    )
    answer = _signup(tenant, "Ana@Example.com", given_name="Ana", user_metadata={"wanted": "pro"})

    # https://auth0.com/docs/api/authentication/signup/create-a-new-user
    assert answer.status_code == 200, answer.text
    created = answer.json()
    assert created["email"] == "ana@example.com"
    assert created["email_verified"] is False
    assert created["given_name"] == "Ana"
    assert "password" not in answer.text
    user = tenant.api.get(f"/users/auth0|{created['_id']}").json()
    assert user["user_metadata"] == {"wanted": "pro", "plan": "pro"}
    assert user["app_metadata"] == {"tier": "gold"}

    [event] = tenant.logs(q="type:ss")
    assert event["user_id"] == user["user_id"]
    pre_id, post_id = event["details"]["actions"]["executions"]
    pre, post = tenant.execution(pre_id), tenant.execution(post_id)
    assert (pre["trigger_id"], post["trigger_id"]) == (
        "pre-user-registration",
        "post-user-registration",
    )
    assert pre["status"] == post["status"] == "final"
    assert pre["results"][0]["action_name"] == "plan"
    assert pre["results"][0]["response"]["logs"] == f"pre ana@example.com {CONNECTION}"
    # post-user-registration saw the user as created, with the metadata pre set.
    assert post["results"][0]["response"]["logs"] == f"post {user['user_id']} pro"
    assert "error" not in post["results"][0]


def test_a_pre_registration_deny_refuses_the_signup_with_the_reason(tenant: FlowTenant) -> None:
    tenant.bind(
        "pre-user-registration",
        ("block", handler(PRE, 'api.access.deny("disposable email", "Use your work email.");')),
    )
    tenant.bind("post-user-registration", ("welcome", handler(POST, 'console.log("never");')))
    answer = _signup(tenant, "eve@example.com")

    # A deny is a 400 extensibility_error carrying the message for the user
    # (https://community.auth0.com/t/89653).
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "extensibility_error",
        "error_description": "Use your work email.",
    }
    assert tenant.api.get("/users-by-email", params={"email": "eve@example.com"}).json() == []
    [failed] = tenant.logs(q="type:fs")
    assert failed["description"] == "Use your work email."
    [pre_id] = failed["details"]["actions"]["executions"]  # post-user-registration never ran
    assert tenant.execution(pre_id)["trigger_id"] == "pre-user-registration"


def test_a_validation_error_reaches_the_client_with_its_code(tenant: FlowTenant) -> None:
    tenant.bind(
        "pre-user-registration",
        (
            "check",
            handler(
                PRE, 'api.validation.error("invalid_country", "Not available in your country.");'
            ),
        ),
    )
    answer = _signup(tenant, "eve@example.com")
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_country",
        "error_description": "Not available in your country.",
    }


def test_a_failing_post_registration_action_does_not_undo_the_signup(tenant: FlowTenant) -> None:
    # Post User Registration is non-blocking: "the Action's outcome does not affect
    # the Auth0 transaction" (.../post-user-registration-trigger).
    tenant.bind("post-user-registration", ("crm", handler(POST, 'throw new Error("CRM down");')))
    answer = _signup(tenant, "bo@example.com")
    assert answer.status_code == 200, answer.text
    [event] = tenant.logs(q="type:ss")
    [post_id] = event["details"]["actions"]["executions"]
    [result] = tenant.execution(post_id)["results"]
    assert result["error"]["msg"] == "CRM down"


def test_signup_errors_are_the_authentication_apis(tenant: FlowTenant) -> None:
    assert _signup(tenant, "dup@example.com").status_code == 200
    again = _signup(tenant, "dup@example.com")
    # https://github.com/auth0/lock/issues/2321 (the body), .../libraries/error-messages (codes)
    assert again.status_code == 400
    assert again.json() == {
        "name": "BadRequestError",
        "code": "user_exists",
        "description": "The user already exists.",
        "statusCode": 400,
    }
    weak = _signup(tenant, "new@example.com", password="")
    assert weak.status_code == 400
    assert weak.json()["code"] == "invalid_password"
    assert weak.json()["name"] == "PasswordStrengthError"
    too_many = _signup(tenant, "new@example.com", user_metadata={f"k{i}": "v" for i in range(11)})
    assert too_many.status_code == 400
    assert too_many.json()["code"] == "invalid_signup"
    not_text = _signup(tenant, "new@example.com", user_metadata={"age": 3})
    assert not_text.status_code == 400
    assert not_text.json()["code"] == "invalid_signup"


def test_a_password_reset_through_a_ticket_runs_post_change_password(tenant: FlowTenant) -> None:
    tenant.bind(
        "post-change-password",
        (
            "notify",
            handler(CHANGED, 'console.log("changed", event.user.email, event.connection.name);'),
        ),
    )
    user = tenant.api.post(
        "/users", json={"connection": CONNECTION, "email": "cy@example.com", "password": PASSWORD}
    ).json()
    # https://auth0.com/docs/api/management/v2/tickets/post-password-change
    made = tenant.api.post(
        "/tickets/password-change",
        json={"user_id": user["user_id"], "result_url": "https://app.example.com/done"},
    )
    assert made.status_code == 201, made.text
    ticket = made.json()["ticket"]
    assert ticket.startswith(f"{tenant.base}/u/reset-password?ticket=")
    link = urlsplit(ticket)
    form = tenant.web.get(f"{link.path}?{link.query}")
    assert form.status_code == 200
    assert "cy@example.com" in form.text
    ticket_id = parse_qs(link.query)["ticket"][0]
    done = tenant.web.post(
        "/u/reset-password", data={"ticket": ticket_id, "password": "N3w-passw0rd!"}
    )
    assert done.status_code == 302
    assert done.headers["location"] == "https://app.example.com/done"
    # Once only.
    again = tenant.web.post("/u/reset-password", data={"ticket": ticket_id, "password": "other"})
    assert again.status_code == 400

    stored = tenant.api.get(f"/users/{user['user_id']}").json()
    assert "last_password_reset" in stored
    [event] = tenant.logs(q="type:scp")
    [run] = event["details"]["actions"]["executions"]
    execution = tenant.execution(run)
    assert execution["trigger_id"] == "post-change-password"
    assert execution["results"][0]["response"]["logs"] == f"changed cy@example.com {CONNECTION}"
    # The new password signs in; the old one does not.
    tx = tenant.login_transaction()
    wrong = tenant.web.post(
        "/u/login", data={"tx": tx, "email": "cy@example.com", "password": PASSWORD}
    )
    assert wrong.status_code == 400
    [refused] = tenant.logs(q="type:fp")  # a wrong password, of a known user
    assert refused["user_id"] == user["user_id"]
    right = tenant.web.post(
        "/u/login", data={"tx": tx, "email": "cy@example.com", "password": "N3w-passw0rd!"}
    )
    assert right.status_code == 302
    assert "code=" in right.headers["location"]


def test_change_password_request_answers_as_auth0_and_patch_runs_the_trigger(
    tenant: FlowTenant,
) -> None:
    tenant.bind("post-change-password", ("notify", handler(CHANGED, 'console.log("changed");')))
    user = tenant.api.post(
        "/users", json={"connection": CONNECTION, "email": "di@example.com", "password": PASSWORD}
    ).json()
    # https://auth0.com/docs/api/authentication/change-password/change-password: the same
    # answer whether or not the user exists.
    for email in ("di@example.com", "nobody@example.com"):
        asked = tenant.web.post(
            "/dbconnections/change_password",
            json={"client_id": "app", "email": email, "connection": CONNECTION},
        )
        assert asked.status_code == 200
        assert asked.text == "We've just sent you an email to reset your password."
    assert len(tenant.logs(q="type:scpr")) == 2
    assert tenant.logs(q="type:scp") == []  # a request changes nothing

    # "runs after a database connection user resets or changes their password"
    # (.../password-reset-triggers/post-change-password-trigger): the API change too.
    patched = tenant.api.patch(f"/users/{user['user_id']}", json={"password": "An0ther-one!"})
    assert patched.status_code == 200
    [event] = tenant.logs(q="type:scp")
    assert event["user_id"] == user["user_id"]
    assert (
        tenant.execution(event["details"]["actions"]["executions"][0])["results"][0]["response"][
            "logs"
        ]
        == "changed"
    )
    # A metadata-only PATCH is no password change.
    tenant.api.patch(f"/users/{user['user_id']}", json={"user_metadata": {"a": "b"}})
    assert len(tenant.logs(q="type:scp")) == 1


def test_logs_and_executions_need_their_scopes(tenant: FlowTenant) -> None:
    tenant.bind("pre-user-registration", ("plan", handler(PRE, "")))
    assert _signup(tenant, "fa@example.com").status_code == 200
    [event] = tenant.logs()
    execution_id = event["details"]["actions"]["executions"][0]

    # The scopes of get_logs (read:logs, read:logs_users) and get_execution
    # (read:actions) in the Management API's OpenAPI document.
    no_logs = tenant.token(("read:users", "read:actions"))
    other = httpx.Client(
        base_url=f"{tenant.base}/api/v2", headers={"authorization": f"Bearer {no_logs}"}
    )
    denied = other.get("/logs")
    assert denied.status_code == 403
    assert denied.json()["errorCode"] == "insufficient_scope"
    assert other.get(f"/actions/executions/{execution_id}").status_code == 200
    no_actions = tenant.token(("read:logs",))
    other.headers["authorization"] = f"Bearer {no_actions}"
    assert other.get("/logs").status_code == 200
    assert other.get(f"/actions/executions/{execution_id}").status_code == 403
    assert tenant.web.get("/api/v2/logs").status_code == 401
    assert tenant.api.get("/actions/executions/no-such-id").status_code == 404
    other.close()


def test_the_log_pages_sorts_and_selects_fields(tenant: FlowTenant) -> None:
    for n in range(3):
        assert _signup(tenant, f"u{n}@example.com").status_code == 200
    newest_first = tenant.logs()
    assert [e["user_name"] for e in newest_first] == [
        "u2@example.com",
        "u1@example.com",
        "u0@example.com",
    ]
    oldest_first = tenant.logs(sort="date:1", fields="user_name,type")
    assert oldest_first[0] == {"user_name": "u0@example.com", "type": "ss"}
    paged = tenant.api.get(
        "/logs", params={"per_page": 2, "page": 1, "include_totals": "true"}
    ).json()
    assert (paged["start"], paged["limit"], paged["length"], paged["total"]) == (2, 2, 1, 3)
    one = tenant.api.get(f"/logs/{paged['logs'][0]['log_id']}").json()
    assert one["user_name"] == "u0@example.com"
    assert tenant.api.get("/logs", params={"sort": "bogus:1"}).status_code == 400


def test_the_log_is_bounded(tenant: FlowTenant) -> None:
    logs = tenant.app.flows.logs
    for _ in range(1200):
        logs.add_event("s")
    assert len(logs.events()) == 1000


def test_a_login_leaves_an_execution_and_a_success_event(tenant: FlowTenant) -> None:
    tenant.bind(
        "post-login",
        ("hello", handler("onExecutePostLogin", 'console.log("hi", event.user.email);')),
    )
    tenant.api.post(
        "/users", json={"connection": CONNECTION, "email": "li@example.com", "password": PASSWORD}
    )
    tx = tenant.login_transaction()
    done = tenant.web.post(
        "/u/login", data={"tx": tx, "email": "li@example.com", "password": PASSWORD}
    )
    assert done.status_code == 302
    assert "code=" in done.headers["location"]
    [event] = tenant.logs(q="type:s")
    [run] = event["details"]["actions"]["executions"]
    execution = tenant.execution(run)
    assert execution["trigger_id"] == "post-login"
    assert execution["results"][0]["response"]["logs"] == "hi li@example.com"


def test_credentials_exchange_adds_claims_or_denies(tenant: FlowTenant) -> None:
    # https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger
    tenant.bind(
        "credentials-exchange",
        (
            "m2m",
            handler(
                "onExecuteCredentialsExchange",
                'if (event.client.metadata.blocked === "yes") {\n'
                '  api.access.deny("invalid_request", "client is blocked");\n'
                "  return;\n}\n"
                "const audience = event.resource_server.identifier;\n"
                'api.accessToken.setCustomClaim("https://example.com/tier", audience);',
            ),
        ),
    )
    client = {"client_id": "svc", "name": "Billing", "client_metadata": {}}
    granted = run_credentials_exchange(tenant.app, client, "https://api.example.com", ["read:x"])
    assert granted.denial is None
    assert granted.claims == {"https://example.com/tier": "https://api.example.com"}
    blocked = {**client, "client_metadata": {"blocked": "yes"}}
    refused = run_credentials_exchange(tenant.app, blocked, "https://api.example.com", ["read:x"])
    assert refused.denial is not None
    assert (refused.denial.status, refused.denial.body()) == (
        400,
        {"error": "invalid_request", "error_description": "client is blocked"},
    )
    assert [e["type"] for e in tenant.logs()] == ["feccft", "seccft"]
    assert refused.execution_id is not None
    assert tenant.execution(refused.execution_id)["trigger_id"] == "credentials-exchange"


def test_a_login_that_redirects_keeps_one_execution_until_it_ends(tenant: FlowTenant) -> None:
    code = (
        "exports.onExecutePostLogin = async (event, api) => {\n"
        '  console.log("before");\n'
        '  api.redirect.sendUserTo("https://consent.example.com/ask");\n'
        "};\n"
        "exports.onContinuePostLogin = async (event, api) => {\n"
        '  console.log("after");\n'
        "};\n"
    )
    tenant.bind("post-login", ("ask", code))
    tenant.api.post(
        "/users", json={"connection": CONNECTION, "email": "re@example.com", "password": PASSWORD}
    )
    tx = tenant.login_transaction()
    away = tenant.web.post(
        "/u/login", data={"tx": tx, "email": "re@example.com", "password": PASSWORD}
    )
    assert away.status_code == 302
    state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
    [waiting] = tenant.app.flows.logs.executions()
    assert waiting["status"] == "suspended"

    back = tenant.web.get("/continue", params={"state": state})
    assert back.status_code == 302
    assert "code=" in back.headers["location"]
    [event] = tenant.logs(q="type:s")
    [run] = event["details"]["actions"]["executions"]
    execution = tenant.execution(run)
    assert run == waiting["id"]
    assert execution["status"] == "final"
    assert [r["response"]["logs"] for r in execution["results"]] == ["before", "after"]


def test_the_signup_prompt_comes_from_tenant_yaml(tmp_path: Path) -> None:
    (tmp_path / "tenant.yaml").write_text(
        "consent:\n"
        "  languages: [de, en]\n"
        "  purposes:\n"
        "    - {id: terms, required: true, url: https://example.com/terms}\n"
        "    - id: marketing\n"
        "      required: false\n"
        "      url: https://example.com/marketing\n"
        "      title: {de: Werbung per E-Mail, en: Marketing email}\n"
        "      signup_field: offers\n"
        "    - {id: analytics, required: false, title: {de: Analyse, en: Analytics}}\n"
        "  signup: {field: agreed}\n"
        "environments:\n"
        "  local:\n"
        "    consent: {privacy_url: https://local.example.com/privacy}\n",
        encoding="utf-8",
    )
    prompt = SignupPrompt.for_project(tmp_path)
    # consent.signup.universal_login_field defaults to "ulp-" + field (docs/tenant-yaml.md).
    assert prompt.terms_field == "ulp-agreed"
    assert prompt.terms_url == "https://example.com/terms"  # the first required purpose's
    assert prompt.privacy_url == "https://local.example.com/privacy"
    # One box per optional purpose with a signup_field, titled in the default language.
    assert prompt.purposes == (
        PurposeBox("ulp-offers", "Werbung per E-Mail", "https://example.com/marketing"),
    )
    # Ticked, it is posted like the terms box (a ulp- field: the request body).
    body, metadata = prompt.split({"ulp-agreed": "true", "ulp-offers": "true"})
    assert body == {"ulp-agreed": "true", "ulp-offers": "true"}
    assert metadata == {}
    assert prompt.split({"ulp-agreed": "true"})[0] == {"ulp-agreed": "true"}
    assert SignupPrompt.for_project(tmp_path / "missing") == SignupPrompt()


API = "https://api.example.com"


def _example_api(tenant: FlowTenant) -> None:
    made = tenant.api.post(
        "/resource-servers",
        json={"name": "Example API", "identifier": API, "scopes": [{"value": "read:x"}]},
    )
    assert made.status_code == 201, made.text


def _machine_client(tenant: FlowTenant, metadata: dict[str, str]) -> tuple[str, str]:
    """A machine-to-machine application granted read:x on ``API``, made through the API."""
    made = tenant.api.post(
        "/clients",
        json={"name": "Billing", "app_type": "non_interactive", "client_metadata": metadata},
    )
    assert made.status_code == 201, made.text
    client = made.json()
    granted = tenant.api.post(
        "/client-grants",
        json={"client_id": client["client_id"], "audience": API, "scope": ["read:x"]},
    )
    assert granted.status_code == 201, granted.text
    return str(client["client_id"]), str(client["client_secret"])


def _m2m_token(tenant: FlowTenant, client_id: str, secret: str) -> httpx.Response:
    return tenant.web.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": API,
            "scope": "read:x",
        },
    )


@pytest.fixture
def m2m(tenant: FlowTenant) -> FlowTenant:
    """An API, and credentials-exchange actions deployed and bound through the API."""
    _example_api(tenant)
    tenant.bind(
        "credentials-exchange",
        (
            "m2m",
            handler(
                "onExecuteCredentialsExchange",
                'console.log("exchange", event.client.name, event.resource_server.identifier);\n'
                'if (event.client.metadata.blocked === "yes") {\n'
                '  api.access.deny("invalid_scope", "client is blocked");\n'
                "  return;\n}\n"
                'api.accessToken.setCustomClaim("https://example.com/tier", "gold");\n'
                # A restricted claim is left out of the token; the exchange goes on.
                'api.accessToken.setCustomClaim("gty", "password");',
            ),
        ),
    )
    return tenant


def test_the_client_credentials_grant_adds_the_claims_credentials_exchange_set(
    m2m: FlowTenant,
) -> None:
    # https://auth0.com/docs/customize/actions/explore-triggers/machine-to-machine-trigger/credentials-exchange-api-object
    client_id, secret = _machine_client(m2m, {})
    answer = _m2m_token(m2m, client_id, secret)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "read:x"
    keys = httpx.get(f"{m2m.base}/.well-known/jwks.json").json()["keys"]
    key = jwt.PyJWK(keys[0])
    claims = jwt.decode(answer.json()["access_token"], key, algorithms=["RS256"], audience=API)
    assert claims["https://example.com/tier"] == "gold"
    assert claims["scope"] == "read:x"
    # The standard claims are the tenant's, not the action's.
    assert (claims["sub"], claims["gty"]) == (f"{client_id}@clients", "client-credentials")

    [event] = m2m.logs(q="type:seccft")
    assert event["client_id"] == client_id
    [run] = event["details"]["actions"]["executions"]
    execution = m2m.execution(run)
    assert execution["trigger_id"] == "credentials-exchange"
    assert execution["status"] == "final"
    assert execution["results"][0]["response"]["logs"] == f"exchange Billing {API}"


def test_a_credentials_exchange_deny_refuses_the_token(m2m: FlowTenant) -> None:
    client_id, secret = _machine_client(m2m, {"blocked": "yes"})
    answer = _m2m_token(m2m, client_id, secret)
    # api.access.deny(code, reason): the OAuth2 error the client receives, and no token.
    assert answer.status_code == 403
    assert answer.json() == {"error": "invalid_scope", "error_description": "client is blocked"}
    [event] = m2m.logs(q="type:feccft")
    assert event["description"] == "client is blocked"
    [run] = event["details"]["actions"]["executions"]
    assert m2m.execution(run)["trigger_id"] == "credentials-exchange"
    assert m2m.logs(q="type:seccft") == []


def test_a_credentials_exchange_that_throws_refuses_the_token(tenant: FlowTenant) -> None:
    _example_api(tenant)
    tenant.bind(
        "credentials-exchange",
        ("broken", handler("onExecuteCredentialsExchange", 'throw new Error("vault down");')),
    )
    client_id, secret = _machine_client(tenant, {})
    answer = _m2m_token(tenant, client_id, secret)
    assert answer.status_code == 403
    assert answer.json() == {"error": "server_error", "error_description": "vault down"}
    assert "access_token" not in answer.text


def test_no_credentials_exchange_binding_runs_nothing(tenant: FlowTenant) -> None:
    _example_api(tenant)
    client_id, secret = _machine_client(tenant, {})
    answer = _m2m_token(tenant, client_id, secret)
    assert answer.status_code == 200, answer.text
    assert tenant.app.flows.logs.executions() == []
    assert tenant.logs() == []


def test_the_signup_page_continues_the_authorize_transaction(tenant: FlowTenant) -> None:
    """After a signup on the page, the login is still the one /authorize started: its
    browser (the transaction cookie), its application and its redirect_uri."""
    tenant.bind(
        "pre-user-registration", ("who", handler(PRE, 'console.log("client", event.client.name);'))
    )
    code = (
        "exports.onExecutePostLogin = async (event, api) => {\n"
        '  api.redirect.sendUserTo("https://consent.example.com/ask");\n'
        "};\n"
        "exports.onContinuePostLogin = async (event, api) => {\n"
        '  api.idToken.setCustomClaim("https://example.com/back", event.client.client_id);\n'
        "};\n"
    )
    tenant.bind("post-login", ("ask", code))
    tx = tenant.login_transaction(scope="openid")
    away = tenant.web.post(
        "/u/signup",
        data={
            "tx": tx,
            "email": "new@example.com",
            "password": PASSWORD,
            "ulp-terms_accepted": "true",
        },
    )
    assert away.status_code == 302, away.text
    assert away.headers["location"].startswith("https://consent.example.com/ask?")
    state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
    [signup] = tenant.logs(q="type:ss")
    pre = tenant.execution(signup["details"]["actions"]["executions"][0])
    assert pre["results"][0]["response"]["logs"] == "client Test application"

    # A leaked link: another browser, without the cookie /authorize set, is refused.
    with httpx.Client(base_url=tenant.base, follow_redirects=False, timeout=60) as stranger:
        assert stranger.get("/continue", params={"state": state}).status_code == 400
    back = tenant.web.get("/continue", params={"state": state})
    assert back.status_code == 302
    arrived = urlsplit(back.headers["location"])
    assert f"{arrived.scheme}://{arrived.netloc}{arrived.path}" == APP
    query = parse_qs(arrived.query)
    assert query["state"] == ["s1"]
    exchange = {"grant_type": "authorization_code", "client_id": "app", "code": query["code"][0]}
    # The code is the application's, for the redirect_uri /authorize had.
    answer = tenant.web.post("/oauth/token", data={**exchange, "redirect_uri": APP})
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["id_token"], options={"verify_signature": False})
    assert claims["aud"] == "app"
    assert claims["https://example.com/back"] == "app"
    assert claims["email"] == "new@example.com"
