"""The host runs a trigger's pipeline: one action per worker, the outcome decided outside.

A warm worker serves one isolation domain (one action's code, secret values
and dependencies); the host carries the login from one action to the next
and reads deny/redirect from the commands each action issued. Module-level
state persists across one action's executions, as in Auth0's Node 22 runtime
(docs/reference/actions-runtime.md §3: module init is lazy, a top-level throw
is re-thrown on every later call, globals and module state persist).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from auth0_actions.sandbox.domain import Domain
from auth0_actions.sandbox.event import build_event
from auth0_actions.sandbox.pipeline import Check, Execute, ProtocolViolation, run_trigger
from auth0_actions.sandbox.pool import TIMEOUT_MESSAGE, Limits, Reply, SandboxPool
from auth0_actions.triggers import registry

POST_LOGIN = registry.get("post-login")


def run_post_login(execute: Execute, request: Mapping[str, Any], limits: Limits) -> Reply:
    return run_trigger(POST_LOGIN, execute, request, limits)


def unit(name: str, body: str = "", secrets: Mapping[str, str] | None = None) -> dict[str, Any]:
    code = f"let runs = 0;\nexports.onExecutePostLogin = async (event, api) => {{\n{body}\n}};\n"
    return {
        "name": name,
        "code": code,
        "filename": f"{name}.js",
        "secrets": dict(secrets or {}),
        "deps_dir": None,
    }


def login(units: list[dict[str, Any]]) -> dict[str, Any]:
    return {"op": "post-login", "units": units, "event": build_event(), "resume": None}


def step_result(name: str, **fields: Any) -> dict[str, Any]:
    """A well-formed result of one action, as the harness writes it."""
    return {
        "status": "completed",
        "error": None,
        "commands": [],
        "logs": [],
        "executed": [{"action": name, "handler": "onExecutePostLogin"}],
        "user_metadata": {},
        "app_metadata": {},
        **fields,
    }


class FakeWorkers:
    """Stands in for the pool: answers each domain with a scripted result."""

    def __init__(self, answers: Mapping[str, dict[str, Any]], delay_s: float = 0.0) -> None:
        self.answers = answers
        self.delay_s = delay_s
        self.calls: list[tuple[str, int]] = []

    def __call__(
        self, domain: Domain, payload: dict[str, Any], timeout_ms: int, check: Check
    ) -> Reply:
        self.calls.append((domain.name, timeout_ms))
        time.sleep(self.delay_s)
        result = self.answers[domain.name]
        check(result)  # raises ProtocolViolation, as the pool would report it
        return Reply(result)


def test_a_deny_is_read_from_the_commands_not_from_the_reported_status() -> None:
    """An action that denied is denied, whatever status its worker reports."""
    deny = {"action": "a", "type": "access.deny", "reason": "no consent"}
    workers = FakeWorkers({"a": step_result("a", commands=[deny]), "b": step_result("b")})
    result = run_post_login(workers, login([unit("a"), unit("b")]), Limits()).result
    assert result is not None
    assert result["status"] == "denied"
    assert result["deny"] == {"action": "a", "reason": "no consent"}
    assert [name for name, _ in workers.calls] == ["a"]  # b never ran


def test_a_claimed_denial_without_the_command_is_not_a_denial() -> None:
    workers = FakeWorkers({"a": step_result("a", status="denied")})
    result = run_post_login(workers, login([unit("a")]), Limits()).result
    assert result is not None
    assert result["status"] == "completed"
    assert result["deny"] is None


def test_a_result_naming_another_action_breaks_the_protocol() -> None:
    """An action can change only its own execution's result."""
    forged = {"action": "b", "type": "user.setUserMetadata", "key": "k", "value": 1}
    workers = FakeWorkers({"a": step_result("a", commands=[forged]), "b": step_result("b")})
    with pytest.raises(ProtocolViolation, match="commands names another action"):
        run_post_login(workers, login([unit("a"), unit("b")]), Limits())


def test_the_trigger_limit_covers_the_whole_segment() -> None:
    """§3 Limits: the 20 s are for the login's actions together; each gets what is left."""
    workers = FakeWorkers({"a": step_result("a"), "b": step_result("b")}, delay_s=0.15)
    reply = run_post_login(workers, login([unit("a"), unit("b"), unit("c")]), Limits(200))
    assert reply.failure == TIMEOUT_MESSAGE
    (first, first_left), (second, second_left) = workers.calls
    assert (first, second) == ("a", "b")
    assert first_left <= 200
    assert second_left < first_left - 100


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(1, limits=Limits(timeout_ms=5000)) as p:
        yield p


def run(pool: SandboxPool, *units: dict[str, Any]) -> dict[str, Any]:
    reply = pool.call(login(list(units)))
    assert reply.ok, reply.failure
    assert reply.result is not None
    return reply.result


COUNT = "runs += 1; api.user.setUserMetadata(event.secrets.NAME || 'runs', runs);"


def test_module_state_persists_across_one_actions_executions(pool: SandboxPool) -> None:
    """§3: module state persists across executions on a warm instance."""
    counter = unit("counter", COUNT)
    seen = [run(pool, counter)["user_metadata"]["runs"] for _ in range(3)]
    assert seen == [1, 2, 3]


def test_other_secret_values_are_another_domain(pool: SandboxPool) -> None:
    """Same code, other secrets: another worker, so no module state is shared."""
    first = unit("counter2", COUNT, {"NAME": "first"})
    other = unit("counter2", COUNT, {"NAME": "other"})
    assert run(pool, first)["user_metadata"] == {"first": 1}
    assert run(pool, other)["user_metadata"] == {"other": 1}
    assert run(pool, first)["user_metadata"] == {"first": 2}


def test_each_action_of_a_login_runs_in_its_own_worker(pool: SandboxPool) -> None:
    """No worker holds two actions' secrets: a pipeline of two uses two workers."""
    a = unit("a", "globalThis.seen = event.secrets.S;", {"S": "secret-of-a"})
    b = unit("b", "api.user.setUserMetadata('seen', String(globalThis.seen));", {"S": "b"})
    assert run(pool, a, b)["user_metadata"] == {"seen": "undefined"}
    domains = {w.domain.name: w.domain.values for w in pool.workers()}
    assert domains["a"] == {"S": "secret-of-a"}
    assert domains["b"] == {"S": "b"}


def test_a_worker_that_broke_the_protocol_is_retired(pool: SandboxPool) -> None:
    domain = POST_LOGIN.domain(unit("checked", "api.user.setUserMetadata('x', 1);"))
    payload = {"op": "post-login", "event": build_event(), "handler": "onExecutePostLogin"}

    def refuse(result: Mapping[str, Any]) -> None:
        raise ProtocolViolation("scripted")

    reply = pool.execute(domain, payload, 5000, refuse)
    assert reply.failure == "the sandbox worker of 'checked' broke the protocol: scripted"
    assert all(w.domain.key != domain.key for w in pool.workers())


def test_a_top_level_throw_is_thrown_again_on_every_later_call(pool: SandboxPool) -> None:
    """§3: module init is lazy (first execution); a top-level throw is re-thrown later."""
    broken = unit("broken")
    broken["code"] = (
        "globalThis.inits = (globalThis.inits || 0) + 1;\n"
        "throw new Error('init ' + globalThis.inits);\n"
    )
    for _ in range(2):
        result = run(pool, broken)
        assert result["status"] == "error"
        assert result["error"]["message"] == "init 1"


def test_a_worker_outlives_the_thread_that_started_it(pool: SandboxPool) -> None:
    """The local tenant starts workers from request threads that end.

    bubblewrap's --die-with-parent follows the thread that started it; a worker
    must still serve the next login after that thread is gone.
    """
    import threading

    counter = unit("outlives", COUNT)
    first: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: first.append(run(pool, counter)))
    thread.start()
    thread.join()
    assert first[0]["user_metadata"] == {"runs": 1}
    time.sleep(0.2)  # a worker killed with its thread would be gone by now
    assert run(pool, counter)["user_metadata"] == {"runs": 2}  # the same warm worker
