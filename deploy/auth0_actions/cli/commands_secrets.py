"""auth0-actions secrets rotate: a new value for one of the local environment's secrets."""

from __future__ import annotations

import click

from auth0_actions.cli.state import environment_option, output_option, state
from auth0_actions.consent.ledger_key import LEDGER_SECRET_NAME
from auth0_actions.errors import SecretError
from auth0_actions.secrets import (
    LOCAL_SECRETS_FILE,
    LOCAL_STATE_DIR,
    LocalSecretStore,
    declared_secrets,
    local_state_dir,
)


@click.group("secrets")
def secrets_group() -> None:
    """Rotate the local environment's secret values (never shown)."""


@secrets_group.command("rotate")
@click.argument("name")
@environment_option("The environment whose secret to rotate (only local keeps values here).")
@output_option
def rotate_command(name: str, env: str) -> None:
    """Give secret NAME a new random value in .auth0-local/secrets.json (local only).

    The value is never printed. CONSENT_LEDGER_SECRET is a keyring: the new
    key is put first and the old ones are kept, so ledgers already written
    still verify. Other environments read their values from the
    variables tenant.yaml names: rotate those in your secret store. Either way,
    raise environments.<env>.secret_versions.NAME, render and apply to send the
    new value to the actions (and restart the consent page for its secret).
    """
    app = state()
    tenant = app.tenant()
    view = tenant.environment(env)
    declared = declared_secrets(tenant, view)
    if name not in declared:
        known = ", ".join(sorted(declared)) or "none"
        raise SecretError(
            f"{tenant.path}: no action of environment {env} uses the secret {name} "
            f"(secrets: {known})"
        )
    if not view.is_local:
        raise SecretError(
            f"environment {env} reads {name} from the environment variable {declared[name]}: "
            "rotate it in your secret store, then raise "
            f"environments.{env}.secret_versions.{name}, render and apply"
        )
    # The ledger's key is a keyring: its old keys must keep verifying the macs
    # already stored in users' ledgers (docs/consent.md, "The consent ledger").
    keyring = name == LEDGER_SECRET_NAME
    LocalSecretStore(local_state_dir(tenant)).rotate(name, keep_previous=keyring)
    version = view.settings.secret_versions.get(name, 0) + 1
    app.emit(
        {"ok": True, "environment": env, "secret": name, "next_version": version},
        f"Rotated {name} in {LOCAL_STATE_DIR}/{LOCAL_SECRETS_FILE} (the value is not shown).\n"
        f"Next: set environments.{env}.secret_versions.{name}: {version} in tenant.yaml, "
        f"then `auth0-actions render --env {env}` and `auth0-actions apply --env {env}`; "
        "restart the consent page if it uses this secret.",
    )
