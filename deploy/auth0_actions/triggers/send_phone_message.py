"""send-phone-message (v2): an MFA code goes out by SMS or voice (https://auth0.com/docs/customize/actions/explore-triggers/send-phone-message).

It runs when SMS or voice is an MFA factor, at enrollment and at challenge
(``event.message_options.action``), and the actions deliver the message
through a provider of the tenant's choice. The event follows Auth0's
reference (https://auth0.com/docs/actions/reference/send-phone-message/send-phone-message-event-object):
a second-factor challenge by SMS for a database user of a regular web
application. Optional members present only in some flows are absent by
default (a scenario's ``event:`` adds them): ``custom_domain`` (a tenant
with a custom domain) and ``security_context`` (clients behind Cloudflare).
``message_options`` has the documented members only; the Hooks-era
``context.language`` is not one of them (nor of @auth0/actions' typings).

The api is ``api.cache`` alone
(https://auth0.com/docs/actions/reference/send-phone-message/send-phone-message-api-object):
nothing an action calls ends the flow; an action that throws fails the
delivery (the run's status is ``error``). Auth0 documents no bound-action
limit of its own, so the general one (20) applies. The JS half is
``_cache_only.js`` (shared by the triggers whose api is api.cache alone).
"""

from __future__ import annotations

from typing import Any, ClassVar

from auth0_actions.triggers._sample import (
    BROWSER_IP,
    DATABASE_IDENTITY,
    GEOIP,
    USER_AGENT,
    WEB_CLIENT,
)
from auth0_actions.triggers.base import Trigger

EVENT: dict[str, Any] = {
    "client": WEB_CLIENT,
    "message_options": {
        "action": "second-factor-authentication",  # or "enrollment"
        "code": "482913",
        "message_type": "sms",  # or "voice"
        # Fictional numbers (the 555-01xx range).
        "recipient": "+12025550186",
        "text": "482913 is your verification code for Acme",
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
    "tenant": {"id": "acme"},
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
        # The MFA phone belongs to the enrollment, not to the profile.
        "phone_number": None,
        "phone_verified": False,
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-11-20T10:00:00.000Z",
        "last_password_reset": None,
        "app_metadata": {},
        "user_metadata": {},
        "identities": [DATABASE_IDENTITY],
    },
}


class SendPhoneMessage(Trigger):
    id = "send-phone-message"
    version = "v2"
    title = "Send Phone Message"
    docs = "https://auth0.com/docs/customize/actions/explore-triggers/send-phone-message"
    handlers = ("onExecuteSendPhoneMessage",)
    script = "_cache_only.js"  # api.cache alone, shared
    event = EVENT
    # No api.access: an action cannot deny; it can only fail by throwing.
    denies: ClassVar[frozenset[str]] = frozenset()


TRIGGER = SendPhoneMessage()
