"""custom-phone-provider (v1): the tenant's own provider delivers Auth0's phone messages (https://auth0.com/docs/customize/phone-messages/configure-phone-messaging-providers/configure-a-custom-phone-provider).

When the tenant's phone provider is ``custom``, Auth0 renders each phone
notification (a one-time code to verify or enroll a phone, a blocked
account, a password change or breach) and hands it to the one action bound
to this trigger, which sends it. The event follows Auth0's reference
(https://auth0.com/docs/actions/reference/custom-phone-provider/custom-phone-provider-event-object):
a one-time code by text message for a database user who signs in with a
phone number. Optional members present only in some flows are absent by
default (a scenario's ``event:`` adds them): ``custom_domain`` and
``organization``.

The api, the one-action limit and the outcome (``dropped``, ``retried``) are
shared with custom-email-provider (``_notification.py``, ``_notification.js``).
"""

from __future__ import annotations

from typing import Any

from auth0_actions.triggers._notification import NotificationTrigger
from auth0_actions.triggers._sample import (
    BROWSER_IP,
    DATABASE_CONNECTION,
    DATABASE_IDENTITY,
    GEOIP,
    USER_AGENT,
    WEB_CLIENT,
)

EVENT: dict[str, Any] = {
    "client": WEB_CLIENT,
    "connection": DATABASE_CONNECTION,
    "notification": {
        # otp_verify, otp_enroll, blocked_account, change_password, password_breach
        "message_type": "otp_verify",
        "delivery_method": "text",  # or "voice"
        # E.164, fictional numbers (the 555-01xx range).
        "recipient": "+12025550186",
        "from": "+12025550143",
        "as_text": "Your Acme Web verification code is 482913",
        "as_voice": "Your Acme Web verification code is 4, 8, 2, 9, 1, 3",
        "code": "482913",  # present for the otp_* message types
        "locale": "en_US",
    },
    "request": {
        "ip": BROWSER_IP,
        "method": "POST",
        "hostname": "acme.eu.auth0.com",
        "language": "en",
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
        "email_verified": True,
        "username": None,
        "name": "Jane Doe",
        "nickname": "jane.doe",
        "given_name": "Jane",
        "family_name": "Doe",
        "picture": "https://s.gravatar.com/avatar/0000?s=480&r=pg&d=mp",
        "phone_number": "+12025550186",
        "phone_verified": False,
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-11-20T10:00:00.000Z",
        "last_password_reset": None,
        "app_metadata": {},
        "user_metadata": {},
        "identities": [DATABASE_IDENTITY],
    },
}


class CustomPhoneProvider(NotificationTrigger):
    id = "custom-phone-provider"
    version = "v1"
    title = "Custom Phone Provider"
    docs = "https://auth0.com/docs/customize/phone-messages/configure-phone-messaging-providers/configure-a-custom-phone-provider"
    handlers = ("onExecuteCustomPhoneProvider",)
    script = "custom_phone_provider.js"
    event = EVENT


TRIGGER = CustomPhoneProvider()
