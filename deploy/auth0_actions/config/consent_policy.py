"""The consent policy of tenant.yaml: purposes, texts, the ledger and the mirror's layout.

Part of the tenant.yaml model (:mod:`auth0_actions.config.model` holds the
rest); a purpose, a consent field or a page label is added here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from auth0_actions.config.types import MetadataKey, NonEmpty, Reason, Strict

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
    # An event is about 520 bytes of JSON (three hashes and a mac); Auth0's
    # practical app_metadata limit is about 16 kB, and the local tenant refused
    # a 40-event ledger (20.6 kB). 24 events and the summary stay near 13 kB.
    max_events: int = Field(
        20,
        ge=8,
        le=24,
        description="Events kept in full; older ones are folded into a signed summary so the "
        "ledger stays inside Auth0's metadata size limit (about 520 bytes per event).",
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
