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

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

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

ROOT_KEYS = {
    "given": "consentGiven",
    "date": "consentDate",
    "terms_version": "consentTermsVersion",
    "text_url": "consentTextUrl",
    "method": "consentMethod",
    "ip": "consentIp",
    "withdrawn_at": "consentWithdrawnAt",
    "withdrawn_reason": "consentWithdrawnReason",
    "purposes": "consentPurposes",
}
NESTED_KEYS = {
    "given": "given",
    "date": "date",
    "terms_version": "terms_version",
    # Auth0's own consent guide calls the URL of the text "text_details".
    "text_url": "text_details",
    "method": "method",
    "ip": "ip",
    "withdrawn_at": "withdrawn_at",
    "withdrawn_reason": "withdrawn_reason",
    "purposes": "purposes",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RecordKeys(Strict):
    """Property names of the consent record; defaults depend on the layout."""

    given: MetadataKey | None = None
    date: MetadataKey | None = None
    terms_version: MetadataKey | None = None
    text_url: MetadataKey | None = None
    method: MetadataKey | None = None
    ip: MetadataKey | None = None
    withdrawn_at: MetadataKey | None = None
    # Written by `auth0-actions consent withdraw --reason`; cleared with
    # withdrawn_at when consent is given again.
    withdrawn_reason: MetadataKey | None = None
    # Every purpose's state ({id: {given, version, date, method}}), for reading.
    purposes: MetadataKey | None = None


class MetadataLayout(Strict):
    """Where the readable mirror of the consent record lives in user_metadata.

    The evidence is the ledger in app_metadata (:class:`LedgerSettings`); this
    mirror keeps the seed's layouts (the first required purpose as the
    record, every purpose under ``purposes``) for people and tools that read
    user_metadata. Nothing judges consent from it.
    """

    layout: Literal["root", "nested"] = Field(
        "nested",
        description="'nested': one object (user_metadata.consent = {given, date, ...}); "
        "'root': top-level properties (consentGiven, consentDate, ...).",
    )
    object_key: MetadataKey = Field("consent", description="The object's key (nested only).")
    keys: RecordKeys = Field(
        default_factory=RecordKeys, description="Rename any property of the record."
    )

    def resolved_keys(self) -> dict[str, str]:
        defaults = ROOT_KEYS if self.layout == "root" else NESTED_KEYS
        chosen = self.keys.model_dump()
        return {field: chosen[field] or default for field, default in defaults.items()}


class SignupCapture(Strict):
    """Consent given on a database signup form (custom field or checkbox)."""

    field: MetadataKey = Field(
        "terms_accepted",
        description="user_metadata key the signup form writes; Auth0 stores it as a string.",
    )
    accepted_values: list[Annotated[str, StringConstraints(min_length=1, max_length=32)]] = Field(
        default_factory=lambda: ["true", "yes", "on", "1"],
        min_length=1,
        description="Values (compared case-insensitively) that mean the box was ticked.",
    )
    remove_field: bool = Field(
        True, description="Delete the raw signup field once the record is written."
    )
    connections: list[NonEmpty] = Field(
        default_factory=list,
        description="Database connections whose signups carry the field; empty means all.",
    )
    universal_login_field: (
        Annotated[str, StringConstraints(pattern=r"^ulp-[A-Za-z0-9_-]{1,60}$")] | None
    ) = Field(
        None,
        description="Name of the consent checkbox in Universal Login's signup prompt "
        "(a custom field, which Auth0 requires to start with 'ulp-'); the "
        "pre-user-registration Action reads it from event.request.body. "
        "Default: 'ulp-' + field.",
    )


class AskPolicy(Strict):
    """Who is sent to the consent page when they lack valid consent."""

    who: Literal["without-valid-consent", "social", "connections"] = Field(
        "without-valid-consent",
        description="'without-valid-consent': every user lacking valid consent; "
        "'social': only users logging in through a social connection; "
        "'connections': only the connections listed.",
    )
    connections: list[NonEmpty] = Field(default_factory=list)

    @model_validator(mode="after")
    def _connections_match_who(self) -> AskPolicy:
        if self.who == "connections" and not self.connections:
            raise ValueError("who: connections needs a non-empty 'connections' list")
        if self.who != "connections" and self.connections:
            raise ValueError("'connections' is only used with who: connections")
        return self


class DeclinePolicy(Strict):
    action: Literal["deny"] = Field("deny", description="A decline always denies the login.")
    reason: Reason = Field(
        "You must accept the terms of service to continue.",
        description="Shown to the application as error_description.",
    )


class WithdrawnPolicy(Strict):
    action: Literal["ask", "deny"] = Field(
        "ask", description="At the next login after a withdrawal: ask again, or deny."
    )
    reason: Reason = "Consent was withdrawn. Contact support to restore access."


class RedirectImpossiblePolicy(Strict):
    action: Literal["deny", "allow"] = Field(
        "deny",
        description="When consent is needed but no redirect is possible (prompt=none, "
        "resource-owner password, refresh-token exchange): deny, or let the login "
        "through and ask at the next interactive login.",
    )
    reason: Reason = "Consent to the current terms is required; sign in interactively."


# BCP 47 language tags as the consent page negotiates them (en, de, pt-BR).
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
PurposeId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
# Quote versions in YAML: '1.10' unquoted is a number.
ConsentVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
# A file stem under consent_texts/: consent_texts/<text>.<language>.txt
TextStem = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# An ISO 8601 duration (P3Y, P18M, P30D): machine-readable for ISO/IEC TS 27560.
_DURATION = r"^P(\d+Y(\d+M)?(\d+W)?(\d+D)?|\d+M(\d+W)?(\d+D)?|\d+W(\d+D)?|\d+D)$"
Retention = Annotated[str, StringConstraints(pattern=_DURATION)]
# GDPR Article 6(1)(a)-(f).
LawfulBasis = Literal[
    "consent",
    "contract",
    "legal-obligation",
    "vital-interests",
    "public-task",
    "legitimate-interests",
]
CONSENT_TEXTS_DIR = "consent_texts"


class Purpose(Strict):
    """One processing purpose users decide on separately (GDPR Art. 7(2), Recital 43)."""

    id: PurposeId = Field(description="Stable id: ledger events, claims and commands use it.")
    required: bool = Field(
        description="Required purposes must be given to use the application; optional ones "
        "never block a login."
    )
    version: ConsentVersion = Field(
        description="Version of the text. Changing it asks again for this purpose only."
    )
    text: TextStem | None = Field(
        None,
        description="The text shown, consent_texts/<text>.<language>.txt for every language; "
        "its sha256 is part of each decision's evidence. Default: <id>-<version>, so a "
        "new version needs new files and a text once shown is never edited.",
    )
    url: NonEmpty | None = Field(None, description="Where the full text is published (https).")
    title: dict[LanguageTag, Label] = Field(
        description="The choice's label, per language (every language of consent.languages)."
    )
    if_declined: dict[LanguageTag, Reason] = Field(
        description="What declining means, per language, shown next to the choice."
    )
    lawful_basis: LawfulBasis = Field(
        "consent", description="GDPR Article 6(1) basis of the processing (receipts, export)."
    )
    retention: Retention = Field(
        description="How long data processed for this purpose is kept, as an ISO 8601 "
        "duration (P3Y)."
    )
    signup_field: MetadataKey | None = Field(
        None,
        description="Optional purposes: the signup form's field for this purpose (Universal "
        "Login: 'ulp-' + this). Unset: asked on the consent page at first login. Required "
        "purposes share consent.signup.field.",
    )

    @property
    def text_stem(self) -> str:
        return self.text or f"{self.id}-{self.version}"


class Controller(Strict):
    """Who collects consent: named in receipts and exports (GDPR Art. 7(3), Kantara)."""

    name: Label = Field(description="The data controller's legal name.")
    contact: NonEmpty = Field(description="Where to reach them about consent (an email address).")


class LedgerSettings(Strict):
    """The tamper-evident consent ledger, kept in app_metadata (not user-editable)."""

    key: MetadataKey = Field("consent_ledger", description="app_metadata key of the ledger.")
    max_events: int = Field(
        40,
        ge=8,
        le=200,
        description="Events kept in full; older ones are folded into a signed summary so the "
        "ledger stays inside Auth0's metadata limits.",
    )


class ConsentPolicy(Strict):
    """GDPR Article 7 consent policy shared by the consent templates."""

    purposes: list[Purpose] = Field(
        min_length=1,
        max_length=16,
        description="What users consent to, one decision per purpose; at least one required.",
    )
    languages: list[LanguageTag] = Field(
        default_factory=lambda: ["en"],
        min_length=1,
        description="Languages of the texts and labels; the first is the default.",
    )
    labels: dict[LanguageTag, dict[MetadataKey, Label]] = Field(
        default_factory=dict,
        description="Overrides of the consent pages' words per language (English and German "
        "are built in; another language must give every label).",
    )
    controller: Controller
    claims_namespace: NonEmpty | None = Field(
        None,
        description="Namespace (an https URL ending in '/') of the ID-token claims that tell "
        "the application which optional purposes are given: <namespace><purpose id>. "
        "Needed when a purpose is optional.",
    )
    privacy_url: NonEmpty = Field(description="URL of the privacy notice (https).")
    consent_page_url: NonEmpty = Field(
        description="Where the redirect Action sends users (https; http on loopback for local)."
    )
    self_service_url: NonEmpty | None = Field(
        None,
        description="The self-service page where users see and change their decisions; the "
        "consent page links to it. Default: 'account' next to consent_page_url.",
    )
    token_ttl_seconds: int = Field(
        600, ge=60, le=3600, description="Lifetime of the session token sent to the page."
    )
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    metadata: MetadataLayout = Field(default_factory=MetadataLayout)
    signup: SignupCapture = Field(default_factory=SignupCapture)
    ask: AskPolicy = Field(default_factory=AskPolicy)
    on_decline: DeclinePolicy = Field(default_factory=DeclinePolicy)
    on_withdrawn: WithdrawnPolicy = Field(default_factory=WithdrawnPolicy)
    when_redirect_impossible: RedirectImpossiblePolicy = Field(
        default_factory=RedirectImpossiblePolicy
    )

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old in ("terms_version", "terms_url"):
                if old in data:
                    raise ValueError(
                        f"'{old}' moved into consent.purposes: a purpose with id, required, "
                        "version, url and its text under consent_texts/ (docs/consent.md, "
                        '"Purposes")'
                    )
        return data

    @model_validator(mode="after")
    def _purposes_consistent(self) -> ConsentPolicy:
        ids = [p.id for p in self.purposes]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"purpose ids must be unique: {', '.join(twice)}")
        if not any(p.required for p in self.purposes):
            raise ValueError("at least one purpose must be required (the terms of service)")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages must be unique")
        for purpose in self.purposes:
            for field in ("title", "if_declined"):
                missing = [lang for lang in self.languages if lang not in getattr(purpose, field)]
                if missing:
                    raise ValueError(
                        f"purpose {purpose.id}: {field} has no text for {', '.join(missing)}"
                    )
            if purpose.required and purpose.signup_field:
                raise ValueError(
                    f"purpose {purpose.id}: signup_field is for optional purposes; required "
                    "ones share consent.signup.field"
                )
        if self.claims_namespace is None and not all(p.required for p in self.purposes):
            raise ValueError("claims_namespace is needed when a purpose is optional")
        if self.claims_namespace is not None and not (
            self.claims_namespace.startswith("https://") and self.claims_namespace.endswith("/")
        ):
            raise ValueError("claims_namespace must be an https URL ending in '/'")
        return self

    @property
    def record_purpose(self) -> Purpose:
        """The purpose the seed's user_metadata record mirrors: the first required one."""
        return next(p for p in self.purposes if p.required)

    def purpose(self, purpose_id: str) -> Purpose | None:
        return next((p for p in self.purposes if p.id == purpose_id), None)

    @property
    def resolved_self_service_url(self) -> str:
        if self.self_service_url:
            return self.self_service_url
        base = self.consent_page_url.split("?", 1)[0].rsplit("/", 1)[0]
        return f"{base}/account"


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
