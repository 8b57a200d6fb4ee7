"""Property: logins and Management API writes, interleaved, lose nothing.

A login reads the profile when it starts (its event), runs its actions in the sandbox
and stores their metadata writes when it ends; Management API PATCHes may land in
between, and logins may overlap. Whatever the interleaving, the stored metadata equals
a model that applies, in commit order, each API PATCH (Auth0's top-level merge, ``{}``
wipes) and each successful login's key writes (the keys its actions set, ``null``
removing one). A login whose action throws or times out stores nothing of its batch
(https://auth0.com/docs/customize/actions/limitations); a deny keeps the writes made
before it (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object,
api.access.deny); writes are batched per trigger
(https://auth0.com/docs/manage-users/user-accounts/metadata/manage-user-metadata).

The logins run two real actions in the sandbox, one warm worker each for the whole
module; the actions read what to do from ``event.request.body``, so one pool serves
every example.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from emulator_support import login_client, management_token, store_deployed
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_emulator_login_persist import USER_ID

from auth0_actions.clock import iso_utc
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.flows import login as login_flow
from auth0_actions.emulator.server import ServerThread
from auth0_actions.sandbox.pool import Limits, SandboxPool

FIELDS = ("user_metadata", "app_metadata")
CALLBACK = "https://app.example.com/callback"
INITIAL = {"user_metadata": {"theme": "dark"}, "app_metadata": {"plan": "gold"}}
ACTION = """
exports.onExecutePostLogin = async (event, api) => {
  const program = event.request.body.programs[INDEX];
  for (const [field, key, value] of program.writes) {
    if (field === 'user_metadata') api.user.setUserMetadata(key, value);
    else api.user.setAppMetadata(key, value);
  }
  if (program.outcome === 'deny') api.access.deny('denied');
  if (program.outcome === 'throw') throw new Error('boom');
  if (program.outcome === 'timeout') await new Promise(() => {});
};
"""


@dataclass
class Tenant:
    app: Emulator
    base: str
    token: str

    def reset(self) -> None:
        user = {
            "user_id": USER_ID,
            "email": "jane@example.com",
            "created_at": iso_utc(),
            "identities": [
                {
                    "connection": "Username-Password-Authentication",
                    "provider": "auth0",
                    "isSocial": False,
                    "user_id": USER_ID.split("|")[1],
                }
            ],
            **{name: dict(value) for name, value in INITIAL.items()},
        }
        self.app.store.put("user", USER_ID, user)

    def patch(self, name: str, value: dict[str, Any]) -> None:
        answer = httpx.patch(
            f"{self.base}/api/v2/users/{USER_ID}",
            json={name: value},
            headers={"authorization": f"Bearer {self.token}"},
        )
        assert answer.status_code == 200, answer.text

    def start(self, programs: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A login up to its event: the transaction /authorize opened, then what /u/login
        does once the password is right (the profile as stored when it starts)."""
        flow = self.app.login_flow
        with httpx.Client(base_url=self.base, follow_redirects=False) as browser:
            page = browser.get(
                "/authorize",
                params={"client_id": "app", "redirect_uri": CALLBACK, "response_type": "code"},
            )
        assert page.status_code == 200, page.text
        tx_id = page.text.split('name="tx" value="')[1].split('"')[0]
        with flow._lock:
            tx: dict[str, Any] = flow.transactions.pop(f"login:{tx_id}")
        tx["user_id"] = USER_ID
        tx["units"] = flow.units()
        event = flow.event_for(self.app.store.get("user", USER_ID), tx)
        event["request"]["body"] = {"programs": programs}
        return tx, event

    def finish(self, tx: dict[str, Any], event: dict[str, Any]) -> str:
        """The actions run and the login ends: the query the app receives."""
        response = self.app.login_flow.run(tx, event, None)
        assert response.status == 302
        location = str(response.headers["location"])
        code = parse_qs(urlsplit(location).query).get("code")
        if code:  # a code the application can exchange, as after a login over HTTP
            answer = httpx.post(
                f"{self.base}/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code[0],
                    "client_id": "app",
                    "redirect_uri": CALLBACK,
                },
            )
            assert answer.status_code == 200, answer.text
        return location


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    with pytest.MonkeyPatch.context() as patch:
        # A short trigger limit so a timed-out login costs little.
        patch.setattr(
            login_flow,
            "SandboxPool",
            lambda size: SandboxPool(size, limits=Limits(timeout_ms=1200)),
        )
        app = Emulator()
        login_client(app, [CALLBACK])
        store_deployed(
            app,
            "post-login",
            {f"writer-{i}": ACTION.replace("INDEX", str(i)) for i in range(2)},
        )
        server = ServerThread(app).start()
        try:
            yield Tenant(app, server.base_url, management_token(app, server.base_url))
        finally:
            server.stop()
            app.login_flow.close()


# --- the model ---------------------------------------------------------------


def api_merge(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The Management API's PATCH of one metadata field (management-api.md §3)."""
    if not patch:
        return {}
    out = dict(current)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def login_writes(programs: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """The keys a login stores per field, or None when its batch is discarded."""
    writes: dict[str, dict[str, Any]] = {name: {} for name in FIELDS}
    for program in programs:
        for name, key, value in program["writes"]:
            writes[name][key] = value
        if program["outcome"] in ("throw", "timeout"):
            return None
        if program["outcome"] == "deny":
            break  # later actions never run; the deny keeps the writes
    return writes


# --- the property ------------------------------------------------------------

keys = st.sampled_from(["consentGiven", "theme", "plan", "n"])
values = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text("ab", max_size=2))
program = st.fixed_dictionaries(
    {
        "writes": st.lists(st.tuples(st.sampled_from(FIELDS), keys, values), max_size=3),
        # Mostly successful actions: each timeout costs the trigger's time limit.
        "outcome": st.sampled_from(["ok", "ok", "ok", "ok", "ok", "deny", "throw", "timeout"]),
    }
)
logins = st.lists(st.lists(program, min_size=2, max_size=2), min_size=1, max_size=3)
patches = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.dictionaries(keys, values, max_size=2)), max_size=4
)


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[list[Any], list[tuple[str, dict[str, Any]]], list[Any]]:
    """Logins, API writes, and an order: each login's first slot starts it, its second ends it."""
    drawn_logins = draw(logins)
    drawn_patches = draw(patches)
    slots = [("login", i) for i in range(len(drawn_logins)) for _ in range(2)]
    slots += [("patch", i) for i in range(len(drawn_patches))]
    return drawn_logins, drawn_patches, draw(st.permutations(slots))


def run_interleaving(
    tenant: Tenant,
    drawn_logins: list[list[dict[str, Any]]],
    drawn_patches: list[tuple[str, dict[str, Any]]],
    order: list[tuple[str, int]],
) -> None:
    tenant.reset()
    model = {name: dict(value) for name, value in INITIAL.items()}
    started: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    for kind, index in order:
        if kind == "patch":
            name, value = drawn_patches[index]
            tenant.patch(name, value)
            model[name] = api_merge(model[name], value)
        elif index not in started:
            started[index] = tenant.start(drawn_logins[index])
        else:
            location = tenant.finish(*started[index])
            writes = login_writes(drawn_logins[index])
            assert ("code=" in location) == (
                writes is not None and all(p["outcome"] == "ok" for p in drawn_logins[index])
            ), location
            for name, keys_set in (writes or {}).items():
                if keys_set:
                    model[name] = api_merge(model[name], keys_set)
    user = tenant.app.store.get("user", USER_ID)
    assert user is not None
    for name in FIELDS:
        assert (user.get(name) or {}) == model[name], name


OK = {"writes": [], "outcome": "ok"}


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=interleavings())
# A consent withdrawal through the API while the login runs is not reverted.
@example(
    case=(
        [[{"writes": [("user_metadata", "visits", 1)], "outcome": "ok"}, OK]],
        [("user_metadata", {"consentGiven": False})],
        [("login", 0), ("patch", 0), ("login", 0)],
    )
)
# A timed-out login stores nothing, and erases nothing.
@example(
    case=(
        [[{"writes": [("app_metadata", "plan", None)], "outcome": "timeout"}, OK]],
        [],
        [("login", 0), ("login", 0)],
    )
)
# Two overlapping logins: each stores only its own keys.
@example(
    case=(
        [
            [{"writes": [("user_metadata", "n", 1)], "outcome": "ok"}, OK],
            [OK, {"writes": [("user_metadata", "theme", "light")], "outcome": "deny"}],
        ],
        [("app_metadata", {"n": 2})],
        [("login", 0), ("login", 1), ("patch", 0), ("login", 0), ("login", 1)],
    )
)
def test_interleaved_logins_and_api_writes_lose_nothing(
    tenant: Tenant,
    case: tuple[list[list[dict[str, Any]]], list[tuple[str, dict[str, Any]]], list[Any]],
) -> None:
    run_interleaving(tenant, *case)
