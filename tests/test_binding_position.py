"""actions[].position: where bindings this tool does not own may run among ours.

Auth0 runs a trigger's actions in the order of its bindings list, which
PATCH /api/v2/actions/triggers/{triggerId}/bindings replaces whole
(https://auth0.com/docs/api/management/v2/actions/patch-bindings). Managed
actions keep tenant.yaml's order; a position moves the unmanaged bindings
the least needed. Against the embedded local tenant over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_actions.config import Project, load_tenant
from auth0_actions.errors import ConfigError
from auth0_actions.tenant_client import BindingRef, LiveAction, TenantClient, open_tenant_client

FIRST, REDIRECT, CUSTOM = "consent-on-first-login", "consent-redirect", "team-custom"


def _tenant() -> Project:
    return load_tenant(Path("tenant.yaml"))


@pytest.fixture
def client(project: Path) -> Iterator[TenantClient]:
    tenant = _tenant()
    with open_tenant_client(tenant, tenant.environment("local"), {}) as opened:
        yield opened


def set_position(name: str, position: str) -> None:
    """Add ``position:`` to one post-login action of the scaffold's tenant.yaml."""
    order = {FIRST: 1, REDIRECT: 2}[name]
    path = Path("tenant.yaml")
    text = path.read_text(encoding="utf-8")
    anchor = f"    trigger: post-login\n    order: {order}\n"
    assert anchor in text
    path.write_text(text.replace(anchor, f"{anchor}    position: {position}\n", 1), "utf-8")


def with_unmanaged(client: TenantClient, cli: Any, order: list[str]) -> dict[str, LiveAction]:
    """Apply tenant.yaml, add an action of someone else's, bind all three in ``order``."""
    assert cli("apply", "--yes").code == 0
    custom = client.create_action(CUSTOM, "post-login", "exports.onExecutePostLogin = 0;\n")
    client.deploy_action(custom.id)
    made = {a.name: a for a in client.list_actions()}
    client.set_bindings("post-login", [BindingRef("action_id", made[n].id) for n in order])
    return made


def bound(client: TenantClient) -> list[str]:
    return [b.action_name for b in client.get_bindings("post-login")]


def test_consent_actions_pinned_first_run_before_an_unmanaged_one(
    client: TenantClient, cli: Any
) -> None:
    with_unmanaged(client, cli, [CUSTOM, FIRST, REDIRECT])
    # Unpinned, it keeps its place: nothing to change.
    assert cli("plan", "--detailed-exitcode").code == 0

    set_position(FIRST, "first")
    set_position(REDIRECT, "first")
    data = cli("plan", "-o", "json").json()
    assert [(c["kind"], c["action"]) for c in data["changes"]] == [("reorder", None)]
    assert data["bindings"]["post-login"]["planned"] == [FIRST, REDIRECT, CUSTOM]
    assert data["drift"] == []  # a position is a choice in tenant.yaml, not drift
    applied = cli("apply", "--yes")
    assert applied.code == 0, applied.err
    assert bound(client) == [FIRST, REDIRECT, CUSTOM]
    assert cli("plan", "--detailed-exitcode").code == 0


def test_the_plan_shows_both_orders_side_by_side_and_warns_about_interleaving(
    client: TenantClient, cli: Any
) -> None:
    with_unmanaged(client, cli, [REDIRECT, CUSTOM, FIRST])
    text = cli("plan").out
    assert "Bindings post-login (* not managed by auth0-actions):" in text
    rows = text.split("Bindings post-login (* not managed by auth0-actions):\n")[1].splitlines()
    assert rows[0].split() == ["live", "planned"]
    assert rows[1].split() == ["1.", REDIRECT, "1.", FIRST]
    assert rows[2].split() == ["2.", CUSTOM, "*", "2.", CUSTOM, "*"]
    assert rows[3].split() == ["3.", FIRST, "3.", REDIRECT]
    assert (
        f"warning: post-login: {CUSTOM} (not managed by auth0-actions) runs between "
        f"{FIRST} and {REDIRECT}"
    ) in text
    data = cli("plan", "-o", "json").json()
    assert data["bindings"]["post-login"]["interleaved"] == [
        {"action": CUSTOM, "after": FIRST, "before": REDIRECT}
    ]
    assert data["bindings"]["post-login"]["managed"] == [FIRST, REDIRECT]
    assert "> **warning: post-login: team-custom" in cli("plan", "-o", "markdown").out

    # Pinned after the consent actions: no warning, and it runs last.
    set_position(REDIRECT, f"before:{CUSTOM}")
    pinned = cli("plan")
    assert "warning: post-login" not in pinned.out
    assert cli("plan", "-o", "json").json()["bindings"]["post-login"]["planned"] == [
        FIRST,
        REDIRECT,
        CUSTOM,
    ]


def test_after_an_unmanaged_action_moves_it_before(client: TenantClient, cli: Any) -> None:
    with_unmanaged(client, cli, [FIRST, REDIRECT, CUSTOM])
    set_position(FIRST, f"after:{CUSTOM}")
    assert cli("apply", "--yes").code == 0
    assert bound(client) == [CUSTOM, FIRST, REDIRECT]


def test_last_keeps_every_unmanaged_binding_before_it(client: TenantClient, cli: Any) -> None:
    with_unmanaged(client, cli, [FIRST, REDIRECT, CUSTOM])
    set_position(REDIRECT, "last")
    assert cli("apply", "--yes").code == 0
    assert bound(client) == [FIRST, CUSTOM, REDIRECT]


def test_a_position_naming_an_action_not_bound_there_is_an_error(
    client: TenantClient, cli: Any
) -> None:
    with_unmanaged(client, cli, [FIRST, REDIRECT, CUSTOM])
    set_position(FIRST, "before:nobody")
    result = cli("plan")
    assert result.code == 1
    assert "actions[0].position: 'before:nobody' of consent-on-first-login names nobody" in (
        result.err
    )
    assert "not bound to post-login" in result.err


@pytest.mark.parametrize(
    ("positions", "message"),
    [
        ({FIRST: f"before:{FIRST}"}, "names the action itself"),
        ({REDIRECT: f"before:{FIRST}"}, "contradicts tenant.yaml order"),
        ({FIRST: f"after:{REDIRECT}"}, "contradicts tenant.yaml order"),
        ({FIRST: "last", REDIRECT: "first"}, "positions contradict each other"),
        ({FIRST: f"before:{CUSTOM}", REDIRECT: f"after:{CUSTOM}"}, None),  # between: allowed
        ({FIRST: f"after:{CUSTOM}", REDIRECT: f"before:{CUSTOM}"}, "contradict each other"),
        ({FIRST: f"after:{CUSTOM}", REDIRECT: "first"}, "positions contradict each other"),
    ],
)
def test_impossible_positions_are_config_errors(
    project: Path, positions: dict[str, str], message: str | None
) -> None:
    for name, position in positions.items():
        set_position(name, position)
    if message is None:
        load_tenant(Path("tenant.yaml"))
        return
    with pytest.raises(ConfigError) as error:
        load_tenant(Path("tenant.yaml"))
    assert "position" in str(error.value)
    assert message in str(error.value)


def test_a_position_naming_an_action_of_another_trigger_is_an_error(project: Path) -> None:
    path = Path("tenant.yaml")
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "actions:\n",
        "actions:\n  - name: m2m-audit\n    template: consent-redirect.js.j2\n"
        "    trigger: credentials-exchange\n    order: 1\n",
        1,
    )
    path.write_text(text, encoding="utf-8")
    set_position(FIRST, "before:m2m-audit")
    with pytest.raises(ConfigError, match="an action of trigger credentials-exchange"):
        load_tenant(path)
