"""Property: any sequence of grant, withdraw, terms bump and unrelated metadata writes
keeps every unrelated user_metadata key intact and the consent record consistent.

One emulator is served on loopback for the module and reached over real HTTP
through TenantClient; the user is reset in the emulator's store before each
example. Runs are derandomized (no example database), so CI sees the same
examples every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth0_actions.config import ConsentPolicy, load_tenant
from auth0_actions.config.model import MetadataLayout
from auth0_actions.consent.operations import grant, withdraw
from auth0_actions.consent.record import ConsentRecord, RecordLayout, js_truthy, status_of
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.server import ServerThread
from auth0_actions.secrets import Secret
from auth0_actions.target import Target
from auth0_actions.tenant_client import RetryPolicy, TenantClient

USER_ID = "auth0|property"
LAYOUTS: tuple[Literal["nested", "root"], ...] = ("nested", "root")


@dataclass
class Served:
    app: Emulator
    client: TenantClient
    base: ConsentPolicy


@pytest.fixture(scope="module")
def served(scaffolded: Path) -> Iterator[Served]:
    app = Emulator()
    server = ServerThread(app).start()
    registered = app.oauth.register()
    target = Target(
        "test",
        server.base_url.split("://", 1)[1],
        server.base_url,
        registered.client_id,
        Secret(registered.client_secret),
        {},
    )
    client = TenantClient.for_target(target, retry=RetryPolicy(attempts=2, backoff_s=0.01))
    created = httpx.post(  # the one user every example resets and works on
        f"{server.base_url}/api/v2/users",
        json={
            "connection": "Username-Password-Authentication",
            "user_id": USER_ID.split("|", 1)[1],
            "email": "property@example.com",
            "password": "Property-Test-123!",
        },
        headers={"authorization": f"Bearer {client.credentials()}"},
    )
    assert created.status_code == 201, created.text
    base = load_tenant(scaffolded / "tenant.yaml").environment("local").consent
    try:
        yield Served(app, client, base)
    finally:
        client.close()
        server.stop()
        app.close()


def _policy(base: ConsentPolicy, layout: str, terms_version: str) -> ConsentPolicy:
    return base.model_copy(
        update={
            "terms_version": terms_version,
            "metadata": MetadataLayout(layout=layout, object_key="consent"),  # type: ignore[arg-type]
        }
    )


# -- strategies -------------------------------------------------------------------------
# Metadata keys Auth0 accepts (no '.' or '$'); values without nested nulls (a null
# at the top level deletes a key, which the model below does too).
KEYS = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,7}", fullmatch=True)
LEAVES = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)
NESTED = st.recursive(
    st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=6,
)
VALUES = st.none() | NESTED

Op = tuple[str, Any]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), st.none()),
        st.tuples(
            st.just("withdraw"), st.none() | st.text(min_size=1, max_size=20).filter(str.strip)
        ),
        st.tuples(st.just("bump"), st.none()),
        st.tuples(st.just("write"), st.dictionaries(KEYS, VALUES, min_size=1, max_size=3)),
    ),
    min_size=3,
    max_size=12,
)
INITIAL_RECORD = st.sampled_from(["none", "valid", "declined", "withdrawn", "outdated"])


def _initial_record(kind: str, layout: RecordLayout, policy: ConsentPolicy) -> dict[str, Any]:
    if kind == "none":
        return {}
    record = ConsentRecord(
        given=kind != "declined" and kind != "withdrawn",
        date="2026-01-01T00:00:00.000Z",
        terms_version="old" if kind == "outdated" else policy.terms_version,
        method="signup",
        withdrawn_at="2026-02-01T00:00:00.000Z" if kind == "withdrawn" else None,
    )
    return record.to_metadata_patch({}, layout)


def _reset(served: Served, metadata: dict[str, Any]) -> None:
    user = served.app.store.get("user", USER_ID)
    assert user is not None
    user["user_metadata"] = metadata
    served.app.store.put("user", USER_ID, user)


def _stored(served: Served) -> dict[str, Any]:
    user = served.client.get_user(USER_ID, fields=("user_metadata",))
    return dict(user.get("user_metadata") or {})


# -- the property -----------------------------------------------------------------------
@settings(
    max_examples=35,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layout_name=st.sampled_from(LAYOUTS),
    unrelated=st.dictionaries(KEYS, NESTED, min_size=1, max_size=4),
    initial=INITIAL_RECORD,
    ops=OPS,
)
def test_operations_keep_unrelated_keys_and_a_consistent_record(
    served: Served,
    layout_name: str,
    unrelated: dict[str, Any],
    initial: str,
    ops: list[Op],
) -> None:
    version = 1
    policy = _policy(served.base, layout_name, f"v{version}")
    layout = RecordLayout.from_policy(policy)
    owned = set(layout.metadata_keys())
    expected = {k: v for k, v in unrelated.items() if k not in owned}
    _reset(served, {**expected, **_initial_record(initial, layout, policy)})

    for name, argument in ops:
        before = status_of(_stored(served), layout, policy.terms_version)
        if name == "grant":
            grant(served.client, policy, USER_ID)
        elif name == "withdraw":
            withdraw(served.client, policy, USER_ID, reason=argument)
        elif name == "bump":
            version += 1
            policy = _policy(served.base, layout_name, f"v{version}")
        else:
            patch = {k: v for k, v in argument.items() if k not in owned}
            if not patch:
                continue
            served.client.update_user_metadata(USER_ID, patch)
            for key, value in patch.items():
                if value is None:
                    expected.pop(key, None)
                else:
                    expected[key] = value

        stored = _stored(served)
        assert {k: v for k, v in stored.items() if k not in owned} == expected, (name, argument)
        after = status_of(stored, layout, policy.terms_version)
        if name == "grant":
            assert after == "valid"
        elif name == "withdraw":
            assert after == "withdrawn"
        elif name == "bump":
            assert after == ("outdated" if before == "valid" else before)
        else:
            assert after == before

        record = ConsentRecord.from_metadata(stored, layout)
        if record is not None:
            # given and withdrawn_at never contradict each other.
            assert not (record.given and js_truthy(record.withdrawn_at))
            if name == "withdraw" and before != "withdrawn":
                reason = argument.strip() if argument is not None else None
                assert record.withdrawn_reason == reason
