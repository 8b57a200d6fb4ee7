"""Secret values: where they come from, and how they are kept out of sight.

tenant.yaml names environment variables; values are read from the process
environment only when needed and wrapped in :class:`Secret`, whose str and
repr never show them. The local environment needs no variables: its secrets
are generated once and kept, git-ignored, in ``.auth0-local/secrets.json``.
"""

from __future__ import annotations

import json
import os
import secrets as random
from collections.abc import Iterator, Mapping
from pathlib import Path

from auth0_actions.config import EnvironmentView, Project
from auth0_actions.consent.ledger import LEDGER_SECRET, keyring_problem
from auth0_actions.errors import SecretError
from auth0_actions.files import write_private_json

LOCAL_STATE_DIR = ".auth0-local"
LOCAL_SECRETS_FILE = "secrets.json"
# The override a CI job sets for whichever environment it targets.
CLIENT_SECRET_OVERRIDE = "AUTH0_CLIENT_SECRET"  # noqa: S105 (a variable name)
# Shorter values are too likely to occur by chance to scan output for.
_MIN_SCAN_LENGTH = 8
# https://auth0.com/docs/customize/actions/limitations, "Secrets".
MAX_SECRET_VALUE_CHARS = 4096


class Secret:
    """A secret value that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and random.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))


def local_state_dir(tenant: Project) -> Path:
    return tenant.root / LOCAL_STATE_DIR


class LocalSecretStore:
    """Secrets of the local environment, generated on first use and kept."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCAL_SECRETS_FILE

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise SecretError(f"{self.path}: unreadable ({exc.__class__.__name__})") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise SecretError(f"{self.path}: must map secret names to strings")
        return data

    def get_or_create(self, names: list[str]) -> dict[str, Secret]:
        stored = self.load()
        missing = [name for name in names if name not in stored]
        if missing:
            stored.update({name: random.token_urlsafe(32) for name in missing})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # 0600: the values are real secrets for the local tenant.
            write_private_json(self.path, stored)
        return {name: Secret(stored[name]) for name in names}

    def rotate(self, name: str, *, keep_previous: bool = False) -> None:
        """Give NAME a fresh random value (created if it had none).

        ``keep_previous``: the value is a keyring (keys separated by spaces,
        the first signing): the new key goes first and the old ones stay, so
        what they signed still verifies.
        """
        stored = self.load()
        fresh = random.token_urlsafe(32)
        previous = stored.get(name, "") if keep_previous else ""
        stored[name] = f"{fresh} {previous}".strip()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private_json(self.path, stored)


def declared_secrets(tenant: Project, view: EnvironmentView) -> dict[str, str]:
    """Every secret name the environment's actions, modules and rules need -> env var NAME."""
    needed: dict[str, str] = {}
    for action in tenant.config.actions:
        needed.update(view.secret_env_vars(action.secrets))
    for module in tenant.config.modules:
        needed.update(view.secret_env_vars(module.secrets))
    for rule in tenant.config.legacy_rules:
        needed.update(view.secret_env_vars(rule.configuration))
    return needed


def resolve_secret_values(
    tenant: Project, view: EnvironmentView, environ: Mapping[str, str] | None = None
) -> dict[str, Secret]:
    """Values of the environment's secrets; names every missing variable at once."""
    needed = declared_secrets(tenant, view)
    if view.is_local:
        return LocalSecretStore(local_state_dir(tenant)).get_or_create(sorted(needed))
    env = os.environ if environ is None else environ
    missing = sorted({var for var in needed.values() if not env.get(var)})
    if missing:
        raise SecretError(
            f"environment {view.name} needs these environment variables set: " + ", ".join(missing)
        )
    too_long = sorted(
        f"{var} ({len(env[var])} characters)"
        for var in set(needed.values())
        if len(env[var]) > MAX_SECRET_VALUE_CHARS
    )
    if too_long:
        raise SecretError(
            f"environment {view.name}: Auth0 accepts secret values of at most "
            f"{MAX_SECRET_VALUE_CHARS} characters; too long: " + ", ".join(too_long)
        )
    ledger_var = needed.get(LEDGER_SECRET)
    weak = keyring_problem(env[ledger_var]) if ledger_var else None
    if weak:
        raise SecretError(f"environment {view.name}: {ledger_var} ({LEDGER_SECRET}) {weak}")
    return {name: Secret(env[var]) for name, var in needed.items()}


def secret_values_in_scope(
    tenant: Project, environ: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """(where, value) for every secret this process could know, to scan output for."""
    env = os.environ if environ is None else environ
    names = {CLIENT_SECRET_OVERRIDE}
    for view in tenant.environments.values():
        names.update(declared_secrets(tenant, view).values())
        if view.settings.client_secret_env:
            names.add(view.settings.client_secret_env)
    for name in sorted(names):
        value = env.get(name, "")
        if len(value) >= _MIN_SCAN_LENGTH:
            yield f"${name}", value
    try:
        local = LocalSecretStore(local_state_dir(tenant)).load()
    except SecretError:
        local = {}
    for name, value in sorted(local.items()):
        if len(value) >= _MIN_SCAN_LENGTH:
            yield f"{LOCAL_STATE_DIR}/{LOCAL_SECRETS_FILE}:{name}", value
