"""apply: against the embedded local tenant over real HTTP, checked on the request log."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_support import edit_template, writes

from auth0_actions.config import Project, load_tenant
from auth0_actions.emulator.app import Emulator
from auth0_actions.emulator.backends.actions import BUILD_FAILURE
from auth0_actions.emulator.faults import LoggedRequest
from auth0_actions.emulator.tenant import LocalTenant
from auth0_actions.plan import Plan, build_plan, desired_state, live_state, plan_environment
from auth0_actions.plan.apply import (
    POLL_FIRST_S,
    POLL_FRACTION,
    POLL_MAX_S,
    ApplyError,
    Waiter,
    execute_plan,
)
from auth0_actions.secrets import LocalSecretStore, local_state_dir, resolve_secret_values
from auth0_actions.target import Target
from auth0_actions.tenant_client import BindingRef, LiveAction, TenantClient, open_tenant_client

FIRST, REDIRECT = "consent-on-first-login", "consent-redirect"
BINDINGS = r"/actions/triggers/post-login/bindings$"


def _tenant() -> Project:
    return load_tenant(Path("tenant.yaml"))


def plan(allow_delete: bool = False) -> Plan:
    return plan_environment(_tenant(), "local", allow_delete=allow_delete, environ={})


def binding_patches(started: list[Emulator]) -> list[LoggedRequest]:
    return [e for app in started for e in app.injector.requests("PATCH", BINDINGS)]


@pytest.fixture
def client(project: Path) -> Iterator[TenantClient]:
    tenant = _tenant()
    with open_tenant_client(tenant, tenant.environment("local"), {}) as opened:
        yield opened


def by_name(client: TenantClient) -> dict[str, LiveAction]:
    return {a.name: a for a in client.list_actions()}


def test_apply_converges_and_a_second_apply_writes_nothing(
    project: Path, cli: Any, apps: list[Emulator]
) -> None:
    first = cli("apply", "--yes")
    assert first.code == 0, first.err
    assert "Plan: 2 to create, 0 to update, 2 to deploy" in first.out
    assert f"bound post-login: {FIRST} -> {REDIRECT}" in first.out
    assert "Verified: a fresh plan is empty." in first.out
    # Two creates that deploy in the same call (``deploy: true``), then one bindings PATCH.
    assert [m for m, _ in writes(apps[-1])] == ["POST", "POST", "PATCH"]
    [patch] = apps[-1].injector.requests("PATCH", BINDINGS)
    assert [b["ref"]["type"] for b in patch.body["bindings"]] == ["action_id", "action_id"]
    assert plan().changes == ()

    second = cli("apply", "--yes")
    assert second.code == 0, second.err
    assert "No changes" in second.out
    assert writes(apps[-1]) == []
    assert cli("plan", "--detailed-exitcode").code == 0


def test_apply_asks_and_a_no_writes_nothing(
    project: Path, cli: Any, apps: list[Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    declined = cli("apply")
    assert declined.code == 1
    assert "Apply these changes to the local tenant?" in declined.out
    assert "Apply cancelled: nothing was changed." in declined.err
    assert writes(apps[-1]) == []

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    accepted = cli("apply")
    assert accepted.code == 0, accepted.err
    assert plan().changes == ()


def test_json_output_needs_yes_and_reports_the_steps(project: Path, cli: Any) -> None:
    refused = cli("apply", "-o", "json")
    assert refused.code == 1
    assert refused.json()["ok"] is False
    assert "--yes" in refused.json()["error"]

    data = cli("apply", "--yes", "-o", "json").json()
    assert data["ok"] is True
    assert data["applied"] is True
    assert data["verified"] is True
    # New actions deploy in their create call: one wait, for the deployed versions.
    assert [s["step"] for s in data["steps"]] == [
        "create",
        "create",
        "deploy",
        "deploy",
        "bindings",
    ]
    assert data["plan"]["summary"]["create"] == 2
    again = cli("apply", "--yes", "-o", "json").json()
    assert (again["applied"], again["verified"], again["steps"]) == (False, True, [])


def test_no_secret_value_is_printed(project: Path, cli: Any) -> None:
    outputs = [cli("apply", "--yes"), cli("apply", "--yes", "-o", "json")]
    values = LocalSecretStore(local_state_dir(_tenant())).load().values()
    assert values
    for run in outputs:
        for value in values:
            assert value not in run.out + run.err


def test_killed_after_create_converges_when_run_again(
    project: Path, cli: Any, apps: list[Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Waiter._read
    calls = {"n": 0}

    def read_once_killed(self: Waiter, action_ids: set[str]) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("killed")
        return original(self, action_ids)

    monkeypatch.setattr(Waiter, "_read", read_once_killed)
    # A crash mid-apply is not an expected failure: exit 3, then a re-run converges.
    assert cli("apply", "--yes").code == 3
    # Both creates deployed their action in the same call (``deploy: true``): only the
    # bindings are left.
    assert [(c.kind, c.action) for c in plan().changes] == [
        ("bind", FIRST),
        ("bind", REDIRECT),
    ]
    rerun = cli("apply", "--yes")
    assert rerun.code == 0, rerun.err
    assert [m for m, _ in writes(apps[-1])] == ["PATCH"]  # no second create, no deploy
    assert plan().changes == ()
    assert cli("apply", "--yes").code == 0
    assert writes(apps[-1]) == []


def test_killed_after_deploy_before_bind_converges(
    project: Path, cli: Any, apps: list[Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = TenantClient.set_bindings
    calls = {"n": 0}

    def bind_once_killed(self: TenantClient, trigger: str, refs: list[BindingRef]) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("killed")
        return original(self, trigger, refs)

    monkeypatch.setattr(TenantClient, "set_bindings", bind_once_killed)
    # A crash mid-apply is not an expected failure: exit 3, then a re-run converges.
    assert cli("apply", "--yes").code == 3
    assert [c.kind for c in plan().changes] == ["bind", "bind"]
    rerun = cli("apply", "--yes")
    assert rerun.code == 0, rerun.err
    assert writes(apps[-1]) == [("PATCH", "/api/v2/actions/triggers/post-login/bindings")]
    assert plan().changes == ()


def test_apply_fails_when_the_tenant_does_not_converge(
    project: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TenantClient, "set_bindings", lambda self, trigger, refs: [])
    result = cli("apply", "--yes")
    assert result.code == 1
    assert "the tenant still differs from the plan" in result.err
    assert f"bind post-login/{FIRST} at position 1" in result.err


def test_consent_stays_bound_while_updated_and_unmanaged_keeps_its_place(
    project: Path, cli: Any, apps: list[Emulator], client: TenantClient
) -> None:
    assert cli("apply", "--yes").code == 0
    made = by_name(client)
    custom = client.create_action(
        "team-custom", "post-login", "exports.onExecutePostLogin = async () => {};"
    )
    client.deploy_action(custom.id)
    # By hand: ours swapped, theirs in between (and a display name to keep).
    client.set_bindings(
        "post-login",
        [
            BindingRef("action_id", made[REDIRECT].id),
            BindingRef("action_id", custom.id, "Team custom"),
            BindingRef("action_id", made[FIRST].id),
        ],
    )
    edit_template(project, REDIRECT, "// v2\n", cli)
    result = cli("apply", "--yes")
    assert result.code == 0, result.err
    assert "updated post-login/consent-redirect: code" in result.out
    assert writes(apps[-1]) == [
        ("PATCH", f"/api/v2/actions/actions/{made[REDIRECT].id}"),
        ("POST", f"/api/v2/actions/actions/{made[REDIRECT].id}/deploy"),
        ("PATCH", "/api/v2/actions/triggers/post-login/bindings"),
    ]
    patches = binding_patches(apps)
    assert len(patches) == 3  # the first apply, the swap by hand, this apply
    for patch in patches:  # every PATCH after the first binding still binds consent-redirect
        values = [b["ref"]["value"] for b in patch.body["bindings"]]
        assert made[REDIRECT].id in values
    last = patches[-1].body["bindings"]
    assert [b["ref"]["type"] for b in last] == ["action_id", "binding_id", "action_id"]
    assert last[1]["display_name"] == "Team custom"
    bound = client.get_bindings("post-login")
    assert [b.action_name for b in bound] == [FIRST, "team-custom", REDIRECT]
    assert bound[1].display_name == "Team custom"
    live = client.get_action(made[REDIRECT].id)
    assert live.deployed_version is not None
    assert live.deployed_version.code.endswith("// v2\n")
    assert plan().changes == ()


def test_a_failed_build_stops_before_deploy_and_binding(
    project: Path, cli: Any, apps: list[Emulator], client: TenantClient
) -> None:
    assert cli("apply", "--yes").code == 0
    before = by_name(client)[REDIRECT]
    assert before.deployed_version is not None
    edit_template(project, REDIRECT, f"{BUILD_FAILURE}\n", cli)
    result = cli("apply", "--yes")
    assert result.code == 1
    assert "the build of post-login/consent-redirect failed" in result.err
    assert [m for m, _ in writes(apps[-1])] == ["PATCH"]  # the draft update only
    after = client.get_action(before.id)
    assert after.deployed_version is not None
    assert after.deployed_version.number == before.deployed_version.number
    assert BUILD_FAILURE not in after.deployed_version.code
    assert [b.action_name for b in client.get_bindings("post-login")] == [FIRST, REDIRECT]
    # Run again: still the same stop, and still nothing deployed or bound.
    assert cli("apply", "--yes").code == 1
    assert writes(apps[-1]) == []


def test_orphans_are_deleted_only_with_allow_delete(
    project: Path, cli: Any, apps: list[Emulator], client: TenantClient
) -> None:
    assert cli("apply", "--yes").code == 0
    made = by_name(client)
    code = "// Generated by auth0-actions 0.0.9. Do not edit.\nexports.onExecutePostLogin = 0;\n"
    old = client.create_action("consent-legacy", "post-login", code)
    client.deploy_action(old.id)
    ids = [made[FIRST].id, old.id, made[REDIRECT].id]
    client.set_bindings("post-login", [BindingRef("action_id", i) for i in ids])

    kept = cli("apply", "--yes")
    assert kept.code == 0
    assert "No changes" in kept.out
    assert writes(apps[-1]) == []

    deleted = cli("apply", "--yes", "--allow-delete")
    assert deleted.code == 0, deleted.err
    assert writes(apps[-1]) == [
        ("PATCH", "/api/v2/actions/triggers/post-login/bindings"),
        ("DELETE", f"/api/v2/actions/actions/{old.id}"),
    ]
    assert "consent-legacy" not in by_name(client)
    assert plan(allow_delete=True).changes == ()


class _Building:
    """A client whose action never finishes building."""

    def get_action(self, action_id: str) -> Any:
        return type("A", (), {"status": "building"})()


def test_waiting_backs_off_and_times_out() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    lines: list[str] = []
    waiter = Waiter(_Building(), 20.0, lines.append, sleep, lambda: now[0])  # type: ignore[arg-type]
    with pytest.raises(ApplyError, match=r"timed out waiting for the build of post-login/x"):
        waiter.wait(
            "the build",
            {"post-login/x": "id"},
            lambda _, a: "wait",
            lambda label: ApplyError(label),
        )
    # Backoff: pauses never shrink, start at POLL_FIRST_S, reach POLL_MAX_S, and
    # each is at most a quarter of the time waited so far (a finished build is
    # never overslept by more than that), except the first, shortest pauses.
    assert slept[0] == pytest.approx(POLL_FIRST_S)
    assert slept == sorted(slept)
    assert max(slept) == pytest.approx(POLL_MAX_S)
    waited = 0.0
    for pause in slept:
        assert pause <= max(POLL_FIRST_S, POLL_FRACTION * waited) + 1e-9
        waited += pause
    assert sum(slept) <= 20.0
    assert lines[0].startswith("waiting for the build: 0/1 ready")


def test_an_unknown_environment_is_an_error(project: Path, cli: Any) -> None:
    result = cli("apply", "--env", "staging", "--yes")
    assert result.code == 1
    assert "no environment 'staging'" in result.err


def test_apply_waits_for_real_builds(project: Path) -> None:
    """A tenant that takes time to build: apply polls until built, then deploys and binds."""
    tenant = _tenant()
    desired = desired_state(tenant, "local")
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with LocalTenant.open(project, build_seconds=0.5) as local:
        target = Target(
            "local", local.domain, local.base_url, local.client_id, local.client_secret, {}
        )
        with TenantClient.for_target(target, audience=local.audience) as client:
            live = live_state(client, desired.triggers)
            first = build_plan(desired, live)
            steps = execute_plan(
                client,
                first,
                desired,
                live,
                lambda: resolve_secret_values(tenant, tenant.environment("local")),
                sleep=sleep,
            )
            assert [s.kind for s in steps] == [
                "create",
                "create",
                "deploy",
                "deploy",
                "bindings",
            ]
            # It waited for the builds (0.5 s), polling within the backoff's bounds.
            assert len(slept) >= 2
            assert all(POLL_FIRST_S <= s <= POLL_MAX_S for s in slept)
            after = build_plan(desired, live_state(client, desired.triggers))
            assert after.changes == ()
            bound = client.get_bindings("post-login")
            assert [b.action_name for b in bound] == [FIRST, REDIRECT]


def test_apply_rides_out_429s_5xx_and_dropped_connections(
    project: Path, monkeypatch: pytest.MonkeyPatch, cli: Any
) -> None:
    """A hostile tenant (rate limit, a 503 on the bindings PATCH, a dropped connection on
    a read) still converges in one apply, and a second apply writes nothing."""
    from auth0_actions.emulator.faults import Fault

    started: list[Emulator] = []
    original = LocalTenant.serve

    def serve(self: LocalTenant, **kwargs: Any) -> Any:
        # After open() has applied its own knob settings, before any request.
        injector = self.app.injector
        injector.use_profile("free")  # Auth0's free plan: 2 requests/s, burst 2
        injector.faults.append(Fault("PATCH", BINDINGS, status=503, times=1))
        injector.faults.append(Fault("GET", r"^/api/v2/actions/actions$", status=None, times=1))
        started.append(self.app)
        return original(self, **kwargs)

    monkeypatch.setattr(LocalTenant, "serve", serve)
    first = cli("apply", "--yes")
    assert first.code == 0, first.out + first.err
    log = started[0].injector.requests()
    assert any(e.status == 429 for e in log), "the rate limit was never hit"
    assert any(e.status == 503 for e in log)
    assert any(e.status == -1 for e in log)  # the dropped connection
    assert cli("plan", "--detailed-exitcode").code == 0
    second = cli("apply", "--yes")
    assert second.code == 0
    assert writes(started[-1]) == []
