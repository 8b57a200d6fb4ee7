"""post-change-password (v2): a database user's password was changed or reset (https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger).

The event is a password reset of the user that pre_user_registration.py's
signup created (every field of Auth0's event reference,
https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger/post-change-password-event-object).
The trigger is non-blocking: "the Action's outcome does not affect the Auth0
transaction." Its api is ``api.cache`` only (``_cache_only.js``, shared by the
triggers whose api is api.cache alone).
"""

from __future__ import annotations

from typing import Any

from auth0_actions.triggers.base import Trigger
from auth0_actions.triggers.pre_user_registration import EVENT as SIGNUP

EVENT: dict[str, Any] = {
    "authentication": SIGNUP["authentication"],
    "connection": SIGNUP["connection"],
    "custom_domain": SIGNUP["custom_domain"],
    # The reset form's POST on Universal Login; the event carries no body.
    "request": {k: v for k, v in SIGNUP["request"].items() if k != "body"},
    "secrets": {},
    "tenant": SIGNUP["tenant"],
    "transaction": {"correlation_id": None},
    "user": {
        "user_id": "auth0|6543210fedcba98765432100",
        "email": "jane.doe@example.com",
        "email_verified": True,
        "username": None,
        "phone_number": None,
        "phone_verified": False,
        "last_password_reset": "2026-11-27T09:00:00.000Z",
    },
}


class PostChangePassword(Trigger):
    id = "post-change-password"
    version = "v2"
    title = "Post Change Password"
    docs = "https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers/post-change-password-trigger"
    handlers = ("onExecutePostChangePassword",)
    script = "_cache_only.js"  # api.cache alone, shared
    event = EVENT
    # No api.access: the password has been changed; nothing can undo it.
    denies = frozenset()


TRIGGER = PostChangePassword()
