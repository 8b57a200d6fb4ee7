"""Ownership: taking over a live action only by name (--adopt), adopted ids, deletes that unbind.

Against the embedded local tenant over real HTTP; live actions are made
through the Management API as someone else would have made them (no
provenance header). Auth0 answers 409 to deleting an action that is still
bound (https://auth0.com/docs/api/management/v2/actions/delete-action;
terraform-provider-auth0 issues #1550 and #1641), as the local tenant does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_support import ServedTenant, writes

from auth0_actions.config import Project, load_tenant
from auth0_actions.emulator.app import Emulator
from auth0_actions.errors import TenantError
from auth0_actions.plan import plan_environment
from auth0_actions.secrets import Secret
from auth0_actions.target import Target
from auth0_actions.tenant_client import BindingRef, LiveAction, TenantClient, open_tenant_client

FIRST, REDIRECT = "consent-on-first-login", "consent-redirect"
THEIR_CODE = "exports.onExecutePostLogin = async (event, api) => { /* theirs */ };\n"


def _tenant() -> Project:
    return load_tenant(Path("tenant.yaml"))


@pytest.fixture
def client(project: Path) -> Iterator[TenantClient]:
    tenant = _tenant()
    with open_tenant_client(tenant, tenant.environment("local"), {}) as opened:
        yield opened


def by_name(client: TenantClient) -> dict[str, LiveAction]:
    return {a.name: a for a in client.list_actions()}


def theirs(
    client: TenantClient, name: str, trigger: str = "post-login", code: str = THEIR_CODE
) -> LiveAction:
    """A deployed action made by hand in the tenant (no provenance header), with a secret."""
    made = client.create_action(
        name, trigger, code, secrets={"THEIR_API_KEY": Secret("their-value")}
    )
    client.deploy_action(made.id)
    return made


def edit_config(old: str, new: str) -> None:
    path = Path("tenant.yaml")
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_live_namesake_is_an_adopt_change_and_is_not_touched_without_adopt(
    client: TenantClient, cli: Any, apps: list[Emulator]
) -> None:
    other = theirs(client, REDIRECT)
    client.set_bindings("post-login", [BindingRef("action_id", other.id)])

    planned = cli("plan")
    assert planned.code == 1
    assert f"! adopt post-login/{REDIRECT} (live id {other.id}" in planned.out
    assert f"-{THEIR_CODE.rstrip()}" in planned.out  # the code it would replace
    assert (
        "secret names: +CONSENT_LEDGER_SECRET, +CONSENT_SESSION_SECRET, -THEIR_API_KEY"
        in planned.out
    )
    assert "Plan: 1 to adopt" in planned.out
    assert f"--adopt {REDIRECT}" in planned.err
    assert "was not deployed by auth0-actions" in planned.err

    data = cli("plan", "-o", "json").json()
    assert data["ok"] is False
    [adopt] = [c for c in data["plan"]["changes"] if c["kind"] == "adopt"]
    assert (adopt["action_id"], adopt["adopting"]) == (other.id, False)
    assert adopt["secrets"] == {
        "live": ["THEIR_API_KEY"],
        "desired": ["CONSENT_LEDGER_SECRET", "CONSENT_SESSION_SECRET"],
    }
    # Nothing else is planned for it while it awaits adoption: no update, no deploy, no bind.
    assert [(c["kind"], c["action"]) for c in data["plan"]["changes"]] == [
        ("adopt", REDIRECT),
        ("create", FIRST),
        ("deploy", FIRST),
        ("bind", FIRST),
    ]

    refused = cli("apply", "--yes")
    assert refused.code == 1
    assert f"--adopt {REDIRECT}" in refused.err
    assert writes(apps[-1]) == []  # refused before writing anything
    kept = client.get_action(other.id)
    assert kept.code == THEIR_CODE
    assert kept.deployed_version is not None
    assert kept.deployed_version.code == THEIR_CODE
    assert kept.secret_names == ("THEIR_API_KEY",)
    assert cli("plan", "--out", "saved.json").code == 1
    assert not Path("saved.json").exists()  # a plan that cannot apply is not saved


def test_adopt_takes_it_over_and_it_is_ours_from_then_on(
    client: TenantClient, cli: Any, apps: list[Emulator]
) -> None:
    other = theirs(client, REDIRECT)
    client.set_bindings("post-login", [BindingRef("action_id", other.id)])

    preview = cli("plan", "--adopt", REDIRECT, "--detailed-exitcode")
    assert preview.code == 2, preview.err
    assert "with --adopt" in preview.out
    assert f"update post-login/{REDIRECT}: code, secrets" in preview.out

    applied = cli("apply", "--yes", "--adopt", REDIRECT)
    assert applied.code == 0, applied.err
    assert ("POST", "/api/v2/actions/actions") in writes(apps[-1])  # FIRST only
    live = by_name(client)
    assert live[REDIRECT].id == other.id  # the same action, taken over (not a second one)
    assert live[REDIRECT].deployed_version is not None
    assert live[REDIRECT].deployed_version.code.startswith("// Generated by auth0-actions")
    assert live[REDIRECT].secret_names == ("CONSENT_LEDGER_SECRET", "CONSENT_SESSION_SECRET")
    assert [b.action_name for b in client.get_bindings("post-login")] == [FIRST, REDIRECT]
    # Ours now: the next plan is empty without --adopt, and --adopt names nothing to adopt.
    assert cli("plan", "--detailed-exitcode").code == 0
    stale = cli("plan", "--adopt", REDIRECT)
    assert stale.code == 1
    assert f"--adopt {REDIRECT}: no live action of that name awaits adoption" in stale.err


def test_an_unknown_adopt_name_is_an_error(project: Path, cli: Any) -> None:
    result = cli("apply", "--yes", "--adopt", "nobody")
    assert result.code == 1
    assert "--adopt nobody: no live action of that name awaits adoption in local" in result.err


def test_a_header_false_action_is_adopted_with_the_header_where_it_was_not_imported(
    client: TenantClient, cli: Any
) -> None:
    """header: false renders verbatim only where the action was adopted from the tenant;
    here it was not, so taking the live namesake over ships the header, which owns it."""
    theirs(client, REDIRECT)
    edit_config("    order: 2\n", "    order: 2\n    header: false\n")
    assert cli("render", "--env", "local").code == 0
    assert cli("apply", "--yes").code == 1
    result = cli("apply", "--yes", "--adopt", REDIRECT)
    assert result.code == 0, result.err
    assert by_name(client)[REDIRECT].code.startswith("// Generated by auth0-actions")
    assert cli("plan", "--detailed-exitcode").code == 0


def test_a_header_false_action_adopted_under_another_id_cannot_be_adopted_with_the_flag(
    client: TenantClient, cli: Any
) -> None:
    """Recorded as adopted (so it renders without a header) but the live namesake is another
    action: --adopt would deploy headerless code that the next plan could not tell as ours."""
    theirs(client, REDIRECT)
    edit_config("    order: 2\n", "    order: 2\n    header: false\n")
    edit_config(
        "  local:\n    domain: local\n",
        f"  local:\n    domain: local\n    adopted:\n      actions:\n        {REDIRECT}: gone\n",
    )
    assert cli("render", "--env", "local").code == 0
    result = cli("apply", "--yes", "--adopt", REDIRECT)
    assert result.code == 1
    assert "header: false" in result.err
    assert "auth0-actions import --env local" in result.err
    assert "environments.local.adopted.actions" in result.err
    assert by_name(client)[REDIRECT].code == THEIR_CODE


def test_an_adopted_id_is_ours_without_a_header(client: TenantClient, cli: Any) -> None:
    other = theirs(client, REDIRECT)
    edit_config(
        "  local:\n    domain: local\n",
        "  local:\n    domain: local\n    adopted:\n      actions:\n"
        f"        {REDIRECT}: {other.id}\n",
    )
    data = cli("plan", "-o", "json").json()
    kinds = [(c["kind"], c["action"]) for c in data["changes"]]
    assert ("adopt", REDIRECT) not in kinds
    assert ("update", REDIRECT) in kinds  # managed: brought in line like any of ours
    assert cli("apply", "--yes").code == 0
    assert by_name(client)[REDIRECT].id == other.id


def test_a_saved_plan_carries_the_adopt_decision(
    client: TenantClient, cli: Any, apps: list[Emulator]
) -> None:
    other = theirs(client, REDIRECT)
    saved = cli("plan", "--adopt", REDIRECT, "--out", "adopt.plan.json")
    assert saved.code == 0, saved.err
    assert json.loads(Path("adopt.plan.json").read_text(encoding="utf-8"))["adopt"] == [REDIRECT]
    wrong = cli("apply", "adopt.plan.json", "--yes", "--adopt", FIRST)
    assert wrong.code == 1
    assert f"made without --adopt {FIRST}" in wrong.err
    applied = cli("apply", "adopt.plan.json", "--yes")
    assert applied.code == 0, applied.err
    assert by_name(client)[REDIRECT].id == other.id
    assert by_name(client)[REDIRECT].code.startswith("// Generated by auth0-actions")


def test_deleting_an_adopted_action_unbinds_it_first_on_every_trigger(
    client: TenantClient, cli: Any, apps: list[Emulator]
) -> None:
    """An action removed from tenant.yaml that is ours by its adopted id (no header) is an
    orphan; --allow-delete unbinds it from every trigger it is bound to, then deletes it,
    and the tenant never answers 409."""
    assert cli("apply", "--yes").code == 0
    made = by_name(client)
    legacy = theirs(client, "legacy-login")
    # It runs on this tool's own token requests too: a handler that lets them through.
    m2m = theirs(
        client,
        "legacy-m2m",
        "credentials-exchange",
        "exports.onExecuteCredentialsExchange = async () => {};\n",
    )
    client.set_bindings(
        "post-login",
        [BindingRef("action_id", i) for i in (made[FIRST].id, legacy.id, made[REDIRECT].id)],
    )
    client.set_bindings("credentials-exchange", [BindingRef("action_id", m2m.id)])
    edit_config(
        "  local:\n    domain: local\n",
        "  local:\n    domain: local\n    adopted:\n      actions:\n"
        f"        legacy-login: {legacy.id}\n        legacy-m2m: {m2m.id}\n",
    )
    kept = plan_environment(_tenant(), "local", environ={})
    assert kept.changes == ()
    assert sorted((d.kind, d.action) for d in kept.drift) == [
        ("orphan", "legacy-login"),
        ("orphan", "legacy-m2m"),
    ]

    deleted = cli("apply", "--yes", "--allow-delete", "--force")
    assert deleted.code == 0, deleted.err
    log = [(e.method, e.path, e.status) for e in apps[-1].injector.requests()]
    done = [(m, p) for m, p, _ in log if m in ("PATCH", "DELETE")]
    assert sorted(done[:2]) == [
        ("PATCH", "/api/v2/actions/triggers/credentials-exchange/bindings"),
        ("PATCH", "/api/v2/actions/triggers/post-login/bindings"),
    ]
    assert sorted(done[2:]) == sorted(
        [("DELETE", f"/api/v2/actions/actions/{i}") for i in (legacy.id, m2m.id)]
    )
    assert all(status != 409 for _, _, status in log)
    live = by_name(client)
    assert "legacy-login" not in live
    assert "legacy-m2m" not in live
    assert [b.action_name for b in client.get_bindings("post-login")] == [FIRST, REDIRECT]
    assert client.get_bindings("credentials-exchange") == []


def test_the_local_tenant_refuses_to_delete_a_bound_action(client: TenantClient) -> None:
    """Why deletes unbind first: Auth0 (and the local tenant) answer 409 otherwise."""
    bound = theirs(client, "still-bound")
    client.set_bindings("post-login", [BindingRef("action_id", bound.id)])
    with pytest.raises(TenantError, match=r"409"):
        client.delete_action(bound.id)
    assert "still-bound" in by_name(client)


@pytest.mark.remote_envs
def test_promote_never_adopts_in_the_target(
    project: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = {"dev": ServedTenant(), "prod": ServedTenant()}
    try:
        path = project / "tenant.yaml"
        text = path.read_text(encoding="utf-8")
        for env, domain in (("dev", "acme-dev.eu.auth0.com"), ("prod", "acme.eu.auth0.com")):
            text = text.replace(f"domain: {domain}\n", f"domain: {served[env].base_url}\n")
            monkeypatch.setenv(f"AUTH0_{env.upper()}_CLIENT_ID", served[env].client_id)
            monkeypatch.setenv(f"AUTH0_{env.upper()}_CLIENT_SECRET", served[env].client_secret)
            monkeypatch.setenv(f"CONSENT_SESSION_SECRET_{env.upper()}", f"{env}-value")
            monkeypatch.setenv(
                f"CONSENT_LEDGER_SECRET_{env.upper()}", f"{env}-ledger-value-0123456789abcdefghij"
            )
        path.write_text(text, encoding="utf-8")
        assert cli("apply", "--env", "dev", "--yes").code == 0
        prod = served["prod"]
        target = Target(
            "prod", prod.base_url.split("://", 1)[1], prod.base_url,
            prod.client_id, Secret(prod.client_secret), {},
        )  # fmt: skip
        with TenantClient.for_target(target) as client:
            other = theirs(client, REDIRECT)
            run = cli("promote", "--from", "dev", "--to", "prod", "--yes")
            assert run.code == 1
            assert f"--adopt {REDIRECT}" in run.err
            assert writes(prod.app) == [
                ("POST", "/api/v2/actions/actions"),  # theirs(), made above
                ("POST", f"/api/v2/actions/actions/{other.id}/deploy"),
            ]
            assert client.get_action(other.id).code == THEIR_CODE
    finally:
        for tenant in served.values():
            tenant.stop()
