"""A deploy that paces itself: the rate limit kept (429s rare), pages read concurrently,
build waits that read only the pending actions, creates deployed by their create call.

Auth0 limits the Management API per tenant with a token bucket and tells every
answer where it stands in ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` (UNIX seconds); the Free plan allows 2 requests a second
with a burst of 2
(https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy,
https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy/management-api-endpoint-rate-limits).
The local tenant reproduces those profiles (``FaultInjector.use_profile``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from consent_support import MINIMAL_CONSENT, write_consent_texts

from auth0_actions.cli.main import main as cli_main
from auth0_actions.clock import now_s
from auth0_actions.config import load_tenant
from auth0_actions.emulator.faults import LoggedRequest
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.plan.apply import Waiter, apply_environment
from auth0_actions.plan.state import live_state
from auth0_actions.target import Target
from auth0_actions.tenant_client import TenantClient
from auth0_actions.tenant_client.pacing import (
    MARGIN_S,
    PLAN_LIMITS,
    Pacer,
    RateLimit,
    rate_limit_of,
)

LIST_PATH = "/api/v2/actions/actions"

TENANT_YAML = """\
version: 1
environments:
  local:
    domain: local
{rate_limit}{consent}actions:
{actions}
"""
TEMPLATE = """\
/** Paced action {n}, revision {revision}. */
exports.onExecutePostLogin = async (event, api) => {{
  api.idToken.setCustomClaim("https://example.com/paced-{n}", "{revision}");
}};
"""


# -- the pacer on its own (a fake clock: what it decides, not how long it takes) --------
class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_configured_plan_sends_its_burst_then_its_rate() -> None:
    time = FakeTime()
    pacer = Pacer(PLAN_LIMITS["free"], clock=time.clock, sleep=time.sleep, wall=time.clock)
    for _ in range(6):
        pacer.acquire()
    # A burst of 2 at once, then one request every half second (2/s), a margin late.
    assert len(time.slept) == 4
    assert sum(time.slept) == pytest.approx(4 * 0.5 + MARGIN_S)


def test_rate_limit_settings_map_to_the_documented_plans() -> None:
    assert rate_limit_of("free") == RateLimit(2.0, 2)
    assert rate_limit_of("self-service") == RateLimit(16.0, 16)
    assert rate_limit_of("enterprise") is not None
    assert rate_limit_of(5) == RateLimit(5.0, 5)
    assert rate_limit_of(None) is None


def test_unset_rate_limit_learns_from_the_headers() -> None:
    time = FakeTime()
    pacer = Pacer(None, clock=time.clock, sleep=time.sleep, wall=time.clock)
    pacer.acquire()
    assert time.slept == []  # nothing known yet: the first request goes at once, alone
    reset = str(int(time.now) + 1)
    headers = {"x-ratelimit-limit": "2", "x-ratelimit-remaining": "1", "x-ratelimit-reset": reset}
    pacer.release(200, headers)
    pacer.acquire()  # the one token the answer said is left
    assert time.slept == []
    pacer.acquire()
    assert time.slept  # the bucket is empty: the next one waits
    assert time.slept[-1] > 0
    assert pacer.burst == 2


def test_until_an_answer_comes_one_request_is_in_flight() -> None:
    """A Free tenant's burst is 2 and the token exchange may have spent one: the first
    requests of an unpaced client (three concurrent reads of the live state) would meet
    a 429. Unset, the first request goes alone and the rest wait for its answer."""
    pacer = Pacer(None)
    pacer.acquire()
    second = threading.Thread(target=pacer.acquire)
    second.start()
    second.join(0.2)
    assert second.is_alive()  # held while the first is in flight
    reset = str(int(now_s()) + 1)
    pacer.release(200, {"x-ratelimit-limit": "16", "x-ratelimit-remaining": "15",
                        "x-ratelimit-reset": reset})  # fmt: skip
    second.join(2.0)
    assert not second.is_alive()


def test_a_tenant_that_sends_no_rate_limit_headers_is_not_paced() -> None:
    """Once an answer came without x-ratelimit-* (a proxy, a tenant with no limit), the
    client is not held to one request at a time."""
    pacer = Pacer(None)
    pacer.acquire()
    pacer.release(200, {})
    pacer.acquire()
    second = threading.Thread(target=pacer.acquire)
    second.start()
    second.join(1.0)
    assert not second.is_alive()


def test_a_429_holds_every_request_until_the_reset() -> None:
    time = FakeTime()
    pacer = Pacer(PLAN_LIMITS["self-service"], clock=time.clock, sleep=time.sleep, wall=time.clock)
    refused = threading.Thread(target=pacer.acquire)
    refused.start()
    refused.join()
    reset = str(int(time.now) + 3)
    headers = {"x-ratelimit-limit": "16", "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    released = threading.Thread(target=pacer.release, args=(429, headers))
    released.start()  # the refused request's thread (its retry loop waits on its own)
    released.join()
    pacer.acquire()  # any other request waits for the reset too
    assert sum(time.slept) >= 3.0 - 1e-9


def test_another_clients_spending_is_seen_in_remaining() -> None:
    time = FakeTime()
    pacer = Pacer(PLAN_LIMITS["self-service"], clock=time.clock, sleep=time.sleep, wall=time.clock)
    pacer.acquire()
    # The tenant says 0 left although we spent 1 of 16: someone else spends this tenant's limit.
    pacer.release(200, {"x-ratelimit-limit": "16", "x-ratelimit-remaining": "0",
                        "x-ratelimit-reset": str(int(time.now) + 1)})  # fmt: skip
    pacer.acquire()
    assert time.slept == pytest.approx([1 / 16 + MARGIN_S])


# -- against the local tenant -------------------------------------------------------------
def _write_project(root: Path, count: int, revision: int, rate_limit: str | None) -> None:
    entries = "\n".join(
        f"  - name: paced-{n:02d}\n    template: paced-{n:02d}.js.j2\n"
        f"    trigger: post-login\n    order: {n}"
        for n in range(1, count + 1)
    )
    limit = f"    rate_limit: {rate_limit}\n" if rate_limit else ""
    text = TENANT_YAML.format(actions=entries, rate_limit=limit, consent=MINIMAL_CONSENT)
    (root / "tenant.yaml").write_text(text, encoding="utf-8")
    write_consent_texts(root)
    templates = root / "rules_templates"
    templates.mkdir(exist_ok=True)
    for n in range(1, count + 1):
        body = TEMPLATE.format(n=f"{n:02d}", revision=revision)
        (templates / f"paced-{n:02d}.js.j2").write_text(body, encoding="utf-8")
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        assert cli_main(["--config", str(root / "tenant.yaml"), "render", "--env", "local"]) == 0


@contextlib.contextmanager
def _served(root: Path) -> Iterator[LocalTenant]:
    with LocalTenant.open(root) as local:
        local.write_credentials()
        yield local


def _client(local: LocalTenant, rate_limit: str | None = None) -> TenantClient:
    target = Target("local", local.domain, local.base_url, local.client_id,
                    local.client_secret, {}, rate_limit)  # fmt: skip
    return TenantClient.for_target(target, audience=local.audience)


def _api(entries: list[LoggedRequest]) -> list[LoggedRequest]:
    return [e for e in entries if e.path.startswith("/api/v2/")]


@pytest.mark.parametrize("rate_limit", ["free", None], ids=["configured", "learnt"])
def test_an_apply_at_the_free_limit_is_rarely_refused(
    tmp_path: Path, rate_limit: str | None
) -> None:
    """10 changed actions (10 updates, 10 deploys, the waits, the verify: 28 requests)
    at 2/s with a burst of 2. Learnt, the first request goes alone; from its answer on
    the pacer knows the limit."""
    with _served(tmp_path) as local:
        environ = {"AUTH0_DOMAIN": local.base_url}
        _write_project(tmp_path, 10, 0, rate_limit)
        assert apply_environment(load_tenant(tmp_path / "tenant.yaml"), "local",
                                 environ=environ).applied  # fmt: skip
        _write_project(tmp_path, 10, 1, rate_limit)
        injector = local.app.injector
        injector.use_profile("free")
        mark = len(injector.log)
        result = apply_environment(load_tenant(tmp_path / "tenant.yaml"), "local",
                                   environ=environ)  # fmt: skip
        injector.use_profile("none")
        assert result.applied
        entries = list(injector.log[mark:])
        refused = [e for e in entries if e.status == 429]
        assert len(refused) < 0.05 * len(entries), (len(refused), len(entries))


def _crowd(local: LocalTenant, count: int) -> list[str]:
    """``count`` unmanaged actions, made in the tenant's own state (no requests)."""
    made = []
    for n in range(count):
        doc = local.app.backends.actions.create({
            "name": f"someone-else-{n:03d}",
            "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": "exports.onExecutePostLogin = async () => {};",
        })  # fmt: skip
        made.append(str(doc["id"]))
    return made


def test_a_large_tenant_is_read_with_concurrent_pages_in_order(tmp_path: Path) -> None:
    with _served(tmp_path) as local, _client(local) as client:
        ids = _crowd(local, 500)
        injector = local.app.injector
        injector.latency_ms = 200.0
        mark = len(injector.log)
        live = live_state(client, ("post-login",))
        pages = [e for e in injector.log[mark:] if e.method == "GET" and e.path == LIST_PATH]
        injector.latency_ms = 0.0
        # Ten pages of 50; pages 1-9 sent together once page 0 said the total: some arrive
        # closer together than one answer takes, which requests sent in turn never do.
        assert len(pages) == 10
        starts = sorted(e.at for e in pages[1:])
        assert min(b - a for a, b in itertools.pairwise(starts)) < 0.2
        assert {a.id for a in live.actions} == set(ids)
        assert [a.id for a in client.list_actions()] == ids  # the tenant's order, kept


def test_a_build_wait_in_a_large_tenant_reads_only_the_pending_actions(tmp_path: Path) -> None:
    with _served(tmp_path) as local, _client(local) as client:
        ids = _crowd(local, 500)
        pending = {"post-login/someone-else-000": ids[0], "post-login/someone-else-001": ids[1]}
        for action_id in pending.values():
            client.update_action(action_id, code="exports.onExecutePostLogin = async () => {1};")
        injector = local.app.injector
        mark = len(injector.log)
        waiter = Waiter(client, deadline=float("inf"), listed=500)
        waiter.wait("the build", pending,
                    lambda _, a: "done" if a.status == "built" else "wait",
                    lambda label: AssertionError(label))  # fmt: skip
        reads = [e for e in injector.log[mark:] if e.path.startswith("/api/v2/")]
        assert reads, "the wait read nothing"
        assert not [e for e in reads if e.path == LIST_PATH]
        assert {e.path.rsplit("/", 1)[1] for e in reads} == set(pending.values())


def test_a_created_action_is_deployed_by_its_create_call(tmp_path: Path) -> None:
    """POST /api/v2/actions/actions takes ``deploy: true`` (create only):
    https://auth0.com/docs/api/management/v2/actions/post-action"""
    _write_project(tmp_path, 3, 0, None)
    with _served(tmp_path) as local:
        mark = len(local.app.injector.log)
        result = apply_environment(load_tenant(tmp_path / "tenant.yaml"), "local",
                                   environ={"AUTH0_DOMAIN": local.base_url})  # fmt: skip
        entries = _api(list(local.app.injector.log[mark:]))
        creates = [e for e in entries if e.method == "POST" and e.path.endswith("/actions")]
        assert len(creates) == 3
        assert all(e.body and e.body.get("deploy") is True for e in creates)
        assert not [e for e in entries if e.method == "POST" and e.path.endswith("/deploy")]
        deployed = [s for s in result.steps if s.kind == "deploy"]
        assert sorted(s.action or "" for s in deployed) == ["paced-01", "paced-02", "paced-03"]
        with _client(local) as client:
            live = {a.name: a for a in client.list_actions()}
            bound = [b.action_name for b in client.get_bindings("post-login")]
        assert all(a.deployed_version is not None for a in live.values())
        assert bound == ["paced-01", "paced-02", "paced-03"]
