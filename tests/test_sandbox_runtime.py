"""The sandbox runtime against Auth0's post-login semantics.

Every test drives the harness through the pool (deploy/auth0_actions/sandbox/pool.py) with
small inline action or rule code and checks one documented behaviour of
docs/reference/actions-runtime.md; each docstring names its section.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from auth0_actions.sandbox.event import HOSTNAME, build_event, rules_inputs
from auth0_actions.sandbox.pool import TIMEOUT_MESSAGE, Limits, SandboxPool

TIMEOUT_MS = 1000
USER_ID = "auth0|6543210fedcba98765432100"
NOW_MS = 1_800_000_000_000  # the clock of requests that pass now_ms
NOW = NOW_MS // 1000
SECRET = "s3cret"

# Shared by every action below: out(x) logs "OUT <json>", err(fn) is the
# message fn throws (or null).
PRELUDE = """
const out = (x) => console.log('OUT ' + JSON.stringify(x === undefined ? '<undefined>' : x));
const err = (fn) => { try { fn(); return null; } catch (e) { return e.message; } };
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=TIMEOUT_MS)) as p:
        yield p


def action(execute: str = "", cont: str | None = None, top: str = "") -> str:
    """Action source: onExecutePostLogin runs `execute`, onContinuePostLogin `cont`."""
    code = (
        f"{PRELUDE}{top}\nexports.onExecutePostLogin = async (event, api) => {{\n{execute}\n}};\n"
    )
    if cont is not None:
        code += f"exports.onContinuePostLogin = async (event, api) => {{\n{cont}\n}};\n"
    return code


def unit(code: str, name: str = "a", secrets: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "code": code,
        "filename": f"/actions/{name}.js",
        "secrets": secrets or {},
        "deps_dir": None,
    }


def post_login(
    pool: SandboxPool,
    *units: dict[str, Any],
    event: dict[str, Any] | None = None,
    resume: dict[str, int] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    reply = pool.call(
        {
            "op": "post-login",
            "units": list(units),
            "event": event if event is not None else build_event(),
            "resume": resume,
            **extra,
        }
    )
    assert reply.ok, reply.failure
    assert reply.result is not None
    return reply.result


def run(pool: SandboxPool, execute: str, **kwargs: Any) -> dict[str, Any]:
    """One action `a` running `execute`; the result must not be an error."""
    result = post_login(pool, unit(action(execute)), **kwargs)
    assert result["status"] != "error", result["error"]
    return result


def outputs(result: dict[str, Any], name: str | None = None) -> list[Any]:
    """What the actions passed to out(), in order."""
    return [
        json.loads(entry["message"][4:])
        for entry in result["logs"]
        if entry["message"].startswith("OUT ") and name in (None, entry["action"])
    ]


def rules(
    pool: SandboxPool,
    *codes: str,
    event: dict[str, Any] | None = None,
    configuration: dict[str, str] | None = None,
    protocol: str | None = None,
    state: str = "rule-state-1",
) -> dict[str, Any]:
    user, context = rules_inputs(event or build_event())
    if protocol:
        context["protocol"] = protocol
    units = [
        {"name": f"r{i}", "code": code, "filename": f"/rules/r{i}.js", "deps_dir": None}
        for i, code in enumerate(codes, start=1)
    ]
    reply = pool.call(
        {
            "op": "rules",
            "units": units,
            "user": user,
            "context": context,
            "configuration": configuration or {},
            "state": state,
        }
    )
    assert reply.ok, reply.failure
    assert reply.result is not None
    return reply.result


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(claims: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    """An HS256 session token made here, independently of tokens.js."""
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    if alg == "none":
        return f"{head}.{body}."
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def continue_event(
    *, query: dict[str, Any] | None = None, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The event of a /continue request: its own query and POST body."""
    event = build_event()
    event["request"]["method"] = "POST" if body else "GET"
    event["request"]["query"] = query if query is not None else {"state": "continue-state"}
    event["request"]["body"] = body or {}
    return event


# --- §1 event ---------------------------------------------------------------


def test_default_event_is_a_realistic_login(pool: SandboxPool) -> None:
    """§1 Event: the fields of Auth0's post-login event, metadata objects, secrets."""
    result = run(
        pool,
        """
        out({
          top: Object.keys(event).sort(),
          user: Object.keys(event.user).sort(),
          identity: Object.keys(event.user.identities[0]).sort(),
          geoip: Object.keys(event.request.geoip).sort(),
          transaction: Object.keys(event.transaction).sort(),
          metadata: [typeof event.user.app_metadata, typeof event.user.user_metadata],
          client: event.client.client_id, tenant: event.tenant.id,
          protocol: event.transaction.protocol, logins: event.stats.logins_count,
          secrets: event.secrets,
          method: event.authentication.methods[0].name,
        });
        """,
    )
    seen = outputs(result)[0]
    for key in ("user", "client", "connection", "request", "transaction", "stats", "tenant"):
        assert key in seen["top"]
    assert {"secrets", "authentication", "authorization", "session"} <= set(seen["top"])
    # post-login-event-object: organization is present only for an organization login.
    assert "organization" not in seen["top"]
    assert {
        "user_id",
        "email",
        "email_verified",
        "username",
        "name",
        "nickname",
        "given_name",
        "family_name",
        "picture",
        "created_at",
        "updated_at",
        "last_password_reset",
        "multifactor",
        "enrolledFactors",
        "app_metadata",
        "user_metadata",
        "identities",
    } <= set(seen["user"])
    assert seen["identity"] == ["connection", "isSocial", "profileData", "provider", "user_id"]
    assert seen["geoip"] == sorted(
        [
            "cityName",
            "countryCode",
            "countryCode3",
            "countryName",
            "continentCode",
            "latitude",
            "longitude",
            "subdivisionCode",
            "subdivisionName",
            "timeZone",
        ]
    )
    assert {
        "id",
        "protocol",
        "redirect_uri",
        "requested_scopes",
        "ui_locales",
        "locale",
        "state",
        "prompt",
        "response_mode",
        "response_type",
        "acr_values",
        "login_hint",
        "metadata",
    } <= set(seen["transaction"])
    assert seen["metadata"] == ["object", "object"]
    assert seen["protocol"] == "oidc-basic-profile"
    assert seen["tenant"] == "acme"
    assert seen["logins"] == 3
    assert seen["method"] == "pwd"
    assert seen["secrets"] == {}  # an action without secrets gets an empty object


def test_secrets_are_the_units_own(pool: SandboxPool) -> None:
    """§1 Event: event.secrets is the action's own secrets object (name -> value)."""
    one = unit(action("out(event.secrets);"), "one", {"A": "1"})
    two = unit(action("out(event.secrets);"), "two", {"B": "2"})
    result = post_login(pool, one, two)
    assert outputs(result, "one") == [{"A": "1"}]
    assert outputs(result, "two") == [{"B": "2"}]


# --- §1 api: access.deny and metadata ----------------------------------------


def test_deny_records_and_code_after_it_keeps_running(pool: SandboxPool) -> None:
    """§1 API access.deny: records a command; code after it runs; later actions don't."""
    first = unit(
        action(
            """
            const same = api.access.deny('No consent');
            out(same === api);
            api.user.setUserMetadata('after_deny', true);
            console.log('still running');
            """
        ),
        "first",
    )
    second = unit(action("console.log('second ran');"), "second")
    result = post_login(pool, first, second)
    assert result["status"] == "denied"
    assert result["deny"] == {"action": "first", "reason": "No consent"}
    assert outputs(result) == [True]
    assert any(entry["message"] == "still running" for entry in result["logs"])
    assert not any(entry["action"] == "second" for entry in result["logs"])
    assert result["executed"] == [{"action": "first", "handler": "onExecutePostLogin"}]
    # metadata changes requested are not cancelled by the deny
    assert result["user_metadata"] == {"after_deny": True}
    assert [c["type"] for c in result["commands"]] == ["access.deny", "user.setUserMetadata"]


def test_metadata_null_deletes_and_writes_are_batched(pool: SandboxPool) -> None:
    """§1 API user.setUserMetadata/setAppMetadata: null removes the key; batched."""
    event = build_event(
        {"user": {"user_metadata": {"keep": 1, "drop": 2}, "app_metadata": {"plan": "pro"}}}
    )
    result = run(
        pool,
        """
        api.user.setUserMetadata('drop', null);
        api.user.setUserMetadata('consent', { given: true, version: '1.2' });
        api.user.setAppMetadata('plan', null);
        api.user.setAppMetadata('role', 'admin');
        api.user.setUserMetadata('gone', undefined);
        """,
        event=event,
    )
    assert result["user_metadata"] == {"keep": 1, "consent": {"given": True, "version": "1.2"}}
    assert result["app_metadata"] == {"role": "admin"}
    recorded = [(c["type"], c["key"], c["value"]) for c in result["commands"]]
    assert recorded == [
        ("user.setUserMetadata", "drop", None),
        ("user.setUserMetadata", "consent", {"given": True, "version": "1.2"}),
        ("user.setAppMetadata", "plan", None),
        ("user.setAppMetadata", "role", "admin"),
        ("user.setUserMetadata", "gone", None),
    ]


def test_metadata_that_is_not_an_object_throws(pool: SandboxPool) -> None:
    """§1 API user.set*Metadata: throws if the stored metadata is not an object."""
    event = build_event()
    event["user"]["user_metadata"] = ["not", "an", "object"]
    result = run(pool, "out(err(() => api.user.setUserMetadata('k', 1)));", event=event)
    assert outputs(result) == ["The user's user_metadata is not an object"]


def test_later_actions_see_earlier_metadata_writes(pool: SandboxPool) -> None:
    """§1 API user.set*Metadata: updates are visible in event.user of later actions."""
    first = unit(
        action(
            """
            api.user.setUserMetadata('consentGiven', true);
            api.user.setAppMetadata('tier', 'gold');
            out(event.user.user_metadata.consentGiven === undefined);
            """
        ),
        "first",
    )
    second = unit(
        action("out([event.user.user_metadata.consentGiven, event.user.app_metadata.tier]);"),
        "second",
    )
    result = post_login(pool, first, second)
    assert outputs(result, "first") == [True]  # the same action's event is not mutated
    assert outputs(result, "second") == [[True, "gold"]]


def test_api_methods_are_chainable(pool: SandboxPool) -> None:
    """§1 API Chainable: deny, setCustomClaim, multifactor.enable, user.set*, sendUserTo."""
    result = run(
        pool,
        """
        out([
          api.user.setUserMetadata('a', 1) === api,
          api.user.setAppMetadata('b', 2) === api,
          api.idToken.setCustomClaim('https://x/c', 3) === api,
          api.accessToken.setCustomClaim('https://x/d', 4) === api,
          api.multifactor.enable('any') === api,
          api.redirect.sendUserTo('https://example.com/') === api,
        ]);
        """,
    )
    assert outputs(result) == [[True] * 6]


# --- §1 api: tokens, scopes, multifactor ---------------------------------------


def test_custom_claims_and_the_reserved_scope_claim(pool: SandboxPool) -> None:
    """§1 API setCustomClaim: any claim but "scope", which throws the exact message."""
    result = run(
        pool,
        """
        api.idToken.setCustomClaim('https://acme/consent', { given: true });
        api.accessToken.setCustomClaim('https://acme/roles', ['a', 'b']);
        out(err(() => api.idToken.setCustomClaim('scope', 'x')));
        out(err(() => api.accessToken.setCustomClaim('scope', 'x')));
        """,
    )
    message = 'The "scope" claim cannot be set.'
    assert outputs(result) == [message, message]
    assert result["id_token_claims"] == {"https://acme/consent": {"given": True}}
    assert result["access_token_claims"] == {"https://acme/roles": ["a", "b"]}


def test_add_and_remove_scope(pool: SandboxPool) -> None:
    """§1 API accessToken.addScope / removeScope."""
    result = run(
        pool,
        "api.accessToken.addScope('read:consent'); api.accessToken.removeScope('email');",
    )
    assert result["access_token_scopes"] == {"added": ["read:consent"], "removed": ["email"]}
    assert [c["type"] for c in result["commands"]] == [
        "accessToken.addScope",
        "accessToken.removeScope",
    ]


def test_multifactor_enable(pool: SandboxPool) -> None:
    """§1 API multifactor.enable: providers any|none|guardian|google-authenticator|duo."""
    result = run(
        pool,
        """
        out(err(() => api.multifactor.enable('sms')));
        api.multifactor.enable('duo', { allowRememberBrowser: true });
        """,
    )
    [message] = outputs(result)
    assert message.startswith('Invalid multifactor provider "sms"')
    assert result["multifactor"] == {"provider": "duo", "options": {"allowRememberBrowser": True}}


# --- §1 api: redirect ----------------------------------------------------------


def test_send_user_to_sets_query_parameters(pool: SandboxPool) -> None:
    """§1 API redirect.sendUserTo: new URL(url), searchParams.set per query entry."""
    later = unit(action("console.log('later ran');"), "later")
    result = post_login(
        pool,
        unit(
            action(
                "api.redirect.sendUserTo('https://consent.example.com/form?x=1&a=old', "
                "{ query: { a: 'new value', auth0_domain: `${event.tenant.id}.auth0.com` } });"
            )
        ),
        later,
    )
    assert result["status"] == "redirected"
    url = "https://consent.example.com/form?x=1&a=new+value&auth0_domain=acme.auth0.com"
    assert result["redirect"] == {"action": "a", "url": url, "index": 0}
    assert result["commands"] == [{"action": "a", "type": "redirect.sendUserTo", "url": url}]
    assert result["executed"] == [{"action": "a", "handler": "onExecutePostLogin"}]


def _token_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    head, body, signature = token.split(".")
    return json.loads(_unb64(head)), json.loads(_unb64(body)), signature


def test_encode_token_claim_set(pool: SandboxPool) -> None:
    """§2 encodeToken: {iat, iss: hostname, sub, exp: iat + (expiresInSeconds ?? 900), ip, ...}."""
    result = run(
        pool,
        """
        out(api.redirect.encodeToken({ secret: 's3cret', payload: { consent: 'yes' } }));
        out(api.redirect.encodeToken({ secret: 's3cret', expiresInSeconds: 60,
                                       payload: { iss: 'override.example' } }));
        out(err(() => api.redirect.encodeToken({ payload: {} })));
        """,
        now_ms=NOW_MS,
    )
    first, second, missing = outputs(result)
    header, claims, signature = _token_parts(first)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims == {
        "iat": NOW,
        "iss": HOSTNAME,
        "sub": USER_ID,
        "exp": NOW + 900,
        "ip": "203.0.113.10",
        "consent": "yes",
    }
    signed = first.rsplit(".", 1)[0].encode()
    assert signature == _b64(hmac.new(b"s3cret", signed, hashlib.sha256).digest())
    _, claims, _ = _token_parts(second)
    assert claims["exp"] == NOW + 60
    assert claims["iss"] == "override.example"  # payload keys override standard claims
    assert missing == "A secret is required to encode a token."


def _valid_claims(**changes: Any) -> dict[str, Any]:
    claims = {
        "iat": NOW - 10,
        "exp": NOW + 600,
        "sub": USER_ID,
        "iss": HOSTNAME,
        "state": "continue-state",
        "ip": "203.0.113.10",
        "confirm": "yes",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


VALIDATE = (
    "try { out(api.redirect.validateToken({ secret: 's3cret' })); } catch (e) { out(e.message); }"
)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (mint(_valid_claims(), secret="other-secret"), "Invalid signature"),
        (mint(_valid_claims(exp=NOW - 1)), "The token has expired"),
        (
            mint(_valid_claims(sub="auth0|someone-else")),
            "The subject does not match the current user",
        ),
        (
            mint(_valid_claims(state="other-state")),
            "State in the token does not match the /continue state.",
        ),
        (mint(_valid_claims(), alg="none"), "Unsupported algorithm (HS256 expected)"),
        (mint(_valid_claims(iss="evil.example.com")), "The issuer does not match"),
        (mint(_valid_claims(state=None)), "Missing or invalid standard claims"),
        (mint(_valid_claims(iat=None)), "Missing or invalid standard claims"),
        ("not-a-token", "Malformed token"),
    ],
    ids=[
        "signature",
        "expired",
        "sub",
        "state",
        "alg-none",
        "iss",
        "no-state",
        "no-iat",
        "garbage",
    ],
)
def test_validate_token_rejects(pool: SandboxPool, token: str, reason: str) -> None:
    """§2 validateToken: a failed check throws "The session token is invalid: <reason>"."""
    event = continue_event(query={"state": "continue-state"}, body={"session_token": token})
    result = run(pool, VALIDATE, event=event, now_ms=NOW_MS)
    assert outputs(result) == [f"The session token is invalid: {reason}"]


def test_validate_token_reads_body_and_query_and_returns_all_claims(pool: SandboxPool) -> None:
    """§2 validateToken: token from {...query, ...body}; success returns every claim."""
    token = mint(_valid_claims())
    from_body = continue_event(query={"state": "continue-state"}, body={"session_token": token})
    from_query = continue_event(query={"state": "continue-state", "session_token": token})
    for event in (from_body, from_query):
        result = run(pool, VALIDATE, event=event, now_ms=NOW_MS)
        assert outputs(result) == [_valid_claims()]
    # a custom parameter name, and the state posted in the body
    event = continue_event(query={}, body={"state": "continue-state", "tok": token})
    result = run(
        pool,
        "out(api.redirect.validateToken({ secret: 's3cret', tokenParameterName: 'tok' }).confirm);",
        event=event,
        now_ms=NOW_MS,
    )
    assert outputs(result) == ["yes"]


def test_validate_token_round_trips_encode_token(pool: SandboxPool) -> None:
    """§2 encodeToken + validateToken: a token the action made validates on /continue."""
    result = run(
        pool,
        "out(api.redirect.encodeToken({ secret: 's3cret',"
        " payload: { state: 'continue-state' } }));",
        now_ms=NOW_MS,
    )
    [token] = outputs(result)
    event = continue_event(query={"state": "continue-state"}, body={"session_token": token})
    result = run(pool, VALIDATE, event=event, now_ms=NOW_MS + 5000)
    assert outputs(result)[0]["state"] == "continue-state"


def test_validate_token_without_the_parameter(pool: SandboxPool) -> None:
    """§2 validateToken: a missing parameter throws the exact message."""
    result = run(
        pool,
        """
        out(err(() => api.redirect.validateToken({ secret: 's3cret' })));
        out(err(() => api.redirect.validateToken({ secret: 's3cret', tokenParameterName: 'tk' })));
        """,
        event=continue_event(),
    )
    assert outputs(result) == [
        "There is no parameter called 'session_token' available in either the POST body "
        "or query string.",
        "There is no parameter called 'tk' available in either the POST body or query string.",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, True),
        ({"request": {"query": {"prompt": "none"}}}, False),
        ({"transaction": {"protocol": "oauth2-resource-owner"}}, False),
        ({"transaction": {"protocol": "oauth2-refresh-token"}}, False),
        ({"transaction": {"protocol": "oauth2-password"}}, False),
        ({"transaction": {"protocol": "oauth2-webauthn"}}, False),
        ({"transaction": {"protocol": "samlp"}}, True),
    ],
    ids=["default", "prompt-none", "ropg", "refresh", "password", "webauthn", "samlp"],
)
def test_can_redirect(pool: SandboxPool, change: dict[str, Any], expected: bool) -> None:
    """§1 API redirect.canRedirect: false for prompt=none and the no-redirect protocols."""
    result = run(pool, "out(api.redirect.canRedirect());", event=build_event(change))
    assert outputs(result) == [expected]


def test_redirect_and_render_in_one_action(pool: SandboxPool) -> None:
    """§1 API sendUserTo + prompt.render in the same action aborts with the exact message."""
    message = "Redirect and render commands cannot be used in the same action."
    for first, second in (
        ("api.redirect.sendUserTo('https://x.example/')", "api.prompt.render('form_1')"),
        ("api.prompt.render('form_1')", "api.redirect.sendUserTo('https://x.example/')"),
    ):
        result = post_login(pool, unit(action(f"{first}; {second};")))
        assert result["status"] == "error"
        assert result["error"]["message"] == message


def test_prompt_render_once_per_action(pool: SandboxPool) -> None:
    """§1 API prompt.render: once per action; the pipeline suspends like a redirect."""
    result = run(
        pool,
        "api.prompt.render('form_1', { vars: { a: 1 } }); out(err(() => api.prompt.render('f2')));",
    )
    assert outputs(result) == ["A prompt can only be rendered once per action."]
    assert result["status"] == "redirected"
    assert result["redirect"] == {"action": "a", "prompt": "form_1", "index": 0}


# --- §1 api: cache, transaction, authentication --------------------------------


def test_cache_get_set_delete(pool: SandboxPool) -> None:
    """§1 API cache: get/set/delete results, default TTL, earlier expiry wins."""
    result = run(
        pool,
        """
        const t = Date.now();
        out(api.cache.get('missing'));
        const set = api.cache.set('k', 'v');
        out([set.type, set.record.value, set.record.expires_at - t]);
        out(api.cache.get('k').value);
        const both = api.cache.set('both', 'v', { ttl: 1000, expires_at: t + 60000 });
        out(both.record.expires_at - t);
        const later = api.cache.set('later', 'v', { ttl: 60000, expires_at: t + 2000 });
        out(later.record.expires_at - t);
        out(api.cache.delete('k'));
        out(api.cache.get('k'));
        out(api.cache.delete('k'));
        """,
    )
    values = outputs(result)
    assert values[0] == "<undefined>"
    assert values[1][:2] == ["success", "v"]
    assert 15 * 60 * 1000 <= values[1][2] <= 15 * 60 * 1000 + 100  # default TTL: 15 min
    assert values[2] == "v"
    assert 1000 <= values[3] <= 1100  # the ttl is earlier
    assert 2000 <= values[4] <= 2100  # expires_at is earlier
    assert values[5]["type"] == "success"
    assert values[5]["record"]["value"] == "v"
    assert values[6] == "<undefined>"
    assert values[7] == {"type": "error", "code": "CacheKeyDoesNotExist"}


def test_cache_errors(pool: SandboxPool) -> None:
    """§1 API cache.set: does not throw; returns error codes for the documented limits."""
    result = run(
        pool,
        """
        out(api.cache.set('k'.repeat(65), 'v'));
        out(api.cache.set('é'.repeat(33), 'v'));  // 33 characters, 66 bytes
        out(api.cache.set('k'.repeat(64), 'v').type);
        out(api.cache.set('big', 'v'.repeat(4097)));
        out(api.cache.set('past', 'v', { expires_at: Date.now() - 1000 }));
        out(api.cache.set('neg', 'v', { ttl: -5 }));
        out(api.cache.set('day', 'v', { ttl: 25 * 60 * 60 * 1000 }));
        for (let i = 1; i < 20; i += 1) api.cache.set(`key${i}`, 'v');  // 20 entries now
        out(api.cache.set('k21', 'v'));
        out(api.cache.set('key1', 'overwrite').type);  // an existing key is not a new entry
        """,
    )
    assert outputs(result) == [
        {"type": "error", "code": "CacheKeySizeExceeded"},
        {"type": "error", "code": "CacheKeySizeExceeded"},
        "success",
        {"type": "error", "code": "CacheValueSizeExceeded"},
        {"type": "error", "code": "ItemAlreadyExpired"},
        {"type": "error", "code": "InvalidExpiry"},
        {"type": "error", "code": "InvalidExpiry"},
        {"type": "error", "code": "CacheSizeExceeded"},
        "success",
    ]


def test_transaction_metadata(pool: SandboxPool) -> None:
    """§1 API transaction.setMetadata: types and sizes checked; visible at once and later."""
    first = unit(
        action(
            """
            api.transaction.setMetadata('consent_version', '1.2');
            api.transaction.setMetadata('count', 2);
            api.transaction.setMetadata('ok', true);
            out(event.transaction.metadata);
            out(err(() => api.transaction.setMetadata('obj', { a: 1 })));
            out(err(() => api.transaction.setMetadata('k'.repeat(65), 'v')));
            out(err(() => api.transaction.setMetadata('', 'v')));
            out(err(() => api.transaction.setMetadata('big', 'v'.repeat(8 * 1024 + 1))));
            api.transaction.setMetadata('p1', 'v'.repeat(8190));
            out(err(() => api.transaction.setMetadata('p2', 'v'.repeat(8190))));
            """
        ),
        "first",
    )
    second = unit(action("out(event.transaction.metadata.consent_version);"), "second")
    result = post_login(pool, first, second)
    seen, obj, long_key, empty_key, big, total = outputs(result, "first")
    assert seen == {"consent_version": "1.2", "count": 2, "ok": True}
    assert obj == "Transaction metadata values must be a string, number or boolean"
    assert (
        long_key == empty_key == "Transaction metadata keys must be strings of 1 to 64 characters"
    )
    assert big == "Transaction metadata values are limited to 8192 bytes"
    assert total == "Transaction metadata is limited to 16384 bytes in total"
    assert outputs(result, "second") == ["1.2"]
    assert set(result["transaction_metadata"]) == {"consent_version", "count", "ok", "p1"}


def test_record_method_only_in_on_continue(pool: SandboxPool) -> None:
    """§1 API authentication.recordMethod works only in onContinuePostLogin."""
    code = action(
        "out(err(() => api.authentication.recordMethod('https://idp.example/x')));"
        "api.redirect.sendUserTo('https://idp.example/');",
        cont="out(api.authentication.recordMethod('https://idp.example/x') === api);",
    )
    first = post_login(pool, unit(code))
    assert outputs(first) == [
        "api.authentication.recordMethod() can only be used in onContinuePostLogin."
    ]
    resumed = post_login(pool, unit(code), event=continue_event(), resume={"index": 0})
    assert outputs(resumed) == [True]
    assert resumed["commands"] == [
        {"action": "a", "type": "authentication.recordMethod", "url": "https://idp.example/x"}
    ]


def test_set_primary_user_once(pool: SandboxPool) -> None:
    """§1 API authentication.setPrimaryUser: once, at most 128 characters."""
    first = unit(
        action(
            """
            out(err(() => api.authentication.setPrimaryUser('x'.repeat(129))));
            api.authentication.setPrimaryUser('auth0|primary');
            out(err(() => api.authentication.setPrimaryUser('auth0|again')));
            """
        ),
        "first",
    )
    second = unit(
        action("out(err(() => api.authentication.setPrimaryUser('auth0|third')));"), "second"
    )
    result = post_login(pool, first, second)
    assert outputs(result, "first") == [
        "The primary user id must be a string of at most 128 characters.",
        "The primary user can only be set once.",
    ]
    assert outputs(result, "second") == ["The primary user can only be set once."]
    assert result["primary_user"] == "auth0|primary"


def test_authentication_challenges_are_recorded(pool: SandboxPool) -> None:
    """§1 API authentication.challengeWith / enrollWith (and *Any) record commands."""
    result = run(
        pool,
        """
        api.authentication.challengeWith({ type: 'otp' },
                                         { additionalFactors: [{ type: 'email' }] });
        api.authentication.challengeWithAny([{ type: 'otp' }, { type: 'webauthn-roaming' }]);
        api.authentication.enrollWith({ type: 'otp' });
        api.authentication.enrollWithAny([{ type: 'push-notification' }]);
        """,
    )
    assert [c["type"] for c in result["commands"]] == [
        "authentication.challengeWith",
        "authentication.challengeWithAny",
        "authentication.enrollWith",
        "authentication.enrollWithAny",
    ]
    assert result["commands"][0]["options"] == {"additionalFactors": [{"type": "email"}]}


# --- §3 loader: handler check, console, module errors, time limit --------------


@pytest.mark.parametrize(
    "handler",
    [
        "function (event, api) {}",
        "(event, api) => {}",
        "function* (event, api) {}",
        "'not a function'",
    ],
)
def test_non_async_handler_is_refused(pool: SandboxPool, handler: str) -> None:
    """§1 Handler check: fn.constructor.name must be AsyncFunction; the exact message."""
    result = post_login(pool, unit(f"exports.onExecutePostLogin = {handler};"))
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        'Invalid function signature for the "onExecutePostLogin" handler. Use '
        '"exports.onExecutePostLogin = async function(event, api) { }" as the signature.'
    )


def test_non_async_continue_handler_is_refused_on_resume(pool: SandboxPool) -> None:
    """§1 Handler check: the same check applies to onContinuePostLogin on resume."""
    code = (
        "exports.onExecutePostLogin = async (e, api) => {"
        " api.redirect.sendUserTo('https://x.example/'); };"
        "exports.onContinuePostLogin = (e, api) => {};"
    )
    result = post_login(pool, unit(code), event=continue_event(), resume={"index": 0})
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        'Invalid function signature for the "onContinuePostLogin" handler. Use '
        '"exports.onContinuePostLogin = async function(event, api) { }" as the signature.'
    )


def test_console_is_captured_per_action(pool: SandboxPool) -> None:
    """§3 Loader: console is routed per execution; messages are util.format'ed."""
    first = unit(
        action(
            "console.log('%s has %d logins', event.user.email, event.stats.logins_count);"
            "console.error('bad', { a: 1 });",
            top="console.info('module loaded');",
        ),
        "first",
    )
    second = unit(action("console.warn('w %j', [1]);"), "second")
    result = post_login(pool, first, second)
    assert result["logs"] == [
        {"action": "first", "level": "info", "message": "module loaded"},
        {"action": "first", "level": "log", "message": "jane.doe@example.com has 3 logins"},
        {"action": "first", "level": "error", "message": "bad { a: 1 }"},
        {"action": "second", "level": "warn", "message": "w [1]"},
    ]


def test_top_level_throw_is_an_error(pool: SandboxPool) -> None:
    """§3 Loader: a top-level throw in the module fails the action (and the login)."""
    later = unit(action("console.log('later ran');"), "later")
    result = post_login(pool, unit("throw new Error('boom at load');", "broken"), later)
    assert result["status"] == "error"
    assert result["error"]["action"] == "broken"
    assert result["error"]["message"] == "boom at load"
    assert result["executed"] == []


def test_a_throwing_handler_is_an_error(pool: SandboxPool) -> None:
    """§1 API: an exception from the handler ends the flow with that error."""
    later = unit(action("console.log('later ran');"), "later")
    result = post_login(pool, unit(action("throw new TypeError('nope');")), later)
    assert result["status"] == "error"
    assert result["error"]["message"] == "nope"
    assert [e["action"] for e in result["executed"]] == ["a"]


def test_trigger_limit_is_20_seconds_by_default() -> None:
    """§3 Limits: trigger execution (all actions) is limited to 20 s."""
    assert Limits().timeout_ms == 20_000
    assert TIMEOUT_MESSAGE == "Request to Webtask exceeded allowed execution time"


def test_async_hang_hits_the_time_limit(pool: SandboxPool) -> None:
    """§3 Limits: a never-resolving promise ends with the Webtask timeout error."""
    started = time.monotonic()
    result = post_login(pool, unit(action("await new Promise(() => {});")))
    assert result["status"] == "error"
    assert result["error"]["message"] == TIMEOUT_MESSAGE
    assert time.monotonic() - started < TIMEOUT_MS / 1000 + 1
    assert run(pool, "out(1);")["status"] == "completed"


def test_sync_loop_hits_the_time_limit_and_the_worker_is_replaced(pool: SandboxPool) -> None:
    """§3 Limits: a synchronous infinite loop is killed at the limit; the pool recovers."""
    started = time.monotonic()
    reply = pool.call(
        {
            "op": "post-login",
            "units": [unit(action("for (;;) {}"))],
            "event": build_event(),
            "resume": None,
        }
    )
    assert reply.result is None
    assert reply.failure == TIMEOUT_MESSAGE
    assert time.monotonic() - started < TIMEOUT_MS / 1000 + 3
    assert outputs(run(pool, "out('next call works');")) == ["next call works"]


# --- §1 pipeline: binding order, suspend and resume ----------------------------


PIPELINE = [
    unit(action("api.idToken.setCustomClaim('https://x/first', 1);"), "first"),
    unit(
        action(
            "api.redirect.sendUserTo('https://consent.example.com/');",
            cont="""
            if (event.request.body.confirm === 'yes') {
              api.user.setUserMetadata('consentGiven', true);
            } else {
              api.access.deny('User did not consent');
            }
            """,
        ),
        "consent",
    ),
    unit(action("api.idToken.setCustomClaim('https://x/last', event.user.user_metadata);"), "last"),
]


def test_redirect_suspends_the_pipeline(pool: SandboxPool) -> None:
    """§1 Multiple actions and redirects: action N redirects, then the pipeline suspends."""
    result = post_login(pool, *PIPELINE)
    assert result["status"] == "redirected"
    assert result["redirect"]["index"] == 1
    assert [e["action"] for e in result["executed"]] == ["first", "consent"]
    assert result["id_token_claims"] == {"https://x/first": 1}


def test_resume_runs_on_continue_then_later_actions(pool: SandboxPool) -> None:
    """§1 Multiple actions and redirects: resume in N's onContinuePostLogin, then N+1..."""
    event = continue_event(query={"state": "s"}, body={"confirm": "yes"})
    result = post_login(pool, *PIPELINE, event=event, resume={"index": 1})
    assert result["status"] == "completed"
    assert result["executed"] == [
        {"action": "consent", "handler": "onContinuePostLogin"},
        {"action": "last", "handler": "onExecutePostLogin"},
    ]
    assert result["user_metadata"] == {"consentGiven": True}
    assert result["id_token_claims"] == {"https://x/last": {"consentGiven": True}}


def test_deny_on_continue_stops_later_actions(pool: SandboxPool) -> None:
    """§1 access.deny in onContinuePostLogin: no later action runs."""
    event = continue_event(query={"state": "s"}, body={"confirm": "no"})
    result = post_login(pool, *PIPELINE, event=event, resume={"index": 1})
    assert result["status"] == "denied"
    assert result["deny"] == {"action": "consent", "reason": "User did not consent"}
    assert [e["action"] for e in result["executed"]] == ["consent"]


def test_resume_without_on_continue_is_an_error(pool: SandboxPool) -> None:
    """§1 Multiple actions and redirects: resuming needs the action's onContinuePostLogin."""
    code = action("api.redirect.sendUserTo('https://x.example/');")
    assert post_login(pool, unit(code))["status"] == "redirected"
    result = post_login(pool, unit(code), event=continue_event(), resume={"index": 0})
    assert result["status"] == "error"
    assert result["error"]["message"] == (
        "The action redirected but exports no onContinuePostLogin handler."
    )


def test_api_calls_after_the_action_finished_are_ignored(pool: SandboxPool) -> None:
    """§1 API: calls from a timer after the handler returned record nothing.

    The first action runs in its own worker: its timer fires (if ever) after
    its result was sent, so it cannot reach the later action's execution.
    """
    first = unit(
        action(
            "setTimeout(() => { api.access.deny('late'); api.user.setAppMetadata('x', 1); }, 0);"
        ),
        "first",
    )
    second = unit(action("await new Promise((resolve) => setTimeout(resolve, 50));"), "second")
    result = post_login(pool, first, second)
    assert result["status"] == "completed"
    assert result["commands"] == []
    assert result["app_metadata"] == {}
    assert result["deny"] is None
    assert [e["action"] for e in result["executed"]] == ["first", "second"]


# --- §4 legacy Rules -------------------------------------------------------------


def test_rule_first_callback_wins(pool: SandboxPool) -> None:
    """§4 Callback semantics / §5 redirectToConsentForm: the first callback wins."""
    result = rules(
        pool,
        """function (user, context, callback) {
          callback(new UnauthorizedError('User did not consent!'));
          callback(null, user, context);
        }""",
        "function (user, context, callback) {"
        " context.idToken.ran = true; callback(null, user, context); }",
    )
    assert result["status"] == "unauthorized"
    assert result["error"] == {
        "rule": "r1",
        "name": "UnauthorizedError",
        "message": "User did not consent!",
    }
    assert result["executed"] == ["r1"]


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        ("callback(new Error('blocked'));", "Error", "blocked"),
        ("callback('a plain string');", "Error", "a plain string"),
        ("throw new RangeError('thrown');", "RangeError", "thrown"),
    ],
    ids=["error", "string", "thrown"],
)
def test_rule_errors_deny_access(pool: SandboxPool, body: str, name: str, message: str) -> None:
    """§4 Callback semantics: any other error, string or uncaught throw -> access_denied."""
    result = rules(pool, f"function (user, context, callback) {{ {body} }}")
    assert result["status"] == "denied"
    assert result["error"] == {"rule": "r1", "name": name, "message": message}


def test_rule_that_never_calls_back_hits_the_time_limit(pool: SandboxPool) -> None:
    """§3 Limits / §4: a rule that never calls back hangs the login until the limit."""
    result = rules(pool, "function (user, context, callback) { }")
    assert result["status"] == "error"
    assert result["error"]["message"] == TIMEOUT_MESSAGE


def test_rule_update_user_metadata_merges_top_level(pool: SandboxPool) -> None:
    """§4 Globals: auth0.users.updateUserMetadata merges top level; null deletes."""
    event = build_event({"user": {"user_metadata": {"a": 1, "b": {"x": 1}, "c": 3}}})
    result = rules(
        pool,
        """function (user, context, callback) {
          auth0.users.updateUserMetadata(user.user_id, { b: { y: 2 }, c: null, d: 4 });
          auth0.users.updateAppMetadata(user.user_id, { plan: 'pro' })
            .then(() => callback(null, user, context));
        }""",
        event=event,
    )
    assert result["status"] == "completed"
    assert result["user_metadata"] == {"a": 1, "b": {"y": 2}, "d": 4}
    assert result["app_metadata"] == {"plan": "pro"}
    assert [c["type"] for c in result["commands"]] == [
        "auth0.users.updateUserMetadata",
        "auth0.users.updateAppMetadata",
    ]
    assert result["commands"][0]["user_id"] == USER_ID


def test_rule_globals(pool: SandboxPool) -> None:
    """§4 Globals: configuration, auth0.domain / baseUrl, context claims."""
    result = rules(
        pool,
        """function (user, context, callback) {
          context.idToken['https://acme/form'] = configuration.CONSENT_FORM_URL;
          context.idToken['https://acme/api'] = auth0.baseUrl;
          context.accessToken.scope.push('read:consent');
          callback(null, user, context);
        }""",
        configuration={"CONSENT_FORM_URL": "https://consent.example.com/form"},
    )
    assert result["status"] == "completed"
    assert result["id_token_claims"] == {
        "https://acme/form": "https://consent.example.com/form",
        "https://acme/api": f"https://{HOSTNAME}/api/v2",
    }
    assert result["access_token_claims"]["scope"][-1] == "read:consent"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://consent.example.com/form", "https://consent.example.com/form?state=st%2F1"),
        (
            "https://consent.example.com/form?a=1",
            "https://consent.example.com/form?a=1&state=st%2F1",
        ),
    ],
)
def test_rule_redirect_appends_state(pool: SandboxPool, url: str, expected: str) -> None:
    """§2 Rules redirects: remaining rules still run, then the redirect carries state."""
    result = rules(
        pool,
        f"function (user, context, callback) {{ context.redirect = {{ url: {json.dumps(url)} }};"
        " callback(null, user, context); }",
        "function (user, context, callback) {"
        " context.idToken.second = true; callback(null, user, context); }",
        state="st/1",
    )
    assert result["status"] == "redirected"
    assert result["redirect"] == {"url": expected, "state": "st/1"}
    assert result["executed"] == ["r1", "r2"]


def test_rule_redirect_callback_ignores_context_redirect(pool: SandboxPool) -> None:
    """§2 Rules redirects: on /continue (protocol redirect-callback) context.redirect is ignored."""
    result = rules(
        pool,
        """function (user, context, callback) {
          context.idToken.protocol = context.protocol;
          context.redirect = { url: 'https://consent.example.com/form' };
          callback(null, user, context);
        }""",
        protocol="redirect-callback",
    )
    assert result["status"] == "completed"
    assert result["redirect"] is None
    assert result["id_token_claims"] == {"protocol": "redirect-callback"}
