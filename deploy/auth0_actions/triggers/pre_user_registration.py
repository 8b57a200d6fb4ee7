"""pre-user-registration (v2): a user signs up, before the user exists (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger).

The event is a realistic signup on Universal Login to a database connection
(every field of Auth0's event reference,
https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger/pre-user-registration-event-object).
There is no ``user_id`` yet: the user is created only if every action lets
the signup through. The api (pre_user_registration.js, Auth0's api reference
https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger/pre-user-registration-api-object)
can deny the signup (``api.access.deny(reason, userMessage)``), refuse it as
a validation error (``api.validation.error(errorCode, errorMessage)``) and
set the metadata the new user is created with; later actions see what
earlier ones set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auth0_actions.sandbox.results import object_field
from auth0_actions.triggers._sample import (
    BROWSER_IP,
    DATABASE_CONNECTION,
    GEOIP,
    USER_AGENT,
    WEB_CLIENT_ID,
)
from auth0_actions.triggers.base import Trigger

TENANT = "acme"
HOSTNAME = "login.acme.com"
CLIENT_ID = WEB_CLIENT_ID

EVENT: dict[str, Any] = {
    # Supplemental risk signals come only from Akamai (early access): none here.
    "authentication": {"riskAssessment": {"supplemental": {}}},
    "client": {"client_id": CLIENT_ID, "name": "Acme Web", "metadata": {}},
    "connection": DATABASE_CONNECTION,
    # The tenant serves Universal Login on its custom domain (request.hostname).
    "custom_domain": {"domain": HOSTNAME, "domain_metadata": {}},
    "request": {
        "ip": BROWSER_IP,
        "method": "POST",
        "hostname": HOSTNAME,
        "language": "en",
        "user_agent": USER_AGENT,
        # The signup form's POST body. Auth0 does not document its fields; the
        # password is never part of the event. Extra signup fields (a consent
        # checkbox, ...) arrive here, named as the form names them.
        "body": {"state": "hKFo2SBxYnR4c2lnbnVwLTlmOGU3ZA", "email": "jane.doe@example.com"},
        "geoip": GEOIP,
    },
    "secrets": {},
    # Present only behind Cloudflare (JA3/JA4 TLS fingerprints).
    "security_context": {
        "ja3": (
            "771,4865-4866-4867-49195-49199,0-23-65281-10-11-35-16-5-13-18-51-45-43-27,29-23-24,0"
        ),
        "ja4": "t13d1516h2_8daaf6152771_02713d6af862",
    },
    "tenant": {"id": TENANT},
    "transaction": {
        "acr_values": [],
        "locale": "en",
        "login_hint": None,
        "prompt": [],
        "protocol": "oidc-basic-profile",
        "redirect_uri": "https://app.example.com/callback",
        "requested_scopes": ["openid", "profile", "email"],
        "response_mode": "query",
        "response_type": ["code"],
        "state": "app-state-9f8e7d",
        "ui_locales": [],
        "correlation_id": None,
    },
    "user": {
        "email": "jane.doe@example.com",
        "username": None,
        "name": "jane.doe@example.com",
        "nickname": "jane.doe",
        "given_name": None,
        "family_name": None,
        "phone_number": None,
        "picture": "https://s.gravatar.com/avatar/0000?s=480&r=pg&d=mp",
        "app_metadata": {},
        "user_metadata": {},
    },
}


class PreUserRegistration(Trigger):
    id = "pre-user-registration"
    version = "v2"
    title = "Pre User Registration"
    docs = "https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/pre-user-registration-trigger"
    handlers = ("onExecutePreUserRegistration",)
    script = "pre_user_registration.js"
    event = EVENT
    # Both stop the signup: "The signup flow will immediately stop following
    # the completion of this action and no further Actions will be executed."
    denies = frozenset({"access.deny", "validation.error"})
    carries: ClassVar[tuple[str, ...]] = ("user_metadata", "app_metadata", "cache")

    def initial_state(self, event: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
        user = event.get("user") or {}
        return {
            "user_metadata": user.get("user_metadata") or {},
            "app_metadata": user.get("app_metadata") or {},
            "cache": dict(request.get("cache") or {}),
        }

    def check(self, result: Mapping[str, Any], name: str) -> None:
        super().check(result, name)
        for key in ("user_metadata", "app_metadata"):
            object_field(result, key)

    def denial(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """The internal reason (tenant logs) and the message the signup page shows.

        access.deny(reason, userMessage): a deny without a userMessage shows its
        reason. validation.error(errorCode, errorMessage): the code is the reason.
        """
        if command.get("type") == "validation.error":
            code = str(command.get("code", ""))
            return {
                "reason": code,
                "code": code,
                "user_message": str(command.get("message", "")),
                "command": "validation.error",
            }
        reason = str(command.get("reason", ""))
        message = command.get("user_message")
        return {
            "reason": reason,
            "user_message": reason if message is None else str(message),
            "command": "access.deny",
        }


TRIGGER = PreUserRegistration()
