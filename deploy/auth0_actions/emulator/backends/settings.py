"""The tenant's settings singletons, writable as in Auth0: written values over their defaults.

Each singleton the new-tenant defaults answer with a settings body
(:class:`~auth0_actions.emulator.backends.tenant_defaults.Setting`: tenant
settings, prompts and their custom text and partials, branding, attack
protection, risk assessment, supplemental signals, the MFA factors, policies,
message types, selected providers, templates, provider credentials, Duo)
reads its default until written. :data:`WRITES` are the Management API's
``PATCH`` and ``PUT`` operations on them, with the scope of each operation's
``security`` in Auth0's OpenAPI document: a ``PATCH`` merges its body into the
current value at the top level (a key sent replaces that key, nested objects
included), a ``PUT`` replaces the value; both answer the new value, as Auth0
does. ``PUT /guardian/factors/{name}`` sets one factor of the
``GET /guardian/factors`` list. The bodies are checked by the app's dispatch
against the document before a handler runs, so nothing here validates them.

A written value is stored whole under its concrete path
(``/prompts/login/custom-text/en``), so ``emulator reset`` (which clears the
store) brings every default back and counts the settings it removed.

Sources: https://auth0.com/docs/api/management/v2/tenants/patch-settings,
https://auth0.com/docs/api/management/v2/prompts/patch-prompts,
https://auth0.com/docs/api/management/v2/branding/patch-branding,
https://auth0.com/docs/api/management/v2/attack-protection/patch-brute-force-protection,
https://auth0.com/docs/api/management/v2/guardian/put-factors-by-name,
https://auth0.com/docs/api/management/v2/guardian/put-policies.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from auth0_actions.emulator.backends.tenant_defaults import DEFAULTS, FACTORS, Setting
from auth0_actions.emulator.http import bad_request
from auth0_actions.emulator.store import Store

SETTING = "setting"  # the store's kind: one document per written singleton
FACTOR = "/guardian/factors/{name}"
FACTOR_LIST = "/guardian/factors"

_BODIES: dict[str, Any] = {d.path: d.body for d in DEFAULTS if isinstance(d, Setting)}


@dataclass(frozen=True)
class Write:
    """One write operation of a settings singleton (``path``: the document's template)."""

    method: Literal["PATCH", "PUT"]
    path: str
    scope: str


_ATTACK = "update:attack_protection"
_FACTORS = "update:guardian_factors"

WRITES: tuple[Write, ...] = (
    Write("PATCH", "/tenants/settings", "update:tenant_settings"),
    Write("PATCH", "/prompts", "update:prompts"),
    Write("PUT", "/prompts/{prompt}/custom-text/{language}", "update:prompts"),
    Write("PUT", "/prompts/{prompt}/partials", "update:prompts"),
    Write("PATCH", "/branding", "update:branding"),
    Write("PATCH", "/attack-protection/brute-force-protection", _ATTACK),
    Write("PATCH", "/attack-protection/suspicious-ip-throttling", _ATTACK),
    Write("PATCH", "/attack-protection/breached-password-detection", _ATTACK),
    Write("PATCH", "/attack-protection/bot-detection", _ATTACK),
    Write("PATCH", "/attack-protection/captcha", _ATTACK),
    Write("PATCH", "/risk-assessments/settings", _ATTACK),
    Write("PATCH", "/risk-assessments/settings/new-device", _ATTACK),
    Write("PATCH", "/supplemental-signals", _ATTACK),
    Write("PUT", FACTOR, _FACTORS),
    Write("PUT", "/guardian/policies", "update:mfa_policies"),
    Write("PUT", "/guardian/factors/phone/message-types", _FACTORS),
    Write("PUT", "/guardian/factors/phone/selected-provider", _FACTORS),
    Write("PUT", "/guardian/factors/sms/selected-provider", _FACTORS),
    Write("PUT", "/guardian/factors/push-notification/selected-provider", _FACTORS),
    Write("PUT", "/guardian/factors/phone/templates", _FACTORS),
    Write("PUT", "/guardian/factors/sms/templates", _FACTORS),
    Write("PUT", "/guardian/factors/phone/providers/twilio", _FACTORS),
    Write("PUT", "/guardian/factors/sms/providers/twilio", _FACTORS),
    Write("PUT", "/guardian/factors/push-notification/providers/apns", _FACTORS),
    Write("PATCH", "/guardian/factors/push-notification/providers/apns", _FACTORS),
    Write("PUT", "/guardian/factors/push-notification/providers/sns", _FACTORS),
    Write("PATCH", "/guardian/factors/push-notification/providers/sns", _FACTORS),
    Write("PUT", "/guardian/factors/duo/settings", _FACTORS),
    Write("PATCH", "/guardian/factors/duo/settings", _FACTORS),
)


_IN_MINUTES = "_in_minutes"


class SettingsBackend:
    """The written settings singletons of one tenant; the rest read their defaults."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _stored(self, path: str) -> Any:
        doc = self.store.get(SETTING, path)
        return None if doc is None else doc["value"]

    def read(self, template: str, path: str) -> Any:
        """The current value of the singleton at ``path`` (its template's default until written)."""
        stored = self._stored(path)
        value = copy.deepcopy(_BODIES[template]) if stored is None else stored
        if template == FACTOR_LIST:
            for factor in value:
                factor.update(self._stored(FACTOR.format(name=factor["name"])) or {})
        return value

    def patch(self, template: str, path: str, changes: dict[str, Any]) -> Any:
        """Auth0's ``PATCH``: the body's keys replace the current value's.

        A session lifetime given in minutes (``session_lifetime_in_minutes``)
        is kept, and answered, in hours as Auth0 answers it (``session_lifetime``).
        """
        hours = {
            name.removesuffix(_IN_MINUTES): minutes / 60
            for name, minutes in changes.items()
            if name.endswith(_IN_MINUTES) and isinstance(minutes, int)
        }
        changes = {k: v for k, v in changes.items() if not k.endswith(_IN_MINUTES)}
        value = {**self.read(template, path), **changes, **hours}
        self.store.put(SETTING, path, {"value": value})
        return value

    def put(self, template: str, path: str, body: Any) -> Any:
        """Auth0's ``PUT``: the body is the new value."""
        if template == FACTOR and path.rsplit("/", 1)[1] not in FACTORS:
            name = path.rsplit("/", 1)[1]
            raise bad_request(
                f"Path validation error: 'No enum match for: \"{name}\"' on property name.",
                "invalid_uri",
            )
        self.store.put(SETTING, path, {"value": body})
        return copy.deepcopy(body)
