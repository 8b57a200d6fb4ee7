"""The local tenant checks every request once, as Auth0 does, before a handler runs.

- Request bodies are validated from Auth0's Management API OpenAPI document
  (https://auth0.com/docs/api/management/v2), with Auth0's 400 body naming the
  field, on every route: also on one added without any validation code.
- The route table's scopes are the document's ``security`` scopes.
- The packaged copy of the document is the vendored one, trimmed (no drift).
- User search refuses what Auth0 refuses
  (https://auth0.com/docs/manage-users/user-search/user-search-query-syntax).
- Users are built in one place: seeded and API-created users have one shape and
  one password-hash format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import ServedTenant

from auth0_actions.emulator import openapi, routes
from auth0_actions.emulator.backends.host import Settings
from auth0_actions.emulator.backends.passwords import SALT_BYTES, verify_password
from auth0_actions.emulator.http import Response
from auth0_actions.emulator.tenant import LocalTenant

DOCUMENT = Path(__file__).parent / "conformance" / "auth0-management-api.openapi.json"
DB = "Username-Password-Authentication"


@pytest.fixture(scope="module")
def served() -> Iterator[ServedTenant]:
    # A tenant from before rules' end of life, so rule bodies reach validation
    # (a new tenant refuses every rule write first: test_emulator_rules.py).
    tenant = ServedTenant(settings=Settings(legacy_rules=True))
    yield tenant
    tenant.stop()


@pytest.fixture
def http(served: ServedTenant) -> Iterator[httpx.Client]:
    with served.http() as client:
        yield client


def _bad_body(response: httpx.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": message,
        "errorCode": "invalid_body",
    }


# -- bodies, from the document ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        (
            "POST",
            "/api/v2/users",
            {"email": "a@example.com", "password": "x"},
            "Payload validation error: 'Missing required property: connection'.",
        ),
        (
            "POST",
            "/api/v2/users",
            {"connection": DB, "email": "a@example.com", "password": "x", "nickname": 7},
            "Payload validation error: 'Expected type string but found type integer' "
            "on property nickname.",
        ),
        (
            "POST",
            "/api/v2/users",
            {"connection": DB, "email": "not-an-email", "password": "x"},
            "Payload validation error: 'Object didn't pass validation for format email: "
            "not-an-email' on property email.",
        ),
        (
            "POST",
            "/api/v2/rules",
            {"name": "r", "script": "function () {}", "colour": "red"},
            "Payload validation error: 'Additional properties not allowed: colour'.",
        ),
        (
            "POST",
            "/api/v2/rules",
            {"name": "r", "script": "function () {}", "order": -1},
            "Payload validation error: 'Value -1 is less than minimum 0' on property order.",
        ),
        (
            "POST",
            "/api/v2/jobs/users-exports",
            {"format": "xml"},
            "Payload validation error: 'No enum match for: \"xml\"' on property format.",
        ),
        (
            "POST",
            "/api/v2/jobs/users-exports",
            {"fields": [{"export_as": "e"}]},
            "Payload validation error: 'Missing required property: name' on property fields[0].",
        ),
        (
            "POST",
            "/api/v2/actions/actions",
            {"name": "a", "supported_triggers": []},
            "Payload validation error: 'Array is too short (0), minimum 1' "
            "on property supported_triggers.",
        ),
    ],
)
def test_a_bad_body_gets_auth0s_400_naming_the_field(
    http: httpx.Client, method: str, path: str, body: dict[str, Any], message: str
) -> None:
    _bad_body(http.request(method, path, json=body), message)


def test_a_route_without_validation_code_is_validated_from_the_document(
    served: ServedTenant, http: httpx.Client
) -> None:
    """An endpoint another area adds (here POST /api/v2/resource-servers, with a
    handler that checks nothing) refuses a body the document refuses."""
    seen: list[Any] = []

    def create(request: Any) -> Response:
        seen.append(request.json())
        return Response(201, request.json())

    served.app.router.add(
        "POST", "/api/v2/resource-servers", create, scopes=("create:resource_servers",)
    )
    # First in the table, ahead of the tenant's own resource-servers handler.
    served.app.router.routes.insert(0, served.app.router.routes.pop())
    token = served.issue_token(("create:resource_servers",))
    with served.http(token) as client:
        refused = client.post("/api/v2/resource-servers", json={"name": "api"})
        _bad_body(refused, "Payload validation error: 'Missing required property: identifier'.")
        accepted = client.post("/api/v2/resource-servers", json={"identifier": "https://api"})
    assert accepted.status_code == 201
    assert seen == [{"identifier": "https://api"}]  # only the valid body reached the handler


def test_a_valid_body_reaches_the_backend(http: httpx.Client) -> None:
    created = http.post(
        "/api/v2/rules", json={"name": "valid-rule", "script": "function () {}", "order": 3}
    )
    assert created.status_code == 201, created.text
    assert created.json()["order"] == 3


# -- the route table and the packaged document ------------------------------------


def test_the_route_tables_scopes_are_the_documents() -> None:
    """Every Management API route of the table (the new-tenant defaults among them) is an
    operation of Auth0's document, and takes the scopes of its ``security``."""
    schemas = openapi.RequestSchemas.packaged()
    management = [e for e in routes.ROUTES if e.path.startswith("/api/v2/")]
    assert len(management) >= 100
    missing = [
        (e.method, e.path) for e in management if schemas.operation(e.method, e.path) is None
    ]
    assert missing == []
    for endpoint in management:
        assert sorted(endpoint.scopes) == sorted(schemas.scopes(endpoint.method, endpoint.path)), (
            endpoint.method,
            endpoint.path,
        )


def test_the_packaged_request_schemas_are_the_vendored_documents() -> None:
    """Regenerate with: python -m auth0_actions.emulator.openapi <vendored> <packaged>."""
    full = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    packaged = Path(openapi.__file__).with_name(openapi.DATA_FILE).read_text(encoding="utf-8")
    assert packaged == openapi.render(openapi.trim(full))


# -- user search restrictions -----------------------------------------------------


@pytest.fixture(scope="module")
def searchable(served: ServedTenant) -> str:
    with served.http() as client:
        created = client.post(
            "/api/v2/users",
            json={
                "connection": DB,
                "email": "searchable.person@example.com",
                "password": "Passw0rd!long",
                "name": "Searchable Person",
                "user_metadata": {"plan": "gold", "seats": 5},
            },
        )
    assert created.status_code == 201, created.text
    return str(created.json()["user_id"])


@pytest.mark.parametrize(
    "query",
    [
        "user_metadata.plan:gol*",
        "app_metadata.tier:*old",
        "user_metadata.seats:[1 TO 9]",
        "name:se*",
        "email:*om",
        "ab*",
    ],
)
def test_search_refuses_what_auth0_does_not_run(
    http: httpx.Client, searchable: str, query: str
) -> None:
    """ "Range and wildcard searches are not available on user_metadata fields";
    a prefix or suffix wildcard needs 3 characters."""
    response = http.get("/api/v2/users", params={"q": query, "search_engine": "v3"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errorCode"] == "invalid_query_string"
    assert body["message"].startswith("Query validation error: '")
    assert body["message"].endswith("' on property q.")


@pytest.mark.parametrize(
    "query",
    [
        "name:sea*",
        "email:*example.com",
        "user_metadata.plan:gold",
        "user_metadata.plan:*",
        "created_at:[2000-01-01 TO *] AND email:searchable*",
    ],
)
def test_search_runs_what_auth0_runs(http: httpx.Client, searchable: str, query: str) -> None:
    response = http.get("/api/v2/users", params={"q": query, "search_engine": "v3"})
    assert response.status_code == 200, response.text
    assert searchable in [u["user_id"] for u in response.json()], query


# -- one user builder -------------------------------------------------------------


def test_seeded_and_api_created_users_have_one_shape_and_hash(tmp_path: Path) -> None:
    (tmp_path / "tenant.yaml").write_text("", encoding="utf-8")
    with LocalTenant.open(tmp_path) as local:
        [seeded] = local.seed(
            [
                {
                    "email": "Seeded@Example.com",
                    "connection": DB,
                    "password": "Passw0rd!seed",
                    "user_metadata": {"theme": "dark"},
                }
            ]
        )
        created = local.app.backends.users.create(
            {
                "email": "created@example.com",
                "connection": DB,
                "password": "Passw0rd!api",
                "user_metadata": {"theme": "dark"},
            }
        )
        stored_seeded = local.app.store.get("user", seeded["user_id"])
        stored_created = local.app.store.get("user", created["user_id"])
    assert stored_seeded is not None
    assert stored_created is not None
    assert set(stored_seeded) == set(stored_created)
    assert stored_seeded["email"] == "seeded@example.com"  # Auth0 keeps emails lower-case
    for stored, password in ((stored_seeded, "Passw0rd!seed"), (stored_created, "Passw0rd!api")):
        scheme, salt, digest = stored["_password_hash"].split("$")
        assert scheme == "scrypt"
        assert re.fullmatch(f"[0-9a-f]{{{2 * SALT_BYTES}}}", salt)
        assert re.fullmatch(r"[0-9a-f]{128}", digest)
        assert verify_password(stored, password)
        assert not verify_password(stored, password + "x")


def test_a_seeded_user_without_a_password_exists_but_cannot_log_in(tmp_path: Path) -> None:
    (tmp_path / "tenant.yaml").write_text("", encoding="utf-8")
    with LocalTenant.open(tmp_path, serve=False) as local:
        [seeded] = local.seed([{"email": "nopass@example.com", "connection": DB}])
        stored = local.app.store.get("user", seeded["user_id"])
    assert stored is not None
    assert "_password_hash" not in stored
    assert not verify_password(stored, "")


def test_a_management_api_route_listed_without_scopes_fails_closed(
    served: ServedTenant,
) -> None:
    """Every Management API call needs a token with one of the call's scopes
    (https://auth0.com/docs/secure/tokens/access-tokens/management-api-access-tokens):
    a route added without scopes is not thereby open."""
    served.app.router.add("GET", "/api/v2/unscoped-probe", lambda _: Response(200, {"open": 1}))
    with httpx.Client(base_url=served.base_url) as anonymous:
        assert anonymous.get("/api/v2/unscoped-probe").status_code == 401
    with served.http() as client:  # a token with every scope still matches none
        assert client.get("/api/v2/unscoped-probe").status_code == 403
