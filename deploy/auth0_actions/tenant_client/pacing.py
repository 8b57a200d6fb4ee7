"""Pacing: keep a tenant's Management API requests within its rate limit, so 429s are rare.

Auth0 limits the Management API per tenant with a token bucket: a burst, and
a sustained rate that refills it (per plan: Free 2/s with a burst of 2,
Self-service and Enterprise 16/s, Enterprise with a larger burst;
https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy).
Every answer says where the bucket stands: ``x-ratelimit-limit`` (its
size), ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` (the UNIX second
it is full again; after a 429, when to come back)
(https://auth0.com/docs/troubleshoot/customer-support/operational-policies/rate-limit-policy/management-api-endpoint-rate-limits).

A :class:`Pacer` keeps its own copy of that bucket, shared by every thread
of one tenant client. A request takes a token before it is sent; when none
is left it sleeps until the bucket refills, then looks again, so concurrent
requests leave in turn at the sustained rate instead of all at once and
then again after a 429. The copy is only ever made more careful by the
answers: the bucket size is the tenant's ``x-ratelimit-limit``, the tokens
never exceed what ``x-ratelimit-remaining`` leaves once the requests still
in flight are counted (another client of the same tenant spends them too),
and a 429 empties the bucket and holds every other request until
``x-ratelimit-reset`` (the retry loop waits for the refused one as before,
:mod:`auth0_actions.tenant_client.retry`).

The rate comes from ``environments.<env>.rate_limit`` (a plan name or
requests per second). Unset, it is learnt: the first request goes alone (a
Free tenant's burst is 2, and the token exchange may have spent one), the
others wait for its answer; then the bucket size is the tenant's
``x-ratelimit-limit`` and the rate that
size per second (the documented plans refill their burst in a second),
kept within what the reset times allow (the missing tokens over the
seconds to the reset; both are whole numbers, so each answer bounds the
rate from both sides) and lowered by a quarter on each 429.

The token exchange takes a token too (a tenant may count it in the same
bucket, as the local tenant does; it is one request per token lifetime),
but its headers teach nothing: on Auth0 they describe the Authentication
API, whose limits are separate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from auth0_actions.clock import now_s


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``rate`` requests per second sustained, ``burst`` at once."""

    rate: float
    burst: int


# Auth0's documented production limits per plan (see the module docstring).
PLAN_LIMITS: dict[str, RateLimit] = {
    "free": RateLimit(2.0, 2),
    "self-service": RateLimit(16.0, 16),
    "enterprise": RateLimit(16.0, 50),
}
# A learnt or lowered rate never goes below this (a request every 2 s).
MIN_RATE = 0.5
SLOWDOWN_ON_429 = 0.75
# A request that waited for a token leaves this much later than the token is due:
# requests reach the tenant in a different order and spacing than they left (a
# new connection, a thread starting, a loaded machine), and one arriving a few
# milliseconds early finds the bucket empty. Not cumulative: the waiter that
# wakes takes the token due, the next one waits a whole 1/rate from there.
MARGIN_S = 0.02
# Until an answer has said the limit, one request is in flight at a time; the
# others look again this often.
PROBE_WAIT_S = 0.01


def rate_limit_of(setting: str | float | None) -> RateLimit | None:
    """The bucket of ``environments.<env>.rate_limit``: a plan, a rate, or None (learn)."""
    if setting is None:
        return None
    if isinstance(setting, str):
        return PLAN_LIMITS[setting]
    return RateLimit(float(setting), max(1, math.floor(setting)))


def _number(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


class Pacer:
    """One tenant's request budget, shared by every thread of its client."""

    def __init__(
        self,
        limit: RateLimit | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = now_s,
    ) -> None:
        self.configured = limit
        self.rate: float | None = limit.rate if limit else None
        self.burst: int | None = limit.burst if limit else None
        self._tokens = float(limit.burst) if limit else 0.0
        self._clock, self._sleep, self._wall = clock, sleep, wall
        self._at = clock()
        self._hold_until = 0.0  # after a 429: nothing else leaves before this
        self._refused_by: int | None = None  # the thread whose request got that 429
        self._in_flight = 0  # taken tokens whose answer has not come yet
        # An answer came (with or without rate-limit headers: a tenant that sends
        # none is not paced at all, and no longer probed).
        self._answered = False
        # What the reset times say of the refill rate (learning mode).
        self._rate_floor = 0.0
        self._rate_ceiling = math.inf
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pacer(rate={self.rate}, burst={self.burst})"

    # -- before a request ---------------------------------------------------------
    def acquire(self) -> None:
        """Take a token, sleeping until one is free.

        A waiting request looks again when it wakes: an answer that came
        meanwhile may have said the tenant has fewer tokens than expected.
        """
        mine = threading.get_ident()
        while True:
            with self._lock:
                now = self._clock()
                delay = 0.0
                if mine != self._refused_by:
                    # The refused request's own retry waits for the reset (retry.py).
                    delay = max(0.0, self._hold_until - now)
                if self.rate is not None:
                    self._refill(now)
                    if self._tokens < 1:
                        delay = max(delay, (1 - self._tokens) / self.rate + MARGIN_S)
                elif self._in_flight and not self._answered:
                    delay = max(delay, PROBE_WAIT_S)  # no answer yet: one at a time
                if delay <= 0:
                    if self.rate is not None:
                        self._tokens -= 1
                    self._in_flight += 1
                    return
            self._sleep(delay)

    def _refill(self, now: float) -> None:
        if self.rate is not None and self.burst is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now

    # -- after it -------------------------------------------------------------------
    def release(self, status: int | None, headers: Mapping[str, str]) -> None:
        """The request is over (``status`` None: no answer); learn from its headers."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._answered = self._answered or status is not None
            now = self._clock()
            self._refill(now)
            limit = _number(headers, "x-ratelimit-limit")
            remaining = _number(headers, "x-ratelimit-remaining")
            reset = _number(headers, "x-ratelimit-reset")
            if limit:
                # A 429's reset says when to come back, not when the bucket is full.
                self._learn(limit, remaining, reset if status != 429 else None)
            if remaining is not None and self.rate is not None:
                # The tenant's count, less what our requests still in flight will spend.
                self._tokens = min(self._tokens, float(remaining - self._in_flight))
            if status == 429:
                self._tokens = min(self._tokens, float(-self._in_flight))
                until = float(reset) - self._wall() if reset is not None else 1.0 / (self.rate or 1)
                self._hold_until = max(self._hold_until, now + min(max(until, 0.0), 60.0))
                self._refused_by = threading.get_ident()
                if self.configured is None and self.rate is not None:
                    self.rate = max(MIN_RATE, self._rate_floor, self.rate * SLOWDOWN_ON_429)

    def _learn(self, limit: int, remaining: int | None, reset: int | None) -> None:
        first = self.burst is None
        self.burst = limit if self.configured is None else min(self.configured.burst, limit)
        if self.configured is not None:
            return
        if remaining is not None and reset is not None:
            # Between `missing - 1` and `missing` tokens (remaining is a whole number)
            # refill by `reset`, a whole second rounded up: the rate lies between.
            missing, ahead = limit - remaining, float(reset) - self._wall()
            if missing > 1 and ahead > 0:
                self._rate_floor = max(self._rate_floor, (missing - 1) / ahead)
            if missing > 0 and ahead > 1.0:
                self._rate_ceiling = min(self._rate_ceiling, missing / (ahead - 1.0))
        if first:
            self.rate = float(limit)
            self._tokens = float((remaining if remaining is not None else limit) - self._in_flight)
        if self.rate is not None:
            ceiling = max(self._rate_ceiling, self._rate_floor)
            self.rate = max(MIN_RATE, self._rate_floor, min(self.rate, ceiling))


PACED = "auth0_actions.paced"  # request extension: taken, then released


def pace(client: httpx.Client, pacer: Pacer) -> None:
    """Pace every request ``client`` sends (event hooks, so proxies are paced too).

    The request hook takes a token; the response hook gives the answer's
    headers back. A request that gets no answer is released by the caller
    (:func:`unanswered`), which sees the transport error.
    """

    def before(request: httpx.Request) -> None:
        pacer.acquire()
        request.extensions[PACED] = pacer

    def after(response: httpx.Response) -> None:
        if response.request.extensions.pop(PACED, None) is not None:
            headers = {k.lower(): v for k, v in response.headers.items()}
            pacer.release(response.status_code, headers)

    client.event_hooks["request"].append(before)
    client.event_hooks["response"].append(after)


def unanswered(error: httpx.TransportError) -> None:
    """Release the token of a request that failed without an answer."""
    try:
        request = error.request
    except RuntimeError:  # raised before any request was built
        return
    pacer = request.extensions.pop(PACED, None)
    if isinstance(pacer, Pacer):
        pacer.release(None, {})
