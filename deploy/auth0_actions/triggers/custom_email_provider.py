"""custom-email-provider (v1): the tenant's own provider delivers Auth0's emails (https://auth0.com/docs/customize/email/smtp-email-providers/custom).

When the tenant's email provider is ``custom``, Auth0 renders each email
(verification, password reset, welcome, MFA code, invitation, ...) and hands
it to the one action bound to this trigger ("You can have at most one Action
bound to the custom-email-provider trigger",
https://auth0.com/docs/customize/email/smtp-email-providers/custom/configure-action),
which sends it. The event follows Auth0's reference
(https://auth0.com/docs/actions/reference/custom-email-provider/custom-email-provider-event-object):
the verification email of a database user who just signed up. Its ``user``
and ``request`` have fewer members than a login's (no timestamps, no phone,
no ``method``), as documented. Optional members present only in some flows
are absent by default (a scenario's ``event:`` adds them):
``custom_domain`` and ``organization``.

The api, the one-action limit and the outcome (``dropped``, ``retried``) are
shared with custom-phone-provider (``_notification.py``, ``_notification.js``).
"""

from __future__ import annotations

from typing import Any

from auth0_actions.triggers._notification import NotificationTrigger
from auth0_actions.triggers._sample import (
    BROWSER_IP,
    DATABASE_CONNECTION,
    GEOIP,
    USER_AGENT,
    WEB_CLIENT,
)

VERIFY_URL = "https://acme.eu.auth0.com/u/email-verification?ticket=Xk2pLw7vRt5yNc4Hd6Gf0Jsa#"

EVENT: dict[str, Any] = {
    "client": WEB_CLIENT,
    "connection": DATABASE_CONNECTION,
    "notification": {
        # verify_email, verify_email_by_code, reset_email, reset_email_by_code,
        # welcome_email, verification_code, mfa_oob_code, enrollment_email,
        # blocked_account, stolen_credentials, try_provider_configuration_email,
        # organization_invitation
        "message_type": "verify_email",
        "from": "no-reply@example.com",  # the tenant's default From address
        "to": "jane.doe@example.com",
        "subject": "Verify your email",
        "html": (
            "<html><body><p>Hello Jane Doe,</p><p>Please verify your email address by "
            f'clicking the link below.</p><p><a href="{VERIFY_URL}">Confirm my account</a>'
            "</p></body></html>"
        ),
        "text": (
            "Hello Jane Doe,\n\nPlease verify your email address by opening the link below.\n\n"
            f"{VERIFY_URL}\n"
        ),
        "locale": "en_US",
    },
    "request": {
        "ip": BROWSER_IP,
        "hostname": "acme.eu.auth0.com",
        "query": {},
        "user_agent": USER_AGENT,
        "geoip": GEOIP,
    },
    "secrets": {},
    "tenant": {
        "id": "acme",
        "friendly_name": "Acme",
        "home_url": "https://www.example.com",
        "logo_url": "https://www.example.com/logo.png",
        "support_email": "support@example.com",
        "support_url": "https://www.example.com/support",
    },
    "transaction": {"correlation_id": None},
    "user": {
        "user_id": "auth0|6543210fedcba98765432100",
        "email": "jane.doe@example.com",
        "email_verified": False,
        "username": None,
        "name": "Jane Doe",
        "nickname": "jane.doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "picture": "https://s.gravatar.com/avatar/0000?s=480&r=pg&d=mp",
        "app_metadata": {},
        "user_metadata": {},
    },
}


class CustomEmailProvider(NotificationTrigger):
    id = "custom-email-provider"
    version = "v1"
    title = "Custom Email Provider"
    docs = "https://auth0.com/docs/customize/email/smtp-email-providers/custom"
    handlers = ("onExecuteCustomEmailProvider",)
    script = "custom_email_provider.js"
    event = EVENT


TRIGGER = CustomEmailProvider()
