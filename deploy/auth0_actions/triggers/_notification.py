"""What custom-email-provider and custom-phone-provider share: one action delivers one notification.

Auth0 hands the message it rendered (an email, or a text or voice message) to
the one action bound to the trigger, which delivers it through the provider of
the tenant's choice. The api has ``api.notification.drop(reason)`` and
``api.notification.retry(reason)``: "If several calls are made, only the last
one is considered"; drop marks the notification failed without recovery, retry
as failed but recoverable (Auth0 sends it to the action again, up to 5 times
in the next minutes); the reason is logged and truncated to 1024 characters
(https://auth0.com/docs/actions/reference/custom-email-provider/custom-email-provider-api-object,
https://auth0.com/docs/actions/reference/custom-phone-provider/custom-phone-provider-api-object).
"Auth0 has a maximum limit of one Action for Actions associated with the
following triggers: custom-phone-provider and custom-email-provider"
(https://auth0.com/docs/customize/phone-messages/configure-phone-messaging-providers/configure-a-custom-phone-provider/configure-a-custom-phone-provider-with-terraform).

A run's outcome: ``completed`` (delivered, as far as Auth0 can tell),
``dropped`` or ``retried`` (the last notification call), or ``error`` (the
action threw). ``notification`` in the result names the action, the outcome
and the reason. The JS half is ``_notification.js``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from auth0_actions.triggers.base import Trigger

# The api call -> the run's status when it is the last one made.
OUTCOMES: Mapping[str, str] = {"notification.drop": "dropped", "notification.retry": "retried"}


class NotificationTrigger(Trigger):
    """A provider trigger: one bound action, no deny, the notification dropped or retried."""

    denies: ClassVar[frozenset[str]] = frozenset()
    max_actions: ClassVar[int] = 1

    def initial_result(self) -> dict[str, Any]:
        return {**super().initial_result(), "notification": None}

    def decide(self, combined: dict[str, Any], commands: list[Any], name: str, index: int) -> bool:
        calls = [c for c in commands if c.get("type") in OUTCOMES]
        if not calls:
            return False
        last = calls[-1]  # "only the last one is considered"
        outcome = OUTCOMES[str(last["type"])]
        combined["status"] = outcome
        combined["notification"] = {
            "action": name,
            "outcome": outcome,
            "reason": str(last.get("reason", "")),
        }
        return True
