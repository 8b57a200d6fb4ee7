"""password-reset-post-challenge (v1): a user has passed the first password-reset challenge.

Auth0's reference: https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers
(event: .../password-reset-triggers/post-challenge-trigger/post-challenge-event-object;
api: .../post-challenge-trigger/post-challenge-api-object). The trigger runs
after the user opened the reset link from the email, before they choose a new
password. The event is that moment for a database user on Universal Login; the
api (deny, an MFA challenge, a redirect or a custom prompt that suspends the
flow until ``/continue``, the URL the user lands on afterwards, the cache) is
in password_reset_post_challenge.js.

Like a login, the flow resumes after a redirect in the action that redirected,
with ``onContinuePostChallenge``; the actions before it do not run again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auth0_actions.sandbox.results import ProtocolViolation, list_field, own_entries
from auth0_actions.triggers._sample import (
    BROWSER_IP,
    DATABASE_CONNECTION,
    DATABASE_IDENTITY,
    GEOIP,
    USER_AGENT,
    WEB_CLIENT_ID,
)
from auth0_actions.triggers.base import Trigger

HOSTNAME = "acme.eu.auth0.com"
CLIENT_ID = WEB_CLIENT_ID

EVENT: dict[str, Any] = {
    "authentication": {
        # The first challenge: the reset link sent by email.
        "methods": [{"name": "email", "timestamp": "2026-11-27T09:00:00.000Z"}],
    },
    "authorization": {"roles": []},
    "client": {"client_id": CLIENT_ID, "name": "Acme Web", "metadata": {}},
    "connection": DATABASE_CONNECTION,
    # Optional in the event reference: null unless the tenant has a custom
    # domain, the reset names an organization, or a prompt was rendered.
    "custom_domain": None,
    "organization": None,
    "prompt": None,
    "request": {
        "body": {},
        "geoip": GEOIP,
        "hostname": HOSTNAME,
        "ip": BROWSER_IP,
        "language": "en",
        "method": "GET",
        "query": {"ticket": "pwdreset-ticket-4f9c2a7e"},
        "user_agent": USER_AGENT,
    },
    "secrets": {},
    "stats": {"logins_count": 3},
    "tenant": {"id": "acme"},
    "transaction": {
        "correlation_id": None,
        "locale": "en",
        "login_hint": None,
        "state": "pwdreset-state-1c7d3e",
        "ui_locales": [],
    },
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
        "phone_number": None,
        "phone_verified": False,
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-11-20T10:00:00.000Z",
        "last_password_reset": "2026-03-02T08:15:00.000Z",
        # A user with an authenticator app: what an MFA step-up challenges.
        "enrolledFactors": [{"type": "otp"}],
        "app_metadata": {},
        "user_metadata": {},
        "identities": [DATABASE_IDENTITY],
    },
}


class PasswordResetPostChallenge(Trigger):
    id = "password-reset-post-challenge"
    version = "v1"
    title = "Password Reset / Post Challenge"
    docs = "https://auth0.com/docs/customize/actions/explore-triggers/password-reset-triggers"
    handlers = ("onExecutePostChallenge", "onContinuePostChallenge")
    resume_handler = "onContinuePostChallenge"
    script = "password_reset_post_challenge.js"
    event = EVENT
    suspends = frozenset({"redirect.sendUserTo", "prompt.render"})
    carries: ClassVar[tuple[str, ...]] = ("cache",)
    # password-reset-triggers: "You can create up to four Actions in your
    # tenant that leverage the post-challenge trigger."
    max_actions = 4

    def initial_state(self, event: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
        user = event.get("user") or {}
        return {
            "cache": dict(request.get("cache") or {}),
            # The api cannot change the user's metadata; the run reports it as
            # it came, so a resumed flow's event still has it.
            "user_metadata": user.get("user_metadata") or {},
            "app_metadata": user.get("app_metadata") or {},
        }

    def initial_result(self) -> dict[str, Any]:
        return {**super().initial_result(), "result_url": None, "challenges": []}

    def check(self, result: Mapping[str, Any], name: str) -> None:
        super().check(result, name)
        if result.get("result_url") is not None and not isinstance(result["result_url"], str):
            raise ProtocolViolation("result_url is not a string")
        for challenge in own_entries(result, "challenges", "action", name):
            list_field(challenge, "factors")

    def carry(
        self, combined: dict[str, Any], state: dict[str, Any], result: Mapping[str, Any]
    ) -> None:
        super().carry(combined, state, result)
        # A later action's setResultUrl replaces an earlier one's; every
        # challenge is one the user must pass before the next action runs.
        if result.get("result_url") is not None:
            combined["result_url"] = result["result_url"]
        combined["challenges"].extend(list_field(result, "challenges"))

    def redirection(self, command: Mapping[str, Any]) -> dict[str, Any]:
        if command.get("type") == "prompt.render":
            return {"prompt": str(command.get("prompt_id", ""))}
        return super().redirection(command)


TRIGGER = PasswordResetPostChallenge()
