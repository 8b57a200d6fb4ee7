"""promote --from dev --to prod: two local tenants served on loopback, over real HTTP.

tenant.yaml's dev and prod point at two emulators served on 127.0.0.1 by
their URL (``domain: http://127.0.0.1:PORT``, which the config accepts for
any environment on loopback only), with client credentials in the
environment variables tenant.yaml names, exactly as a CI job would set them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_support import ServedTenant as Served
from emulator_support import writes as _writes

from auth0_actions.plan.promote import tenant_identity
from auth0_actions.secrets import Secret
from auth0_actions.target import Target
from auth0_actions.tenant_client import BindingRef, LiveAction, TenantClient

FIRST, REDIRECT = "consent-on-first-login", "consent-redirect"
DEV_SECRET = "dev-session-secret-value-never-printed-1"
PROD_SECRET = "prod-session-secret-value-never-printed-2"

pytestmark = pytest.mark.remote_envs


@pytest.fixture
def tenants(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Served]]:
    served = {"dev": Served(), "prod": Served()}
    try:
        path = project / "tenant.yaml"
        text = path.read_text(encoding="utf-8")
        for env, domain in (("dev", "acme-dev.eu.auth0.com"), ("prod", "acme.eu.auth0.com")):
            assert f"domain: {domain}\n" in text
            text = text.replace(f"domain: {domain}\n", f"domain: {served[env].base_url}\n")
            upper = env.upper()
            monkeypatch.setenv(f"AUTH0_{upper}_CLIENT_ID", served[env].client_id)
            monkeypatch.setenv(f"AUTH0_{upper}_CLIENT_SECRET", served[env].client_secret)
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("CONSENT_SESSION_SECRET_DEV", DEV_SECRET)
        monkeypatch.setenv("CONSENT_SESSION_SECRET_PROD", PROD_SECRET)
        monkeypatch.setenv("CONSENT_LEDGER_SECRET_DEV", DEV_SECRET + "-ledger")
        monkeypatch.setenv("CONSENT_LEDGER_SECRET_PROD", PROD_SECRET + "-ledger")
        yield served
    finally:
        for tenant in served.values():
            tenant.stop()


def writes(tenant: Served) -> list[tuple[str, str]]:
    return _writes(tenant.app)


def client_for(tenant: Served) -> TenantClient:
    target = Target(
        "x",
        tenant.base_url.split("://", 1)[1],
        tenant.base_url,
        tenant.client_id,
        Secret(tenant.client_secret),
        {},
    )
    return TenantClient.for_target(target)


def by_name(tenant: Served) -> dict[str, LiveAction]:
    with client_for(tenant) as client:
        return {a.name: a for a in client.list_actions()}


def test_the_render_is_unchanged_by_pointing_at_local_tenants(
    project: Path, cli: Any, tenants: dict[str, Served]
) -> None:
    assert cli("render", "--check").code == 0


def test_refused_while_dev_differs_from_its_render(
    project: Path, cli: Any, tenants: dict[str, Served]
) -> None:
    run = cli("promote", "--from", "dev", "--to", "prod", "--yes")
    assert run.code == 1
    assert f"+ create post-login/{FIRST}" in run.out  # dev's plan is shown
    assert "Plan: 2 to create" in run.out
    assert "refusing to promote dev to prod: dev's tenant does not match its rendered state" in (
        run.err
    )
    assert "6 change(s) to apply" in run.err
    assert "Nothing was changed in prod" in run.err
    assert writes(tenants["prod"]) == []
    assert writes(tenants["dev"]) == []  # planning dev is read-only too


def test_promotes_a_clean_dev_to_prod_with_prods_values(
    project: Path, cli: Any, tenants: dict[str, Served]
) -> None:
    assert cli("apply", "--env", "dev", "--yes").code == 0
    tenants["dev"].app.injector.log.clear()
    run = cli("promote", "--from", "dev", "--to", "prod", "--yes")
    assert run.code == 0, run.err
    assert "dev matches its rendered state (no changes, no drift): promoting to prod." in run.out
    assert "Environment prod" in run.out  # the prod plan, as apply shows it
    assert "Verified: a fresh plan is empty." in run.out
    assert writes(tenants["dev"]) == []
    # Two creates that deploy in the same call (``deploy: true``), then the bindings.
    assert [m for m, _ in writes(tenants["prod"])] == ["POST", "POST", "PATCH"]

    prod = by_name(tenants["prod"])
    for name in (FIRST, REDIRECT):  # prod runs prod's render, not dev's
        deployed = prod[name].deployed_version
        assert deployed is not None
        shipped = (project / "actions" / "prod" / f"{name}.js").read_text(encoding="utf-8")
        assert deployed.code == shipped
        assert "environment prod" in deployed.code
    assert prod[REDIRECT].secret_names == ("CONSENT_LEDGER_SECRET", "CONSENT_SESSION_SECRET")
    assert cli("plan", "--env", "prod", "--detailed-exitcode").code == 0
    for secret in (DEV_SECRET, PROD_SECRET):
        assert secret not in run.out + run.err

    tenants["prod"].app.injector.log.clear()
    again = cli("promote", "--from", "dev", "--to", "prod", "--yes")
    assert again.code == 0, again.err
    assert "No changes" in again.out
    assert writes(tenants["prod"]) == []


def test_drift_in_dev_refuses_and_json_shows_dev_plan(
    project: Path, cli: Any, tenants: dict[str, Served]
) -> None:
    assert cli("apply", "--env", "dev", "--yes").code == 0
    with client_for(tenants["dev"]) as client:  # someone edits dev's draft in the dashboard
        action = client.find_action_by_name(REDIRECT)
        assert action is not None
        client.update_action(action.id, code=action.code + "// hotfix by hand\n")
    run = cli("promote", "--from", "dev", "--to", "prod", "--yes", "-o", "json")
    assert run.code == 1
    data = run.json()
    assert data["ok"] is False
    assert "dev's tenant does not match its rendered state" in data["error"]
    assert data["from"]["environment"] == "dev"
    assert [d["kind"] for d in data["from"]["plan"]["drift"]] == ["draft-not-deployed"]
    assert writes(tenants["prod"]) == []


def test_prods_safety_thresholds_apply_unless_forced(
    project: Path, cli: Any, tenants: dict[str, Served]
) -> None:
    assert cli("apply", "--env", "dev", "--yes").code == 0
    assert cli("promote", "--from", "dev", "--to", "prod", "--yes").code == 0
    with client_for(tenants["prod"]) as client:  # bound twice by hand in prod
        made = {a.name: a for a in client.list_actions()}
        ids = [made[FIRST].id, made[REDIRECT].id, made[REDIRECT].id]
        client.set_bindings("post-login", [BindingRef("action_id", i) for i in ids])
    path = project / "tenant.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nactions:\n", "\nsafety:\n  max_unbinds: 0\n\nactions:\n"))
    tenants["prod"].app.injector.log.clear()
    refused = cli("promote", "--from", "dev", "--to", "prod", "--yes")
    assert refused.code == 1
    assert "the plan unbinds 1 binding in prod, over safety.max_unbinds (0)" in refused.err
    assert writes(tenants["prod"]) == []
    forced = cli("promote", "--from", "dev", "--to", "prod", "--yes", "--force")
    assert forced.code == 0, forced.err
    assert writes(tenants["prod"]) == [("PATCH", "/api/v2/actions/triggers/post-login/bindings")]


def test_json_output_of_a_promotion(project: Path, cli: Any, tenants: dict[str, Served]) -> None:
    assert cli("promote", "--from", "dev", "--to", "prod", "-o", "json").json()["ok"] is False
    assert cli("apply", "--env", "dev", "--yes").code == 0
    data = cli("promote", "--from", "dev", "--to", "prod", "--yes", "-o", "json").json()
    assert data["ok"] is True
    assert data["from"]["plan"]["changes"] == []
    assert data["to"]["environment"] == "prod"
    assert (data["to"]["applied"], data["to"]["verified"]) == (True, True)


def test_the_same_environment_twice_is_an_error(project: Path, cli: Any) -> None:
    run = cli("promote", "--from", "dev", "--to", "dev", "--yes")
    assert run.code == 1
    assert "both dev" in run.err
    unknown = cli("promote", "--from", "dev", "--to", "staging", "--yes")
    assert unknown.code == 1
    assert "no environment 'staging'" in unknown.err


def _requests(tenants: dict[str, Served]) -> dict[str, list[tuple[str, str]]]:
    return {
        env: [(e.method, e.path) for e in t.app.injector.requests()] for env, t in tenants.items()
    }


def test_refused_when_auth0_domain_points_both_environments_at_one_tenant(
    project: Path, cli: Any, tenants: dict[str, Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("apply", "--env", "dev", "--yes").code == 0  # dev is clean: promote would go on
    dev = tenants["dev"]
    # A CI job aimed at dev, as documented: all three overrides set to dev's tenant.
    monkeypatch.setenv("AUTH0_DOMAIN", dev.base_url)
    monkeypatch.setenv("AUTH0_CLIENT_ID", dev.client_id)
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", dev.client_secret)
    for served in tenants.values():
        served.app.injector.log.clear()
    run = cli("promote", "--from", "dev", "--to", "prod", "--yes")
    assert run.code == 1
    assert (
        f"refusing to promote dev to prod: AUTH0_DOMAIN is set, so dev and prod both resolve "
        f"to {dev.base_url} (AUTH0_DOMAIN overrides every environment's domain). Unset it for "
        "promote" in run.err
    )
    assert "Nothing was read or changed" in run.err
    assert run.out == ""
    assert _requests(tenants) == {"dev": [], "prod": []}  # not even a token request
    monkeypatch.delenv("AUTH0_DOMAIN")
    monkeypatch.delenv("AUTH0_CLIENT_ID")
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    for name in (FIRST, REDIRECT):  # dev still runs dev's render, not prod's
        deployed = by_name(dev)[name].deployed_version
        assert deployed is not None
        assert "environment dev" in deployed.code


def test_refused_when_tenant_yaml_gives_both_environments_one_tenant(
    project: Path, cli: Any, tenants: dict[str, Served]
) -> None:
    dev, prod = tenants["dev"], tenants["prod"]
    path = project / "tenant.yaml"
    # The same served tenant, spelt another way: localhost is 127.0.0.1's port too.
    same = dev.base_url.replace("127.0.0.1", "localhost")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"domain: {prod.base_url}\n", f"domain: {same}\n"))
    for served in tenants.values():
        served.app.injector.log.clear()
    run = cli("promote", "--from", "dev", "--to", "prod", "--yes")
    assert run.code == 1
    assert (
        "refusing to promote dev to prod: tenant.yaml: environments.dev.domain and "
        "environments.prod.domain both resolve to "
        f"{dev.base_url} and {same}, the same tenant. Give each environment its own tenant"
    ) in run.err
    as_json = cli("promote", "--from", "dev", "--to", "prod", "--yes", "-o", "json")
    assert as_json.code == 1
    assert as_json.json()["ok"] is False
    assert "environments.dev.domain and environments.prod.domain" in as_json.json()["error"]
    assert _requests(tenants) == {"dev": [], "prod": []}


def _target(domain: str, base_url: str | None) -> Target:
    return Target("x", domain, base_url, None, None, {})


def test_one_tenant_spelt_two_ways_is_one_tenant() -> None:
    plain = tenant_identity(_target("acme.eu.auth0.com", "https://acme.eu.auth0.com"))
    assert plain == tenant_identity(
        _target("ACME.eu.auth0.com:443", "https://ACME.eu.auth0.com:443")
    )
    assert plain != tenant_identity(
        _target("acme-dev.eu.auth0.com", "https://acme-dev.eu.auth0.com")
    )
    served = tenant_identity(_target("127.0.0.1:8443", "http://127.0.0.1:8443"))
    assert served == tenant_identity(_target("localhost:8443", "http://localhost:8443"))
    assert served != tenant_identity(_target("127.0.0.1:8444", "http://127.0.0.1:8444"))
    assert tenant_identity(_target("local", None)) == tenant_identity(_target("local", None))
    assert tenant_identity(_target("local", None)) != served
