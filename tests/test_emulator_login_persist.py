"""What a login stores: the keys its actions set, merged on the profile as it is stored now.

Auth0 batches ``api.user.setUserMetadata`` / ``setAppMetadata`` into one profile update
at the end of the trigger and before a redirect
(https://auth0.com/docs/manage-users/user-accounts/metadata/manage-user-metadata), as a
top-level merge where ``null`` removes a key
(https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/login-trigger/post-login-api-object).
Each test binds inline actions in a fresh local tenant and logs in over HTTP (the helpers
of test_emulator_login_fidelity.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from emulator_support import management_token
from test_emulator_login_fidelity import at_app, bind, login, on_execute, tenant, tokens

from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.flow_writes import (
    SESSION_METADATA_BYTES,
    FlowWriteError,
    MetadataWrites,
)

__all__ = ["tenant"]  # the fixture, shared with the fidelity tests

USER_ID = "auth0|fidelity0000000000000001"
API_OBJECT = (
    "https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/"
    "login-trigger/post-login-api-object"
)


def patch_user(app: Emulator, base: str, body: dict[str, Any]) -> None:
    answer = httpx.patch(
        f"{base}/api/v2/users/{USER_ID}",
        json=body,
        headers={"authorization": f"Bearer {management_token(app, base)}"},
    )
    assert answer.status_code == 200, answer.text


def stored(app: Emulator) -> dict[str, Any]:
    user = app.store.get("user", USER_ID)
    assert user is not None
    return user


def test_api_writes_while_the_login_waits_at_the_redirect_are_kept(
    tenant: tuple[Emulator, str],
) -> None:
    """manage-user-metadata: writes are applied before a sendUserTo redirect and at the end
    of the trigger, each as a merge of the keys the actions set. A consent withdrawal made
    through the Management API while the user is at the consent page stays withdrawn, and
    the app_metadata change made meanwhile is kept."""
    app, base = tenant
    patch_user(app, base, {"user_metadata": {"consentGiven": True}})
    bind(
        app,
        on_execute(
            """
            api.user.setUserMetadata('visits', 1);
            api.redirect.sendUserTo('https://consent.example/page');
            """,
            cont="api.user.setUserMetadata('returnedAt', 'later');",
        ),
        on_execute("api.user.setAppMetadata('lastApp', 'local');"),
    )
    browser = httpx.Client(base_url=base, follow_redirects=False)
    away = login(base, client=browser)
    assert away.headers["location"].startswith("https://consent.example/page")
    # Applied before the redirect (manage-user-metadata.mdx).
    assert stored(app)["user_metadata"]["visits"] == 1
    patch_user(app, base, {"user_metadata": {"consentGiven": False}})
    patch_user(app, base, {"app_metadata": {"plan": "silver"}})
    state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
    back = browser.get("/continue", params={"state": state})
    assert "code" in at_app(back)
    user = stored(app)
    assert user["user_metadata"] == {
        "theme": "dark",
        "consentGiven": False,
        "visits": 1,
        "returnedAt": "later",
    }
    assert user["app_metadata"] == {"plan": "silver", "lastApp": "local"}


def test_only_the_keys_set_change_and_null_removes_one(tenant: tuple[Emulator, str]) -> None:
    """API_OBJECT user.setUserMetadata / setAppMetadata: a top-level merge; a key set to
    null (or undefined) is removed, an object value replaces the stored one whole, keys
    the action never named keep their value; an action that sets a key twice stores the
    last value."""
    app, base = tenant
    patch_user(app, base, {"user_metadata": {"prefs": {"lang": "en", "tz": "UTC"}, "old": 1}})
    bind(
        app,
        on_execute(
            """
            api.user.setUserMetadata('old', null);
            api.user.setUserMetadata('prefs', { lang: 'fr' });
            api.user.setUserMetadata('step', 1);
            api.user.setUserMetadata('step', 2);
            api.user.setAppMetadata('plan', undefined);
            """
        ),
    )
    assert "code" in at_app(login(base))
    user = stored(app)
    assert user["user_metadata"] == {"theme": "dark", "prefs": {"lang": "fr"}, "step": 2}
    # The last app_metadata key removed: the field is gone, as after the API's merge.
    assert "app_metadata" not in user


def test_a_deny_keeps_the_writes_it_requested(tenant: tuple[Emulator, str]) -> None:
    """API_OBJECT api.access.deny: "This will NOT cancel other user-related side effects
    (such as metadata changes) requested by this Action"; later actions never run."""
    app, base = tenant
    bind(
        app,
        on_execute("api.user.setAppMetadata('blockedAt', 'now'); api.access.deny('blocked');"),
        on_execute("api.user.setAppMetadata('later', true);"),
    )
    assert at_app(login(base))["error"] == "access_denied"
    assert stored(app)["app_metadata"] == {"plan": "gold", "blockedAt": "now"}


def test_a_failure_after_the_redirect_keeps_what_was_stored_before_it(
    tenant: tuple[Emulator, str],
) -> None:
    """https://auth0.com/docs/customize/actions/limitations: a failed execution's batch
    is discarded; the writes applied before the redirect (manage-user-metadata) stay."""
    app, base = tenant
    bind(
        app,
        on_execute(
            """
            api.user.setUserMetadata('before', true);
            api.redirect.sendUserTo('https://consent.example/page');
            """,
            cont="api.user.setUserMetadata('after', true); throw new Error('consent lost');",
        ),
    )
    browser = httpx.Client(base_url=base, follow_redirects=False)
    away = login(base, client=browser)
    state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
    back = browser.get("/continue", params={"state": state})
    assert at_app(back)["error_description"] == "consent lost"
    assert stored(app)["user_metadata"] == {"theme": "dark", "before": True}


def test_a_4096_character_secret_reaches_the_login_whole(tenant: tuple[Emulator, str]) -> None:
    """https://auth0.com/docs/customize/actions/limitations ("Secrets"): values up to
    4096 characters; the action reads it whole from event.secrets."""
    app, base = tenant
    bind(
        app,
        on_execute(
            "api.idToken.setCustomClaim('https://acme.example/secret', "
            "event.secrets.LONG.length + ':' + event.secrets.LONG.slice(-3));"
        ),
    )
    action = app.store.get("action", "action-0")
    assert action is not None
    action["_secret_values"] = {"LONG": "s" * 4093 + "end"}
    app.store.put("action", "action-0", action)
    issued = tokens(base, at_app(login(base))["code"])
    assert issued["id"]["https://acme.example/secret"] == "4096:end"


def test_a_batch_is_read_from_the_commands_in_order() -> None:
    """API_OBJECT: every call is batched; the last write to a key wins, null removes it."""
    writes = MetadataWrites.from_commands(
        [
            {"type": "user.setUserMetadata", "key": "a", "value": 1},
            {"type": "idToken.setCustomClaim", "name": "x", "value": 1},
            {"type": "user.setAppMetadata", "key": "b", "value": None},
            {"type": "user.setUserMetadata", "key": "a", "value": 2},
        ]
    )
    assert writes.user_metadata == {"a": 2}
    assert writes.app_metadata == {"b": None}
    assert not MetadataWrites.from_commands([{"type": "access.deny", "reason": "no"}])


def test_a_batch_past_32_kb_of_a_field_is_refused() -> None:
    """https://auth0.com/docs/customize/actions/limitations ("User metadata and app
    metadata"): at most 32 kB of each persisted per session. The api refuses the write in
    the action; a batch past it (a worker that broke the rule) is never stored."""
    fits = "x" * (SESSION_METADATA_BYTES - len('{"k":""}'))
    assert MetadataWrites.from_commands(
        [{"type": "user.setAppMetadata", "key": "k", "value": fits}]
    )
    with pytest.raises(FlowWriteError, match="at most 32768 bytes"):
        MetadataWrites.from_commands(
            [{"type": "user.setAppMetadata", "key": "k", "value": fits + "x"}]
        )
