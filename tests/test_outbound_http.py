"""Outbound HTTP of actions: answered by stubs through the host, never the network.

Auth0 Actions run on Node 22 and may call HTTP APIs with `fetch`, `http`/`https`
or npm packages such as axios and the `auth0` SDK
(https://auth0.com/docs/customize/actions/action-coding-guidelines,
https://auth0.com/docs/customize/actions/manage-dependencies). In the sandbox
those requests reach the scenario's stubs through the host; what was sent is
recorded by the host; a request no stub matches fails the scenario naming its
method and URL; and a slow stub meets the trigger's 20 s limit
(https://auth0.com/docs/customize/actions/limitations).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config.model import Dependency
from auth0_actions.errors import ConfigError
from auth0_actions.sandbox.deps import ensure_dependencies
from auth0_actions.sandbox.event import build_event
from auth0_actions.sandbox.outbound import Exchange, parse_stubs
from auth0_actions.sandbox.pool import TIMEOUT_MESSAGE, Limits, Reply, SandboxPool

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX sandbox")

TIMEOUT_MS = 2000
RISK = "https://risk.example.com/v1/score"
# Auth0's timeout message (https://auth0.com/docs/customize/actions/limitations).
assert TIMEOUT_MESSAGE == "Request to Webtask exceeded allowed execution time"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, limits=Limits(timeout_ms=TIMEOUT_MS)) as p:
        yield p


def unit(body: str, deps_dir: Path | None = None) -> dict[str, Any]:
    return {
        "name": "caller",
        "code": f"exports.onExecutePostLogin = async (event, api) => {{\n{body}\n}};\n",
        "filename": "/actions/caller.js",
        "secrets": {},
        "deps_dir": str(deps_dir) if deps_dir else None,
    }


def run(
    pool: SandboxPool, body: str, stubs: Any, deps_dir: Path | None = None
) -> tuple[Reply, dict[str, Any]]:
    request = {
        "op": "post-login",
        "units": [unit(body, deps_dir)],
        "event": build_event(),
        "resume": None,
        "http": stubs,
    }
    reply = pool.call(request)
    return reply, reply.result or {}


def logged(result: dict[str, Any]) -> list[str]:
    return [entry["message"] for entry in result.get("logs") or []]


# --- fetch ---------------------------------------------------------------------------


def test_fetch_get_and_post_json_reach_the_stubs(pool: SandboxPool) -> None:
    stubs = [
        {"method": "GET", "url": "https://crm.example.com/users/*", "body": {"tier": "gold"}},
        {"method": "POST", "url": RISK, "status": 201, "headers": {"x-id": "r1"}, "body": [1, 2]},
    ]
    reply, result = run(
        pool,
        """
        const a = await fetch('https://crm.example.com/users/42?fields=tier');
        console.log(a.status, a.headers.get('content-type'), JSON.stringify(await a.json()), a.url);
        const b = await fetch('https://risk.example.com/v1/score', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
          body: JSON.stringify({ user: event.user.user_id }),
        });
        console.log(b.status, b.headers.get('x-id'), JSON.stringify(await b.json()));
        """,
        stubs,
    )
    assert reply.ok, reply.failure
    assert result["status"] == "completed", result
    assert logged(result) == [
        '200 application/json {"tier":"gold"} https://crm.example.com/users/42?fields=tier',
        "201 r1 [1,2]",
    ]
    first, second = result["requests"]
    assert first["method"] == "GET"
    assert first["url"] == "https://crm.example.com/users/42?fields=tier"
    assert first["body"] is None
    assert second["method"] == "POST"
    assert second["headers"]["authorization"] == "Bearer k"
    assert second["json"] == {"user": build_event()["user"]["user_id"]}
    assert result["unmatched"] == []


def test_an_unmatched_fetch_fails_like_a_network_error_and_is_named(pool: SandboxPool) -> None:
    reply, result = run(
        pool,
        """
        try { await fetch('https://risk.example.com/v2/score'); }
        catch (err) { console.log(err.name, err.message, err.cause.message); }
        """,
        [{"url": RISK}],
    )
    assert reply.ok
    # Node's fetch rejects a request that cannot connect with TypeError "fetch failed".
    assert logged(result) == [
        "TypeError fetch failed no http stub matches GET https://risk.example.com/v2/score"
    ]
    assert result["unmatched"] == ["GET https://risk.example.com/v2/score"]


def test_first_match_wins_and_times_is_honoured(pool: SandboxPool) -> None:
    stubs = [
        {"url": RISK, "body": "first", "times": 1},
        {"url": "https://risk.example.com/*", "body": "fallback"},
    ]
    _, result = run(
        pool,
        "for (let i = 0; i < 3; i += 1) console.log(await (await fetch('" + RISK + "')).text());",
        stubs,
    )
    assert logged(result) == ["first", "fallback", "fallback"]


def test_fetch_follows_redirects(pool: SandboxPool) -> None:
    stubs = [
        {"url": "https://a.example/old", "status": 302, "headers": {"location": "/new"}},
        {"url": "https://a.example/new", "body": "moved"},
    ]
    _, result = run(
        pool,
        "const r = await fetch('https://a.example/old'); "
        "console.log(r.status, r.redirected, r.url, await r.text());",
        stubs,
    )
    assert logged(result) == ["200 true https://a.example/new moved"]
    assert [r["url"] for r in result["requests"]] == [
        "https://a.example/old",
        "https://a.example/new",
    ]


# --- http and https ----------------------------------------------------------------


def test_https_request_with_a_callback_and_a_streamed_body(pool: SandboxPool) -> None:
    stubs = [{"method": "PUT", "url": "https://crm.example.com/contacts/7", "body": {"ok": True}}]
    reply, result = run(
        pool,
        """
        const https = require('https');
        const answer = await new Promise((resolve, reject) => {
          const req = https.request('https://crm.example.com/contacts/7',
            { method: 'PUT', headers: { 'content-type': 'application/json' } }, (res) => {
              const chunks = [];
              res.on('data', (c) => chunks.push(c));
              res.on('end', () => resolve([res.statusCode, res.headers['content-type'],
                Buffer.concat(chunks).toString()]));
            });
          req.on('error', reject);
          req.write('{"name":');
          setTimeout(() => req.end('"Ada"}'), 10);
        });
        console.log(JSON.stringify(answer));
        """,
        stubs,
    )
    assert reply.ok, reply.failure
    assert logged(result) == ['[200,"application/json","{\\"ok\\":true}"]']
    [sent] = result["requests"]
    assert sent["url"] == "https://crm.example.com/contacts/7"
    assert sent["headers"]["host"] == "crm.example.com"
    assert sent["json"] == {"name": "Ada"}


def test_an_unmatched_http_request_emits_error(pool: SandboxPool) -> None:
    _, result = run(
        pool,
        """
        const code = await new Promise((resolve) => require('http')
          .get('http://inventory.example:8080/items', () => resolve('answered'))
          .on('error', (err) => resolve(err.code)));
        console.log(code);
        """,
        [],
    )
    assert logged(result) == ["ECONNREFUSED"]
    assert result["unmatched"] == ["GET http://inventory.example:8080/items"]


# --- delays and the trigger's limit --------------------------------------------------


def test_a_short_delay_lets_the_actions_timers_run(pool: SandboxPool) -> None:
    """The delay is a timer: the action's own timer, due earlier, runs while it waits."""
    reply, result = run(
        pool,
        """
        const order = [];
        const started = Date.now();
        const timer = new Promise((resolve) => setTimeout(() => {
          order.push('timer');
          resolve();
        }, 1));
        const res = await fetch('https://slow.example/x');
        order.push('response ' + res.status);
        await timer;
        console.log(order.join(', '), Date.now() - started >= 300);
        """,
        [{"url": "https://slow.example/x", "delay_ms": 300}],
    )
    assert reply.ok
    assert logged(result) == ["timer, response 200 true"]


def test_a_delay_past_the_limit_is_the_timeout_path(pool: SandboxPool) -> None:
    reply, result = run(
        pool,
        "await fetch('https://slow.example/x'); api.access.deny('never');",
        [{"url": "https://slow.example/x", "delay_ms": TIMEOUT_MS + 1000}],
    )
    assert reply.ok, reply.failure
    assert result["status"] == "error"
    assert result["error"]["message"] == TIMEOUT_MESSAGE
    assert [r["url"] for r in result["requests"]] == ["https://slow.example/x"]


def test_an_abort_signal_shorter_than_the_delay_fires(pool: SandboxPool) -> None:
    _, result = run(
        pool,
        "try { await fetch('https://slow.example/x', { signal: AbortSignal.timeout(100) }); }"
        " catch (err) { console.log(err.name); }",
        [{"url": "https://slow.example/x", "delay_ms": 1000}],
    )
    assert logged(result) == ["TimeoutError"]


# --- isolation -------------------------------------------------------------------------


class Listener:
    """A loopback TCP server that records every connection it accepts."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.05)
        self.port = self.server.getsockname()[1]
        self.hits = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


def test_no_real_socket_is_opened_even_towards_a_listening_host(
    pool: SandboxPool, listener: Listener
) -> None:
    url = f"http://127.0.0.1:{listener.port}/"
    body = f"""
    const viaFetch = await (await fetch('{url}a')).text();
    const viaHttp = await new Promise((resolve, reject) => require('http')
      .get('{url}b', (res) => {{ let d = ''; res.on('data', (c) => d += c);
        res.on('end', () => resolve(d)); }}).on('error', reject));
    try {{ await fetch('{url}unstubbed'); }} catch (err) {{ console.log(err.cause.message); }}
    let direct;
    try {{ require('net').connect({listener.port}, '127.0.0.1'); }}
    catch (err) {{ direct = err.code; }}
    console.log(viaFetch, viaHttp, direct);
    """
    stubs = [{"url": f"{url}a", "body": "stub-a"}, {"url": f"{url}b", "body": "stub-b"}]
    reply, result = run(pool, body, stubs)
    assert reply.ok, reply.failure
    assert logged(result) == [
        f"no http stub matches GET {url}unstubbed",
        "stub-a stub-b ERR_SANDBOX_NETWORK",
    ]
    time.sleep(0.1)
    assert listener.hits == 0


def test_without_stubs_every_network_api_stays_refused(pool: SandboxPool) -> None:
    """A run that gives no stubs (the local tenant's flows) keeps the network error."""
    reply = pool.call(
        {
            "op": "post-login",
            "units": [unit("await fetch('https://risk.example.com/');")],
            "event": build_event(),
            "resume": None,
        }
    )
    assert reply.result is not None
    assert reply.result["error"]["message"] == (
        "Network access is disabled in the auth0-actions sandbox."
    )
    assert "requests" not in reply.result


def test_action_code_cannot_forge_or_reach_the_channel(pool: SandboxPool) -> None:
    """Only the harness knows the nonce: a forged http message is stray output, never answered."""
    body = r"""
    const fs = require('fs');
    fs.writeSync(1, '\n0123456789abcdef0123456789abcdef {"id":1,"http":{"method":"GET",'
      + '"url":"https://risk.example.com/v1/score","headers":[],"body":null}}\n');
    let reinstalled;
    try {
      require('/sandbox/harness/outbound.js').install(() => ({}), () => true, () => new Error());
    } catch (err) { reinstalled = err.message; }
    try { require(require('path').join(__dirname, 'outbound.js')); } catch (err) { }
    let leaked;
    try { await fetch('file:///etc/passwd'); } catch (err) { leaked = err.cause.message; }
    console.log(reinstalled || 'not reached', leaked);
    """
    reply, result = run(pool, body, [{"url": RISK, "body": "secret-answer"}])
    assert reply.ok, reply.failure
    assert result["status"] == "completed"
    # The forged line was not taken for a request: the host recorded only the real one.
    assert [r["url"] for r in result["requests"]] == ["file:///etc/passwd"]
    assert any("0123456789abcdef" in line for line in reply.stray_output)
    assert "secret-answer" not in json.dumps(result)
    assert logged(result)[-1].endswith("no http stub matches GET file:///etc/passwd")
    assert "root:" not in json.dumps(result)


# --- npm libraries built on http/https and fetch ----------------------------------


@pytest.fixture(scope="module")
def libraries(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """axios and the auth0 SDK from the npm registry, in the project's dependency cache."""
    root = tmp_path_factory.mktemp("npm-project")
    wanted = [
        Dependency(name="axios", version="1.21.1"),
        Dependency(name="auth0", version="4.37.0"),
    ]
    path = ensure_dependencies(root, wanted)
    assert path is not None
    return path


@pytest.fixture(scope="module")
def library_pool(libraries: Path) -> Iterator[SandboxPool]:
    with SandboxPool(1, limits=Limits(timeout_ms=5000), read_paths=[libraries.parent]) as p:
        yield p


def test_axios_reaches_a_stub(library_pool: SandboxPool, libraries: Path) -> None:
    reply, result = run(
        library_pool,
        """
        const axios = require('axios');
        const res = await axios.post('https://risk.example.com/v1/score', { user: 'u1' },
          { headers: { authorization: 'Bearer key' } });
        console.log(res.status, JSON.stringify(res.data));
        try { await axios.get('https://risk.example.com/v1/health'); }
        catch (err) { console.log(err.code); }
        """,
        [{"method": "POST", "url": RISK, "body": {"score": 0.2}}],
        libraries,
    )
    assert reply.ok, reply.failure
    assert logged(result) == ['200 {"score":0.2}', "ECONNREFUSED"]
    sent = result["requests"][0]
    assert sent["headers"]["authorization"] == "Bearer key"
    assert sent["headers"]["user-agent"].startswith("axios/")
    assert sent["json"] == {"user": "u1"}


def test_the_auth0_sdk_reaches_stubs(library_pool: SandboxPool, libraries: Path) -> None:
    """The Management API call documented for Actions: a token, then the users endpoint."""
    domain = "tenant.example.auth0.com"
    stubs = [
        {
            "method": "POST",
            "url": f"https://{domain}/oauth/token",
            "body": {"access_token": "mgmt-token", "token_type": "Bearer", "expires_in": 86400},
        },
        {
            "method": "GET",
            "url": f"https://{domain}/api/v2/users/*",
            "body": {"user_id": "auth0|1", "email": "ada@example.com"},
        },
    ]
    reply, result = run(
        library_pool,
        f"""
        const {{ ManagementClient }} = require('auth0');
        const management = new ManagementClient({{
          domain: '{domain}', clientId: 'client-id', clientSecret: 'client-secret' }});
        const user = await management.users.get({{ id: 'auth0|1' }});
        console.log(user.data.email);
        """,
        stubs,
        libraries,
    )
    assert reply.ok, reply.failure
    assert logged(result) == ["ada@example.com"], result
    token, users = result["requests"]
    assert "grant_type=client_credentials" in token["body"]
    assert users["url"] == f"https://{domain}/api/v2/users/auth0%7C1"
    assert users["headers"]["authorization"] == "Bearer mgmt-token"


# --- stubs: parsing and the host's record --------------------------------------------


@pytest.mark.parametrize(
    ("stub", "message"),
    [
        ({"url": RISK, "status": 99}, "http[0].status: must be an integer from 200 to 599"),
        ({"status": 200}, "http[0]: give exactly one of url and url_regex"),
        ({"url": RISK, "verb": "GET"}, "http[0]: unknown field(s) verb"),
        ({"url": RISK, "method": "GET /"}, "http[0].method: must be an HTTP method"),
        ({"url_regex": "(", "body": "x"}, "http[0].url_regex: not a valid regular expression"),
        ({"url": RISK, "delay_ms": -1}, "http[0].delay_ms: must be an integer of at least 0"),
        ({"url": RISK, "body": 3}, "http[0].body: must be text, or a mapping or list"),
    ],
)
def test_bad_stubs_are_named_by_field(stub: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_stubs([stub])
    assert str(caught.value).startswith(message)


def test_json_bodies_get_a_content_type_and_regex_urls_match() -> None:
    exchange = Exchange(parse_stubs([{"url_regex": r"https://api\.example/u/\d+", "body": {}}]))
    answer = exchange.answer({"method": "get", "url": "https://api.example/u/12", "headers": []})
    assert answer["http_reply"]["headers"] == [["content-type", "application/json"]]
    assert exchange.answer({"method": "GET", "url": "https://api.example/u/x"}) == {
        "http_error": "no http stub matches GET https://api.example/u/x"
    }
    assert exchange.problems() == ["no http stub matches GET https://api.example/u/x"]


# --- scenarios and sandbox run ------------------------------------------------------

RISK_ACTION = """\
exports.onExecutePostLogin = async (event, api) => {
  const res = await fetch('https://risk.example.com/v1/score', {
    method: 'POST',
    headers: { 'content-type': 'application/json',
               authorization: 'Bearer ' + event.secrets.RISK_KEY },
    body: JSON.stringify({ user_id: event.user.user_id }),
  });
  const { score } = await res.json();
  if (score > 0.9) api.access.deny('risky login');
};
"""

RISK_SCENARIOS = """\
pipeline: {action: [risk-check]}
environments: [local]
secrets: {RISK_KEY: key-123-4f9a-77c0}
http:
  - {method: POST, url: "https://risk.example.com/v1/*", body: {score: 0.1}}
scenarios:
  - name: a safe login completes and sends the user
    expect:
      status: completed
      requests:
        - method: POST
          url: https://risk.example.com/v1/score
          headers: {authorization: Bearer key-123-4f9a-77c0}
          json:
            user_id: !any
  - name: the scenario's stub comes first
    http:
      - {method: POST, url: "https://risk.example.com/v1/score", body: {score: 0.97}}
    expect: {status: denied, deny: risky login}
"""


def _risk_project(project: Path, scenarios: str) -> None:
    for path in (project / "rules_templates").glob("*.scenarios.yaml"):
        path.unlink()
    (project / "rules_templates" / "risk-check.js.j2").write_text(RISK_ACTION)
    (project / "rules_templates" / "risk-check.scenarios.yaml").write_text(scenarios)
    tenant = project / "tenant.yaml"
    text = tenant.read_text()
    entry = (
        "  - name: risk-check\n    template: risk-check.js.j2\n    trigger: post-login\n"
        "    order: 3\n    secrets:\n      RISK_KEY: RISK_KEY\n"
    )
    marker = "\nactions:\n"
    assert marker in text
    tenant.write_text(text.replace(marker, marker + entry, 1))


def test_scenarios_stub_http_and_check_the_requests(cli: Any, project: Path) -> None:
    _risk_project(project, RISK_SCENARIOS)
    assert cli("render").code == 0
    run_ = cli("test", "--output", "json")
    assert run_.code == 0, run_.out[-3000:]
    assert run_.json()["summary"]["passed"] == 2


def test_expect_requests_fails_on_what_was_not_sent(cli: Any, project: Path) -> None:
    wrong = RISK_SCENARIOS.replace("Bearer key-123-4f9a-77c0", "Bearer other-key")
    _risk_project(project, wrong)
    assert cli("render").code == 0
    run_ = cli("test")
    assert run_.code == 1
    assert "requests[0].headers.authorization" in run_.out
    # What was sent is shown, with the secret's value named, never printed.
    assert "+Bearer [secret RISK_KEY]" in run_.out
    assert "key-123-4f9a-77c0" not in run_.out + run_.err
    as_json = cli("test", "--output", "json")
    assert "key-123-4f9a-77c0" not in as_json.out + as_json.err


def test_an_unmatched_request_fails_the_scenario_naming_method_and_url(
    cli: Any, project: Path
) -> None:
    unstubbed = RISK_SCENARIOS.replace('url: "https://risk.example.com/v1/*"', 'url: "https://x/"')
    _risk_project(project, unstubbed)
    assert cli("render").code == 0
    run_ = cli("test", "-k", "safe login")
    assert run_.code == 1
    assert "no http stub matches POST https://risk.example.com/v1/score" in run_.out


def test_a_bad_stub_in_a_scenario_file_names_the_file_and_field(cli: Any, project: Path) -> None:
    _risk_project(project, RISK_SCENARIOS.replace("body: {score: 0.1}", "status: 42"))
    assert cli("render").code == 0
    run_ = cli("test")
    assert run_.code == 1
    assert "risk-check.scenarios.yaml" in run_.out + run_.err
    assert "http[0].status: must be an integer from 200 to 599" in run_.out + run_.err


def test_sandbox_run_http_answers_and_reports_requests(cli: Any, tmp_path: Path) -> None:
    action = tmp_path / "risk.js"
    action.write_text(RISK_ACTION)
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"RISK_KEY": "k"}))
    stubs = tmp_path / "stubs.yaml"
    stubs.write_text("- {method: POST, url: 'https://risk.example.com/*', body: {score: 0.95}}\n")
    run_ = cli("sandbox", "run", str(action), "--secrets", str(secrets), "--http", str(stubs))
    assert run_.code == 0, run_.out
    result = run_.json()
    assert result["status"] == "denied"
    assert [(r["method"], r["url"]) for r in result["requests"]] == [("POST", RISK)]

    unanswered = cli("sandbox", "run", str(action), "--secrets", str(secrets), "-o", "text")
    assert unanswered.code == 1
    assert f"error: no http stub matches POST {RISK}" in unanswered.out
