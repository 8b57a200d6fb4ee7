"""The tenant.yaml data model.

One set of pydantic models gives three things at once: typed objects for the
rest of the code, validation with every error collected, and the JSON Schema
that `auth0-actions config schema` publishes for editors. Models are strict
(a YAML ``1.10`` is a float, not the string a terms version must be) and
forbid unknown keys, so a typo is an error rather than a silently ignored
setting.

Checks that depend on more than one field or on the environment (URL schemes
per environment, template files on disk, secret hygiene) live in
:mod:`auth0_actions.config.checks`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, StringConstraints

from auth0_actions.config.consent_policy import (
    CONSENT_TEXTS_DIR,
    NESTED_KEYS,
    ROOT_KEYS,
    AskPolicy,
    ConsentPolicy,
    Controller,
    DeclinePolicy,
    LedgerSettings,
    MetadataLayout,
    Purpose,
    RecordKeys,
    RedirectImpossiblePolicy,
    SignupCapture,
    WithdrawnPolicy,
)
from auth0_actions.config.types import (
    MAX_ACTIONS_PER_TRIGGER,
    MAX_DEPENDENCIES,
    MAX_MODULE_CODE_BYTES,
    MAX_SECRETS,
    ActionName,
    EnvironmentName,
    EnvVarName,
    LiveId,
    MetadataKey,
    NonEmpty,
    NpmName,
    Position,
    SecretName,
    Strict,
    TriggerId,
)
from auth0_actions.triggers import registry

# Re-exported: the rest of the code imports the whole model from here.
__all__ = [
    "CONSENT_TEXTS_DIR",
    "MAX_ACTIONS_PER_TRIGGER",
    "MAX_DEPENDENCIES",
    "MAX_MODULE_CODE_BYTES",
    "MAX_SECRETS",
    "NESTED_KEYS",
    "ROOT_KEYS",
    "AskPolicy",
    "ConsentPolicy",
    "Controller",
    "DeclinePolicy",
    "LedgerSettings",
    "MetadataKey",
    "MetadataLayout",
    "Purpose",
    "RecordKeys",
    "RedirectImpossiblePolicy",
    "SignupCapture",
    "WithdrawnPolicy",
]


class Dependency(Strict):
    name: NpmName
    version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z.^~<>=*| -]{1,64}$")]


class ActionSpec(Strict):
    """One Action rendered from a template, bound to one trigger."""

    name: ActionName = Field(description="Auth0 action name and output file name.")
    template: NonEmpty = Field(description="Path under rules_templates/, ending in .js.j2.")
    trigger: TriggerId = Field(
        registry.default().id,
        description="The trigger the action is bound to (its version is the trigger's "
        "current one).",
        json_schema_extra={"enum": list[JsonValue](registry.ids())},
    )
    order: int = Field(ge=1, le=MAX_ACTIONS_PER_TRIGGER, description="Position in the trigger.")
    runtime: Literal["node22"] = Field("node22", description="Auth0 runtime (node22).")
    dependencies: list[Dependency] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    secrets: dict[SecretName, EnvVarName] = Field(
        default_factory=dict,
        max_length=MAX_SECRETS,
        description="Action secret name -> NAME of the environment variable holding its "
        "value. Never the value itself.",
    )
    values: dict[str, Any] = Field(
        default_factory=dict, description="Extra template values (action.values in templates)."
    )
    header: bool = Field(
        True,
        description="Put the provenance header on the rendered file. `import` writes false: "
        "where the action is recorded under `adopted` the template then renders "
        "byte-identical to the code that was live; elsewhere the header is still added.",
    )
    position: Position | None = Field(
        None,
        description="Where the action runs among the trigger's bindings this tool does not "
        "own: first, last, before:NAME or after:NAME. Unset: unmanaged bindings keep their "
        "place.",
    )
    modules: list[ActionName] = Field(
        default_factory=list,
        description="Actions Modules (names under `modules:`) this action requires; it pins "
        "the version apply publishes from the module's template.",
    )


class ModuleSpec(Strict):
    """An Actions Module: shared code that actions `require('actions:<name>')`."""

    name: ActionName = Field(description="Auth0 module name and output file name.")
    template: NonEmpty = Field(description="Path under rules_templates/, ending in .js.j2.")
    dependencies: list[Dependency] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    secrets: dict[SecretName, EnvVarName] = Field(
        default_factory=dict,
        max_length=MAX_SECRETS,
        description="Module secret name -> NAME of the environment variable holding its value.",
    )
    values: dict[str, Any] = Field(
        default_factory=dict, description="Extra template values (module.values in templates)."
    )
    header: bool = Field(
        True,
        description="As actions[].header: false renders verbatim where recorded under "
        "adopted.modules.",
    )


class LegacyRuleSpec(Strict):
    """A legacy Rule variant, for tenants migrating off Rules."""

    name: ActionName
    template: NonEmpty = Field(description="Path under rules_templates/, ending in .js.j2.")
    order: int = Field(ge=1, le=100)
    enabled: bool = True
    configuration: dict[SecretName, EnvVarName] = Field(
        default_factory=dict,
        description="Rules configuration key -> NAME of the environment variable holding it.",
    )
    values: dict[str, Any] = Field(default_factory=dict)


# Defaults of the safety thresholds. Deletes and unbinds happen only to orphans
# (and to a managed action bound twice), and deletes only with --allow-delete:
# one at a time is a deliberate rename or removal reviewed in tenant.yaml; more
# at once is the signature of a mistake (an emptied actions list, a renamed
# trigger). docs/tenant-yaml.md, "Safety" explains why prod should use 0.
DEFAULT_MAX_DELETES = 1
DEFAULT_MAX_UNBINDS = 1
SAFETY_CEILING = 1000


class SafetyThresholds(Strict):
    """How much one apply may remove before it needs --force (as octoDNS's thresholds)."""

    max_deletes: int = Field(
        DEFAULT_MAX_DELETES,
        ge=0,
        le=SAFETY_CEILING,
        description="Most actions one apply may delete without --force (0: every delete "
        "needs --force).",
    )
    max_unbinds: int = Field(
        DEFAULT_MAX_UNBINDS,
        ge=0,
        le=SAFETY_CEILING,
        description="Most bindings one apply may remove without --force (0: every unbind "
        "needs --force).",
    )


class SafetyOverride(Strict):
    """Per-environment override of the top-level safety thresholds (unset keys inherit)."""

    max_deletes: int | None = Field(None, ge=0, le=SAFETY_CEILING)
    max_unbinds: int | None = Field(None, ge=0, le=SAFETY_CEILING)


class Adopted(Strict):
    """Ownership of live entities that have no provenance header: name -> live id."""

    actions: dict[ActionName, LiveId] = Field(default_factory=dict)
    modules: dict[ActionName, LiveId] = Field(default_factory=dict)


# Auth0's documented Management API limits per plan (docs/deploying.md, "Pacing").
RatePlan = Literal["free", "self-service", "enterprise"]
RateLimit = RatePlan | Annotated[float, Field(gt=0, le=1000)]


class Environment(Strict):
    """One tenant the actions are deployed to."""

    domain: NonEmpty = Field(
        description="'local' (the built-in local tenant), a tenant domain "
        "(example.eu.auth0.com), or a URL (https://127.0.0.1:8443) for a served tenant."
    )
    client_id_env: EnvVarName | None = Field(
        None, description="NAME of the env var holding the Management API client id."
    )
    client_secret_env: EnvVarName | None = Field(
        None, description="NAME of the env var holding the client secret."
    )
    secrets: dict[SecretName, EnvVarName] = Field(
        default_factory=dict,
        description="Per-environment override: secret name -> env var NAME.",
    )
    # The consent self-service page signs users in as this application (docs/consent.md).
    self_service_client_id_env: EnvVarName | None = Field(
        None, description="NAME of the env var holding the self-service page's client id."
    )
    self_service_client_secret_env: EnvVarName | None = Field(
        None, description="NAME of the env var holding that client's secret."
    )
    receipt_key_env: EnvVarName | None = Field(
        None,
        description="NAME of the env var holding the Ed25519 private key (PEM) that signs "
        "consent receipts; the local environment generates one.",
    )
    values: dict[str, Any] = Field(
        default_factory=dict, description="Template values (env.values in templates)."
    )
    consent: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the consent policy for this environment "
        "(any subset of its keys, merged over the top-level policy).",
    )
    safety: SafetyOverride = Field(
        default_factory=SafetyOverride,
        description="Overrides of the top-level safety thresholds for this environment.",
    )
    adopted: Adopted = Field(
        default_factory=lambda: Adopted(),
        description="Live actions and modules this tool owns although their code carries no "
        "provenance header (written by `import`).",
    )
    secret_versions: dict[SecretName, Annotated[int, Field(ge=1, le=1_000_000)]] = Field(
        default_factory=dict,
        description="Secret name -> version; raising a version pushes that secret's value "
        "to every action and module using it at the next apply.",
    )
    rate_limit: RateLimit | None = Field(
        None,
        description="The tenant's Management API rate limit: a plan name (free, "
        "self-service, enterprise) or requests per second. Unset: learnt from Auth0's "
        "x-ratelimit-* headers.",
    )


class TenantConfig(Strict):
    """The whole of tenant.yaml."""

    version: Literal[1] = Field(1, description="Format version of this file.")
    environments: dict[EnvironmentName, Environment] = Field(min_length=1)
    consent: ConsentPolicy
    # May be empty: a new project (`init --bare`) is valid before its first action.
    actions: list[ActionSpec]
    modules: list[ModuleSpec] = Field(
        default_factory=list,
        description="Actions Modules, rendered and reviewed like actions.",
    )
    legacy_rules: list[LegacyRuleSpec] = Field(default_factory=list)
    safety: SafetyThresholds = Field(
        default_factory=SafetyThresholds,
        description="How much one apply may delete or unbind before it needs --force; "
        "environments.<name>.safety overrides it per environment.",
    )

    def safety_for(self, environment: str) -> SafetyThresholds:
        """The thresholds in force for one environment: its overrides over the top level."""
        override = self.environments[environment].safety.model_dump(exclude_none=True)
        return self.safety.model_copy(update=override)
