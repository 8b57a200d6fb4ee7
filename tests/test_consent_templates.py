"""Behaviour of the rendered GDPR consent Actions and their legacy Rule variants.

Each case renders a variant of tenant.yaml into the `project` copy, then runs
one handler of the rendered JavaScript under tests/support/run_action.js, a
small stand-in for Auth0's post-login runtime (not a sandbox), and checks the
commands it issued: user_metadata writes, deny, redirect, callback.

Runtime semantics are cited from /work/shared/reference/actions-runtime.md
(as "runtime §N"). Rules' updateUserMetadata is a Management API PATCH of
user_metadata: top-level properties are merged and a property set to null is
deleted (auth0/docs-v2 main/docs/manage-users/user-accounts/metadata/
manage-metadata-rules.mdx, "Delete metadata"; runtime §1 for Actions).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pytest
import yaml

from deploy.node import find_node

DRIVER = Path(__file__).resolve().parent / "support" / "run_action.js"

SECRET = "test-consent-session-secret-0123456789abcdef"
OTHER_SECRET = "an-attacker-guessed-this-secret-0123456789"
USER_ID = "auth0|64f0c0ffee00000000000001"
HOSTNAME = "login.example.com"
STATE = "continue-state-6b1f2c"
IP = "203.0.113.7"
DB_CONNECTION = "Username-Password-Authentication"
SOCIAL_CONNECTION = "google-oauth2"
WITHDRAWN_REASON = "Consent was withdrawn; write to privacy@example.com."
UNRELATED = {"newsletter": "weekly", "preferences": {"theme": "dark"}}

# Generic reasons of _consent_common.js.j2 (the details go to the log only).
CONFIGURATION_ERROR = "Consent cannot be recorded right now. Please try again later."
RESPONSE_INVALID = "The consent response could not be verified. Please sign in again."
TERMS_CHANGED = "The terms changed while you were reviewing them. Please sign in again."

# Record property names per layout (deploy/config/model.py defaults).
KEYS = {
    "nested": {
        "given": "given",
        "date": "date",
        "terms_version": "terms_version",
        "text_url": "text_details",
        "method": "method",
        "ip": "ip",
        "withdrawn_at": "withdrawn_at",
    },
    "root": {
        "given": "consentGiven",
        "date": "consentDate",
        "terms_version": "consentTermsVersion",
        "text_url": "consentTextUrl",
        "method": "consentMethod",
        "ip": "consentIp",
        "withdrawn_at": "consentWithdrawnAt",
    },
}
OBJECT_KEY = "consent"

FORMS = ["action", "rule"]
LAYOUTS = ["nested", "root"]

# Template bugs, reported in full in the session's final report.

# --------------------------------------------------------------------------
# Rendering variants of tenant.yaml
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A rendered `local` environment and the policy it was rendered from."""

    root: Path
    layout: str
    policy: dict[str, Any]
    page_url: str

    def file(self, form: str, name: str) -> Path:
        base = self.root / "actions" / "local"
        return (
            base / f"{name}.js" if form == "action" else base / "legacy-rules" / f"{name}-rule.js"
        )


def _replace_once(text: str, pattern: str, new: str) -> str:
    result, count = re.subn(pattern, new, text, flags=re.MULTILINE)
    assert count == 1, f"tenant.yaml no longer matches {pattern!r}; update this test"
    return result


@pytest.fixture
def render(project: Path, cli: Any) -> Callable[..., Rendered]:
    """render(layout=, who=, on_withdrawn=, impossible=) edits tenant.yaml and renders local."""

    def build(
        layout: str = "nested",
        who: str = "without-valid-consent",
        on_withdrawn: str = "ask",
        impossible: str = "deny",
    ) -> Rendered:
        path = project / "tenant.yaml"
        text = path.read_text(encoding="utf-8")
        text = _replace_once(text, r"^(    layout: )nested\b", rf"\g<1>{layout}")
        who_yaml = {
            "without-valid-consent": "without-valid-consent",
            "social": "social",
            "connections": f"connections\n    connections: [{SOCIAL_CONNECTION}]",
        }[who]
        text = _replace_once(text, r"^(    who: )without-valid-consent$", rf"\g<1>{who_yaml}")
        if on_withdrawn == "deny":
            text = _replace_once(
                text,
                r"^(  on_withdrawn:\n    action: )ask$",
                rf'\g<1>deny\n    reason: "{WITHDRAWN_REASON}"',
            )
        text = _replace_once(
            text, r"^(  when_redirect_impossible:\n    action: )deny$", rf"\g<1>{impossible}"
        )
        path.write_text(text, encoding="utf-8")
        run = cli("render", "--env", "local")
        assert run.code == 0, run.err
        data = yaml.safe_load(text)
        local = data["environments"]["local"].get("consent", {})
        return Rendered(
            root=project,
            layout=layout,
            policy=data["consent"],
            page_url=local.get("consent_page_url", data["consent"]["consent_page_url"]),
        )

    return build


# --------------------------------------------------------------------------
# HS256 tokens, minted and read in Python (the consent page's side)
# --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(claims: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    """A JWT; alg "none" gets an empty signature."""
    head = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signing_input = f"{head}.{body}"
    if alg == "none":
        return f"{signing_input}."
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


def decode(token: str, secret: str = SECRET) -> dict[str, Any]:
    """Verify an HS256 JWT and return its claims."""
    head, body, signature = token.split(".")

    def pad(part: str) -> str:
        return part + "=" * (-len(part) % 4)

    assert json.loads(base64.urlsafe_b64decode(pad(head)))["alg"] == "HS256"
    expected = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(base64.urlsafe_b64decode(pad(signature)), expected)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(pad(body)))
    return claims


def page_token(terms_version: str, secret: str = SECRET, alg: str = "HS256", **claims: Any) -> str:
    """What the consent page posts back to /continue; claims=None drops one."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iat": now,
        "exp": now + 300,
        "iss": HOSTNAME,
        "sub": USER_ID,
        "state": STATE,
        "terms_version": terms_version,
        "consent": "accepted",
    }
    base.update(claims)
    return mint({k: v for k, v in base.items() if v is not None}, secret, alg)


# --------------------------------------------------------------------------
# Running the rendered code
# --------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one execution asked Auth0 to do, the same way for both forms."""

    writes: list[Any]  # action: [key, value] pairs; rule: [user_id, metadata] calls
    stored: dict[str, Any]  # user_metadata once Auth0 has applied the writes
    deny: str | None
    redirect: dict[str, Any] | None  # {"url": without query, "query": {...}}
    logs: list[str] = field(default_factory=list)
    next_metadata: dict[str, Any] | None = None  # rules: user_metadata passed on


def _drive(request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(find_node().path), str(DRIVER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    assert out["error"] is None, out
    return out


def _merge(stored: dict[str, Any], update: dict[str, Any]) -> None:
    """Auth0's user_metadata update: top-level merge, null deletes (runtime §1)."""
    for key, value in update.items():
        if value is None:
            stored.pop(key, None)
        else:
            stored[key] = value


def login(
    rendered: Rendered,
    form: str,
    name: str,
    *,
    metadata: dict[str, Any] | None = None,
    resume: bool = False,
    strategy: str = "auth0",
    connection: str = DB_CONNECTION,
    identities: list[dict[str, Any]] | None = None,
    query: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    protocol: str = "oidc-basic-profile",
    secret: str | None = SECRET,
) -> Outcome:
    """Run one login (resume=True: the /continue after the consent page)."""
    metadata = metadata or {}
    if identities is None:
        identities = [
            {
                "connection": connection,
                "provider": strategy,
                "isSocial": strategy != "auth0",
                "user_id": USER_ID.split("|")[1],
            }
        ]
    user = {
        "user_id": USER_ID,
        "email": "jane@example.com",
        "user_metadata": metadata,
        "app_metadata": {},
        "identities": identities,
    }
    request = {
        "ip": IP,
        "hostname": HOSTNAME,
        "method": "POST" if body else "GET",
        "query": query or {},
        "body": body or {},
    }
    secrets = {"CONSENT_SESSION_SECRET": secret} if secret else {}
    stored = json.loads(json.dumps(metadata))
    if form == "action":
        out = _drive(
            {
                "file": str(rendered.file("action", name)),
                "kind": "action",
                "handler": "onContinuePostLogin" if resume else "onExecutePostLogin",
                "event": {
                    "user": user,
                    "connection": {"id": "con_1", "name": connection, "strategy": strategy},
                    "request": request,
                    "transaction": {"protocol": protocol, "state": "tx-state"},
                    "client": {"client_id": "client-1", "name": "App", "metadata": {}},
                    "tenant": {"id": "acme"},
                    "stats": {"logins_count": 1},
                },
                "secrets": secrets,
            }
        )
        for key, value in out["user_metadata"]:
            _merge(stored, {key: value})
        redirect = out["redirect"]
        return Outcome(out["user_metadata"], stored, out["deny"], redirect, out["logs"])

    out = _drive(
        {
            "file": str(rendered.file("rule", name)),
            "kind": "rule",
            "user": user,
            "context": {
                "tenant": "acme",
                "clientID": "client-1",
                "clientName": "App",
                "connection": connection,
                "connectionStrategy": strategy,
                "protocol": "redirect-callback" if resume else protocol,
                "request": request,
            },
            "configuration": secrets,
        }
    )
    assert out["callback_count"] == 1, "the rule must call its callback exactly once"
    for user_id, update in out["update_user_metadata"]:
        assert user_id == USER_ID
        _merge(stored, update)
    error = out["callback"]["error"]
    if error is not None:
        # runtime §4: only UnauthorizedError gives error=unauthorized with the message.
        assert error["name"] == "UnauthorizedError", error
    redirect = None
    if out["callback"]["redirect"]:
        parts = urlsplit(out["callback"]["redirect"]["url"])
        redirect = {
            "url": urlunsplit((*parts[:3], "", "")),
            "query": dict(parse_qsl(parts.query)),
        }
    return Outcome(
        out["update_user_metadata"],
        stored,
        error and error["message"],
        redirect,
        out["logs"],
        out["callback"]["user_metadata"],
    )


# --------------------------------------------------------------------------
# Consent records
# --------------------------------------------------------------------------


def record(layout: str, **fields: Any) -> dict[str, Any]:
    """user_metadata holding a consent record (field names as in KEYS)."""
    props = {KEYS[layout][name]: value for name, value in fields.items()}
    return {OBJECT_KEY: props} if layout == "nested" else props


def read_record(stored: dict[str, Any], layout: str) -> dict[str, Any]:
    source = stored.get(OBJECT_KEY, {}) if layout == "nested" else stored
    return {name: source.get(key) for name, key in KEYS[layout].items() if key in source}


def valid_record(rendered: Rendered, **overrides: Any) -> dict[str, Any]:
    fields = {
        "given": True,
        "date": "2026-11-02T09:00:00.000Z",
        "terms_version": rendered.policy["terms_version"],
        "text_url": rendered.policy["terms_url"],
        "method": "signup",
        "ip": "198.51.100.1",
    }
    fields.update(overrides)
    return record(rendered.layout, **fields)


def assert_recorded(
    rendered: Rendered, stored: dict[str, Any], *, given: bool, method: str
) -> None:
    rec = read_record(stored, rendered.layout)
    assert rec["given"] is given
    assert rec["terms_version"] == rendered.policy["terms_version"]
    assert rec["text_url"] == rendered.policy["terms_url"]
    assert rec["method"] == method
    assert rec["ip"] == IP
    assert rec["date"].endswith("Z"), "ISO-8601 in UTC"
    when = datetime.fromisoformat(rec["date"])
    assert when.utcoffset() is not None
    assert when.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - when).total_seconds()) < 60


# --------------------------------------------------------------------------
# The driver itself
# --------------------------------------------------------------------------


def test_driver_rejects_a_handler_that_is_not_async(tmp_path: Path) -> None:
    """runtime §1 "Handler check": the loader requires fn.constructor.name === 'AsyncFunction'."""
    sync = tmp_path / "sync.js"
    sync.write_text("exports.onExecutePostLogin = function (event, api) {};\n")
    done = subprocess.run(
        [str(find_node().path), str(DRIVER)],
        input=json.dumps(
            {"file": str(sync), "kind": "action", "handler": "onExecutePostLogin", "event": {}}
        ),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "Invalid function signature" in json.loads(done.stdout)["error"]


# --------------------------------------------------------------------------
# consent-on-first-login
# --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("value", ["true", "Yes", "on"])
def test_signup_consent_is_recorded(render: Any, form: str, layout: str, value: str) -> None:
    """A ticked signup box (stored as a string) becomes the consent record (runtime §5).

    runtime §1: setUserMetadata merges at the top level; unrelated keys are never written.
    """
    rendered = render(layout=layout)
    metadata = {"terms_accepted": value, **UNRELATED}
    out = login(rendered, form, "consent-on-first-login", metadata=metadata)
    assert out.deny is None
    assert out.redirect is None
    assert_recorded(rendered, out.stored, given=True, method="signup")
    for key, value_before in UNRELATED.items():
        assert out.stored[key] == value_before
    if form == "action":
        written = {key for key, _ in out.writes}
        assert not written & set(UNRELATED), "unrelated keys are never written"
        if layout == "nested":
            assert written == {OBJECT_KEY, "terms_accepted"}, "the record is one object"
    else:
        assert out.next_metadata is not None
        assert read_record(out.next_metadata, layout)["given"] is True


@pytest.mark.parametrize(
    ("form", "layout"),
    [
        ("action", "nested"),
        ("action", "root"),
        ("rule", "nested"),
        ("rule", "root"),
    ],
)
def test_signup_field_is_deleted(render: Any, form: str, layout: str) -> None:
    """signup.remove_field: the raw form value is deleted by writing null (runtime §1)."""
    rendered = render(layout=layout)
    out = login(rendered, form, "consent-on-first-login", metadata={"terms_accepted": "true"})
    if form == "action":
        assert ["terms_accepted", None] in out.writes
    assert "terms_accepted" not in out.stored


@pytest.mark.parametrize("form", FORMS)
def test_nested_record_is_written_whole_keeping_unknown_properties(render: Any, form: str) -> None:
    """Top-level merge only (runtime §1): the nested object is rewritten whole, so
    sub-properties this code does not manage must be carried over."""
    rendered = render(layout="nested")
    metadata = {"terms_accepted": "true", OBJECT_KEY: {"source": "import-2024"}}
    out = login(rendered, form, "consent-on-first-login", metadata=metadata)
    assert out.stored[OBJECT_KEY]["source"] == "import-2024"
    assert_recorded(rendered, out.stored, given=True, method="signup")
    if form == "action":
        [consent] = [value for key, value in out.writes if key == OBJECT_KEY]
        assert set(consent) >= {"source", *KEYS["nested"].values()} - {"withdrawn_at"}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    "case", ["already-recorded", "declined-recorded", "unticked", "social-connection"]
)
def test_first_login_writes_nothing(render: Any, form: str, layout: str, case: str) -> None:
    """Idempotent (a record exists), "false" and social logins: no writes at all."""
    rendered = render(layout=layout)
    kwargs: dict[str, Any] = {}
    metadata: dict[str, Any] = {"terms_accepted": "true", **UNRELATED}
    if case == "already-recorded":
        metadata.update(valid_record(rendered, terms_version="2025-01-01"))
    elif case == "declined-recorded":
        metadata.update(valid_record(rendered, given=False))
    elif case == "unticked":
        metadata["terms_accepted"] = "false"
    else:
        kwargs = {"strategy": "google-oauth2", "connection": SOCIAL_CONNECTION}
    out = login(rendered, form, "consent-on-first-login", metadata=metadata, **kwargs)
    assert out.writes == []
    assert out.deny is None
    assert out.redirect is None


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
def test_signup_then_redirect_in_one_login_does_not_ask_again(
    render: Any, form: str, layout: str
) -> None:
    """Order 1 then 2 in one login: runtime §1 (Actions: updates optimistically visible
    in later actions' event.user) and §4 (Rules: the next rule gets the user passed on)."""
    rendered = render(layout=layout)
    first = login(rendered, form, "consent-on-first-login", metadata={"terms_accepted": "on"})
    seen = first.stored if form == "action" else first.next_metadata
    second = login(rendered, form, "consent-redirect", metadata=seen)
    assert second.redirect is None
    assert second.deny is None
    assert second.writes == []


# --------------------------------------------------------------------------
# consent-redirect: who is sent to the consent page
# --------------------------------------------------------------------------


def assert_sent_to_page(rendered: Rendered, out: Outcome, reason: str) -> None:
    """sendUserTo / context.redirect with the session token (runtime §2 encodeToken)."""
    assert out.deny is None
    assert out.writes == []
    assert out.redirect is not None
    assert out.redirect["url"] == rendered.page_url
    query = out.redirect["query"]
    assert query["terms_version"] == rendered.policy["terms_version"]
    assert query["terms_url"] == rendered.policy["terms_url"]
    claims = decode(query["session_token"])
    assert claims["sub"] == USER_ID
    assert claims["iss"] == HOSTNAME
    assert claims["exp"] - claims["iat"] == rendered.policy["token_ttl_seconds"]
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["terms_version"] == rendered.policy["terms_version"]
    assert claims["reason"] == reason
    assert claims["ip"] == IP


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
def test_user_without_record_is_sent_to_consent_page(render: Any, form: str, layout: str) -> None:
    """runtime §1 sendUserTo(url, {query}); §2 encodeToken claims {iat, iss, sub, exp, ip}."""
    rendered = render(layout=layout)
    out = login(rendered, form, "consent-redirect", metadata=dict(UNRELATED))
    assert_sent_to_page(rendered, out, "missing")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
def test_valid_current_consent_passes(render: Any, form: str, layout: str) -> None:
    rendered = render(layout=layout)
    out = login(rendered, form, "consent-redirect", metadata=valid_record(rendered))
    assert (out.writes, out.deny, out.redirect) == ([], None, None)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("overrides", "reason"),
    [({"terms_version": "2025-01-01"}, "outdated"), ({"given": False}, "declined")],
    ids=["outdated", "declined"],
)
def test_outdated_or_declined_consent_is_asked_again(
    render: Any, form: str, layout: str, overrides: dict[str, Any], reason: str
) -> None:
    rendered = render(layout=layout)
    out = login(rendered, form, "consent-redirect", metadata=valid_record(rendered, **overrides))
    assert_sent_to_page(rendered, out, reason)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("on_withdrawn", ["ask", "deny"])
def test_withdrawn_consent(render: Any, form: str, layout: str, on_withdrawn: str) -> None:
    """on_withdrawn ask: back to the page; deny: access.deny or UnauthorizedError
    (runtime §1, §4)."""
    rendered = render(layout=layout, on_withdrawn=on_withdrawn)
    metadata = valid_record(rendered, withdrawn_at="2026-12-01T10:00:00.000Z")
    out = login(rendered, form, "consent-redirect", metadata=metadata)
    if on_withdrawn == "ask":
        assert_sent_to_page(rendered, out, "withdrawn")
    else:
        assert out.deny == WITHDRAWN_REASON
        assert out.redirect is None
        assert out.writes == []


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("impossible", ["deny", "allow"])
@pytest.mark.parametrize(
    "login_kind",
    [{"query": {"prompt": "none"}}, {"protocol": "oauth2-resource-owner"}],
    ids=["prompt-none", "resource-owner"],
)
def test_when_redirect_is_impossible(
    render: Any, form: str, impossible: str, login_kind: dict[str, Any]
) -> None:
    """runtime §1 canRedirect() is false for prompt=none and ROPG (Rules: §2 rule-utilities)."""
    rendered = render(impossible=impossible)
    out = login(rendered, form, "consent-redirect", **login_kind)
    assert out.redirect is None
    assert out.writes == []
    if impossible == "deny":
        assert out.deny == rendered.policy["when_redirect_impossible"]["reason"]
    else:
        assert out.deny is None


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("resume", [False, True], ids=["execute", "continue"])
def test_missing_secret_fails_closed(render: Any, form: str, resume: bool) -> None:
    """No CONSENT_SESSION_SECRET (event.secrets / configuration, runtime §4 mapping): deny, log."""
    rendered = render()
    body = {"session_token": page_token(rendered.policy["terms_version"])} if resume else None
    query = {"state": STATE} if resume else None
    out = login(
        rendered, form, "consent-redirect", resume=resume, body=body, query=query, secret=None
    )
    assert out.deny == CONFIGURATION_ERROR
    assert out.redirect is None
    assert out.writes == []
    assert any("CONSENT_SESSION_SECRET" in line for line in out.logs)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("who", ["social", "connections"])
def test_ask_only_social_or_listed_connections(render: Any, form: str, who: str) -> None:
    """ask.who social: only identities[].isSocial for this connection (runtime §1 identities);
    ask.who connections: only the listed connections."""
    rendered = render(who=who)
    database = login(rendered, form, "consent-redirect")
    assert (database.redirect, database.deny) == (None, None)
    social = login(
        rendered, form, "consent-redirect", strategy="google-oauth2", connection=SOCIAL_CONNECTION
    )
    assert_sent_to_page(rendered, social, "missing")


@pytest.mark.parametrize("form", FORMS)
def test_social_policy_checks_the_identity_not_the_connection_name(render: Any, form: str) -> None:
    """ask.who social reads identities[].isSocial of the connection used for this login."""
    rendered = render(who="social")
    not_social = [{"connection": SOCIAL_CONNECTION, "isSocial": False, "provider": "oidc"}]
    out = login(
        rendered,
        form,
        "consent-redirect",
        strategy="oidc",
        connection=SOCIAL_CONNECTION,
        identities=not_social,
    )
    assert (out.redirect, out.deny) == (None, None)


# --------------------------------------------------------------------------
# consent-redirect: the answer from the consent page
# --------------------------------------------------------------------------


def answer(
    rendered: Rendered, form: str, token: str | None, metadata: dict[str, Any] | None = None
) -> Outcome:
    """The /continue request: token in the POST body, state in the query (runtime §1, §2)."""
    body = {"session_token": token} if token is not None else None
    return login(
        rendered,
        form,
        "consent-redirect",
        resume=True,
        metadata=metadata if metadata is not None else dict(UNRELATED),
        query={"state": STATE},
        body=body,
    )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
def test_accepted_answer_is_recorded(render: Any, form: str, layout: str) -> None:
    """runtime §2 validateToken returns all claims; the decision is recorded, login continues."""
    rendered = render(layout=layout)
    out = answer(rendered, form, page_token(rendered.policy["terms_version"]))
    assert out.deny is None
    assert out.redirect is None
    assert_recorded(rendered, out.stored, given=True, method="redirect")
    for key, value in UNRELATED.items():
        assert out.stored[key] == value
    if form == "action":
        assert not {key for key, _ in out.writes} & set(UNRELATED)


@pytest.mark.parametrize(
    ("form", "layout"),
    [
        ("action", "nested"),
        ("action", "root"),
        ("rule", "nested"),
        ("rule", "root"),
    ],
)
def test_accepting_again_clears_the_withdrawal(render: Any, form: str, layout: str) -> None:
    """A new consent after a withdrawal removes withdrawn_at (null write, runtime §1)."""
    rendered = render(layout=layout)
    metadata = valid_record(rendered, withdrawn_at="2026-12-01T10:00:00.000Z")
    out = answer(rendered, form, page_token(rendered.policy["terms_version"]), metadata)
    assert out.deny is None
    assert_recorded(rendered, out.stored, given=True, method="redirect")
    assert "withdrawn_at" not in read_record(out.stored, layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("form", FORMS)
def test_declined_answer_is_recorded_and_denied(render: Any, form: str, layout: str) -> None:
    """runtime §1: deny does not cancel metadata already requested, so the decline persists."""
    rendered = render(layout=layout)
    token = page_token(rendered.policy["terms_version"], consent="declined")
    out = answer(rendered, form, token)
    assert out.deny == rendered.policy["on_decline"]["reason"]
    assert out.redirect is None
    assert_recorded(rendered, out.stored, given=False, method="redirect")


def _attack(name: str, terms: str) -> str | None:
    now = int(time.time())
    return {
        "forged-signature": lambda: page_token(terms, secret=OTHER_SECRET),
        "expired": lambda: page_token(terms, iat=now - 1200, exp=now - 600),
        "other-user": lambda: page_token(terms, sub="auth0|someone-else"),
        "other-state": lambda: page_token(terms, state="state-of-another-login"),
        "no-state": lambda: page_token(terms, state=None),
        "alg-none": lambda: page_token(terms, alg="none"),
        "no-decision": lambda: page_token(terms, consent=None),
        "unknown-decision": lambda: page_token(terms, consent="maybe"),
        "garbage": lambda: "not-a-jwt",
        "missing": lambda: None,
    }[name]()


ATTACKS = [
    "forged-signature",
    "expired",
    "other-user",
    "other-state",
    "no-state",
    "alg-none",
    "no-decision",
    "unknown-decision",
    "garbage",
]


@pytest.mark.parametrize(
    ("form", "attack"),
    [(form, attack) for form in FORMS for attack in ATTACKS] + [("action", "missing")],
)
def test_bad_answers_are_denied_without_writes(render: Any, form: str, attack: str) -> None:
    """runtime §2 validateToken: signature, exp, sub, state, HS256 only ("none" refused);
    failures throw and the Action denies with the generic reason, details only logged.
    (Rules, missing token: see test_rule_redirect_callback_without_token_*.)"""
    rendered = render()
    out = answer(rendered, form, _attack(attack, rendered.policy["terms_version"]))
    assert out.deny == RESPONSE_INVALID
    assert out.writes == []
    assert out.redirect is None
    assert out.logs, "the reason is logged for the tenant admin"


@pytest.mark.parametrize("form", FORMS)
def test_answer_for_other_terms_is_denied(render: Any, form: str) -> None:
    """A valid token for other terms (they changed during the visit): own reason, no writes."""
    rendered = render()
    out = answer(rendered, form, page_token("2025-01-01"))
    assert out.deny == TERMS_CHANGED
    assert out.writes == []


# --------------------------------------------------------------------------
# Legacy rule: redirect-callback without a token
# --------------------------------------------------------------------------


@pytest.mark.parametrize("impossible", ["deny", "allow"])
def test_rule_redirect_callback_without_token_does_not_redirect_again(
    render: Any, impossible: str
) -> None:
    """runtime §4 Rules redirects: all rules run again on redirect-callback and only one
    redirect per flow; rule-utilities canRedirect is false on redirect-callback (§2)."""
    rendered = render(impossible=impossible)
    out = login(rendered, "rule", "consent-redirect", resume=True, query={"state": STATE})
    assert out.redirect is None
    assert out.writes == []
    # Fail closed whatever the policy: the page's answer is missing.
    assert out.deny == RESPONSE_INVALID


@pytest.mark.parametrize(
    "impossible",
    [
        "deny",
        "allow",
    ],
)
def test_rule_redirect_callback_without_token_never_admits_unconsented_user(
    render: Any, impossible: str
) -> None:
    """Skipping the consent page (straight to /continue) must not log a user in without
    consent; the Action form denies it (test_bad_answers_are_denied_without_writes[missing])."""
    rendered = render(impossible=impossible)
    out = login(rendered, "rule", "consent-redirect", resume=True, query={"state": STATE})
    assert out.deny is not None


def test_rule_redirect_callback_lets_consented_user_through(render: Any) -> None:
    """Another rule's redirect-callback: a user with valid consent is not blocked."""
    rendered = render()
    out = login(
        rendered,
        "rule",
        "consent-redirect",
        resume=True,
        query={"state": STATE},
        metadata=valid_record(rendered),
    )
    assert (out.deny, out.redirect, out.writes) == (None, None, [])
