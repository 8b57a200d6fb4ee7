"""The local tenant's users and export jobs, over real HTTP on loopback.

Wire-level checks with httpx, replays of the recorded Auth0 traffic (status
codes, keys, types, enum values, envelopes: not ids or timestamps), Auth0's
metadata semantics one by one, user search, bulk exports in NDJSON and CSV,
and the official auth0-python SDK on every endpoint.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError as SdkApiError
from emulator_support import ServedTenant, Shape, load_recording, replay, report

from auth0_actions.emulator.app import Emulator, Settings
from auth0_actions.emulator.auth import MANAGEMENT_SCOPES
from auth0_actions.emulator.backends.users import (
    METADATA_MAX_BYTES,
    connection_id,
    merge_metadata,
)
from auth0_actions.emulator.backends.users_query import matches, parse_query
from auth0_actions.emulator.server import ServerThread

AUDIENCE = "https://local.auth0-actions.test/api/v2/"
DB = "Username-Password-Authentication"


# -- fixtures -----------------------------------------------------------------


def _token(base_url: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": AUDIENCE,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def tenant() -> Iterator[SimpleNamespace]:
    served = ServedTenant()
    http = served.http()
    sdk = Auth0(base_url=served.api_url, token=served.token, max_retries=0)
    try:
        yield SimpleNamespace(
            app=served.app, server=served.server, http=http, sdk=sdk, token=served.token
        )
    finally:
        http.close()
        served.stop()


def _user(t: SimpleNamespace, email: str, **extra: Any) -> dict[str, Any]:
    body = {"connection": DB, "email": email, "password": "Passw0rd!long", **extra}
    response = t.http.post("/api/v2/users", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _path(user_id: str) -> str:
    return f"/api/v2/users/{quote(user_id, safe='')}"


# -- replay of the recordings -------------------------------------------------

NOT_EMULATED = re.compile(r"/(resource-servers|roles|permissions|connections)\b")
USER_SHAPE = Shape(
    enums={
        "status": frozenset({"pending", "processing", "completed"}),
        "type": frozenset({"users_export"}),
        "format": frozenset({"json", "csv"}),
        "provider": frozenset({"auth0"}),
        "connection": frozenset({DB}),
    }
)


def _recorded(name: str) -> list[dict[str, Any]]:
    """The recording's user/job traffic; the connection id of the recorded tenant is
    swapped for the emulator's (the connections lookup itself is not emulated)."""
    text = json.dumps(
        [i for i in load_recording(name) if not NOT_EMULATED.search(i["request"]["url"])]
    )
    return list(json.loads(text.replace("con_ftSSLHb0O7rcUGmF", connection_id(DB))))


@pytest.mark.parametrize(
    "recording",
    [
        "TestAccUser.yaml",
        "TestAccDataSourceUser.yaml",
        "go_TestUserManager_ListByEmail.yaml",
        "go_TestUserManager_Read.yaml",
        "go_TestUserManager_Search.yaml",
        "go_TestUserManager_Update.yaml",
        "go_TestJobManager_ExportUsers.yaml",
    ],
)
def test_replays_recorded_user_traffic(tenant: SimpleNamespace, recording: str) -> None:
    steps = replay(tenant.http, _recorded(recording), USER_SHAPE)
    assert len(steps) >= 3
    assert not report(steps), report(steps)
    for step in steps:
        if step.recorded_status >= 400:  # error bodies match to the letter
            assert step.actual == step.recorded, step
        if step.recorded_status == 204:
            assert step.actual is None


# -- create / get / users-by-email / delete -----------------------------------


def test_create_shapes_the_user_and_keeps_only_a_password_hash(tenant: SimpleNamespace) -> None:
    user = _user(tenant, "Ada@Example.com", user_metadata={"lang": "fr"})
    assert re.fullmatch(r"auth0\|[0-9a-f]{24}", user["user_id"])
    assert user["email"] == "ada@example.com"
    assert user["email_verified"] is False
    assert user["name"] == "ada@example.com"
    assert user["nickname"] == "ada"
    assert user["picture"].startswith("https://s.gravatar.com/avatar/")
    assert user["identities"] == [
        {
            "connection": DB,
            "user_id": user["user_id"].split("|")[1],
            "provider": "auth0",
            "isSocial": False,
        }
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", user["created_at"])
    assert "app_metadata" not in user
    assert "password" not in json.dumps(user)
    stored = tenant.app.store.get("user", user["user_id"])
    assert stored["_password_hash"].startswith("scrypt$")
    assert "Passw0rd!long" not in json.dumps(stored)
    from auth0_actions.emulator.backends.passwords import verify_password

    assert verify_password(stored, "Passw0rd!long")
    assert not verify_password(stored, "wrong")


def test_create_errors(tenant: SimpleNamespace) -> None:
    _user(tenant, "dup@example.com")
    again = tenant.http.post(
        "/api/v2/users", json={"connection": DB, "email": "DUP@example.com", "password": "x1!Aaaaa"}
    )
    assert again.status_code == 409
    assert again.json() == {
        "statusCode": 409,
        "error": "Conflict",
        "message": "The user already exists.",
        "errorCode": "auth0_idp_error",
    }
    cases = [
        ({"connection": DB, "email": "nopw@example.com"}, "password"),
        ({"email": "x@example.com", "password": "p"}, "connection"),
        ({"connection": DB, "password": "p"}, "email"),
    ]
    for body, missing in cases:
        response = tenant.http.post("/api/v2/users", json=body)
        assert response.status_code == 400
        assert response.json()["message"] == (
            f"Payload validation error: 'Missing required property: {missing}'."
        )
        assert response.json()["errorCode"] == "invalid_body"
    for body in (
        {"connection": DB, "email": "not-an-email", "password": "p"},
        {"connection": DB, "email": "a@example.com", "password": "p", "foo": 1},
        {"connection": DB, "email": "a@example.com", "password": "p", "email_verified": "yes"},
        {"connection": DB, "email": "a@example.com", "password": "p", "user_metadata": []},
        [1, 2],
    ):
        response = tenant.http.post("/api/v2/users", json=body)
        assert response.status_code == 400, body
        assert set(response.json()) == {"statusCode", "error", "message", "errorCode"}
    same_username = tenant.http.post(
        "/api/v2/users",
        json={"connection": DB, "email": "u2@example.com", "password": "p", "username": "dup"},
    )
    assert same_username.status_code == 201
    clash = tenant.http.post(
        "/api/v2/users",
        json={"connection": DB, "email": "u3@example.com", "password": "p", "username": "dup"},
    )
    assert clash.status_code == 409
    spaced = tenant.http.post(
        "/api/v2/users",
        json={"connection": DB, "email": "u4@example.com", "password": "p", "user_id": "a b"},
    )
    assert spaced.status_code == 400
    passwordless = tenant.http.post(
        "/api/v2/users", json={"connection": "email", "email": "pl@example.com"}
    )
    assert passwordless.status_code == 201
    assert passwordless.json()["user_id"].startswith("email|")


def test_get_with_fields_encoded_ids_and_404(tenant: SimpleNamespace) -> None:
    user = _user(tenant, "grace@example.com", user_id="grace-1")
    assert user["user_id"] == "auth0|grace-1"
    encoded = tenant.http.get("/api/v2/users/auth0%7Cgrace-1")
    assert encoded.status_code == 200
    assert encoded.json() == user
    only = tenant.http.get(
        "/api/v2/users/auth0%7Cgrace-1",
        params={"fields": "email,user_id", "include_fields": "true"},
    )
    assert only.json() == {"email": "grace@example.com", "user_id": "auth0|grace-1"}
    without = tenant.http.get(
        "/api/v2/users/auth0%7Cgrace-1", params={"fields": "identities", "include_fields": "false"}
    ).json()
    assert "identities" not in without
    assert without["email"] == "grace@example.com"
    missing = tenant.http.get("/api/v2/users/auth0%7Cnobody")
    assert missing.status_code == 404
    assert missing.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }
    assert tenant.http.delete("/api/v2/users/auth0%7Cgrace-1").status_code == 204
    assert tenant.http.get("/api/v2/users/auth0%7Cgrace-1").status_code == 404


def test_users_by_email_is_a_bare_array(tenant: SimpleNamespace) -> None:
    user = _user(tenant, "lin@example.com")
    found = tenant.http.get("/api/v2/users-by-email", params={"email": "lin@example.com"})
    assert found.status_code == 200
    assert found.json() == [user]
    projected = tenant.http.get(
        "/api/v2/users-by-email", params={"email": "lin@example.com", "fields": "user_id"}
    )
    assert projected.json() == [{"user_id": user["user_id"]}]
    none = tenant.http.get("/api/v2/users-by-email", params={"email": "nobody@example.com"})
    assert none.json() == []
    assert tenant.http.get("/api/v2/users-by-email").status_code == 400


def test_scopes_and_authentication(tenant: SimpleNamespace) -> None:
    reader = tenant.app.oauth.register(scopes=("read:users",))
    token = _token(tenant.server.base_url, reader.client_id, reader.client_secret)
    headers = {"authorization": f"Bearer {token}"}
    base = tenant.server.base_url
    assert httpx.get(f"{base}/api/v2/users", headers=headers).status_code == 200
    denied = httpx.post(
        f"{base}/api/v2/users",
        headers=headers,
        json={"connection": DB, "email": "s@example.com", "password": "p"},
    )
    assert denied.status_code == 403
    assert denied.json()["message"] == "Insufficient scope, expected any of: create:users"
    for method, path, scope in (
        ("PATCH", "/api/v2/users/x", "update:users"),
        ("DELETE", "/api/v2/users/x", "delete:users"),
    ):
        response = httpx.request(method, f"{base}{path}", headers=headers, json={"name": "n"})
        assert response.status_code == 403
        assert scope in response.json()["message"]
    assert httpx.get(f"{base}/api/v2/users").status_code == 401
    assert "create:users" in MANAGEMENT_SCOPES


# -- PATCH: Auth0's metadata semantics ------------------------------------------


def test_metadata_merge_null_delete_wipe_and_nested_replace(tenant: SimpleNamespace) -> None:
    user = _user(tenant, "meta@example.com")
    path = _path(user["user_id"])

    def patch(body: dict[str, Any]) -> dict[str, Any]:
        response = tenant.http.patch(path, json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # top-level merge
    patch({"user_metadata": {"a": 1, "consent": {"given": True, "version": "v1"}}})
    merged = patch({"user_metadata": {"b": "two"}, "app_metadata": {"plan": "gold", "x": 1}})
    assert merged["user_metadata"] == {
        "a": 1,
        "consent": {"given": True, "version": "v1"},
        "b": "two",
    }
    assert merged["app_metadata"] == {"plan": "gold", "x": 1}
    # nested objects are replaced whole, not merged
    nested = patch({"user_metadata": {"consent": {"given": False}}})
    assert nested["user_metadata"]["consent"] == {"given": False}
    # null deletes a key
    deleted = patch({"user_metadata": {"a": None}, "app_metadata": {"x": None}})
    assert deleted["user_metadata"] == {"consent": {"given": False}, "b": "two"}
    assert deleted["app_metadata"] == {"plan": "gold"}
    # deleting the last app_metadata key: app_metadata disappears
    assert "app_metadata" not in patch({"app_metadata": {"plan": None}})
    patch({"app_metadata": {"plan": "gold"}})
    # {} wipes; app_metadata disappears from the response, user_metadata stays as {}
    wiped = patch({"user_metadata": {}, "app_metadata": {}})
    assert wiped["user_metadata"] == {}
    assert "app_metadata" not in wiped
    assert tenant.http.get(path).json() == wiped
    # root fields: replaced, null unsets; a password change is stamped, never echoed
    renamed = patch({"name": "Meta Person", "given_name": "Meta"})
    assert renamed["name"] == "Meta Person"
    assert renamed["given_name"] == "Meta"
    assert "given_name" not in patch({"given_name": None})
    changed = patch({"password": "An0ther!pass", "connection": DB})
    assert "last_password_reset" in changed
    assert "password" not in changed
    assert changed["updated_at"] >= changed["created_at"]
    assert merge_metadata({"a": 1}, {}) == {}


def test_metadata_keys_with_dot_or_dollar_are_rejected(tenant: SimpleNamespace) -> None:
    user = _user(tenant, "keys@example.com", user_metadata={"ok": "a.b$c"})
    path = _path(user["user_id"])
    for body, fragment in (
        ({"user_metadata": {"pref.color": "pink"}}, '"."'),
        ({"user_metadata": {"consent": {"v.1": True}}}, "user_metadata.consent.v.1"),
        ({"app_metadata": {"$set": 1}}, '"$"'),
        ({"user_metadata": {"list": [{"a$": 1}]}}, '"$"'),
    ):
        response = tenant.http.patch(path, json=body)
        assert response.status_code == 400, body
        payload = response.json()
        assert payload["statusCode"] == 400
        assert payload["error"] == "Bad Request"
        assert fragment in payload["message"]
    created = tenant.http.post(
        "/api/v2/users",
        json={
            "connection": DB,
            "email": "dots@example.com",
            "password": "p",
            "user_metadata": {"a.b": 1},
        },
    )
    assert created.status_code == 400
    assert 'Fields with "." are not allowed' in created.json()["message"]
    # nothing was written by the rejected requests
    assert tenant.http.get(path).json()["user_metadata"] == {"ok": "a.b$c"}


def test_metadata_size_limit(tenant: SimpleNamespace) -> None:
    user = _user(tenant, "big@example.com")
    path = _path(user["user_id"])
    half = "x" * (METADATA_MAX_BYTES // 2)
    assert tenant.http.patch(path, json={"user_metadata": {"a": half}}).status_code == 200
    # each PATCH is small, but the merged object would exceed the limit
    over = tenant.http.patch(path, json={"user_metadata": {"b": half}})
    assert over.status_code == 400
    assert str(METADATA_MAX_BYTES) in over.json()["message"]
    assert over.json()["errorCode"] == "invalid_body"
    assert tenant.http.get(path).json()["user_metadata"] == {"a": half}
    # app_metadata has its own budget
    assert tenant.http.patch(path, json={"app_metadata": {"a": half}}).status_code == 200
    # the core's 1 MB request cap
    huge = tenant.http.patch(path, json={"user_metadata": {"a": "y" * (1024 * 1024)}})
    assert huge.status_code == 413


def test_patch_errors(tenant: SimpleNamespace) -> None:
    assert tenant.http.patch(_path("auth0|nobody"), json={"name": "n"}).status_code == 404
    user = _user(tenant, "pe@example.com")
    _user(tenant, "taken@example.com")
    path = _path(user["user_id"])
    assert tenant.http.patch(path, json={}).status_code == 400
    assert tenant.http.patch(path, json={"user_metadata": "text"}).status_code == 400
    assert tenant.http.patch(path, json={"blocked": "no"}).status_code == 400
    assert (
        tenant.http.patch(
            path, content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    clash = tenant.http.patch(path, json={"email": "taken@example.com"})
    assert clash.status_code == 409


# -- search ---------------------------------------------------------------------


def _consent_users(t: SimpleNamespace) -> dict[str, str]:
    """Five users with varied consent records; email -> user_id."""
    specs: list[tuple[str, dict[str, Any] | None]] = [
        ("given@example.com", {"consent": {"given": True, "version": 2, "channels": ["email"]}}),
        ("refused@example.com", {"consent": {"given": False, "version": 2}}),
        ("old@example.com", {"consent": {"given": True, "version": 1}}),
        ("never@example.com", {"lang": "fr"}),
        ("bare@other.org", None),
    ]
    ids = {}
    for email, metadata in specs:
        extra = {"user_metadata": metadata} if metadata is not None else {}
        ids[email] = _user(t, email, **extra)["user_id"]
    return ids


def _search(t: SimpleNamespace, q: str, **params: Any) -> set[str]:
    response = t.http.get(
        "/api/v2/users", params={"q": q, "search_engine": "v3", "per_page": 100, **params}
    )
    assert response.status_code == 200, (q, response.text)
    return {u["email"] for u in response.json()}


def test_search_queries(tenant: SimpleNamespace) -> None:
    _consent_users(tenant)
    s = lambda q: _search(tenant, q)  # noqa: E731
    assert s('email:"given@example.com"') == {"given@example.com"}
    assert s("email:GIVEN@example.com") == {"given@example.com"}  # normalised field
    assert s("user_metadata.consent.given:false") == {"refused@example.com"}
    assert s("user_metadata.consent.given:true") == {"given@example.com", "old@example.com"}
    assert s("user_metadata.consent.version:2") == {"given@example.com", "refused@example.com"}
    assert s("user_metadata.consent.channels:email") == {"given@example.com"}
    assert s("_exists_:user_metadata.consent") == {
        "given@example.com",
        "refused@example.com",
        "old@example.com",
    }
    assert s("NOT _exists_:user_metadata.consent") == {"never@example.com", "bare@other.org"}
    assert s("NOT _exists_:user_metadata.consent.given OR user_metadata.consent.given:false") == {
        "never@example.com",
        "bare@other.org",
        "refused@example.com",
    }
    assert s("user_metadata.consent.given:true AND NOT user_metadata.consent.version:2") == {
        "old@example.com"
    }
    assert s(
        "(user_metadata.consent.version:1 OR user_metadata.lang:fr) AND email:*@example.com"
    ) == {"old@example.com", "never@example.com"}
    assert s("email.domain:other.org") == {"bare@other.org"}
    assert s("user_metadata.lang:FR") == set()  # metadata is case sensitive
    assert s('identities.connection:"Username-Password-Authentication"') == {
        "given@example.com",
        "refused@example.com",
        "old@example.com",
        "never@example.com",
        "bare@other.org",
    }
    assert s("email:(given@example.com OR old@example.com)") == {
        "given@example.com",
        "old@example.com",
    }
    assert s("-user_metadata.consent.given:true && _exists_:user_metadata") == {
        "refused@example.com",
        "never@example.com",
    }
    assert len(s("")) == 5
    for q in ("email:", "(", "a OR", "AND", "x:[1 TO", "(" * 5000 + "a" + ")" * 5000):
        broken = tenant.http.get("/api/v2/users", params={"q": q})
        assert broken.status_code == 400, q
    bad = tenant.http.get("/api/v2/users", params={"q": 'email:"unterminated'})
    assert bad.status_code == 400
    assert bad.json()["errorCode"] == "invalid_query"


def test_search_query_parser_units() -> None:
    user = {
        "email": "a@example.com",
        "logins_count": 5,
        "created_at": "2026-01-02T00:00:00.000Z",
        "user_metadata": {"consent": {"given": True}, "n": 3.5},
    }
    assert matches(parse_query("logins_count:[1 TO 5]"), user)
    assert not matches(parse_query("logins_count:{1 TO 5}"), user)
    assert matches(parse_query("created_at:[2026-01-01 TO *]"), user)
    assert matches(parse_query("user_metadata.n:3.5"), user)
    assert matches(parse_query("a@example.com"), user)  # bare term: root fields
    assert matches(parse_query("email:a*"), user)
    assert not matches(parse_query("user_metadata.consent.given:yes"), user)


def test_search_envelopes_and_paging_limits(tenant: SimpleNamespace) -> None:
    for index in range(7):
        _user(tenant, f"p{index}@example.com")
    envelope = tenant.http.get(
        "/api/v2/users",
        params={"include_totals": "true", "per_page": 3, "page": 1, "sort": "email:1"},
    ).json()
    assert set(envelope) == {"start", "limit", "length", "users", "total"}
    assert (envelope["start"], envelope["limit"], envelope["length"], envelope["total"]) == (
        3,
        3,
        3,
        7,
    )
    assert [u["email"] for u in envelope["users"]] == [f"p{i}@example.com" for i in (3, 4, 5)]
    bare = tenant.http.get("/api/v2/users", params={"per_page": 3, "page": 2}).json()
    assert isinstance(bare, list)
    assert len(bare) == 1
    past_end = tenant.http.get("/api/v2/users", params={"per_page": 3, "page": 5})
    assert past_end.status_code == 200
    assert past_end.json() == []
    descending = tenant.http.get("/api/v2/users", params={"sort": "email:-1", "per_page": 1})
    assert descending.json()[0]["email"] == "p6@example.com"
    too_big = tenant.http.get("/api/v2/users", params={"per_page": 101})
    assert too_big.status_code == 400
    assert too_big.json()["message"].startswith("Query validation error: 'Value 101 is greater")
    capped = tenant.http.get("/api/v2/users", params={"per_page": 100, "page": 10})
    assert capped.status_code == 400
    assert capped.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "You can only page through the first 1000 records. See "
        "https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation",
        "errorCode": "invalid_paging",
    }
    assert tenant.http.get("/api/v2/users", params={"per_page": 50, "page": 19}).status_code == 200
    assert tenant.http.get("/api/v2/users", params={"per_page": 50, "page": 20}).status_code == 400
    assert tenant.http.get("/api/v2/users", params={"search_engine": "v9"}).status_code == 400


# -- export jobs ----------------------------------------------------------------


def _seed_many(t: SimpleNamespace, count: int) -> None:
    for index in range(count):
        metadata: dict[str, Any] = {"consent": {"given": index % 3 != 0, "version": index % 4}}
        if index % 5 == 0:
            metadata = {"lang": "en"}
        _user(t, f"bulk{index:03d}@example.com", user_metadata=metadata, name=f"Bulk, {index}")


def _finish(t: SimpleNamespace, job_id: str) -> dict[str, Any]:
    seen = []
    for _ in range(10):
        job = t.http.get(f"/api/v2/jobs/{job_id}").json()
        seen.append(job["status"])
        if job["status"] == "completed":
            assert seen[0] == "processing"
            assert "percentage_done" not in job
            return dict(job)
        assert isinstance(job["percentage_done"], int)
        assert isinstance(job["time_left_seconds"], int)
    raise AssertionError(f"export never completed: {seen}")


def _download(location: str) -> bytes:
    response = httpx.get(location)  # no bearer token: the path is the capability
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    return gzip.decompress(response.content)


def test_exports_ndjson_and_csv_with_nested_fields(tenant: SimpleNamespace) -> None:
    _seed_many(tenant, 300)
    fields = [
        {"name": "user_id"},
        {"name": "email"},
        {"name": "name"},
        {"name": "user_metadata.consent.given", "export_as": "consent_given"},
        {"name": "user_metadata.consent.version"},
        {"name": "identities[0].connection", "export_as": "connection"},
    ]
    created = tenant.http.post(
        "/api/v2/jobs/users-exports",
        json={
            "connection_id": connection_id(DB),
            "format": "json",
            "limit": 1000,
            "fields": fields,
        },
    )
    assert created.status_code == 200, created.text
    job = created.json()
    assert job["status"] == "pending"
    assert job["type"] == "users_export"
    assert job["connection"] == DB
    assert re.fullmatch(r"job_[A-Za-z0-9]{16}", job["id"])
    done = _finish(tenant, job["id"])
    assert done["location"].startswith(tenant.server.base_url + "/exports/")
    assert done["location"].endswith(f"/{job['id']}.json.gz")
    lines = _download(done["location"]).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 300
    by_email = {row["email"]: row for row in rows}
    assert by_email["bulk001@example.com"]["consent_given"] is True
    assert by_email["bulk003@example.com"]["consent_given"] is False
    assert "consent_given" not in by_email["bulk000@example.com"]  # no consent record
    assert by_email["bulk002@example.com"]["user_metadata.consent.version"] == 2
    assert {row["connection"] for row in rows} == {DB}
    assert by_email["bulk007@example.com"]["name"] == "Bulk, 7"

    csv_job = tenant.http.post(
        "/api/v2/jobs/users-exports", json={"format": "csv", "fields": fields, "limit": 250}
    ).json()
    done = _finish(tenant, csv_job["id"])
    assert done["location"].endswith(".csv.gz")
    table = list(csv.reader(io.StringIO(_download(done["location"]).decode())))
    assert table[0] == [
        "user_id",
        "email",
        "name",
        "consent_given",
        "user_metadata.consent.version",
        "connection",
    ]
    assert len(table) == 251
    rows_csv = {row[1]: row for row in table[1:]}
    assert rows_csv["bulk001@example.com"][3] == "true"
    assert rows_csv["bulk003@example.com"][3] == "false"
    assert rows_csv["bulk000@example.com"][3] == ""
    assert rows_csv["bulk007@example.com"][2] == "Bulk, 7"  # quoted comma survives

    whole = tenant.http.post("/api/v2/jobs/users-exports", json={"format": "json", "limit": 2})
    first = json.loads(_download(_finish(tenant, whole.json()["id"])["location"]).splitlines()[0])
    assert "user_metadata" in first
    assert not any(k.startswith("_") for k in first)


def test_export_errors_and_capability(tenant: SimpleNamespace) -> None:
    _user(tenant, "one@example.com")
    too_many = [{"name": f"user_metadata.f{i}"} for i in range(31)]
    response = tenant.http.post(
        "/api/v2/jobs/users-exports", json={"format": "csv", "fields": too_many}
    )
    assert response.status_code == 400
    assert (
        tenant.http.post(
            "/api/v2/jobs/users-exports", json={"format": "csv", "fields": too_many[:30]}
        ).status_code
        == 200
    )
    for body in (
        {"format": "xml"},
        {"connection_id": "bad"},
        {"limit": 0},
        {"fields": [{"export_as": "x"}]},
        {"nope": 1},
    ):
        assert tenant.http.post("/api/v2/jobs/users-exports", json=body).status_code == 400, body
    unknown = tenant.http.post(
        "/api/v2/jobs/users-exports", json={"connection_id": "con_0000000000000000"}
    )
    assert unknown.status_code == 404
    assert tenant.http.get("/api/v2/jobs/job_0000000000000000").status_code == 404
    job = tenant.http.post("/api/v2/jobs/users-exports", json={"format": "json"}).json()
    location = _finish(tenant, job["id"])["location"]
    token = location.split("/exports/")[1].split("/")[0]
    assert httpx.get(location.replace(token, "x" * len(token))).status_code == 404
    assert httpx.get(location.replace(".json.gz", ".csv.gz")).status_code == 404
    assert httpx.get(f"{tenant.server.base_url}/api/v2/jobs/{job['id']}").status_code == 401


def test_export_progress_follows_the_configured_work_time() -> None:
    served = ServedTenant(settings=Settings(build_seconds=0.4))
    try:
        with served.http() as http:
            job = http.post("/api/v2/jobs/users-exports", json={"format": "json"}).json()
            first = http.get(f"/api/v2/jobs/{job['id']}").json()
            assert first["status"] == "processing"
            assert 0 <= first["percentage_done"] < 100
            assert first["time_left_seconds"] >= 1
            assert http.get(f"/api/v2/jobs/{job['id']}").json()["status"] == "processing"
            time.sleep(0.45)
            done = http.get(f"/api/v2/jobs/{job['id']}").json()
            assert done["status"] == "completed"
            assert set(done) == {
                "type",
                "status",
                "format",
                "created_at",
                "id",
                "location",
            }
    finally:
        served.stop()


def test_export_location_uses_the_public_base_url(tenant: SimpleNamespace) -> None:
    tenant.app.public_base_url = "https://tenant.example:8443"
    job = tenant.http.post("/api/v2/jobs/users-exports", json={"format": "csv"}).json()
    location = _finish(tenant, job["id"])["location"]
    assert location.startswith("https://tenant.example:8443/exports/")
    local = location.replace("https://tenant.example:8443", tenant.server.base_url)
    assert _download(local).startswith(b"user_id,email,")


def test_export_files_live_in_the_state_dir(tmp_path: Path) -> None:
    from auth0_actions.emulator.store import Store

    app = Emulator(store=Store(tmp_path / "tenant.sqlite"))
    client = app.oauth.register()
    server = ServerThread(app).start()
    try:
        token = _token(server.base_url, client.client_id, client.client_secret)
        with httpx.Client(
            base_url=server.base_url, headers={"authorization": f"Bearer {token}"}
        ) as http:
            t = SimpleNamespace(http=http)
            _user(t, "disk@example.com")  # type: ignore[arg-type]
            job = http.post("/api/v2/jobs/users-exports", json={"format": "json"}).json()
            done = _finish(t, job["id"])  # type: ignore[arg-type]
            assert (tmp_path / "exports" / f"{job['id']}.json.gz").is_file()
            assert b"disk@example.com" in _download(done["location"])
    finally:
        server.stop()


# -- the official SDK -------------------------------------------------------------


def test_sdk_users_and_exports(tenant: SimpleNamespace) -> None:
    sdk = tenant.sdk
    created = sdk.users.create(
        connection=DB,
        email="sdk@example.com",
        password="Sdk!passw0rd",
        user_metadata={"consent": {"given": True}},
        app_metadata={"plan": "free"},
        given_name="Sd",
        name="Sdk User",
    )
    assert created.user_id
    assert created.email == "sdk@example.com"
    fetched = sdk.users.get(created.user_id, fields="user_id,email", include_fields=True)
    assert fetched.email == "sdk@example.com"
    updated = sdk.users.update(
        created.user_id, user_metadata={"consent": None, "lang": "de"}, app_metadata={}
    )
    assert updated.user_metadata == {"lang": "de"}
    assert getattr(updated, "app_metadata", None) in (None, {})
    by_email = sdk.users.list_users_by_email(email="sdk@example.com")
    assert [u.user_id for u in by_email] == [created.user_id]
    for index in range(7):
        _user(tenant, f"pager{index}@example.com")
    pager = sdk.users.list(q="email:pager*", search_engine="v3", per_page=3)
    assert sorted(u.email for u in pager) == [f"pager{i}@example.com" for i in range(7)]
    found = list(sdk.users.list(q="user_metadata.lang:de", search_engine="v3"))
    assert [u.user_id for u in found] == [created.user_id]
    with pytest.raises(SdkApiError) as missing:
        sdk.users.get("auth0|nobody")
    assert missing.value.status_code == 404
    with pytest.raises(SdkApiError) as bad:
        sdk.users.update(created.user_id, user_metadata={"a.b": 1})
    assert bad.value.status_code == 400

    job = sdk.jobs.users_exports.create(
        connection_id=connection_id(DB),
        format="csv",
        limit=10,
        fields=[{"name": "email"}, {"name": "user_metadata.lang", "export_as": "lang"}],
    )
    assert job.status == "pending"
    status = sdk.jobs.get(job.id)
    while status.status != "completed":
        status = sdk.jobs.get(job.id)
    assert status.location
    rows = list(csv.DictReader(io.StringIO(_download(status.location).decode())))
    assert {"email": "sdk@example.com", "lang": "de"} in rows

    sdk.users.delete(created.user_id)
    with pytest.raises(SdkApiError):
        sdk.users.get(created.user_id)
