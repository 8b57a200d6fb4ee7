"""The one retry policy of every tenant request (the SDK's own retries are switched off).

* **429** is always retried: the request was refused, not processed. The
  wait honours ``Retry-After`` when sent, else Auth0's ``x-ratelimit-reset``
  (a UNIX time in seconds), plus up to 20 % jitter, capped at 60 s. 429s do
  not use up the attempts below: a request gives up on the rate limit only
  after :attr:`RetryPolicy.rate_limit_s` (5 minutes) of such waits in all,
  so a long 429 storm is waited out rather than failing the apply.
* **5xx, 408 and dropped connections** are retried, with exponential
  backoff (0.5 s, 1 s, 2 s, ... ±10 %), only where repeating the call is
  safe: reads, the PATCH of an action or of a trigger's bindings (both set
  absolute state) and DELETE (a 404 on a delete retried after a 5xx or a
  dropped connection means the earlier attempt went through: success).
  Creates and deploys (POST) are retried only when the connection failed
  before the request was sent; otherwise the error surfaces and the caller
  re-reads the tenant, since a second create would make a second action.
* **409** is never retried (the SDK would retry it: deleting a bound action
  would cost ~3 s of backoff before the same answer). Other 4xx are final.
* At most :attr:`RetryPolicy.attempts` calls fail with a 5xx, 408 or a
  dropped connection per request before its error surfaces.
* **An unreachable tenant** is not waited for: each attempt gives up after
  :attr:`RetryPolicy.connect_timeout_s` to connect and
  :attr:`RetryPolicy.read_timeout_s` without an answer, a DNS name that is
  not found is final at once, and a refused or timed-out connection is
  tried :attr:`RetryPolicy.unreachable_attempts` times in all. A refused
  connection fails within a second, a black-holed host within about
  ``unreachable_attempts`` x 10 s.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from auth0_actions.clock import now_s


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry (see the module docstring for which failures)."""

    attempts: int = 6  # failed calls (5xx, 408, dropped) per request before giving up
    backoff_s: float = 0.5  # first wait after a 5xx or a dropped connection; doubles
    max_wait_s: float = 60.0  # cap on any one wait
    rate_limit_s: float = 300.0  # seconds of 429 waits per request before giving up
    connect_timeout_s: float = 5.0  # to open a connection (TLS handshake included)
    read_timeout_s: float = 10.0  # for each answer (and each chunk of a download)
    unreachable_attempts: int = 2  # refused or timed-out calls per request before giving up


class RetryBudget:
    """What one request may still spend on retries: failed calls, and time on 429s."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.failures = 0  # 5xx, 408, dropped, refused and timed-out calls so far
        self.unreached = 0  # refused and timed-out calls so far
        self.limited_s = 0.0  # seconds waited on 429s so far

    def failed(self) -> bool:
        """Count one failed call; False when it was the last one allowed."""
        self.failures += 1
        return self.failures < self.policy.attempts

    def unreachable(self) -> bool:
        """Count one refused or timed-out call; False when it was the last one allowed."""
        self.unreached += 1
        within = self.failed()  # it is a failed call too
        return within and self.unreached < self.policy.unreachable_attempts

    def wait(self, status: int | None, headers: Mapping[str, str], *, safe: bool) -> float | None:
        """Seconds to wait before retrying after this answer, or None to give up."""
        if status == 429:
            wait = rate_limit_wait(headers, self.policy)
            if self.limited_s + wait > self.policy.rate_limit_s:
                return None
            self.limited_s += wait
            return wait
        if status is not None and (status >= 500 or status == 408) and safe:
            return backoff(self.failures, self.policy) if self.failed() else None
        return None


def rate_limit_wait(headers: Mapping[str, str], retry: RetryPolicy) -> float:
    wait: float | None = None
    retry_after = headers.get("retry-after")
    if retry_after and retry_after.strip().isdigit():
        wait = float(retry_after)
    else:
        reset = headers.get("x-ratelimit-reset")
        if reset and reset.strip().isdigit():
            wait = float(reset) - now_s()
    if wait is None or wait <= 0:
        wait = retry.backoff_s / 5
    return min(wait * (1 + random.random() * 0.2), retry.max_wait_s)  # noqa: S311


def backoff(attempt: int, retry: RetryPolicy) -> float:
    wait = retry.backoff_s * 2.0 ** (attempt - 1)
    return min(wait * (1 + (random.random() - 0.5) * 0.2), retry.max_wait_s)  # noqa: S311


DEFAULT_POLICY = RetryPolicy()
