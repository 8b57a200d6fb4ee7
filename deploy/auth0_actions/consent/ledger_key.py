"""The key of an environment's consent ledger: its CONSENT_LEDGER_SECRET, as apply reads it.

The local environment's value is the one generated in
``.auth0-local/secrets.json`` (created on first use, as apply does); any
other environment's comes from the variable tenant.yaml names for it under
``environments.<env>.secrets``. Only this secret is read: verifying or
recording consent does not need the environment's other secrets set. The
key bytes are the value's UTF-8 encoding (what the Actions' HMAC uses); the
value itself is never put in a message.
"""

from __future__ import annotations

import os

from auth0_actions.consent.ledger import LEDGER_SECRET, keyring_problem
from auth0_actions.environment import Environment
from auth0_actions.errors import SecretError
from auth0_actions.secrets import LocalSecretStore, declared_secrets

LEDGER_SECRET_NAME = LEDGER_SECRET


def ledger_key(environment: Environment) -> bytes:
    declared = declared_secrets(environment.project, environment.view)
    variable = declared.get(LEDGER_SECRET_NAME)
    if variable is None:
        raise SecretError(
            f"{environment.project.path}: no action of environment {environment.name} declares "
            f"the secret {LEDGER_SECRET_NAME}, so its consent ledger has no key"
        )
    if environment.is_local:
        store = LocalSecretStore(environment.state_dir)
        value = store.get_or_create([LEDGER_SECRET_NAME])[LEDGER_SECRET_NAME].reveal()
    else:
        env = os.environ if environment.environ is None else environment.environ
        value = env.get(variable, "")
        if not value:
            raise SecretError(
                f"environment {environment.name} needs the environment variable {variable} "
                f"set ({LEDGER_SECRET_NAME}, the consent ledger's key)"
            )
    weak = keyring_problem(value)
    if weak:
        where = "the local secret store" if environment.is_local else variable
        raise SecretError(f"environment {environment.name}: {where} ({LEDGER_SECRET_NAME}) {weak}")
    return value.encode("utf-8")
