"""What a new Auth0 tenant answers for the resource types the local tenant does not model.

Every entry is one resource type, answered as on a tenant just created
(nothing configured): an empty collection in the envelope its endpoint uses,
a settings object with Auth0's defaults, or the 404 Auth0 gives for
something never configured. Clients such as Auth0's deploy CLI read every
one of these on a default ``export``; a 404 for an endpoint Auth0 has would
stop them. A :class:`Setting` is the default of a writable singleton: once
written (:mod:`auth0_actions.emulator.backends.settings`) its GET answers the
written value. When a resource type gets a real backend, its routes are
registered before these and its entry here can go: one entry per type.

Sources: Auth0's Management API reference (https://auth0.com/docs/api/management/v2)
for paths, scopes and envelopes; for defaults, the documented default of each
setting (attack protection: https://auth0.com/docs/secure/attack-protection;
MFA factors: https://auth0.com/docs/secure/multi-factor-authentication).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Paging = Literal["offset", "checkpoint", "array", "fixed"]


@dataclass(frozen=True)
class Empty:
    """A collection the tenant has none of.

    ``offset``: a bare array, or ``{key: [], start, limit, total}`` with
    ``include_totals=true``; ``checkpoint``: ``{key: []}``; ``array``: ``[]``;
    ``fixed``: always ``{key: []}``.
    """

    path: str
    scope: str
    key: str = ""
    paging: Paging = "offset"
    more_scopes: tuple[str, ...] = ()  # others the operation's ``security`` accepts


@dataclass(frozen=True)
class Setting:
    """A settings object (or fixed list) with Auth0's defaults for a new tenant."""

    path: str
    scope: str
    body: Any = field(default_factory=dict)
    more_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unset:
    """Something a new tenant has not configured: Auth0 answers 404."""

    path: str
    scope: str
    message: str
    error_code: str | None = None
    more_scopes: tuple[str, ...] = ()


Default = Empty | Setting | Unset

FACTORS = (
    "sms",
    "push-notification",
    "otp",
    "email",
    "duo",
    "webauthn-roaming",
    "webauthn-platform",
    "recovery-code",
)
_GUARDIAN_MESSAGE = {
    "enrollment_message": (
        "{{code}} is your verification code for {{tenant.friendly_name}}. "
        "Please enter this code to verify your enrollment."
    ),
    "verification_message": "{{code}} is your verification code for {{tenant.friendly_name}}",
}


DEFAULTS: tuple[Default, ...] = (
    # -- applications and APIs (until a backend models them) --
    Empty("/grants", "read:grants", "grants"),
    Empty("/device-credentials", "read:device_credentials", "device_credentials"),
    # -- tenant, universal login, branding --
    Setting(
        "/tenants/settings",
        "read:tenant_settings",
        {
            "enabled_locales": ["en"],
            "flags": {
                "enable_client_connections": False,
                "revoke_refresh_token_grant": False,
                "disable_clickjack_protection_headers": False,
                "enable_public_signup_user_exists_error": True,
                "allow_legacy_delegation_grant_types": False,
                "allow_legacy_ro_grant_types": False,
                "allow_legacy_tokeninfo_endpoint": False,
            },
            "idle_session_lifetime": 72,
            "session_lifetime": 720,
            "sandbox_version": "22",
            "sandbox_versions_available": ["22", "18"],
        },
    ),
    Setting(
        "/prompts",
        "read:prompts",
        {
            "universal_login_experience": "new",
            "identifier_first": False,
            "webauthn_platform_first_factor": False,
        },
    ),
    Setting("/prompts/{prompt}/custom-text/{language}", "read:prompts"),
    Setting("/prompts/{prompt}/partials", "read:prompts"),
    Empty("/prompts/rendering", "read:prompts", "configs"),
    Setting("/branding", "read:branding"),
    Unset(
        "/branding/templates/universal-login",
        "read:branding",
        "The tenant does not have a Universal Login template.",
    ),
    Unset("/branding/themes/default", "read:branding", "There is no default theme."),
    Empty("/branding/phone/providers", "read:phone_providers", "providers", "fixed"),
    Empty("/branding/phone/templates", "read:phone_templates", "templates", "fixed"),
    Unset(
        "/email-templates/{templateName}",
        "read:email_templates",
        "The template does not exist.",
        "inexistent_email_template",
    ),
    Unset("/emails/provider", "read:email_provider", "There is no email provider configured."),
    Empty("/custom-domains", "read:custom_domains", paging="array"),
    # -- security --
    Setting(
        "/attack-protection/brute-force-protection",
        "read:attack_protection",
        {
            "enabled": True,
            "shields": ["block", "user_notification"],
            "mode": "count_per_identifier_and_ip",
            "allowlist": [],
            "max_attempts": 10,
        },
    ),
    Setting(
        "/attack-protection/suspicious-ip-throttling",
        "read:attack_protection",
        {
            "enabled": True,
            "shields": ["admin_notification", "block"],
            "allowlist": [],
            "stage": {
                "pre-login": {"max_attempts": 100, "rate": 864000},
                "pre-user-registration": {"max_attempts": 50, "rate": 1200},
            },
        },
    ),
    Setting(
        "/attack-protection/breached-password-detection",
        "read:attack_protection",
        {
            "enabled": False,
            "shields": [],
            "admin_notification_frequency": [],
            "method": "standard",
            "stage": {
                "pre-user-registration": {"shields": []},
                "pre-change-password": {"shields": []},
            },
        },
    ),
    Setting(
        "/attack-protection/bot-detection",
        "read:attack_protection",
        {
            "bot_detection_level": "medium",
            "challenge_password_policy": "never",
            "challenge_passwordless_policy": "never",
            "challenge_password_reset_policy": "never",
            "allowlist": [],
            "monitoring_mode_enabled": False,
        },
    ),
    Setting(
        "/attack-protection/captcha",
        "read:attack_protection",
        {"active_provider_id": "auth_challenge", "auth_challenge": {"fail_open": False}},
    ),
    Setting("/risk-assessments/settings", "read:attack_protection", {"enabled": False}),
    Setting(
        "/risk-assessments/settings/new-device", "read:attack_protection", {"remember_for": 30}
    ),
    Setting("/supplemental-signals", "read:attack_protection", {"akamai_enabled": False}),
    Empty("/network-acls", "read:network_acls", "network_acls"),
    Setting(
        "/guardian/factors",
        "read:guardian_factors",
        [{"name": name, "enabled": False, "trial_expired": False} for name in FACTORS],
    ),
    Setting("/guardian/policies", "read:mfa_policies", []),
    Setting(
        "/guardian/factors/phone/message-types", "read:guardian_factors", {"message_types": ["sms"]}
    ),
    Setting(
        "/guardian/factors/phone/selected-provider", "read:guardian_factors", {"provider": "auth0"}
    ),
    Setting(
        "/guardian/factors/sms/selected-provider", "read:guardian_factors", {"provider": "auth0"}
    ),
    Setting(
        "/guardian/factors/push-notification/selected-provider",
        "read:guardian_factors",
        {"provider": "guardian"},
    ),
    Setting("/guardian/factors/phone/templates", "read:guardian_factors", _GUARDIAN_MESSAGE),
    Setting("/guardian/factors/sms/templates", "read:guardian_factors", _GUARDIAN_MESSAGE),
    Setting("/guardian/factors/phone/providers/twilio", "read:guardian_factors"),
    Setting("/guardian/factors/sms/providers/twilio", "read:guardian_factors"),
    Setting("/guardian/factors/push-notification/providers/apns", "read:guardian_factors"),
    Setting("/guardian/factors/push-notification/providers/sns", "read:guardian_factors"),
    Setting("/guardian/factors/duo/settings", "read:guardian_factors"),
    # -- extensibility, identity and access --
    Empty("/hooks", "read:hooks", "hooks"),
    Empty("/log-streams", "read:log_streams", paging="array"),
    Empty("/event-streams", "read:event_streams", "eventStreams", "checkpoint"),
    Empty("/flows", "read:flows", "flows"),
    Empty("/flows/vault/connections", "read:flows_vault_connections", "connections"),
    Empty("/forms", "read:forms", "forms"),
    Empty(
        "/organizations",
        "read:organizations",
        "organizations",
        more_scopes=("read:organizations_summary",),
    ),
    Empty("/roles", "read:roles", "roles"),
    Empty("/self-service-profiles", "read:self_service_profiles", "self_service_profiles"),
    Empty(
        "/token-exchange-profiles",
        "read:token_exchange_profiles",
        "token_exchange_profiles",
        "checkpoint",
    ),
    Empty(
        "/user-attribute-profiles",
        "read:user_attribute_profiles",
        "user_attribute_profiles",
        "checkpoint",
    ),
    Empty(
        "/connections-directory-provisionings",
        "read:directory_provisionings",
        "directory_provisionings",
        "checkpoint",
    ),
    Empty("/connection-profiles", "read:connection_profiles", "connection_profiles", "checkpoint"),
)


def route_scopes(default: Default) -> tuple[str, ...]:
    """The scopes any one of which its GET accepts (the operation's ``security``)."""
    return (default.scope, *default.more_scopes)


def scopes() -> tuple[str, ...]:
    """Every scope these endpoints check, once each."""
    return tuple(dict.fromkeys(d.scope for d in DEFAULTS))
