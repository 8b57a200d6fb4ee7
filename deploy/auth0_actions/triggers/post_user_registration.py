"""post-user-registration (v2): a user was created by a signup (https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger).

The event is the user that the signup of pre_user_registration.py's default
event created (every field of Auth0's event reference,
https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger/post-user-registration-event-object).
The trigger is non-blocking: "the Auth0 pipeline will continue to run
without waiting for the Action to finish its execution. Thus, the Action's
outcome does not affect the Auth0 transaction." Its api is ``api.cache``
only (``_cache_only.js``, shared by the triggers whose api is api.cache
alone): nothing can stop the signup.
"""

from __future__ import annotations

from typing import Any

from auth0_actions.triggers.base import Trigger
from auth0_actions.triggers.pre_user_registration import EVENT as SIGNUP

CREATED_AT = "2026-11-27T09:00:00.000Z"

EVENT: dict[str, Any] = {
    "authentication": SIGNUP["authentication"],
    "connection": SIGNUP["connection"],
    "custom_domain": SIGNUP["custom_domain"],
    # The signup request, without its body (not part of this trigger's event).
    "request": {k: v for k, v in SIGNUP["request"].items() if k != "body"},
    "secrets": {},
    "security_context": SIGNUP["security_context"],
    "tenant": SIGNUP["tenant"],
    # Everything but correlation_id, which this trigger's reference does not list.
    "transaction": {k: v for k, v in SIGNUP["transaction"].items() if k != "correlation_id"},
    "user": {
        "user_id": "auth0|6543210fedcba98765432100",
        "email": "jane.doe@example.com",
        "email_verified": False,
        "username": None,
        "name": "jane.doe@example.com",
        "nickname": "jane.doe",
        "given_name": None,
        "family_name": None,
        "phone_number": None,
        "phone_verified": False,
        "picture": "https://s.gravatar.com/avatar/0000?s=480&r=pg&d=mp",
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
        # No last_password_reset: "At user creation, this field does not exist."
        "app_metadata": {},
        "user_metadata": {},
    },
}


class PostUserRegistration(Trigger):
    id = "post-user-registration"
    version = "v2"
    title = "Post User Registration"
    docs = "https://auth0.com/docs/customize/actions/explore-triggers/signup-and-login-triggers/post-user-registration-trigger"
    handlers = ("onExecutePostUserRegistration",)
    script = "_cache_only.js"  # api.cache alone, shared
    event = EVENT
    # No api.access: the user exists already and nothing can undo the signup.
    denies = frozenset()


TRIGGER = PostUserRegistration()
