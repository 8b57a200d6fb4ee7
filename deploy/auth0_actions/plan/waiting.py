"""Apply's waits: poll the tenant with backoff until the actions waited on are ready.

Each round reads only the actions still pending, the cheaper way (a GET
each, sent at once, or one listing); every request is paced to the tenant's
rate limit (:mod:`auth0_actions.tenant_client.pacing`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from auth0_actions.errors import Auth0ActionsError, TenantError
from auth0_actions.tenant_client import LiveAction, TenantClient
from auth0_actions.tenant_client.actions import PER_PAGE

# Writes (and reads of a wait round) in flight at once. Each is independent
# (one action each); the tenant's rate limit still holds: requests are paced.
MAX_PARALLEL = 10
POLL_FIRST_S = 0.1
POLL_MAX_S = 2.0
# Each pause is this share of the time waited so far (within the two bounds
# above), so a poll never oversleeps a finished build by more than about a
# quarter of the wait; plain doubling can oversleep it by the whole wait.
POLL_FRACTION = 0.25
# Under a known rate limit, a wait's reads use at most this share of it: the
# tokens left over are there for what follows the wait (the deploys, the
# bindings, the verify), instead of being spent asking "built yet?".
POLL_RATE_SHARE = 0.5


class ApplyError(Auth0ActionsError):
    """Apply stopped: a build failed, a wait timed out, or the tenant did not converge."""


@dataclass
class Waiter:
    """Polls with backoff until every action is ready, within one overall deadline.

    Each round reads only the actions still pending, the cheaper way: one
    ``get_action`` each (sent at once, paced), or the whole listing when it
    needs fewer pages than that (``listed``: the actions the tenant holds,
    :data:`~auth0_actions.tenant_client.actions.PER_PAGE` a page). So ten
    pending actions in a tenant of ten cost one listing a round, and two
    pending actions in a tenant of 500 cost two reads, not ten pages.
    """

    client: TenantClient
    deadline: float
    progress: Callable[[str], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    resume: str = "run apply again to resume"  # the advice a timeout ends with
    listed: int = 0  # actions in the tenant: what a listing of them costs
    _round_cost: int = 1  # requests the last round of reads sent

    def wait(
        self,
        what: str,
        pending: dict[str, str],  # "trigger/name" -> action id
        check: Callable[[str, LiveAction], str],  # (label, action) -> done | failed | wait
        on_failed: Callable[[str], ApplyError],
    ) -> None:
        total, start = len(pending), self.clock()
        pending = dict(pending)
        last: dict[str, str] = {}
        while pending:
            seen = self._read(set(pending.values()))
            for label, action_id in list(pending.items()):
                action = seen.get(action_id)
                if action is None:
                    raise ApplyError(f"{label} ({action_id}) vanished from the tenant during apply")
                verdict = check(label, action)
                last[label] = action.status
                if verdict == "failed":
                    raise on_failed(label)
                if verdict == "done":
                    del pending[label]
            if self.progress is not None:
                self.progress(
                    f"waiting for {what}: {total - len(pending)}/{total} ready "
                    f"({self.clock() - start:.1f}s)"
                )
            if not pending:
                break
            now = self.clock()
            delay = min(POLL_MAX_S, max(POLL_FIRST_S, POLL_FRACTION * (now - start)))
            rate = getattr(getattr(self.client, "pacer", None), "rate", None)
            if rate:
                delay = max(delay, self._round_cost / (POLL_RATE_SHARE * rate))
            if now + delay > self.deadline:
                waiting = ", ".join(f"{label} (status {last[label]})" for label in sorted(pending))
                raise ApplyError(f"timed out waiting for {what} of {waiting}; {self.resume}")
            self.sleep(delay)

    def _read(self, action_ids: set[str]) -> dict[str, LiveAction]:
        """The pending actions: a GET each, or one listing when it takes fewer requests."""
        pages = max(1, math.ceil(self.listed / PER_PAGE))
        self._round_cost = min(pages, len(action_ids))  # requests this round sends
        if len(action_ids) > pages:
            return {a.id: a for a in self.client.list_actions() if a.id in action_ids}
        ordered = sorted(action_ids)
        if len(ordered) == 1:
            found = [self._get(ordered[0])]
        else:
            with ThreadPoolExecutor(min(MAX_PARALLEL, len(ordered)), "wait") as pool:
                found = list(pool.map(self._get, ordered))
        return {i: a for i, a in zip(ordered, found, strict=True) if a is not None}

    def _get(self, action_id: str) -> LiveAction | None:
        """The action, or None when it is gone (the wait then says it vanished)."""
        try:
            return self.client.get_action(action_id)
        except TenantError as error:
            if error.status == 404:
                return None
            raise
