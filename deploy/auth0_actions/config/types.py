"""Building blocks of the tenant.yaml models: strict models and the constrained strings."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from auth0_actions.triggers import registry

# An environment variable name. Secrets are only ever referenced by such a
# name; a value that is not one is treated as a secret written inline.
ENV_VAR_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
EnvVarName = Annotated[str, StringConstraints(pattern=ENV_VAR_PATTERN, max_length=128)]

# Auth0 rejects metadata keys with '.' or '$'; an identifier also keeps the
# generated JavaScript readable.
MetadataKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]

# Names become file names under actions/<env>/ and Auth0 action names.
ActionName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
EnvironmentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
SecretName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
NpmName = Annotated[
    str, StringConstraints(pattern=r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]{0,213}$")
]

# Auth0's entity limits (docs/reference/actions-runtime.md §3).
MAX_DEPENDENCIES = 10
MAX_SECRETS = 30
MAX_ACTIONS_PER_TRIGGER = 20
# Actions Modules: code at most 64 KiB (auth0.com/docs/customize/actions/modules).
MAX_MODULE_CODE_BYTES = 64 * 1024

# Where a managed action runs relative to the trigger's other bindings:
# first, last, or just before / after a named action (managed or not).
Position = Annotated[
    str, StringConstraints(pattern=r"^(first|last|(before|after):\S(.{0,98}\S)?)$")
]
# An Auth0 action id as the Management API returns it.
LiveId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _known_trigger(value: str) -> str:
    if value not in registry.registry():
        raise ValueError(f"unknown trigger '{value}'; known: {', '.join(registry.ids())}")
    return value


# A trigger id of the registry (deploy/auth0_actions/triggers/).
TriggerId = Annotated[str, AfterValidator(_known_trigger)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
